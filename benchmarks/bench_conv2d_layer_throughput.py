"""Training throughput of a CNN built with the from-scratch Conv2D vs the same
CNN built with ``keras.layers.Conv2D`` (same run, same data, same compile).

    python -m benchmarks.bench_conv2d_layer_throughput

Both models are compiled alike (Keras' default ``jit_compile="auto"``, i.e.
no XLA on a CPU-only machine; ``--jit`` forces XLA for both).

Writes ``benchmarks/results/conv2d_layer_throughput.json``: value = our
samples/second, anchor_value = Keras' samples/second, ratio = value / anchor
(goal >= 0.8). ``details.per_layer_ms`` times each conv layer's shape alone
(batch 64, in ``tf.function``): Keras' forward and forward+backward, ours,
and the two parts of ours, the patch gathering (im2col) and the matrix
product, which bound what any patch-extraction + matmul layer can reach.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from benchmarks._common import median_time, write_result  # noqa: E402


def build_cnn(conv_cls, seed=0):
    """conv(16)-pool-conv(32)-pool-conv(64)-GAP-dense(10) on 32x32x3; only the Conv2D class differs."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((32, 32, 3))
    x = inputs
    for i, filters in enumerate((16, 32, 64), start=1):
        x = conv_cls(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        if i < 3:
            x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def per_layer_breakdown(batch_size=64, repeats=30):
    """Milliseconds per call for each conv layer of :func:`build_cnn` in isolation."""
    import keras
    import tensorflow as tf
    from keras import ops

    from adl_keras.conv import layers as scratch

    def ms(fn):
        return median_time(fn, repeats=repeats, warmup=3)[0] * 1e3

    rows = []
    for size, c_in, c_out in ((32, 3, 16), (16, 16, 32), (8, 32, 64)):
        x = tf.random.normal((batch_size, size, size, c_in), seed=0)
        row = {"input": [batch_size, size, size, c_in], "filters": c_out}
        for label, cls in (("ours", scratch.Conv2D), ("keras", keras.layers.Conv2D)):
            layer = cls(c_out, 3, padding="same")
            layer.build(x.shape)
            forward = tf.function(lambda x, layer=layer: layer(x))

            @tf.function
            def train_step(x, layer=layer, first=(c_in == 3)):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    loss = ops.sum(layer(x) ** 2)
                # The first layer's input needs no gradient in a CNN.
                return tape.gradient(loss, layer.trainable_weights + ([] if first else [x]))

            row[f"{label}_forward"] = ms(lambda: forward(x))
            row[f"{label}_forward_backward"] = ms(lambda: train_step(x))
        kernel = tf.random.normal((3, 3, c_in, c_out), seed=1)
        pads = scratch.padding_pairs((size, size), (3, 3), (1, 1), (1, 1), "same")
        gather = tf.function(lambda x: scratch._im2col(x, (3, 3), (1, 1), (1, 1), pads))
        columns = gather(x)
        product = tf.function(lambda c: ops.matmul(c, ops.reshape(kernel, (9 * c_in, c_out))))
        row["ours_im2col_only"] = ms(lambda: gather(x))
        row["ours_matmul_only"] = ms(lambda: product(columns))
        rows.append({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
    return rows


def main(repeats=11, samples=1024, batch_size=64, jit_compile="auto"):
    import keras

    from adl_keras import data
    from adl_keras.conv.layers import Conv2D

    ds = data.load("shapes32")
    x, y = ds.train[0][:samples], ds.train[1][:samples]
    models = {}
    for label, cls in (("adl_keras.conv.layers.Conv2D", Conv2D), ("keras.layers.Conv2D", keras.layers.Conv2D)):
        model = build_cnn(cls)
        model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", jit_compile=jit_compile)
        models[label] = model
    # Same initial weights (layer by layer) so both do identical arithmetic.
    ours, theirs = models.values()
    theirs.set_weights(ours.get_weights())

    def epoch(model):
        return lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)

    # Interleave the repeats (alternating which side goes first) so that load
    # changes on a shared machine hit both sides alike.
    for model in models.values():
        epoch(model)()  # trace / warm up
    runs = {label: [] for label in models}
    labels = list(models)
    for r in range(repeats):
        for label in (labels if r % 2 == 0 else labels[::-1]):
            runs[label].append(median_time(epoch(models[label]), repeats=1, warmup=0)[0])
    times = {label: float(np.median(runs[label])) for label in models}
    ours_label, keras_label = labels
    pair_ratios = [k / o for o, k in zip(runs[ours_label], runs[keras_label])]
    ours_sps = samples / times[ours_label]
    keras_sps = samples / times[keras_label]
    write_result(
        "conv2d_layer_throughput",
        metric="training throughput (samples/s), 3-conv CNN on 32x32x3, one epoch of fit",
        unit="samples/s",
        value=ours_sps,
        anchor="keras.layers.Conv2D (same CNN, same run)",
        anchor_value=keras_sps,
        goal=0.8,
        higher_is_better=True,
        repeats=repeats,
        command="python -m benchmarks.bench_conv2d_layer_throughput",
        extra={
            "samples_per_epoch": samples,
            "batch_size": batch_size,
            "jit_compile": jit_compile,
            "epoch_seconds": {k: [round(t, 4) for t in v] for k, v in runs.items()},
            "median_of_paired_ratios": float(np.median(pair_ratios)),
            "ratio_of_fastest_epochs": min(runs[keras_label]) / min(runs[ours_label]),
            "per_layer_ms": per_layer_breakdown(batch_size),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--jit", action="store_true",
                        help="compile both models with XLA (default: Keras' 'auto', which is off on CPU)")
    args = parser.parse_args()
    main(repeats=args.repeats, samples=args.samples, jit_compile=True if args.jit else "auto")
