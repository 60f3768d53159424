"""``BackupAndRestore`` whose backups are whole, and agreed on by every worker.

Keras' ``BackupAndRestore`` (3.15) writes ``latest.weights.h5`` and then
``training_metadata.json`` in place. A kill between the two leaves the
weights of epoch e+1 beside the epoch counter of e; a kill inside the JSON
write leaves a file ``json.loads`` cannot read, which its fallback (it only
catches ``OSError``) does not handle. Under ``MultiWorkerMirroredStrategy``
each worker backs up on its own, so a worker killed between its peers'
end-of-epoch saves leaves the cluster's backups one epoch apart, and the
restarted workers would resume from different epochs.

:class:`ConsistentBackupAndRestore` keeps the callback's interface and
semantics and changes how the state is stored and chosen:

- each save is a folder ``epoch-NNNNNN`` (weights, the epoch, and the state of
  registered callbacks such as early stopping), written under a temporary
  name, fsynced and renamed, so it exists whole or not at all;
- the newest ``keep`` (2) are kept;
- at ``on_train_begin`` the workers exchange the epochs they hold (one
  all-gather) and every worker restores the newest epoch that all of them
  hold; newer local backups are dropped.
"""

import json
import os
import re
import shutil
import tempfile

import keras
import numpy as np

SNAPSHOT = re.compile(r"^epoch-(\d{6,})$")
STATE_FILE = "state.json"
WEIGHTS_FILE = "model.weights.h5"
ARRAYS_FILE = "arrays.npz"


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse it
        pass
    finally:
        os.close(fd)


def _fsync_tree(folder):
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as f:
            os.fsync(f.fileno())
    _fsync_dir(folder)


def snapshot_epochs(backup_dir):
    """Epochs of the complete backups in ``backup_dir``, ascending ([] if none)."""
    try:
        names = os.listdir(backup_dir)
    except OSError:
        return []
    epochs = []
    for name in names:
        match = SNAPSHOT.match(name)
        if match and os.path.exists(os.path.join(backup_dir, name, STATE_FILE)):
            epochs.append(int(match.group(1)))
    return sorted(epochs)


def snapshot_path(backup_dir, epoch):
    return os.path.join(backup_dir, f"epoch-{epoch:06d}")


def agreed_epoch(held):
    """The newest epoch every worker holds a backup of (0: start afresh).

    Args:
        held: one sequence of epochs per worker.
    """
    common = set.intersection(*(set(int(e) for e in h if e >= 0) for h in held)) if held else set()
    return max(common, default=0)


def gather_epochs(strategy, epochs, keep):
    """Each worker's newest ``keep`` backup epochs, gathered on every worker.

    One all-gather under a multi-worker strategy; just ``[epochs]`` otherwise.
    """
    import tensorflow as tf

    from adl_keras import distribute

    mine = sorted(epochs)[-keep:]
    if strategy is None or distribute.worker_count(strategy) <= 1:
        return [mine]
    row = np.full((1, keep), -1, np.int64)
    row[0, keep - len(mine):] = mine
    value = strategy.experimental_distribute_values_from_function(lambda _: tf.constant(row))
    return [list(r) for r in np.asarray(strategy.gather(value, axis=0))]


def agree_and_prune(backup_dir, strategy=None, keep=2):
    """Agrees on the epoch to restore across workers and drops newer local backups.

    Returns:
        the agreed epoch (0 when training starts afresh).
    """
    try:  # a save killed part-way leaves only its temporary folder
        for name in os.listdir(backup_dir):
            if name.startswith(".epoch-"):
                shutil.rmtree(os.path.join(backup_dir, name), ignore_errors=True)
    except OSError:
        pass
    local = snapshot_epochs(backup_dir)
    epoch = agreed_epoch(gather_epochs(strategy, local, keep))
    for e in local:
        if e > epoch:
            shutil.rmtree(snapshot_path(backup_dir, e), ignore_errors=True)
    return epoch


class ConsistentBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` with atomic, cluster-agreed backups.

    Args:
        backup_dir: folder of this worker's backups (one per worker).
        keep: complete backups kept (>= 2, so that workers one epoch apart
            still share one).
        state_callbacks: callbacks whose state is saved with each backup and
            restored with it; each has ``backup_state() -> (dict, list of
            arrays)`` and ``restore_state(dict, arrays)``. Put them *before*
            this callback in ``fit``'s list, so they have updated their state
            when it saves at the end of an epoch.
        delete_checkpoint: remove ``backup_dir`` once training finishes.

    Only ``save_freq="epoch"`` is supported: a backup is a completed epoch.
    """

    def __init__(self, backup_dir, keep=2, state_callbacks=(), delete_checkpoint=True):
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 2:
            raise ValueError(f"keep must be an int >= 2. Received: keep={keep!r}")
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=delete_checkpoint)
        self.keep = keep
        self.state_callbacks = list(state_callbacks)
        self.restored_epoch = 0

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built before you call "
                             f"`fit()`. Model {self.model.name!r} is unbuilt.")
        epoch = agree_and_prune(self.backup_dir, self.model.distribute_strategy, self.keep)
        self.restored_epoch = epoch
        if epoch == 0:
            return
        folder = snapshot_path(self.backup_dir, epoch)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(folder, WEIGHTS_FILE))
        with open(os.path.join(folder, STATE_FILE), encoding="utf-8") as f:
            state = json.load(f)
        arrays = {}
        if os.path.exists(os.path.join(folder, ARRAYS_FILE)):
            with np.load(os.path.join(folder, ARRAYS_FILE), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        for i, cb in enumerate(self.state_callbacks):
            n = state["callbacks"][i]["arrays"]
            cb.restore_state(state["callbacks"][i]["state"], [arrays[f"c{i}_{j}"] for j in range(n)])
        self.model._initial_epoch = state["epoch"]
        self._current_epoch = state["epoch"]

    def _save_model(self):
        epoch = self._current_epoch
        os.makedirs(self.backup_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".epoch-{epoch:06d}.", dir=self.backup_dir)
        try:
            self.model.save_weights(os.path.join(tmp, WEIGHTS_FILE), overwrite=True)
            entries, arrays = [], {}
            for i, cb in enumerate(self.state_callbacks):
                state, values = cb.backup_state()
                entries.append({"state": state, "arrays": len(values)})
                arrays.update({f"c{i}_{j}": np.asarray(v) for j, v in enumerate(values)})
            if arrays:
                np.savez(os.path.join(tmp, ARRAYS_FILE), **arrays)
            with open(os.path.join(tmp, STATE_FILE), "w", encoding="utf-8") as f:
                json.dump({"epoch": epoch, "callbacks": entries}, f)
            _fsync_tree(tmp)
            final = snapshot_path(self.backup_dir, epoch)
            if os.path.exists(final):  # a re-run epoch after a restore: replace it whole
                shutil.rmtree(final)
            os.rename(tmp, final)
            _fsync_dir(self.backup_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for old in snapshot_epochs(self.backup_dir)[:-self.keep]:
            shutil.rmtree(snapshot_path(self.backup_dir, old), ignore_errors=True)
