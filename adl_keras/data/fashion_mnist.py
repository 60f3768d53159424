"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from its four original IDX files.

The real 28x28 greyscale images (60,000 train + 10,000 test, 10 classes, MIT
licence, copyright Zalando SE). Nothing downloads at test time: the files are
looked up, in order, in

1. ``$ADL_KERAS_DATA`` (a folder holding the four ``*-ubyte.gz`` files, or a
   ``fashion-mnist`` folder inside it),
2. ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``,
   which ``make install`` adds where it runs as root with apt),
3. Keras' cache ``~/.keras/datasets/fashion-mnist``,
4. and, only when the download host answers within seconds,
   ``keras.datasets.fashion_mnist`` (which fills the cache of 3.).

Every file is checked against the sha256 recorded below before it is parsed;
the IDX format is parsed with NumPy (no pickle). Decoded arrays are cached in
memory per process, read-only.

Splits (fixed): the official 10,000-image test set is ``test``; the official
60,000-image training set is split, stratified by class with seed 0, into
54,000 ``train`` and 6,000 ``val`` images (600 per class). Images are float32
in [0, 1] with shape (28, 28, 1); labels are int32 0-9 (:data:`CLASS_NAMES`).

Example:
    >>> from adl_keras import data
    >>> ds = data.load("fashion_mnist")
    >>> ds.train[0].shape, ds.val[0].shape, ds.test[0].shape
    ((54000, 28, 28, 1), (6000, 28, 28, 1), (10000, 28, 28, 1))
"""

import gzip
import os
from pathlib import Path

import numpy as np

from adl_keras.data import Dataset, register_dataset

__all__ = ["CLASS_NAMES", "FILES", "FashionMNISTUnavailableError", "fashion_mnist", "find_files", "load_raw",
           "read_idx", "seq_fashion", "val_indices"]

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# sha256 of the original files (identical in Debian's dataset-fashion-mnist
# 0~20200605 and Keras' tf-keras-datasets mirror).
FILES = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
VAL_PER_CLASS = 600
SPLIT_SEED = 0

# IDX type codes (http://yann.lecun.com/exdb/mnist/): 0x08 unsigned byte, ...
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

HOW_TO_GET = (
    "Get it in one of three ways: (1) `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; "
    "`make install` does this when run as root); (2) put the four original files "
    f"({', '.join(FILES)}) in a folder and set ADL_KERAS_DATA to it; (3) on a machine with internet, "
    "run `python -c \"import keras; keras.datasets.fashion_mnist.load_data()\"`, which fills "
    "~/.keras/datasets/fashion-mnist."
)


class FashionMNISTUnavailableError(FileNotFoundError):
    """The Fashion-MNIST files are nowhere this loader looks."""


def read_idx(path):
    """Reads a (gzipped) IDX file into a NumPy array.

    Args:
        path: path of an ``.gz`` or plain IDX file.

    Returns:
        np.ndarray with the file's dtype and shape.

    Raises:
        ValueError: the bytes are not a well-formed IDX file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    return _parse_idx(raw, path)


