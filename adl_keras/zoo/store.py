"""Verified weight store: zoo folder, local path, or http(s)/file URL with a cache.

Every file is checked against its sha256 (and size, when known) before any
weight is assigned. Where a publisher lists only an md5 for its file (Keras
does for some ``keras.applications`` weights, the same check
``keras.utils.get_file`` makes), that md5 is checked instead; an md5 is
never computed or recorded by adl_keras itself. Downloads go to a temporary file in the cache folder and
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
    """A weights file does not match its recorded hash or size."""


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


def file_digest(path, algorithm="sha256"):
    """The hex digest of a file ("sha256" or "md5"), read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path):
    """The hex sha256 of a file, read in chunks."""
    return file_digest(path, "sha256")


def expected_digest(sha256=None, md5=None):
    """Validates the expected hash: ``("sha256", hex)``, or ``("md5", hex)``
    when only a publisher's md5 is known.

    Raises:
        ValueError: neither is given, or one is not a hex string of the right length.
    """
    for name, value, length in (("sha256", sha256, 64), ("md5", md5, 32)):
        if value is None:
            continue
        if not isinstance(value, str) or len(value) != length or any(c not in "0123456789abcdefABCDEF" for c in value):
            raise ValueError(f"{name} must be a {length}-character hex string. Received: {name}={value!r}")
        return name, value.lower()
    raise ValueError("Weights need an expected sha256= (64 hex characters), or md5= (32) where the publisher "
                     "lists only an md5, to be verified. Received: sha256=None, md5=None")


def verify_file(path, sha256=None, size=None, md5=None):
    """Raises WeightsIntegrityError unless ``path`` has this size and hash
    (``sha256``, or ``md5`` when only a publisher's md5 is known)."""
    algorithm, expected = expected_digest(sha256, md5)
    path = Path(path)
    if size is not None and path.stat().st_size != size:
        raise WeightsIntegrityError(
            f"Weights file {path} has {path.stat().st_size} bytes, expected "
            f"{size} ({algorithm} expected {expected}). The file is truncated or is "
            "not the recorded weights; delete it and fetch it again."
        )
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise WeightsIntegrityError(
            f"Weights file {path} failed verification: expected {algorithm} "
            f"{expected}, actual {actual}. Refusing to load it."
        )
    return path


def _atomic_copy_stream(stream, target, sha256, size, md5=None):
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, _CHUNK)
        verify_file(tmp, sha256, size, md5)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def cached_path(url, sha256=None, md5=None):
    """Where ``url`` is cached: ``<cache>/weights/<hash[:16]>/<basename>``."""
    _, expected = expected_digest(sha256, md5)
    name = Path(urllib.parse.urlparse(url).path).name or "weights.h5"
    return cache_dir() / "weights" / expected[:16] / name


def fetch(source, sha256=None, size=None, md5=None):
    """Returns a local, verified path for ``source``.

    Args:
        source: a local path, or a ``file://``, ``http://`` or ``https://`` URL.
        sha256: the expected hex digest; checked whenever given.
        size: the expected size in bytes, or None.
        md5: the publisher's md5, checked only when no sha256 is given
            (default None). One of the two is required.

    Returns:
        pathlib.Path of the verified file (the cache entry for URLs).

    Raises:
        FileNotFoundError: a local path does not exist.
        OfflineError: a URL is not cached and ADL_KERAS_OFFLINE is set, or the
            server cannot be reached.
        WeightsIntegrityError: the file does not match its hash or ``size``.
        ValueError: no valid hash is given.
    """
    algorithm, expected = expected_digest(sha256, md5)
    hashes = {"sha256": sha256, "md5": md5 if sha256 is None else None}
    source = str(source)
    scheme = urllib.parse.urlparse(source).scheme
    if scheme not in ("http", "https", "file"):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"Weights file not found: {path}")
        return verify_file(path, size=size, **hashes)
    target = cached_path(source, **hashes)
    if target.exists():
        try:
            return verify_file(target, size=size, **hashes)
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
            f"{source} on a connected machine into that path ({algorithm} {expected}), "
            "or unset ADL_KERAS_OFFLINE."
        )
    try:
        with urllib.request.urlopen(source, timeout=DOWNLOAD_TIMEOUT_S) as response:
            return _atomic_copy_stream(response, target, hashes["sha256"], size, hashes["md5"])
    except urllib.error.HTTPError as err:
        raise OfflineError(f"Could not download {source}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        raise OfflineError(
            f"Could not download {source} ({err}). Put the file at {target} "
            f"({algorithm} {expected}) or check the network."
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
