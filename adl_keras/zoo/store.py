"""Verified weight store: zoo folder, local path, or http(s)/file URL with a cache.

Every file is checked against its sha256 (and size, when known) before any
weight is assigned. Downloads go to a temporary file in the cache folder and
are renamed into place only once complete and verified, so an interrupted or
corrupt download never leaves a half-written file behind.

Environment:
    ADL_KERAS_HOME     cache folder (default ``~/.cache/adl_keras``).
    ADL_KERAS_OFFLINE  ``1`` never touches the network.
"""

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

_CHUNK = 1 << 20
DOWNLOAD_TIMEOUT_S = 30


class WeightsError(RuntimeError):
    """Base class of weight-store errors."""


class WeightsIntegrityError(WeightsError):
    """A weights file does not match its recorded sha256 or size."""


class OfflineError(WeightsError):
    """A file is needed from the network while offline or unreachable."""


def zoo_dir():
    """The folder holding the shipped zoo entries (source checkout or wheel)."""
    override = os.environ.get("ADL_KERAS_ZOO")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "_zoo_data"


def cache_dir():
    """The download cache, ``$ADL_KERAS_HOME`` or ``~/.cache/adl_keras``."""
    home = os.environ.get("ADL_KERAS_HOME")
    return Path(home) if home else Path.home() / ".cache" / "adl_keras"


def is_offline():
    return os.environ.get("ADL_KERAS_OFFLINE", "") not in ("", "0", "false", "False")


def sha256_of(path):
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path, sha256, size=None):
    """Raises WeightsIntegrityError unless ``path`` has this size and sha256."""
    path = Path(path)
    if size is not None and path.stat().st_size != size:
        raise WeightsIntegrityError(
            f"Weights file {path} has {path.stat().st_size} bytes, expected "
            f"{size} (sha256 expected {sha256}). The file is truncated or is "
            "not the recorded weights; delete it and fetch it again."
        )
    actual = sha256_of(path)
    if actual != sha256:
        raise WeightsIntegrityError(
            f"Weights file {path} failed verification: expected sha256 "
            f"{sha256}, actual {actual}. Refusing to load it."
        )
    return path


def _atomic_copy_stream(stream, target, sha256, size):
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, _CHUNK)
        verify_file(tmp, sha256, size)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def cached_path(url, sha256):
    """Where ``url`` is cached: ``<cache>/weights/<sha256[:16]>/<basename>``."""
    name = Path(urllib.parse.urlparse(url).path).name or "weights.h5"
    return cache_dir() / "weights" / sha256[:16] / name


def fetch(source, sha256, size=None):
    """Returns a local, verified path for ``source``.

    Args:
        source: a local path, or a ``file://``, ``http://`` or ``https://`` URL.
        sha256: the expected hex digest; always checked.
        size: the expected size in bytes, or None.

    Returns:
        pathlib.Path of the verified file (the cache entry for URLs).

    Raises:
        FileNotFoundError: a local path does not exist.
        OfflineError: a URL is not cached and ADL_KERAS_OFFLINE is set, or the
            server cannot be reached.
        WeightsIntegrityError: the file does not match ``sha256``/``size``.
    """
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise ValueError(f"sha256 must be a 64-character hex string. Received: sha256={sha256!r}")
    source = str(source)
    scheme = urllib.parse.urlparse(source).scheme
    if scheme not in ("http", "https", "file"):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"Weights file not found: {path}")
        return verify_file(path, sha256, size)
    target = cached_path(source, sha256)
    if target.exists():
        try:
            return verify_file(target, sha256, size)
        except WeightsIntegrityError:
            if is_offline():
                raise
            try:
                target.unlink()
            except OSError as err:
                raise WeightsIntegrityError(
                    f"Cached weights {target} are corrupt and the cache is not "
                    f"writable ({err}); delete the file by hand."
                ) from err
    if is_offline():
        raise OfflineError(
            f"ADL_KERAS_OFFLINE is set and {target} is not cached. Fetch "
            f"{source} on a connected machine into that path (sha256 {sha256}), "
            "or unset ADL_KERAS_OFFLINE."
        )
    try:
        with urllib.request.urlopen(source, timeout=DOWNLOAD_TIMEOUT_S) as response:
            return _atomic_copy_stream(response, target, sha256, size)
    except urllib.error.HTTPError as err:
        raise OfflineError(f"Could not download {source}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        raise OfflineError(
            f"Could not download {source} ({err}). Put the file at {target} "
            f"(sha256 {sha256}) or check the network."
        ) from err


def atomic_write_bytes(path, data):
    """Writes ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_save_weights(model, path):
    """``model.save_weights`` to a temporary file, then renamed to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".weights.h5", dir=path.parent)
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
