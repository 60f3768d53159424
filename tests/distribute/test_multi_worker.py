"""Multi-worker training on TensorFlow's own engine: two worker processes on
127.0.0.1, one thread each (adl_keras.distribute)."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from adl_keras import distribute

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import ROOT, run_cluster  # noqa: E402

CHECKS = "stock,cnn,gan,lstm,finetune,tbptt"


def _two(**task):
    return {"cluster": {"worker": ["127.0.0.1:1001", "127.0.0.1:1002"]}, "task": {"type": "worker", "index": 0, **task}}


@pytest.mark.parametrize("value, names", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ({"task": {"type": "worker", "index": 0}}, "Received: cluster=None"),
    ({"cluster": {"worker": ["127.0.0.1:1"]}}, "Received: task=None"),
    (_two(index=2), "Received: task.index=2"),
    (_two(index=True), "Received: task.index=True"),
    (_two(type="chief"), "Received: task.type='chief'"),
    ({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}},
     "lists address '127.0.0.1:1' twice"),
    ({"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}, "cluster['worker']=['nohost']"),
    ({"cluster": {"worker": ["h:1"], "ps": ["h:2"]}, "task": {"type": "worker", "index": 0}}, "cluster['ps']"),
])
def test_tf_config_errors_name_field_and_value(value, names):
    with pytest.raises(ValueError, match=None) as err:
        distribute.parse_tf_config(value if isinstance(value, str) else json.dumps(value))
    assert names in str(err.value)


def test_tf_config_parsed_and_chief_rule(monkeypatch):
    spec = distribute.parse_tf_config(json.dumps(_two(index=1)))
    assert (spec.task_type, spec.task_index, spec.num_workers, spec.address) == ("worker", 1, 2, "127.0.0.1:1002")
    assert spec.peers() == [("worker", 0, "127.0.0.1:1001")]
    assert not distribute.is_chief(spec)
    assert distribute.is_chief(distribute.parse_tf_config(json.dumps(_two(index=0))))
    with_chief = {"cluster": {"chief": ["h:1"], "worker": ["h:2"]}, "task": {"type": "worker", "index": 0}}
    assert not distribute.is_chief(distribute.parse_tf_config(with_chief))
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.parse_tf_config() is None and distribute.is_chief() and distribute.worker_count() == 1


def test_get_strategy_argument_errors(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="Received: kind='multiworker'"):
        distribute.get_strategy("multiworker")
    with pytest.raises(ValueError, match="TF_CONFIG unset"):
        distribute.get_strategy("multi_worker")
    with pytest.raises(ValueError, match="communication_options"):
        distribute.get_strategy(communication_options={"bytes_per_pack": 1024})
    monkeypatch.setenv("ADL_KERAS_CONNECT_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="ADL_KERAS_CONNECT_TIMEOUT='soon'"):
        distribute.get_strategy("multi_worker", tf_config=_two())


def test_auto_is_default_strategy_without_cluster(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.get_strategy() is tf.distribute.get_strategy()


def test_epoch_order_depends_only_on_seed_and_epoch():
    x = np.arange(10, dtype="float32")[:, None]
    full, steps = distribute.epoch_ordered_dataset(x, np.arange(10), 4, seed=3, epochs=3)
    batches = [b[1].numpy().tolist() for b in full]
    assert steps == 3 and len(batches) == 9
    assert sorted(sum(batches[3:6], [])) == list(range(10))  # each epoch is a permutation
    assert batches[:3] != batches[3:6]                         # reshuffled every epoch
    resumed, _ = distribute.epoch_ordered_dataset(x, np.arange(10), 4, seed=3, epochs=3, initial_epoch=2)
    assert [b[1].numpy().tolist() for b in resumed] == batches[6:]


def test_two_workers_equal_one_process():
    """Stock Keras fails in the cluster; with the fix, one step of 2 workers x batch b equals
    one process at batch 2b for a zoo CNN, WGAN-GP (D and G, k=3), an LSTM with layer-wise
    rates, two-phase fine_tune (BatchNorm in inference mode) and truncated BPTT."""
    with tempfile.TemporaryDirectory() as out:
        results = run_cluster(["tests/distribute/mw_checks.py", out, CHECKS], timeout=400)
        for rc, log in results:
            assert rc == 0, log[-3000:]
        r = json.loads(Path(out, "results.json").read_text())
    assert r["replicas"] == 2
    assert "PerReplica" in r["stock_error"]  # keras-team/keras#20585, as shipped
    assert r["cnn_weight_change"] > 1e-3 and r["cnn_weight_diff"] < 1e-5
    assert r["cnn_loss"][0] == pytest.approx(r["cnn_loss"][1], abs=1e-6)
    assert r["cnn_eval"][0] == pytest.approx(r["cnn_eval"][1], abs=1e-6)
    assert r["cnn_predict_diff"] < 1e-6
    assert r["gan_weight_change"] > 1e-3 and r["gan_d_diff"] < 1e-5 and r["gan_g_diff"] < 1e-5
    assert r["lstm_weight_diff"] < 1e-5 and r["lstm_move_ratio"] == pytest.approx(0.1, rel=1e-3)
    assert r["finetune_weight_change"] > 1e-4 and r["finetune_weight_diff"] < 1e-5
    assert r["tbptt_weight_diff"] < 1e-5 and r["tbptt_loss"][0] == pytest.approx(r["tbptt_loss"][1], rel=1e-5)


def test_unreachable_peer_fails_fast_naming_it():
    config = json.dumps({"cluster": {"worker": distribute.free_local_addresses(2)},
                         "task": {"type": "worker", "index": 0}})
    peer = json.loads(config)["cluster"]["worker"][1]
    code = "from adl_keras import distribute; distribute.get_strategy('multi_worker')"
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CONFIG": config,
                              "ADL_KERAS_CONNECT_TIMEOUT": "5", "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert res.returncode == -9, res.stderr[-2000:]
    assert f"worker[1] at {peer}" in res.stderr and "within 5 s" in res.stderr
    assert time.monotonic() - start < 60


def test_rl_entries_refuse_workers(capsys):
    from adl_keras import cli

    assert cli.main(["train", "dqn.cartpole", "--workers", "2"]) == 2
    assert "trains in one process" in capsys.readouterr().err


def _train_args(out, epochs=4):
    return ["-m", "adl_keras.cli", "train", "lenet5.digits", "--strategy", "multi_worker", "--epochs", str(epochs),
            "--backup-dir", f"{out}/backup", "--out", f"{out}/zoo"]


def _weights(folder):
    from adl_keras import zoo

    import keras

    entry = zoo.get_entry("lenet5.digits")
    model = entry.build()
    meta = json.loads(Path(folder, "lenet5.digits", "meta.json").read_text())
    model.load_weights(str(Path(folder, "lenet5.digits", meta["weights"]["file"])))
    return meta, [np.asarray(w) for w in model.weights], keras


@pytest.mark.slow
def test_killed_worker_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL worker 1 after epoch 2 of 4; the chief fails (it never hangs); the same command
    started again resumes from the last backup and ends with exactly the weights and test
    accuracy of an uninterrupted run. Only the chief writes the entry."""
    backup = tmp_path / "a" / "backup" / "worker-1" / "fit-0" / "keras"
    killed = run_cluster(_train_args(tmp_path / "a"), kill=(1, lambda _: distribute.backup_epoch(backup) >= 2),
                         timeout=600)
    assert killed[1][0] == -9 and killed[0][0] != 0
    assert not (tmp_path / "a" / "zoo" / "lenet5.digits" / "meta.json").exists()
    done_before = distribute.backup_epoch(backup)
    assert 2 <= done_before < 4
    resumed = run_cluster(_train_args(tmp_path / "a"), timeout=600)
    assert all(rc == 0 for rc, _ in resumed), resumed[0][1][-3000:]
    assert not (tmp_path / "a" / "backup").exists()
    whole = run_cluster(_train_args(tmp_path / "b"), timeout=600)
    assert all(rc == 0 for rc, _ in whole)
    meta_a, w_a, _ = _weights(tmp_path / "a" / "zoo")
    meta_b, w_b, _ = _weights(tmp_path / "b" / "zoo")
    assert meta_a["metrics"]["accuracy"]["value"] == meta_b["metrics"]["accuracy"]["value"]
    assert all(np.array_equal(a, b) for a, b in zip(w_a, w_b))
    assert meta_a["training"]["distribution"] == {"strategy": "MultiWorkerMirroredStrategy", "workers": 2,
                                                  "replicas": 2}
    assert meta_a["training"]["resumed_from_epochs"] == [done_before]  # resumed, not restarted
    assert "resumed_from_epochs" not in meta_b["training"]


