"""Finding 4: a zoo entry is swapped as a whole. Kills at every step of a
write, a concurrent reader and a full disk never leave a card that points at
missing or different weights; training writes into the user zoo only."""

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.zoo import cards, store


class _Killed(BaseException):
    pass


@pytest.fixture(scope="module")
def models():
    """The shipped lenet5.digits model and a perturbed copy (two distinct entries)."""
    entry = zoo.get_entry("lenet5.digits")
    old = zoo.load_model("lenet5.digits", source="shipped")
    new = entry.build()
    new.set_weights([w + 0.01 for w in old.get_weights()])
    return entry, old, new


def _write(entry, model, root, accuracy):
    return cards.write_entry(entry, model, {"accuracy": accuracy, "_split": "test"}, root=root)


def _loaded_state(root):
    """(accuracy on the card, first kernel) of what a reader loads now."""
    data, _, _ = zoo._entry_weights("lenet5.digits", "user")
    meta = cards.read_meta("lenet5.digits", root)
    assert hashlib.sha256(data).hexdigest() == meta["weights"]["sha256"]
    model = zoo.load_model("lenet5.digits", source="user")
    return meta["metrics"]["accuracy"]["value"], model.get_weights()[0]


def _steps(entry, model, root):
    seen = []
    store._fault_hook = seen.append
    try:
        _write(entry, model, root, 0.5)
    finally:
        store._fault_hook = None
    return seen


def test_kill_at_every_step_leaves_old_or_new_entry(home, models):
    entry, old, new = models
    root = store.user_zoo_dir()
    _write(entry, old, root, 0.1)
    steps = _steps(entry, new, root / "probe")
    assert {"write:weights", "rename:weights", "fsync:meta.json", "rename:meta.json", "remove-old-weights"} <= set(steps)
    old_kernel, new_kernel = old.get_weights()[0], new.get_weights()[0]
    template = root.parent / "template"
    shutil.copytree(root, template)
    for step in steps:
        shutil.rmtree(root)
        shutil.copytree(template, root)

        def kill(name, step=step):
            if name == step:
                raise _Killed(step)

        store._fault_hook = kill
        try:
            with pytest.raises(_Killed):
                _write(entry, new, root, 0.9)
        finally:
            store._fault_hook = None
        accuracy, kernel = _loaded_state(root)
        switched = steps.index(step) > steps.index("rename:meta.json")
        expected = (0.9, new_kernel) if switched else (0.1, old_kernel)
        assert accuracy == expected[0], step
        np.testing.assert_array_equal(kernel, expected[1])


def test_concurrent_reader_during_writes(home, models):
    """A reader polling while entries are rewritten never sees an inconsistent one."""
    entry, old, new = models
    root = store.user_zoo_dir()
    _write(entry, old, root, 0.1)
    good = set()
    for m in (old, new):
        probe = root.parent / f"probe-{uuid.uuid4().hex}"
        good.add(_write(entry, m, probe, 0.0)["weights"]["sha256"])
    errors, reads, stop = [], [0], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                data, _, _ = zoo._entry_weights("lenet5.digits", "user")
                assert hashlib.sha256(data).hexdigest() in good
                reads[0] += 1
            except BaseException as err:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(err))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        for i in range(6):
            _write(entry, (new, old)[i % 2], root, 0.2 + i)
    finally:
        stop.set()
        thread.join()
    assert errors == [] and reads[0] > 0
    leftovers = sorted(p.name for p in (root / "lenet5.digits").iterdir())
    assert leftovers == sorted(["README.md", "meta.json", cards.read_meta("lenet5.digits", root)["weights"]["file"]])


def _tmpfs(path, size):
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                            capture_output=True, timeout=10)
    return result.returncode == 0


def _full_disk(path, size):
    """Mounts a ``size`` tmpfs at ``path`` (root on Linux, as in CI); False where not allowed.
    ADL_KERAS_TEST_TMPFS=0 skips the mount (ENOSPC is then injected)."""
    return os.environ.get("ADL_KERAS_TEST_TMPFS") != "0" and _tmpfs(path, size)


def test_full_disk_keeps_old_entry(tmp_path, monkeypatch, models):
    """On a 600 kB tmpfs (the old entry fits, a second weights file does not),
    or with an ENOSPC injected where mounting is not allowed."""
    entry, old, new = models
    disk = tmp_path / "disk"
    mounted = _full_disk(disk, "600k")
    monkeypatch.setenv("ADL_KERAS_HOME", str(disk))
    try:
        root = store.user_zoo_dir()
        _write(entry, old, root, 0.1)
        if not mounted:
            def full(name):
                if name == "write:weights":
                    raise OSError(errno.ENOSPC, "No space left on device")
            store._fault_hook = full
        else:
            filler = disk / "filler"  # leaves less than one weights file free
            filler.write_bytes(b"\0" * (shutil.disk_usage(disk).free - 64 * 1024))
        try:
            with pytest.raises(OSError) as err:
                _write(entry, new, root, 0.9)
        finally:
            store._fault_hook = None
        assert err.value.errno == errno.ENOSPC, err.value
        assert str(root / "lenet5.digits") in str(err.value)  # names the file that did not fit
        accuracy, kernel = _loaded_state(root)
        assert accuracy == 0.1
        np.testing.assert_array_equal(kernel, old.get_weights()[0])
        assert not [p for p in (root / "lenet5.digits").iterdir() if p.name.startswith(".")]
        # A failure at the card (after the weights fit) keeps the old entry too.
        if mounted:
            filler.unlink()
        def no_space_for_card(name):
            if name == "write:meta.json":
                raise OSError(errno.ENOSPC, "No space left on device")
        store._fault_hook = no_space_for_card
        try:
            with pytest.raises(OSError):
                _write(entry, new, root, 0.9)
        finally:
            store._fault_hook = None
        assert _loaded_state(root)[0] == 0.1
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=10)


