"""Ray Train's TensorflowTrainer drives a zoo recipe on a local Ray runtime (slow; needs adl_keras[ray])."""

import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_ray_tensorflow_trainer_trains_a_zoo_entry(tmp_path):
    ray = pytest.importorskip("ray", reason="Ray Train is optional: pip install adl_keras[ray]")
    from ray.train import RunConfig, ScalingConfig
    from ray.train.tensorflow import TensorflowTrainer

    from adl_keras.distribute import ray_train_loop

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        trainer = TensorflowTrainer(
            ray_train_loop,
            train_loop_config={"name": "lenet5.digits", "root": str(tmp_path / "zoo"), "threads": 1,
                               "recipe": {"epochs": 2}},
            scaling_config=ScalingConfig(num_workers=2, use_gpu=False, resources_per_worker={"CPU": 1}),
            run_config=RunConfig(storage_path=str(tmp_path / "ray")))
        result = trainer.fit()
    finally:
        ray.shutdown()
    assert result.error is None
    meta = json.loads(Path(tmp_path, "zoo", "lenet5.digits", "meta.json").read_text())
    assert meta["training"]["distribution"]["workers"] == 2
    assert meta["training"]["distribution"]["strategy"] == "MultiWorkerMirroredStrategy"
    assert meta["metrics"]["accuracy"]["value"] > 0.5
