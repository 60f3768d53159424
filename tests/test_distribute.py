"""Zoo models train under tf.distribute.MirroredStrategy over two logical CPUs."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # 16 s; tests/distribute checks zoo models under the multi-worker strategy by default
def test_zoo_model_learns_under_mirrored_strategy():
    code = textwrap.dedent(
        """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras
        from adl_keras import data, training, zoo
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        ds = data.load("digits")
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = zoo.load_model("lenet5.digits", pretrained=False)
            model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(ds.train[0], ds.train[1], epochs=6, batch_size=64, verbose=0)
        acc = training.accuracy(model, *ds.test)
        print("ACC", acc)
        assert acc > 0.85, acc
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert res.returncode == 0 and "ACC" in res.stdout, res.stderr[-3000:]
