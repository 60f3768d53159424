"""Run by each worker of a local 2-worker cluster (tests/distribute/test_multi_worker.py).

Every check trains the same tiny model twice in this process: under
MultiWorkerMirroredStrategy (this worker holds half of every global batch)
and, as the reference, with no strategy on the whole global batch. The chief
writes the max |difference| of every weight to OUT/results.json.
"""

import json
import os
import sys

import numpy as np

out_dir = sys.argv[1]
checks = sys.argv[2].split(",")

from adl_keras import distribute  # noqa: E402

distribute.configure_threads(1)
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

results = {}
strategy = distribute.get_strategy("multi_worker", fix_keras=False)
results["replicas"] = strategy.num_replicas_in_sync
spec = distribute.parse_tf_config()
B = 8  # global batch: 4 rows per worker


def max_diff(a, b):
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for u, v in zip(a, b))


def dataset(x, y=None):
    data = x if y is None else (x, y)
    return tf.data.Dataset.from_tensor_slices(data).batch(B)


def twice(make, fit):
    """(weights after fit under the strategy, weights after fit alone, initial weights)."""
    with strategy.scope():
        dist = make()
    init = [np.asarray(w) for w in dist.get_weights()]
    alone = make()
    alone.set_weights(init)
    fit(dist)
    fit(alone)
    return dist, alone, init


rng = np.random.default_rng(0)

if "stock" in checks:
    # Keras as shipped fails in a 2-worker cluster (keras-team/keras#20585); the fix makes it train.
    x, y = rng.random((16, 4), dtype=np.float32), rng.random((16, 1), dtype=np.float32)
    with strategy.scope():
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        m.compile("sgd", "mse")
    try:
        m.fit(dataset(x, y), epochs=1, verbose=0)
        results["stock_error"] = None
    except ValueError as err:
        results["stock_error"] = str(err)[:200]
distribute.fix_keras_multi_worker()

if "cnn" in checks:
    from adl_keras import zoo

    x = rng.random((2 * B, 8, 8, 1), dtype=np.float32)
    y = rng.integers(0, 10, 2 * B)

    def make():
        keras.utils.set_random_seed(1)
        m = zoo.load_model("lenet5.digits", pretrained=False)
        m.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return m

    logs = {}

    def fit(m):
        logs[len(logs)] = m.fit(dataset(x, y), epochs=1, verbose=0, shuffle=False).history
    dist, alone, init = twice(make, fit)
    results["cnn_weight_diff"] = max_diff(dist.get_weights(), alone.get_weights())
    results["cnn_weight_change"] = max_diff(dist.get_weights(), init)
    results["cnn_loss"] = [logs[0]["loss"][0], logs[1]["loss"][0]]
    results["cnn_eval"] = [dist.evaluate(dataset(x, y), verbose=0), alone.evaluate(dataset(x, y), verbose=0)]
    results["cnn_predict_diff"] = float(np.max(np.abs(dist.predict(dataset(x), verbose=0)
                                                      - alone.predict(x, verbose=0))))

if "gan" in checks:
    from adl_keras.gan import GAN

    real = rng.random((B, 6), dtype=np.float32)

    def make():
        keras.utils.set_random_seed(2)
        z = keras.Input((3,))
        g = keras.Model(z, keras.layers.Dense(6)(keras.layers.Dense(8, activation="relu")(z)))
        x = keras.Input((6,))
        d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(x)))
        gan = GAN(g, d, d_steps=3, seed=5)
        gan.compile(d_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5, beta_2=0.9),
                    g_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5, beta_2=0.9), loss="wgan_gp")
        return gan

    def fit(m):
        m.fit(tf.data.Dataset.from_tensor_slices(real).batch(B), epochs=1, verbose=0)
    dist, alone, init = twice(make, fit)
    results["gan_d_diff"] = max_diff(dist.discriminator.get_weights(), alone.discriminator.get_weights())
    results["gan_g_diff"] = max_diff(dist.generator.get_weights(), alone.generator.get_weights())
    results["gan_weight_change"] = max_diff(dist.get_weights(), init)

if "lstm" in checks:
    from adl_keras.rnn import TextbookLSTMCell
    from adl_keras.transfer import layerwise_optimizer

    x = rng.random((B, 5, 3), dtype=np.float32)
    y = rng.random((B, 1), dtype=np.float32)

    def make():
        keras.utils.set_random_seed(3)
        inp = keras.Input((5, 3))
        h = keras.layers.RNN(TextbookLSTMCell(4), name="lstm")(inp)
        m = keras.Model(inp, keras.layers.Dense(1, name="head")(h))
        opt = layerwise_optimizer(keras.optimizers.Adam(1e-2), {"lstm/*": 0.1})
        m.compile(opt, "mse")
        return m

    def fit(m):
        m.fit(dataset(x, y), epochs=1, verbose=0)
    dist, alone, init = twice(make, fit)
    results["lstm_weight_diff"] = max_diff(dist.get_weights(), alone.get_weights())
    # the layer-wise rate really applies: the LSTM kernel moved ~10x less than the head
    w0, w1 = init, dist.get_weights()
    results["lstm_move_ratio"] = float(np.max(np.abs(w1[0] - w0[0])) / np.max(np.abs(w1[-2] - w0[-2])))

if "finetune" in checks:
    from adl_keras import transfer
    from adl_keras.conv.builders import resnet_small

    x = rng.random((2 * B, 16, 16, 3), dtype=np.float32)
    y = rng.integers(0, 3, 2 * B)

    def make():
        keras.utils.set_random_seed(4)
        return resnet_small((16, 16, 3), num_classes=3, widths=(4, 8, 8), name="rn")

    config = transfer.FineTuneConfig(head_epochs=1, epochs=1, batch_size=B, seed=4)

    def fit(m):
        transfer.fine_tune(m, dataset(x, y), config=config)
    dist, alone, init = twice(make, fit)
    results["finetune_weight_diff"] = max_diff(dist.get_weights(), alone.get_weights())
    results["finetune_weight_change"] = max_diff(dist.get_weights(), init)

if "tbptt" in checks:
    from adl_keras.bptt import TruncatedBPTTModel

    x = rng.random((B, 6, 2), dtype=np.float32)
    y = rng.random((B, 6, 1), dtype=np.float32)

    def make():
        keras.utils.set_random_seed(6)
        m = TruncatedBPTTModel(keras.layers.SimpleRNNCell(4), keras.layers.Dense(1), k1=2, k2=3)
        m.build((None, 6, 2))
        m.compile(keras.optimizers.SGD(0.1), "mse")
        return m

    logs = {}

    def fit(m):
        logs[len(logs)] = m.fit(dataset(x, y), epochs=1, verbose=0).history
    dist, alone, init = twice(make, fit)
    results["tbptt_weight_diff"] = max_diff(dist.get_weights(), alone.get_weights())
    results["tbptt_loss"] = [logs[0]["loss"][0], logs[1]["loss"][0]]

if "train" in checks:
    # zoo.train under the strategy: only the chief writes; every worker passes its own root.
    from adl_keras import zoo

    root = os.path.join(out_dir, f"zoo-{spec.task_index}")
    meta = zoo.train("lenet5.digits", root=root, strategy=strategy, epochs=1,
                     backup_dir=os.path.join(out_dir, "backup"))
    results["train_written"] = meta.get("written", True)
    results["train_accuracy"] = meta["metrics"]["accuracy"]["value"]

if distribute.is_chief():
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
print("DONE", spec.task_index, flush=True)
