"""Explicit BPTT (delta recursion) vs tf.GradientTape through keras.layers.RNN: forward + backward time, T=100.

Both sides compute the weight gradients of the same loss for the textbook
LSTM cell (batch 64, 32 features, 64 units), each compiled with
``tf.function`` (graph mode, no XLA); medians over interleaved repeats.

Run: python -m benchmarks.bench_bptt_explicit_vs_autodiff
"""

import statistics

import numpy as np

from benchmarks._common import median_time, write_result

BATCH, T, FEATURES, UNITS, REPEATS, CALLS = 64, 100, 32, 64, 7, 10
# XLA needs minutes to compile the 100-step unrolled explicit graph on CPU; both sides run as plain graphs.
JIT = False


def main():
    import keras
    import tensorflow as tf

    from adl_keras.bptt import explicit_bptt_loss
    from adl_keras.rnn import TextbookLSTMCell

    keras.utils.set_random_seed(0)
    x = tf.constant(np.random.default_rng(0).standard_normal((BATCH, T, FEATURES)).astype("float32"))
    cell = TextbookLSTMCell(UNITS)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer.build(x.shape)

    def loss_fn(hs):
        return 0.5 * tf.reduce_mean(tf.reduce_sum(hs[:, -1] ** 2, -1)) + 0.01 * tf.reduce_mean(hs)

    @tf.function(jit_compile=JIT)
    def explicit(x):
        return explicit_bptt_loss(cell, x, loss_fn).grads

    @tf.function(jit_compile=JIT)
    def autodiff(x):
        with tf.GradientTape() as tape:
            loss = loss_fn(layer(x))
        return tape.gradient(loss, cell.trainable_weights)

    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(explicit(x), autodiff(x)))
    assert diff < 1e-4, f"explicit and autodiff gradients differ by {diff}"

    def many(fn):
        def run():
            for _ in range(CALLS):
                out = fn(x)
            [o.numpy() for o in out]
        return run

    median_time(many(explicit), repeats=1, warmup=1)
    median_time(many(autodiff), repeats=1, warmup=1)
    ours, anchor = [], []
    for _ in range(REPEATS):
        ours.append(median_time(many(explicit), repeats=1, warmup=0)[0] / CALLS)
        anchor.append(median_time(many(autodiff), repeats=1, warmup=0)[0] / CALLS)
    write_result("bptt_explicit_vs_autodiff", "forward+backward time per batch", "s",
                 statistics.median(ours), "tf.GradientTape through keras.layers.RNN(TextbookLSTMCell)",
                 statistics.median(anchor), goal=3.0, higher_is_better=False, repeats=REPEATS,
                 extra={"batch": BATCH, "T": T, "features": FEATURES, "units": UNITS,
                        "max_abs_gradient_difference": diff, "explicit_seconds": ours,
                        "autodiff_seconds": anchor, "jit_compile": JIT})


if __name__ == "__main__":
    main()
