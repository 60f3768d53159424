"""tensorflow_datasets loaders for users with internet.

``tfds.load`` in tensorflow-datasets 4.9.10 retries downloads for minutes when
offline; :func:`load_tfds` first tries the local copy, then checks that the
download host answers within ``probe_timeout`` seconds, and otherwise raises
:class:`DatasetUnavailableError` with what to do. Tested with
``tfds.testing.mock_data``.
"""

import os
import socket

SUPPORTED = {
    "mnist": {"offline": "digits", "kind": "image"},
    "fashion_mnist": {"offline": "digits", "kind": "image"},
    "cifar10": {"offline": "shapes32", "kind": "image"},
    "imdb_reviews": {"offline": "seq_digits", "kind": "text"},
}
# tfds fetches prepared datasets and most raw files from Google Cloud Storage.
_DOWNLOAD_HOST = ("storage.googleapis.com", 443)


class DatasetUnavailableError(RuntimeError):
    """A tfds dataset is neither prepared locally nor downloadable now."""


def _host_reachable(timeout):
    if os.environ.get("ADL_KERAS_OFFLINE", "") not in ("", "0", "false", "False"):
        return False
    try:
        with socket.create_connection(_DOWNLOAD_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def load_tfds(name, split="train", data_dir=None, as_supervised=True, probe_timeout=3.0, **kwargs):
    """Loads a tfds dataset as a ``tf.data.Dataset`` without hanging offline.

    Args:
        name: one of ``mnist``, ``fashion_mnist``, ``cifar10``, ``imdb_reviews``.
        split: tfds split string (default ``"train"``).
        data_dir: tfds data folder (default tfds' own).
        as_supervised: yield ``(x, y)`` pairs (default True).
        probe_timeout: seconds to wait for the download host (default 3).
        **kwargs: passed to ``tfds.load``.

    Returns:
        tf.data.Dataset.

    Raises:
        DatasetUnavailableError: not prepared in ``data_dir`` and the network
            is unreachable or ADL_KERAS_OFFLINE is set.
    """
    if name not in SUPPORTED:
        raise ValueError(f"name must be one of {sorted(SUPPORTED)}. Received: name={name!r}")
    import tensorflow_datasets as tfds

    try:
        return tfds.load(name, split=split, data_dir=data_dir, download=False,
                         as_supervised=as_supervised, **kwargs)
    except AssertionError as missing:
        if not _host_reachable(probe_timeout):
            raise DatasetUnavailableError(
                f"tfds dataset {name!r} is not prepared in data_dir={data_dir or '~/tensorflow_datasets'} "
                "and the download host cannot be reached (or ADL_KERAS_OFFLINE is set). Prepare it on "
                f"a connected machine with tfds.load({name!r}, data_dir=...), copy the folder here, "
                f"or use the offline dataset adl_keras.data.load({SUPPORTED[name]['offline']!r})."
            ) from missing
    return tfds.load(name, split=split, data_dir=data_dir, download=True,
                     as_supervised=as_supervised, **kwargs)
