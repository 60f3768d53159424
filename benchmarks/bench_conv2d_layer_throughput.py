"""Training throughput of a CNN built with the from-scratch Conv2D vs the same
CNN built with ``keras.layers.Conv2D`` (same run, same data, same compile).

    python -m benchmarks.bench_conv2d_layer_throughput

Each side is compiled both ways (Keras' default ``jit_compile="auto"``, i.e.
no XLA on a CPU-only machine, and ``jit_compile=True``); all four models are
timed interleaved in one run and each side's faster setting counts.

Writes ``benchmarks/results/conv2d_layer_throughput.json``: value = our best
samples/second, anchor_value = Keras' best samples/second, ratio = value /
anchor (goal >= 0.8); ``details.ratio_at_same_setting`` gives both settings.
``details.per_layer_ms`` times each conv layer's shape alone
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


def main(repeats=11, samples=1024, batch_size=64, jit_settings=("auto", True)):
    import keras

    from adl_keras import data
    from adl_keras.conv.layers import Conv2D

    ds = data.load("shapes32")
    x, y = ds.train[0][:samples], ds.train[1][:samples]
    sides = {"ours": ("adl_keras.conv.layers.Conv2D", Conv2D), "anchor": ("keras.layers.Conv2D", keras.layers.Conv2D)}
    models, side_of = {}, {}
    for side, (name, cls) in sides.items():
        for jit in jit_settings:
            model = build_cnn(cls)
            model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy", jit_compile=jit)
            label = f"{name} (jit_compile={jit!r})"
            models[label], side_of[label] = model, side
    # Same initial weights (layer by layer) so every model does identical arithmetic.
    first = next(iter(models.values()))
    for model in models.values():
        model.set_weights(first.get_weights())

    def epoch(model):
        return lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)

    for model in models.values():
        epoch(model)()  # trace / warm up
    runs = {label: [] for label in models}
    labels = list(models)
    for r in range(repeats):  # interleaved, order rotated, so load changes hit every model alike
        shift = r % len(labels)
        for label in labels[shift:] + labels[:shift]:
            runs[label].append(median_time(epoch(models[label]), repeats=1, warmup=0)[0])
    times = {label: float(np.median(runs[label])) for label in models}
    best = {side: min((l for l in models if side_of[l] == side), key=times.get) for side in sides}
    ours_sps = samples / times[best["ours"]]
    keras_sps = samples / times[best["anchor"]]
    same_setting = {f"jit_compile={jit!r}": times[f"keras.layers.Conv2D (jit_compile={jit!r})"]
                    / times[f"adl_keras.conv.layers.Conv2D (jit_compile={jit!r})"] for jit in jit_settings}
    write_result(
        "conv2d_layer_throughput",
        metric="training throughput (samples/s), 3-conv CNN on 32x32x3, one epoch of fit",
        unit="samples/s",
        value=ours_sps,
        anchor=f"{best['anchor']} (same CNN, same run)",
        anchor_value=keras_sps,
        goal=0.8,
        higher_is_better=True,
        repeats=repeats,
        command="python -m benchmarks.bench_conv2d_layer_throughput",
        extra={
            "samples_per_epoch": samples,
            "batch_size": batch_size,
            "project": best["ours"],
            "anchor_config": f"{best['anchor']}: the faster of Keras' Conv2D with jit_compile in "
                             f"{list(jit_settings)} in this run, same CNN, weights, data, batch and SGD",
            "why_best": "keras.layers.Conv2D calls TensorFlow's oneDNN convolution on CPU whatever the "
                        "settings; the one documented switch left is XLA compilation (jit_compile='auto' is "
                        "off on CPU), so both sides run both ways and each side's faster setting counts",
            "samples_per_s_by_config": {k: samples / v for k, v in times.items()},
            "ratio_at_same_setting": same_setting,
            "epoch_seconds": {k: [round(t, 4) for t in v] for k, v in runs.items()},
            "per_layer_ms": per_layer_breakdown(batch_size),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--samples", type=int, default=1024)
    args = parser.parse_args()
    main(repeats=args.repeats, samples=args.samples)
