"""Backups a resumed run can trust: written whole, restored with early stopping's
state, and (across workers) from an epoch every worker holds."""

import os

import numpy as np
import pytest

from adl_keras import _backup, distribute
from adl_keras.training import ClassifierConfig, fit_classifier


@pytest.mark.parametrize("held, expected", [
    ([[3, 4], [3, 4]], 4),
    ([[3, 4], [2, 3]], 3),   # one worker was killed before its epoch-4 save
    ([[4], [3, 4]], 4),
    ([[], [1, 2]], 0),       # a worker without backups: all start afresh
    ([[5, 6], [2, 3]], 0),   # nothing in common
    ([[-1, 2], [-1, 2]], 2),  # padding
])
def test_agreed_epoch_is_the_newest_every_worker_holds(held, expected):
    assert _backup.agreed_epoch(held) == expected


def test_keep_must_be_at_least_two(tmp_path):
    for bad in (1, True, 2.0):
        with pytest.raises(ValueError, match="keep"):
            _backup.ConsistentBackupAndRestore(str(tmp_path), keep=bad)


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return (x[:64], y[:64]), (x[64:], y[64:])


def _model():
    import keras

    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(2, activation="softmax")])


class _Kill(Exception):
    pass


def _run(backup, epochs=6, kill_after=None, patience=2):
    """fit_classifier inside a resumable run; kill_after=E raises after epoch E's backup."""
    import keras

    train, val = _data()
    model = _model()
    callbacks = []
    if kill_after is not None:
        class Killer(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch + 1 == kill_after:
                    raise _Kill()
        callbacks.append(Killer())
    config = ClassifierConfig(epochs=epochs, batch_size=16, learning_rate=0.05, patience=patience, seed=3)
    with distribute.recipe_run(None, backup_dir=backup) as run:
        history = fit_classifier(model, train, validation_data=val, config=config, callbacks=callbacks)
    return model, history, run


def _same_weights(a, b):
    return all(np.array_equal(np.asarray(u), np.asarray(v)) for u, v in zip(a.weights, b.weights))


def test_killed_run_resumes_to_the_uninterrupted_weights(tmp_path):
    whole, whole_history, _ = _run(str(tmp_path / "a"), patience=50)
    with pytest.raises(_Kill):
        _run(str(tmp_path / "b"), kill_after=3, patience=50)
    keras_dir = tmp_path / "b" / "worker-0" / "fit-0" / "keras"
    assert _backup.snapshot_epochs(keras_dir) == [2, 3]  # the newest two, whole
    resumed, history, run = _run(str(tmp_path / "b"), patience=50)
    assert run.resumed_epochs == [3] and len(history.history["loss"]) == 3
    assert _same_weights(whole, resumed)
    assert not (tmp_path / "b" / "worker-0" / "fit-0").exists() or not any(keras_dir.glob("epoch-*"))


def test_early_stopping_state_is_restored_with_the_epoch(tmp_path):
    """Patience counter, best value and best weights come back from the same backup as the
    model: the resumed run stops at the same epoch with the same restored best weights."""
    whole, whole_history, _ = _run(str(tmp_path / "a"), epochs=30, patience=2)
    stopped = whole_history.early_stopping.stopped_epoch
    assert 0 < stopped < 29, "the case must stop early to test anything"
    kill = max(1, stopped - 1)
    with pytest.raises(_Kill):
        _run(str(tmp_path / "b"), epochs=30, kill_after=kill, patience=2)
    resumed, history, _ = _run(str(tmp_path / "b"), epochs=30, patience=2)
    assert history.early_stopping.stopped_epoch == stopped
    assert history.early_stopping.best == whole_history.early_stopping.best
    assert _same_weights(whole, resumed)


def test_a_save_killed_part_way_leaves_the_previous_backup(tmp_path, monkeypatch):
    with pytest.raises(_Kill):
        _run(str(tmp_path / "b"), kill_after=2, patience=50)
    keras_dir = tmp_path / "b" / "worker-0" / "fit-0" / "keras"
    real_dump = _backup.json.dump

    def dies_mid_write(obj, f):
        f.write('{"epoch": ')  # the state file is half written when the process dies
        raise _Kill()

    monkeypatch.setattr(_backup.json, "dump", dies_mid_write)
    with pytest.raises(_Kill):
        _run(str(tmp_path / "b"), patience=50)
    monkeypatch.setattr(_backup.json, "dump", real_dump)
    assert _backup.snapshot_epochs(keras_dir) == [1, 2]
    assert any(name.startswith(".epoch-") for name in os.listdir(keras_dir)) is False  # cleaned on error
    # A temporary folder left by a SIGKILL (no cleanup ran) is removed at the next start.
    os.makedirs(keras_dir / ".epoch-000003.abc")
    whole, _, _ = _run(str(tmp_path / "a"), patience=50)
    resumed, _, run = _run(str(tmp_path / "b"), patience=50)
    assert run.resumed_epochs == [2]
    assert _same_weights(whole, resumed)


def test_newer_local_backups_than_the_agreed_epoch_are_dropped(tmp_path, monkeypatch):
    for e in (1, 2, 3):
        os.makedirs(tmp_path / f"epoch-{e:06d}")
        (tmp_path / f"epoch-{e:06d}" / _backup.STATE_FILE).write_text("{}")
    os.makedirs(tmp_path / "epoch-000004")  # no state file: never completed
    assert _backup.snapshot_epochs(tmp_path) == [1, 2, 3]
    assert _backup.gather_epochs(None, [1, 2, 3], 2) == [[2, 3]]  # one process: its own newest two
    # A peer killed before its epoch-3 save holds [1, 2]: this worker goes back to 2 as well.
    monkeypatch.setattr(_backup, "gather_epochs", lambda strategy, epochs, keep: [sorted(epochs)[-keep:], [1, 2]])
    assert _backup.agree_and_prune(tmp_path) == 2
    assert _backup.snapshot_epochs(tmp_path) == [1, 2]


@pytest.mark.slow
def test_stock_backup_and_restore_cannot_resume_after_a_kill_mid_save(tmp_path):
    """Why the subclass exists: Keras' BackupAndRestore (3.15) writes its metadata in place
    and its fallback catches only OSError, so a run killed inside that write cannot resume
    (our class in the same situation: test_a_save_killed_part_way_leaves_the_previous_backup)."""
    import json

    import keras

    (x, y), _ = _data()
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), double_checkpoint=True, delete_checkpoint=False)
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[backup], verbose=0)
    (tmp_path / "training_metadata.json").write_text('{"epoch": ')  # the kill lands mid-write
    with pytest.raises(json.JSONDecodeError):
        model.fit(x, y, epochs=3, batch_size=16, callbacks=[backup], verbose=0)