# A model stand-in whose save_weights writes HDF5 through h5py as Keras 3.15 does
# (one dataset per variable; the file is closed only on success, so after a failed
# write it stays open until the process exits). Keras' own import takes seconds.
_FULL_DISK_SCRIPT = """
import sys
import h5py
import numpy as np
from adl_keras.zoo import store

class Model:
    def save_weights(self, target, overwrite=True):
        self.file = h5py.File(target, "w")
        group = self.file.create_group("vars")
        for i in range(40):
            group.create_dataset(str(i), data=np.ones((1000,), "float32"))  # 160 kB in all
        self.file.close()

model = Model()
try:
    store.save_weights_content_addressed(model, sys.argv[1])
except OSError as err:
    print(err)
    sys.exit(3)
"""


def test_full_disk_error_then_clean_exit(tmp_path):
    """A process whose disk fills while it writes weights gets ENOSPC and
    exits normally. (HDF5 writing to the file used to keep it open after the
    error and crash the interpreter at exit: SIGSEGV, exit code 139.)"""
    disk = tmp_path / "disk"
    if not _full_disk(disk, "64k"):
        pytest.skip("mounting a tmpfs needs root on Linux (CI has it); the in-process test injects ENOSPC")
    try:
        result = subprocess.run([sys.executable, "-c", _FULL_DISK_SCRIPT, str(disk / "entry")],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 3, result.stderr[-2000:]
        assert "No space left on device" in result.stdout
        assert list((disk / "entry").iterdir()) == []  # no partial file either
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=10)


def test_written_files_respect_the_umask(home, models):
    entry, old, _ = models
    mask = os.umask(0o027)
    try:
        meta = _write(entry, old, store.user_zoo_dir(), 0.1)
    finally:
        os.umask(mask)
    folder = store.user_zoo_dir() / "lenet5.digits"
    for name in ("meta.json", "README.md", meta["weights"]["file"]):
        assert (folder / name).stat().st_mode & 0o777 == 0o640, name
    assert (store.user_zoo_dir() / cards.INDEX_FILE).stat().st_mode & 0o777 == 0o640


def test_atomic_write_bytes_fsyncs(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    store.atomic_write_bytes(tmp_path / "f.json", b"{}")
    assert len(synced) >= 2  # the file, then its folder


_KILL_SCRIPT = """
import os, sys
from adl_keras import zoo
from adl_keras.zoo import cards, store
entry = zoo.get_entry("lenet5.digits")
model = zoo.load_model("lenet5.digits", source="shipped")
model.set_weights([w + 0.01 for w in model.get_weights()])
step = sys.argv[1]
def hook(name):
    if name == step:
        os._exit(17)  # a kill: no cleanup, no finally
store._fault_hook = hook
cards.write_entry(entry, model, {"accuracy": 0.9, "_split": "test"}, root=sys.argv[2])
"""


@pytest.mark.slow
def test_real_kill_at_every_step(home, models, tmp_path):
    """Like the in-process test, but the writer process really dies (os._exit) at each step."""
    entry, old, new = models
    root = store.user_zoo_dir()
    steps = _steps(entry, new, root / "probe")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for step in steps:
        if (root / "lenet5.digits").exists():
            shutil.rmtree(root / "lenet5.digits")
        _write(entry, old, root, 0.1)
        proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, step, str(root)], env=env,
                              capture_output=True, timeout=300)
        assert proc.returncode == 17, proc.stderr.decode()[-2000:]
        switched = steps.index(step) > steps.index("rename:meta.json")
        accuracy, kernel = _loaded_state(root)
        assert accuracy == (0.9 if switched else 0.1), step
        expected = new.get_weights()[0] if switched else old.get_weights()[0]
        np.testing.assert_array_equal(kernel, expected)


def test_files_beside_the_card_are_written_before_the_switch(home, models):
    entry, old, _ = models
    root = store.user_zoo_dir()
    seen = []
    store._fault_hook = seen.append
    try:
        cards.write_entry(entry, old, {"accuracy": 0.1, "_split": "test"}, root=root, files={"curve.png": b"png"})
    finally:
        store._fault_hook = None
    assert (root / "lenet5.digits" / "curve.png").read_bytes() == b"png"
    assert seen.index("rename:curve.png") < seen.index("rename:meta.json")
    for bad in ("../curve.png", "meta.json"):
        with pytest.raises(ValueError, match="files"):
            cards.write_entry(entry, old, {"accuracy": 0.1, "_split": "test"}, root=root, files={bad: b"x"})