@pytest.mark.slow
def test_workers_one_epoch_apart_resume_from_the_epoch_both_hold(tmp_path):
    """A kill can land after one worker's end-of-epoch backup and before its peer's, leaving
    the workers' backups one epoch apart. Both must resume from the newest epoch both hold
    (if each restored its own newest, they would train different epochs and the weights
    could not equal an uninterrupted run's)."""
    import shutil

    from adl_keras import _backup

    base = tmp_path / "a" / "backup"
    w0, w1 = (base / f"worker-{i}" / "fit-0" / "keras" for i in (0, 1))
    killed = run_cluster(_train_args(tmp_path / "a", epochs=5),
                         kill=(1, lambda _: distribute.backup_epoch(w1) >= 2), timeout=600)
    assert killed[1][0] == -9
    common = set(_backup.snapshot_epochs(w0)) & set(_backup.snapshot_epochs(w1))
    m = max(common)
    for folder in (w0, w1):
        for e in _backup.snapshot_epochs(folder):
            if e > m:
                shutil.rmtree(_backup.snapshot_path(folder, e))
    # The chief is one epoch ahead: its newest backup is m + 1 (here: epoch m's weights
    # labelled m + 1, which an agreement that failed would load and train from).
    ahead = _backup.snapshot_path(w0, m + 1)
    shutil.copytree(_backup.snapshot_path(w0, m), ahead)
    state = json.loads(Path(ahead, _backup.STATE_FILE).read_text())
    Path(ahead, _backup.STATE_FILE).write_text(json.dumps({**state, "epoch": m + 1}))
    resumed = run_cluster(_train_args(tmp_path / "a", epochs=5), timeout=600)
    assert all(rc == 0 for rc, _ in resumed), resumed[0][1][-3000:]
    whole = run_cluster(_train_args(tmp_path / "b", epochs=5), timeout=600)
    assert all(rc == 0 for rc, _ in whole)
    meta_a, w_a, _ = _weights(tmp_path / "a" / "zoo")
    _, w_b, _ = _weights(tmp_path / "b" / "zoo")
    assert meta_a["training"]["resumed_from_epochs"] == [m]
    assert all(np.array_equal(a, b) for a, b in zip(w_a, w_b))


