"""Training throughput of a textbook cell in keras.layers.RNN vs Keras' fused layer (shared by two benchmarks)."""

import statistics

import numpy as np

from benchmarks._common import median_time, write_result

BATCH, T, FEATURES, UNITS, STEPS = 64, 100, 32, 64, 10


def _model(layer):
    import keras

    inputs = keras.Input((T, FEATURES))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=True)
    return model


def run(kind, repeats=21):
    """Times ``STEPS`` training steps of both models, interleaved, and writes ``{kind}_cell_throughput``."""
    import keras

    from adl_keras.rnn import TextbookGRU, TextbookLSTM

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH * STEPS, T, FEATURES)).astype("float32")
    y = rng.standard_normal((BATCH * STEPS, 1)).astype("float32")
    if kind == "lstm":
        ours, anchor = _model(TextbookLSTM(UNITS)), _model(keras.layers.LSTM(UNITS))
        anchor_name = "keras.layers.LSTM (jit_compile=True)"
    else:
        ours, anchor = _model(TextbookGRU(UNITS, use_bias=True)), _model(keras.layers.GRU(UNITS, reset_after=False))
        anchor_name = "keras.layers.GRU(reset_after=False) (jit_compile=True)"

    def epoch(model):
        return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)

    for model in (ours, anchor):  # compile and warm up both
        median_time(epoch(model), repeats=1, warmup=1)
    ours_t, anchor_t = [], []
    for _ in range(repeats):  # interleaved, so load changes hit both alike
        ours_t.append(median_time(epoch(ours), repeats=1, warmup=0)[0])
        anchor_t.append(median_time(epoch(anchor), repeats=1, warmup=0)[0])
    value = BATCH * STEPS / statistics.median(ours_t)
    anchor_value = BATCH * STEPS / statistics.median(anchor_t)
    return write_result(
        f"{kind}_cell_throughput", "training throughput", "sequences/s", value,
        anchor_name, anchor_value, goal=0.95, higher_is_better=True, repeats=repeats,
        extra={"batch": BATCH, "T": T, "features": FEATURES, "units": UNITS, "steps_per_repeat": STEPS,
               "ours_seconds": ours_t, "anchor_seconds": anchor_t,
               "project": f"keras.layers.RNN(Textbook{kind.upper()}Cell) (jit_compile=True)"})
