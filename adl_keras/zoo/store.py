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
import http.client
import io
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_CHUNK = 1 << 20
DOWNLOAD_TIMEOUT_S = 30  # per socket read (and connect)
DEFAULT_DOWNLOAD_DEADLINE_S = 600.0  # a whole download
DEFAULT_MAX_DOWNLOAD_BYTES = 2 << 30  # a download whose size the card does not record
STALE_PART_AGE_S = 10.0


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


def user_zoo_dir():
    """Where ``adl-zoo train`` writes entries: ``<ADL_KERAS_HOME>/zoo`` (never the installed package)."""
    return cache_dir() / "zoo"


def writable_dir(path, what):
    """Creates ``path`` if needed and checks it is a writable folder.

    Args:
        path: the folder.
        what: how to name it in errors (e.g. ``"ADL_KERAS_HOME=/x"`` or ``"--out"``).

    Raises:
        NotADirectoryError / PermissionError: with one line naming ``what`` and the path.
    """
    path = Path(path)
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(f"{what}: {parent} is a file, not a folder.")
        if parent.exists():
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PermissionError(f"{what}: cannot create the folder {path} ({err.strerror}).") from err
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{what}: the folder {path} is not writable.")
    return path


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


def _size_error(path, actual, size, algorithm, expected):
    return WeightsIntegrityError(
        f"Weights file {path} has {actual} bytes, expected {size} ({algorithm} expected "
        f"{expected}). The file is truncated or is not the recorded weights; delete it and "
        "fetch it again."
    )


def read_verified(path, sha256=None, size=None, md5=None):
    """Reads ``path`` once and returns its bytes, verified against ``size`` and
    the hash (``sha256``, or ``md5`` when only a publisher's md5 is known).

    The caller uses the returned bytes, never the path again: whatever
    happens to the file afterwards, what is loaded is what was hashed.

    Raises:
        WeightsIntegrityError: size or hash differ.
        FileNotFoundError: ``path`` does not exist.
    """
    algorithm, expected = expected_digest(sha256, md5)
    path = Path(path)
    with open(path, "rb") as handle:
        actual_size = os.fstat(handle.fileno()).st_size
        if size is not None and actual_size != size:
            raise _size_error(path, actual_size, size, algorithm, expected)
        # Read at most one byte past the expected size: a file that grows
        # while it is read is refused without reading all of it.
        limit = (size if size is not None else actual_size) + 1
        data = handle.read(limit)
    if size is not None and len(data) != size:
        raise _size_error(path, len(data), size, algorithm, expected)
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise WeightsIntegrityError(
            f"Weights file {path} failed verification: expected {algorithm} "
            f"{expected}, actual {actual}. Refusing to load it."
        )
    return data


def verify_file(path, sha256=None, size=None, md5=None):
    """Raises WeightsIntegrityError unless ``path`` has this size and hash
    (``sha256``, or ``md5`` when only a publisher's md5 is known).

    Only says the file was good when it was read; to load it, use
    :func:`read_verified` and the bytes it returns.
    """
    read_verified(path, sha256=sha256, size=size, md5=md5)
    return Path(path)


def weights_suffix(name):
    """The suffix Keras dispatches on: ``.weights.h5`` (Keras 3) or ``.h5``/``.hdf5`` (legacy)."""
    name = str(name)
    if name.endswith(".weights.h5"):
        return ".weights.h5"
    suffix = Path(name).suffix
    return suffix if suffix in (".h5", ".hdf5", ".keras") else ".weights.h5"