@pytest.mark.slow
def test_cli_workers_flag_trains_and_only_the_chief_writes(tmp_path):
    res = subprocess.run([sys.executable, "-m", "adl_keras.cli", "train", "lenet5.digits", "--workers", "2",
                          "--epochs", "2", "--out", str(tmp_path / "zoo")], capture_output=True, text=True,
                         timeout=600, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr[-3000:]
    assert "accuracy =" in res.stdout and res.stdout.count("wrote ") == 1
    meta, weights, _ = _weights(tmp_path / "zoo")
    assert meta["training"]["distribution"]["workers"] == 2 and len(weights) == 10


@pytest.mark.slow
def test_zoo_train_under_strategy_writes_once():
    with tempfile.TemporaryDirectory() as out:
        results = run_cluster(["tests/distribute/mw_checks.py", out, "train"], timeout=600)
        assert all(rc == 0 for rc, _ in results), results[0][1][-3000:]
        r = json.loads(Path(out, "results.json").read_text())
        assert r["train_written"] is not False and 0.5 < r["train_accuracy"] <= 1
        assert Path(out, "zoo-0", "lenet5.digits", "meta.json").exists()
        assert not Path(out, "zoo-1").exists() and not Path(out, "backup").exists()


@pytest.mark.slow
def test_every_kind_of_recipe_trains_on_two_workers():
    """fit_classifier, the adding-problem loop (XLA), WGAN-GP, a tabular MLP and two-phase
    fine-tuning each train through zoo.train on 2 workers; the chief alone writes each entry,
    and the written weights load back through the registry."""
    from adl_keras import zoo

    import keras

    with tempfile.TemporaryDirectory() as out:
        results = run_cluster(["tests/distribute/mw_recipes.py", out], timeout=1200)
        for rc, log in results:
            assert rc == 0, log[-3000:]
        r = json.loads(Path(out, "results.json").read_text())
        assert set(r) == {"lenet5.digits", "lstm.adding", "wgan_gp.digits", "mlp.wine", "resnet_small.digits10shot"}
        assert not Path(out, "zoo-1").exists()
        for name in r:
            meta = json.loads(Path(out, "zoo-0", name, "meta.json").read_text())
            assert meta["training"]["distribution"]["workers"] == 2
            model = zoo.get_entry(name).build()
            model.load_weights(str(Path(out, "zoo-0", name, meta["weights"]["file"])))
            assert all(np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in model.weights)
            assert not Path(out, f"backup-{name}").exists()