def _parse_idx(raw, path):
    # Header: two zero bytes, a type code, the number of dimensions, then one
    # big-endian uint32 per dimension.
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"Not an IDX file (bad magic number {raw[:4].hex()}). Received: path={str(path)!r}")
    ndim = raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(f"IDX header is truncated. Received: path={str(path)!r}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - start != expected:
        raise ValueError(f"IDX body holds {len(raw) - start} bytes but the header {shape} needs {expected}. "
                         f"Received: path={str(path)!r}")
    return np.frombuffer(raw, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


def _sha256(path):
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _candidate_dirs():
    dirs = []
    env = os.environ.get("ADL_KERAS_DATA")
    if env:
        dirs += [Path(env), Path(env) / "fashion-mnist"]
    dirs += [DEBIAN_DIR, Path.home() / ".keras" / "datasets" / "fashion-mnist"]
    return dirs


def find_files(files=None, allow_download=True):
    """The folder holding the verified Fashion-MNIST files.

    Args:
        files: ``{file name: sha256}`` to look for (default :data:`FILES`).
        allow_download: when no folder has the files, let
            ``keras.datasets.fashion_mnist`` fetch them if the download host
            answers within seconds (default True; ``ADL_KERAS_OFFLINE=1``
            forbids it too).

    Returns:
        pathlib.Path of the folder.

    Raises:
        FashionMNISTUnavailableError: the files are nowhere (the message says
            how to get them).
        ValueError: a folder holds a file whose sha256 differs from the record.
    """
    files = FILES if files is None else files
    looked = []
    for folder in _candidate_dirs():
        looked.append(str(folder))
        if all((folder / name).is_file() for name in files):
            _verify(folder, files)
            return folder
    if allow_download:
        from adl_keras.data.tfds_loaders import _host_reachable

        if _host_reachable(3.0):
            import keras

            keras.datasets.fashion_mnist.load_data()
            folder = Path.home() / ".keras" / "datasets" / "fashion-mnist"
            _verify(folder, files)
            return folder
    raise FashionMNISTUnavailableError(
        f"Fashion-MNIST files not found (looked in {', '.join(looked)}; offline or download not allowed). "
        + HOW_TO_GET
    )


def _verify(folder, files):
    for name, expected in files.items():
        actual = _sha256(folder / name)
        if actual != expected:
            raise ValueError(
                f"{folder / name} has sha256 {actual}, expected {expected}: the file is corrupt or not the "
                "original Fashion-MNIST. Delete it and get it again. " + HOW_TO_GET
            )


_RAW_CACHE = {}


def load_raw():
    """The official splits as uint8 arrays, decoded once per process.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: images (N, 28, 28) and
        labels (N,), uint8, read-only.
    """
    if "raw" not in _RAW_CACHE:
        folder = find_files()
        arrays = [read_idx(folder / name) for name in
                  ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                   "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]
        for a in arrays:
            a.setflags(write=False)
        _RAW_CACHE["raw"] = ((arrays[0], arrays[1]), (arrays[2], arrays[3]), str(folder))
    (xtr, ytr), (xte, yte), _ = _RAW_CACHE["raw"]
    return (xtr, ytr), (xte, yte)


def val_indices(labels, per_class=VAL_PER_CLASS, seed=SPLIT_SEED):
    """Sorted indices of the stratified validation images carved from train."""
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in range(len(CLASS_NAMES))]
    return np.sort(np.concatenate(picks))


_SPLIT_CACHE = {}


@register_dataset("fashion_mnist")
def fashion_mnist():
    """Fashion-MNIST with fixed splits: 54,000 train / 6,000 val (stratified,
    seed 0, carved from the official train set) / the official 10,000 test.
    Images float32 in [0, 1], shape (28, 28, 1); labels int32 0-9."""
    if "splits" not in _SPLIT_CACHE:
        (xtr, ytr), (xte, yte) = load_raw()
        va = val_indices(ytr)
        tr = np.setdiff1d(np.arange(len(ytr)), va)

        def prep(x, y):
            x = (x.astype("float32") / 255.0)[..., None]
            y = y.astype("int32")
            x.setflags(write=False)
            y.setflags(write=False)
            return x, y

        _SPLIT_CACHE["splits"] = (prep(xtr[tr], ytr[tr]), prep(xtr[va], ytr[va]), prep(xte, yte))
    train, val, test = _SPLIT_CACHE["splits"]
    return Dataset("fashion_mnist", train, val, test, 10, {
        "source": f"IDX files in {_RAW_CACHE['raw'][2]}",
        "licence": "MIT (copyright Zalando SE)",
        "target_names": list(CLASS_NAMES),
        "split": "train 54,000 / val 6,000 (600 per class, stratified, carved from the official train set) "
                 "/ test: the official 10,000",
        "split_seed": SPLIT_SEED,
        "preprocessing": "uint8 / 255 -> float32 in [0, 1], shape (28, 28, 1)",
        "arrays": "read-only, shared within the process (copy before editing in place)",
    })


@register_dataset("seq_fashion")
def seq_fashion():
    """Fashion-MNIST read row by row: 28 steps of 28 features in [0, 1].

    The same images and fixed splits as ``fashion_mnist`` (54,000 / 6,000 /
    10,000), without the channel axis: x ``(n, 28, 28)`` float32, y int32 0-9.
    """
    ds = fashion_mnist()
    out = Dataset("seq_fashion", *((x[..., 0], y) for x, y in (ds.train, ds.val, ds.test)), 10, dict(ds.info))
    out.info["preprocessing"] = "uint8 / 255 -> float32 in [0, 1]; the 28 image rows are the 28 time steps"
    return out