def load_weights_from_bytes(model, data, suffix=".weights.h5"):
    """``model.load_weights`` from verified bytes, never from the original path.

    Keras reads weights from a path only, so the bytes go to a new file in a
    fresh private folder (mode 0700, the file created with O_EXCL), which is
    removed afterwards: no other user can swap it between write and load.
    """
    folder = tempfile.mkdtemp(prefix="adl_keras-verified-")
    path = os.path.join(folder, "verified" + suffix)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        model.load_weights(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return model


def _umask():
    """The process umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:  # pragma: no cover - not Linux
        pass
    mask = os.umask(0o022)  # pragma: no cover
    os.umask(mask)  # pragma: no cover
    return mask  # pragma: no cover


def _publish_mode(fd):
    """``mkstemp`` creates files 0600; published files get 0666 & ~umask like open() would."""
    os.fchmod(fd, 0o666 & ~_umask())


def fsync_dir(folder):
    """fsyncs a folder so a rename in it survives a power cut (no-op where unsupported)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


# Test hook: called with a step name at every step of a write (fault injection).
_fault_hook = None


def _step(name):
    if _fault_hook is not None:
        _fault_hook(name)


def max_download_bytes():
    """Cap on a download whose size is not recorded: ``$ADL_KERAS_MAX_DOWNLOAD`` (bytes) or 2 GiB."""
    return _positive_env("ADL_KERAS_MAX_DOWNLOAD", DEFAULT_MAX_DOWNLOAD_BYTES, int)


def download_deadline_s():
    """Overall deadline of one download: ``$ADL_KERAS_DOWNLOAD_DEADLINE`` (seconds) or 600."""
    return _positive_env("ADL_KERAS_DOWNLOAD_DEADLINE", DEFAULT_DOWNLOAD_DEADLINE_S, float)


def _positive_env(variable, default, kind):
    raw = os.environ.get(variable)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value <= 0:
        raise ValueError(f"{variable} must be a positive {kind.__name__}. Received: {variable}={raw!r}")
    return value


def _check_limit(name, value, kind):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (
            kind is int and not isinstance(value, int)):
        raise ValueError(f"{name} must be a positive {kind.__name__} or None. Received: {name}={value!r}")
    return value


def _remove_stale_parts(folder, name):
    """Removes ``.NAME.*.part`` files left by killed downloads.

    A live download holds an exclusive ``flock`` on its part file, so a part
    file that can be locked (and is older than a few seconds, to cover the
    instant between its creation and its lock) belongs to a dead process.
    """
    if not folder.is_dir():
        return
    now = time.time()
    for part in folder.glob(f".{name}.*.part"):
        try:
            fd = os.open(str(part), os.O_RDONLY)
        except OSError:
            continue
        try:
            if now - os.fstat(fd).st_mtime < STALE_PART_AGE_S:
                continue
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live download owns it
            elif now - os.fstat(fd).st_mtime < DEFAULT_DOWNLOAD_DEADLINE_S:  # pragma: no cover
                continue
            try:
                part.unlink()
            except OSError:
                pass
        finally:
            os.close(fd)


def _download(source, response, target, sha256, size, md5, max_bytes, deadline):
    """Streams ``response`` into a locked part file beside ``target``, within
    the size bound and the deadline, verifies it and renames it into place."""
    algorithm, expected = expected_digest(sha256, md5)
    bound = size if size is not None else max_bytes
    length = response.headers.get("Content-Length")
    if length is not None and length.strip().isdigit():
        length = int(length)
        if size is not None and length != size:
            raise WeightsIntegrityError(
                f"{source} announces {length} bytes, expected {size} (Content-Length; "
                f"{algorithm} {expected}); refusing to download it."
            )
        if length > bound:
            raise WeightsIntegrityError(
                f"{source} announces {length} bytes (Content-Length), more than the limit of "
                f"{bound} bytes (max_bytes= or ADL_KERAS_MAX_DOWNLOAD); refusing to download it."
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        digest = hashlib.new(algorithm)
        received = 0
        with os.fdopen(fd, "wb", closefd=False) as out:
            while True:
                if time.monotonic() > deadline:
                    raise OfflineError(
                        f"Download of {source} did not finish within its deadline "
                        f"({received} bytes received); set ADL_KERAS_DOWNLOAD_DEADLINE (seconds) "
                        "or deadline_s= to allow longer, or put the file at "
                        f"{target} ({algorithm} {expected})."
                    )
                # read1: returns what has arrived, so a trickling server cannot
                # hold one read past the deadline for more than the socket timeout.
                chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > bound:
                    what = f"the expected {size} bytes" if size is not None else (
                        f"the limit of {bound} bytes (max_bytes= or ADL_KERAS_MAX_DOWNLOAD)")
                    raise WeightsIntegrityError(
                        f"{source} sent more than {what}; download stopped and discarded."
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size is not None and received != size:
            raise _size_error(source, received, size, algorithm, expected)
        actual = digest.hexdigest()
        if actual != expected:
            raise WeightsIntegrityError(
                f"Weights file {source} failed verification: expected {algorithm} "
                f"{expected}, actual {actual}. Refusing to load it."
            )
        _publish_mode(fd)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    return target


def fetch_bytes(source, sha256=None, size=None, md5=None, max_bytes=None, deadline_s=None):
    """The verified bytes of ``source`` (a path or URL, as for :func:`fetch`).

    The file is read once; the hash is checked on exactly the bytes returned,
    so a file swapped on disk after the check is never what gets loaded.

    Returns:
        (bytes, pathlib.Path) of the data and the file it was read from.
    """
    hashes = {"sha256": sha256, "md5": md5 if sha256 is None else None}
    expected_digest(**hashes)
    source = str(source)
    if urllib.parse.urlparse(source).scheme not in ("http", "https", "file"):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"Weights file not found: {path}")
        return read_verified(path, size=size, **hashes), path
    target = cached_path(source, **hashes)
    if target.exists():
        try:
            return read_verified(target, size=size, **hashes), target
        except WeightsIntegrityError:
            pass  # fetch() replaces a corrupt cache entry (or says why it cannot)
    path = fetch(source, size=size, max_bytes=max_bytes, deadline_s=deadline_s, **hashes)
    return read_verified(path, size=size, **hashes), path


def cached_path(url, sha256=None, md5=None):
    """Where ``url`` is cached: ``<cache>/weights/<hash[:16]>/<basename>``."""
    _, expected = expected_digest(sha256, md5)
    name = Path(urllib.parse.urlparse(url).path).name or "weights.h5"
    return cache_dir() / "weights" / expected[:16] / name


def fetch(source, sha256=None, size=None, md5=None, max_bytes=None, deadline_s=None):
    """Returns a local, verified path for ``source``.

    Args:
        source: a local path, or a ``file://``, ``http://`` or ``https://`` URL.
        sha256: the expected hex digest; checked whenever given.
        size: the expected size in bytes, or None.
        md5: the publisher's md5, checked only when no sha256 is given
            (default None). One of the two is required.
        max_bytes: largest download accepted when ``size`` is None (default
            ``$ADL_KERAS_MAX_DOWNLOAD`` or 2 GiB). With a ``size``, the
            download stops at the first byte past it.
        deadline_s: overall seconds a download may take (default
            ``$ADL_KERAS_DOWNLOAD_DEADLINE`` or 600), however slowly the
            server sends.

    Returns:
        pathlib.Path of the verified file (the cache entry for URLs).

    Raises:
        FileNotFoundError: a local path does not exist.
        OfflineError: a URL is not cached and ADL_KERAS_OFFLINE is set, the
            server cannot be reached, or the deadline passed.
        WeightsIntegrityError: the file does not match its hash or ``size``,
            or is larger than allowed (Content-Length or bytes received).
        ValueError: no valid hash is given, or a bad limit.
    """
    algorithm, expected = expected_digest(sha256, md5)
    max_bytes = _check_limit("max_bytes", max_bytes, int) or max_download_bytes()
    deadline_s = _check_limit("deadline_s", deadline_s, float) or download_deadline_s()
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
    _remove_stale_parts(target.parent, target.name)
    deadline = time.monotonic() + deadline_s
    try:
        with urllib.request.urlopen(source, timeout=min(DOWNLOAD_TIMEOUT_S, deadline_s)) as response:
            return _download(source, response, target, hashes["sha256"], size, hashes["md5"], max_bytes,
                             deadline)
    except urllib.error.HTTPError as err:
        raise OfflineError(f"Could not download {source}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as err:
        raise OfflineError(
            f"Could not download {source} ({err}). Put the file at {target} "
            f"({algorithm} {expected}) or check the network."
        ) from err


def atomic_write_bytes(path, data, step=None):
    """Writes ``data`` to ``path`` through a temporary file, fsync and a rename.

    The file gets the umask's mode (not mkstemp's 0600); the folder is fsynced
    after the rename, so after a crash ``path`` holds either the old or the new
    bytes, whole. On any failure (a full disk: ``OSError`` ENOSPC, naming
    ``path``) the temporary file is removed and ``path`` is untouched.

    Args:
        path: the destination file.
        data: bytes.
        step: the name the fault-injection steps use (default ``path``'s name).
    """
    path = Path(path)
    step = step or path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            _step(f"write:{step}")
            out.write(data)
            out.flush()
            _step(f"fsync:{step}")
            os.fsync(out.fileno())
            _publish_mode(out.fileno())
        _step(f"rename:{step}")
        os.replace(tmp, path)
        _step(f"fsync-dir:{step}")
        fsync_dir(path.parent)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename is None and err.errno is not None:
            # A failed write() names no file; the user needs to know which disk filled.
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise
    return path


class _InMemoryWeightsFile(io.BytesIO):
    """A ``.weights.h5`` file in memory, for ``model.save_weights``.

    Keras' HDF5 store writes to an ``io.BytesIO`` as it does inside ``.keras``
    archives; ``save_weights`` only checks that ``str(filepath)`` ends in
    ``.weights.h5`` (Keras 3.15).
    """

    def __str__(self):
        return "in-memory.weights.h5"


def weights_bytes(model):
    """``model.save_weights`` serialised in memory: the bytes of a ``.weights.h5`` file.

    HDF5 never writes to disk here. Writing straight to a file, a full disk
    made h5py fail half-way and keep the file open, and HDF5 crashed the
    process at exit (SIGSEGV) after the error had been reported; the bytes
    now go to disk through :func:`atomic_write_bytes`, which fails with a plain
    ``OSError`` and leaves nothing behind.

    Returns:
        bytes, loadable with ``model.load_weights`` once written to a ``.weights.h5`` file.
    """
    buffer = _InMemoryWeightsFile()
    model.save_weights(buffer, overwrite=True)
    return buffer.getvalue()


def save_weights_content_addressed(model, folder):
    """Saves ``model``'s weights as ``folder/weights-<sha256[:16]>.weights.h5``.

    The weights are serialised in memory (:func:`weights_bytes`), hashed, and
    written under a temporary name, fsynced and renamed to their
    content-addressed name, so the file never replaces one a reader may be
    loading (different content, different name).

    Returns:
        (path, sha256, size).
    """
    data = weights_bytes(model)
    sha256 = hashlib.sha256(data).hexdigest()
    path = atomic_write_bytes(Path(folder) / f"weights-{sha256[:16]}.weights.h5", data, step="weights")
    return path, sha256, len(data)


def atomic_save_weights(model, path):
    """``model.save_weights(path)``, atomically: serialised in memory, then
    written through a temporary file, fsynced and renamed to ``path``."""
    return atomic_write_bytes(path, weights_bytes(model))
