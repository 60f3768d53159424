"""Training throughput of a textbook cell in keras.layers.RNN vs Keras' own layer (shared by two benchmarks).

Same work on both sides: the same equations (for the GRU, Keras'
``reset_after=False``, which applies the reset gate before the recurrent
matmul as the textbook does), batch, sequence length, units, optimizer and
``fit`` loop. The anchor runs in every documented compile setting that
could be its fastest on this machine (XLA on and off; cuDNN is GPU only),
interleaved with ours in the same run, and the fastest setting's median is
the anchor value. Our LSTM runs both ways too (its faster setting counts);
our GRU runs with XLA.
"""

import statistics

import numpy as np

from benchmarks._common import median_time, write_result

BATCH, T, FEATURES, UNITS, STEPS = 64, 100, 32, 64, 10


def _model(layer, jit_compile):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((T, FEATURES))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit_compile)
    return model


def run(kind, repeats=21):
    """Times ``STEPS`` training steps of every model, interleaved, and writes ``{kind}_cell_throughput``."""
    import keras

    from adl_keras.rnn import TextbookGRU, TextbookLSTM

    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH * STEPS, T, FEATURES)).astype("float32")
    y = rng.standard_normal((BATCH * STEPS, 1)).astype("float32")
    if kind == "lstm":
        ours = {f"keras.layers.RNN(TextbookLSTMCell) (jit_compile={jit})": _model(TextbookLSTM(UNITS), jit)
                for jit in (True, False)}
        anchors = {f"keras.layers.LSTM (jit_compile={jit})": _model(keras.layers.LSTM(UNITS), jit)
                   for jit in (True, False)}
        extra_models = {}
    else:
        ours = {"keras.layers.RNN(TextbookGRUCell) (jit_compile=True)": _model(TextbookGRU(UNITS, use_bias=True), True)}
        anchors = {f"keras.layers.GRU(reset_after=False) (jit_compile={jit})":
                   _model(keras.layers.GRU(UNITS, reset_after=False), jit) for jit in (True, False)}
        # Keras' default GRU computes other equations (reset after the matmul, two recurrent biases):
        # not the same work, so it is reported beside the result and not used as the anchor.
        extra_models = {"keras.layers.GRU(reset_after=True, Keras' default) (jit_compile=True)":
                        _model(keras.layers.GRU(UNITS), True)}
    models = {**ours, **anchors, **extra_models}

    def epoch(model):
        return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)

    for model in models.values():  # compile and warm up all
        median_time(epoch(model), repeats=1, warmup=1)
    times = {label: [] for label in models}
    labels = list(models)
    for r in range(repeats):  # interleaved, order rotated, so load changes hit every side alike
        shift = r % len(labels)
        for label in labels[shift:] + labels[:shift]:
            times[label].append(median_time(epoch(models[label]), repeats=1, warmup=0)[0])
    medians = {label: statistics.median(t) for label, t in times.items()}
    best_anchor = min(anchors, key=medians.get)
    project = min(ours, key=medians.get)  # our side at its best too
    value = BATCH * STEPS / medians[project]
    anchor_value = BATCH * STEPS / medians[best_anchor]
    per_config = {label: BATCH * STEPS / m for label, m in medians.items()}
    details = {
        "batch": BATCH, "T": T, "features": FEATURES, "units": UNITS, "steps_per_repeat": STEPS,
        "project": project,
        "anchor_config": f"{best_anchor}: the fastest of {', '.join(anchors)} in this run "
                         f"(same equations, data, batch {BATCH}, T {T}, Adam, fit)",
        "why_best": "Keras' LSTM/GRU pick their fastest kernel themselves (cuDNN on GPU only); on CPU the only "
                    "documented speed switch that keeps the computation is XLA (jit_compile), so the anchor runs "
                    "both ways and the faster one counts; unroll=False on both sides (T=100 is not short)",
        "sequences_per_s_by_config": per_config,
        "epoch_seconds": times,
    }
    if extra_models:
        label = next(iter(extra_models))
        details["ratio_vs_keras_default_gru_other_equations"] = value / per_config[label]
    return write_result(
        f"{kind}_cell_throughput", "training throughput", "sequences/s", value,
        best_anchor, anchor_value, goal=0.95, higher_is_better=True, repeats=repeats, extra=details)
