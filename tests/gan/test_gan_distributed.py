"""GAN.fit under tf.distribute.MirroredStrategy over two logical CPU devices.

Logical devices must be configured before TensorFlow initialises, so the
checks run in a fresh subprocess.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras
import numpy as np
from adl_keras.gan import GAN, dcgan_discriminator, dcgan_generator

out = {}
real = np.random.default_rng(0).uniform(0, 1, (8, 8, 8, 1)).astype("float32")


def linear_gan(loss="non_saturating"):
    # G(z) = bias (zero kernel): the fake batch does not depend on z, so one D-step's update is
    # the same on one device and on two replicas iff losses are scaled to the global-batch mean.
    keras.utils.set_random_seed(1)
    z = keras.Input((4,))
    g = keras.Model(z, keras.layers.Reshape((8, 8, 1))(
        keras.layers.Dense(64, kernel_initializer="zeros", bias_initializer="random_uniform")(z)))
    x = keras.Input((8, 8, 1))
    d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    gan = GAN(g, d)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.5), g_optimizer=keras.optimizers.SGD(0.5),
                loss=loss)
    return gan


single = linear_gan()
single.fit(real, batch_size=8, epochs=1, verbose=0, shuffle=False)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
out["replicas"] = strategy.num_replicas_in_sync
with strategy.scope():
    mirrored = linear_gan()
mirrored.fit(real, batch_size=8, epochs=1, verbose=0, shuffle=False)
out["d_weight_max_diff"] = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                              for a, b in zip(single.discriminator.weights, mirrored.discriminator.weights))
out["d_weight_change"] = float(np.max(np.abs(np.asarray(mirrored.discriminator.weights[0]))))

with strategy.scope():
    clipped = linear_gan("wgan")
clipped.fit(real, batch_size=8, epochs=1, verbose=0)
out["clipped_max_abs_weight"] = max(float(np.max(np.abs(np.asarray(w))))
                                    for w in clipped.discriminator.trainable_weights)

with strategy.scope():
    gan = GAN(dcgan_generator(8, base_filters=4), dcgan_discriminator(base_filters=4), d_steps=2)
    gan.compile(loss="wgan_gp")
data = tf.data.Dataset.from_tensor_slices(np.tile(real, (4, 1, 1, 1))).batch(8)
hist = gan.fit(data, epochs=2, verbose=0)
out["history"] = hist.history
out["d_iterations"] = int(tf.convert_to_tensor(gan.d_optimizer.iterations.value).numpy())
out["g_iterations"] = int(tf.convert_to_tensor(gan.g_optimizer.iterations.value).numpy())
print("RESULT" + json.dumps(out))
"""


@pytest.mark.slow  # 28 s; the default run checks the GAN step on two workers (tests/distribute)
def test_fit_under_mirrored_strategy_two_logical_cpus():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                          timeout=600, cwd=ROOT)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT"):])
    assert out["replicas"] == 2
    # the same update as one device on the whole batch (a missing 1/replicas scaling would double it)
    assert out["d_weight_change"] > 1e-3
    assert out["d_weight_max_diff"] < 1e-5, out
    assert out["clipped_max_abs_weight"] <= 0.01 + 1e-7  # WGAN clipping inside replica context
    assert out["g_iterations"] == 8 and out["d_iterations"] == 16
    for key in ("d_loss", "g_loss", "value", "gp"):
        assert len(out["history"][key]) == 2
        assert all(v == v and abs(v) < 1e6 for v in out["history"][key]), out["history"]
