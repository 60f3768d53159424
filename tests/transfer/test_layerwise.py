import numpy as np
import pytest

from adl_keras import transfer
from adl_keras.transfer import layerwise


def _two_dense(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, activation="tanh", name="a")(inputs)
    out = keras.layers.Dense(2, name="b")(x)
    return keras.Model(inputs, out)


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 3)).astype("float32"), rng.standard_normal((16, 2)).astype("float32")


def _grads(model, x, y):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - y))
    grads = tape.gradient(loss, model.trainable_variables)
    return {v.path: g.numpy() for v, g in zip(model.trainable_variables, grads)}


def test_sgd_variables_move_at_their_rates():
    import keras

    model, (x, y) = _two_dense(), _data()
    grads = _grads(model, x, y)
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    opt = transfer.layerwise_optimizer(keras.optimizers.SGD(0.1), {"a/*": 0.25, "b/bias": 0.0})
    model.compile(opt, "mse")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    expected = {"a/kernel": 0.025, "a/bias": 0.025, "b/kernel": 0.1, "b/bias": 0.0}
    for v in model.trainable_variables:
        # SGD: v <- v - lr * m_v * g_v
        np.testing.assert_allclose(v.numpy(), before[v.path] - expected[v.path] * grads[v.path], atol=1e-6)


def test_adam_first_step_size_scales_with_multiplier():
    import keras

    model, (x, y) = _two_dense(1), _data()
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    grads = _grads(model, x, y)
    opt = transfer.layerwise_optimizer(keras.optimizers.Adam(1e-2, epsilon=1e-12), {"a/kernel": 0.1})
    model.compile(opt, "mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    # First Adam step: mhat/sqrt(vhat) = sign(g), so |delta| = lr * m_v.
    for v in model.trainable_variables:
        m = 0.1 if v.path == "a/kernel" else 1.0
        np.testing.assert_allclose(v.numpy() - before[v.path], -1e-2 * m * np.sign(grads[v.path]), rtol=1e-4, atol=1e-7)


def test_layerwise_optimizer_survives_keras_save(tmp_path):
    import keras

    model, (x, y) = _two_dense(), _data()
    model.compile(transfer.layerwise_optimizer("adam", {"a/*": 0.5}), "mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == "LayerwiseAdam"
    assert loaded.optimizer.lr_multipliers == {"a/*": 0.5}
    assert int(loaded.optimizer.iterations.numpy()) == 1


def test_stage_multipliers_decay_from_the_top():
    from tests.transfer.conftest import tiny_bn_cnn

    mult = transfer.stage_multipliers(tiny_bn_cnn(), decay=0.1, head=2.0)
    assert mult["conv2/kernel"] == pytest.approx(0.1) and mult["bn2/moving_mean"] == pytest.approx(0.1)
    assert mult["conv1/kernel"] == pytest.approx(0.01)
    assert mult["predictions/kernel"] == 2.0 and mult["head_fc/bias"] == 2.0


def test_bad_arguments():
    import keras

    with pytest.raises(ValueError, match="lr_multipliers"):
        transfer.layerwise_optimizer(keras.optimizers.SGD(), {"a/*": -1})
    with pytest.raises(ValueError, match="lr_multipliers must be a dict"):
        transfer.layerwise_optimizer(keras.optimizers.SGD(), [("a", 1)])
    with pytest.raises(ValueError, match="decay"):
        transfer.stage_multipliers(_two_dense(), decay=0)
    assert layerwise.LayerwiseSGD in layerwise.LAYERWISE_CLASSES.values()


_MIRRORED = r"""
import numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from adl_keras import transfer
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
rng = np.random.default_rng(0)
x, y = rng.standard_normal((16, 3)).astype("float32"), rng.standard_normal((16, 2)).astype("float32")
with strategy.scope():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="b")(keras.layers.Dense(4, activation="tanh", name="a")(inputs)))
    model.compile(transfer.layerwise_optimizer(keras.optimizers.SGD(0.1), {"a/*": 0.25}), "mse")
with tf.GradientTape() as tape:
    loss = tf.reduce_mean(tf.square(model(x) - y))
grads = {v.path: g.numpy() for v, g in zip(model.trainable_variables, tape.gradient(loss, model.trainable_variables))}
before = {v.path: v.numpy().copy() for v in model.trainable_variables}
model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
for v in model.trainable_variables:
    m = 0.25 if v.path.startswith("a/") else 1.0
    np.testing.assert_allclose(v.numpy(), before[v.path] - 0.1 * m * grads[v.path], atol=1e-5)
print("OK")
"""


@pytest.mark.slow
def test_layerwise_rates_under_mirrored_strategy(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", _MIRRORED], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]
