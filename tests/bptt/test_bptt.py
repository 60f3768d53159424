"""Explicit BPTT vs tf.GradientTape, truncated BPTT vs full BPTT, diagnostics, clipping."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_keras.bptt import (
    TruncatedBPTTModel,
    chunk_bounds,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    compare_gradient_flow,
    explicit_bptt,
    explicit_bptt_loss,
    hidden_gradient_norms,
    plot_gradient_norms,
)
from adl_keras.rnn import TextbookGRUCell, TextbookLSTMCell
from adl_keras.testing import check_model


def _cell(kind, units, features, seed):
    cell = keras.layers.SimpleRNNCell(units) if kind == "tanh_rnn" else TextbookLSTMCell(units)
    cell.build((None, features))
    rng = np.random.default_rng(seed)
    cell.set_weights([0.4 * rng.standard_normal(w.shape).astype("float32") for w in cell.get_weights()])
    return cell


def _tape_gradients(cell, x, loss_fn, initial_state=None):
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = tf.constant(x)
    state = [tf.constant(s) for s in initial_state] if initial_state is not None else None
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        if state is not None:
            for s in state:
                tape.watch(s)
        hs = layer(x, initial_state=state)
        loss = loss_fn(hs)
    out = tape.gradient(loss, cell.trainable_weights), tape.gradient(loss, x), \
        (tape.gradient(loss, state) if state is not None else None), hs
    return out


@pytest.mark.parametrize("kind", ["tanh_rnn", "lstm"])
def test_explicit_bptt_equals_gradient_tape(kind):
    rng = np.random.default_rng(0)
    batch, T, d, n = 3, 12, 4, 5
    cell = _cell(kind, n, d, 1)
    x = rng.standard_normal((batch, T, d)).astype("float32")
    v = tf.constant(rng.standard_normal((batch, T, n)).astype("float32"))

    def loss_fn(hs):  # a loss on every step plus a squared loss on the last
        return tf.reduce_sum(v * hs) + 0.5 * tf.reduce_sum(hs[:, -1] ** 2)

    h0 = [0.3 * rng.standard_normal((batch, n)).astype("float32") for _ in range(2 if kind == "lstm" else 1)]
    result = explicit_bptt_loss(cell, x, loss_fn, initial_state=[tf.constant(s) for s in h0])
    grads, dx, dh0, hs = _tape_gradients(cell, x, loss_fn, initial_state=h0)
    np.testing.assert_allclose(result.outputs, hs, atol=1e-6)
    assert len(result.grads) == len(grads) == 3
    for ours, ref in zip(result.grads, grads):
        np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(result.dx, dx, atol=1e-5)
    for ours, ref in zip(result.d_initial_state, dh0):
        np.testing.assert_allclose(ours, ref, atol=1e-5)
    # delta_T is just the local dL/dh_T; delta_1 includes everything from later steps.
    np.testing.assert_allclose(result.deltas[:, -1], v[:, -1] + hs[:, -1], atol=1e-6)


def test_explicit_bptt_deltas_are_total_derivatives():
    # delta_t = dL/dh_t including paths through later states: compare with an unrolled tape.
    rng = np.random.default_rng(2)
    cell = _cell("tanh_rnn", 4, 3, 3)
    x = rng.standard_normal((2, 8, 3)).astype("float32")
    dl_dh = np.zeros((2, 8, 4), "float32")
    dl_dh[:, -1] = 1.0  # L = sum(h_T)
    result = explicit_bptt(cell, x, dl_dh)
    state = [tf.zeros((2, 4))]
    hs = []
    with tf.GradientTape() as tape:
        for t in range(8):
            h, state = cell(x[:, t], state)
            hs.append(h)
        loss = tf.reduce_sum(hs[-1])
    for t, g in enumerate(tape.gradient(loss, hs)):
        np.testing.assert_allclose(result.deltas[:, t], g, atol=1e-6)


def test_explicit_bptt_bias_free_and_errors():
    cell = keras.layers.SimpleRNNCell(3, use_bias=False)
    x = np.random.default_rng(0).standard_normal((2, 5, 2)).astype("float32")
    result = explicit_bptt_loss(cell, x, lambda hs: tf.reduce_sum(hs ** 2))
    grads, *_ = _tape_gradients(cell, x, lambda hs: tf.reduce_sum(hs ** 2))
    assert len(result.grads) == 2
    for ours, ref in zip(result.grads, grads):
        np.testing.assert_allclose(ours, ref, atol=1e-5)
    with pytest.raises(ValueError, match="Received: cell of type TextbookGRUCell"):
        explicit_bptt_loss(TextbookGRUCell(3), x, tf.reduce_sum)
    with pytest.raises(ValueError, match="activation='relu'"):
        explicit_bptt_loss(keras.layers.SimpleRNNCell(3, activation="relu"), x, tf.reduce_sum)
    with pytest.raises(ValueError, match="dl_dh.shape"):
        explicit_bptt(cell, x, np.zeros((2, 4, 3), "float32"))
    with pytest.raises(ValueError, match="x.shape"):
        explicit_bptt(cell, x[0], np.zeros((2, 5, 3), "float32"))


def test_chunk_bounds():
    assert chunk_bounds(10, 4, 6) == [(0, 0, 4), (2, 4, 8), (4, 8, 10)]
    assert chunk_bounds(6, 3, 3) == [(0, 0, 3), (3, 3, 6)]
    assert chunk_bounds(5, 2, 100) == [(0, 0, 2), (0, 2, 4), (0, 4, 5)]


def _tbptt_pair(cell_kind, T, k1, k2, seed=0, apply_per_chunk=False):
    keras.utils.set_random_seed(seed)
    cell = TextbookLSTMCell(6) if cell_kind == "lstm" else keras.layers.SimpleRNNCell(6)
    model = TruncatedBPTTModel(cell, keras.layers.Dense(2), k1=k1, k2=k2, apply_per_chunk=apply_per_chunk)
    model.build((None, T, 3))
    inputs = keras.Input((T, 3))
    ref_cell = keras.layers.SimpleRNNCell(6) if cell_kind == "tanh_rnn" else TextbookLSTMCell(6)
    ref = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.RNN(ref_cell, return_sequences=True)(inputs)))
    ref.set_weights(model.get_weights())
    return model, ref


@pytest.mark.parametrize("cell_kind", ["lstm", "tanh_rnn"])
def test_truncated_equals_full_bptt_when_k2_covers_the_sequence(cell_kind):
    rng = np.random.default_rng(0)
    T = 11
    x = rng.standard_normal((4, T, 3)).astype("float32")
    y = rng.standard_normal((4, T, 2)).astype("float32")
    model, ref = _tbptt_pair(cell_kind, T, k1=3, k2=T)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    ref.compile(keras.optimizers.SGD(0.1), "mse")
    loss, grads, y_pred = model.truncated_gradients(x, y)
    with tf.GradientTape() as tape:
        full_loss = keras.losses.MeanSquaredError()(y, ref(x))
    full = tape.gradient(full_loss, ref.trainable_weights)
    np.testing.assert_allclose(float(loss), float(full_loss), rtol=1e-5)
    for ours, theirs in zip(grads, full):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(y_pred, ref(x), atol=1e-5)
    # Through model.fit: two epochs give the same weights and losses as plain full BPTT.
    h1 = model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    h2 = ref.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_truncation_cuts_the_gradient_at_the_window_start():
    # Independent reference: an unrolled loop with stop_gradient on the state at e - k2.
    rng = np.random.default_rng(1)
    T, k1, k2 = 9, 3, 5
    x = rng.standard_normal((2, T, 3)).astype("float32")
    y = rng.standard_normal((2, T, 2)).astype("float32")
    model, ref = _tbptt_pair("tanh_rnn", T, k1, k2, seed=1)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    _, grads, _ = model.truncated_gradients(x, y)
    cell, head = ref.layers[1].cell, ref.layers[2]
    expected = [np.zeros(w.shape, "float32") for w in ref.trainable_weights]
    for window, start, end in chunk_bounds(T, k1, k2):
        with tf.GradientTape() as tape:
            state = [tf.zeros((2, 6))]
            loss = 0.0
            for t in range(end):
                if t == window:
                    state = [tf.stop_gradient(s) for s in state]
                h, state = cell(x[:, t], state)
                if t >= start:
                    loss += tf.reduce_sum((head(h) - y[:, t]) ** 2) / (2 * T * 2)
        expected = [e + g for e, g in zip(expected, tape.gradient(loss, ref.trainable_weights))]
    for ours, theirs in zip(grads, expected):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    # and it really differs from full BPTT
    with tf.GradientTape() as tape:
        full_loss = keras.losses.MeanSquaredError()(y, ref(x))
    full = tape.gradient(full_loss, ref.trainable_weights)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(grads, full)) > 1e-4


def test_truncated_model_trains_per_chunk_and_passes_the_harness(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 12, 3)).astype("float32")
    y = np.cumsum(x[..., :1], axis=1) * 0.3  # running sum: needs memory
    model, _ = _tbptt_pair("lstm", 12, k1=4, k2=8, apply_per_chunk=True)
    model.compile(keras.optimizers.Adam(0.02), "mse", metrics=["mae"])
    before = [w.copy() for w in model.get_weights()]
    hist = model.fit(x, y, batch_size=8, epochs=15, verbose=0)
    assert hist.history["loss"][-1] < 0.7 * hist.history["loss"][0]
    assert model.optimizer.iterations.numpy() == 15 * 3  # one step per chunk
    assert "mae" in hist.history
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    check_model(model, x, y=y, tmp_dir=tmp_path)


def test_truncated_model_argument_errors():
    with pytest.raises(ValueError, match="k1=0"):
        TruncatedBPTTModel(TextbookLSTMCell(2), keras.layers.Dense(1), k1=0)
    with pytest.raises(ValueError, match="k1=5, k2=3"):
        TruncatedBPTTModel(TextbookLSTMCell(2), keras.layers.Dense(1), k1=5, k2=3)
    with pytest.raises(ValueError, match="state_size"):
        TruncatedBPTTModel(keras.layers.Dense(2), keras.layers.Dense(1), k1=2)
    with pytest.raises(ValueError, match="apply_per_chunk"):
        TruncatedBPTTModel(TextbookLSTMCell(2), keras.layers.Dense(1), k1=2, apply_per_chunk="yes")


def test_gradient_norm_diagnostics_show_vanishing_and_exploding():
    norms = compare_gradient_flow(T=40, units=16, batch=8)
    assert set(norms) == {"tanh_rnn", "lstm", "gru"}
    for values in norms.values():
        assert values.shape == (40,) and np.all(np.isfinite(values))
    # tanh RNN: the signal 39 steps back is orders of magnitude below the last step's.
    assert norms["tanh_rnn"][0] < 1e-3 * norms["tanh_rnn"][-1]
    # the gated cells keep far more of it
    assert norms["lstm"][0] / norms["lstm"][-1] > 100 * norms["tanh_rnn"][0] / norms["tanh_rnn"][-1]
    exploding = compare_gradient_flow(T=40, units=16, batch=8, kinds=("tanh_rnn",), recurrent_scale=3.0)
    assert exploding["tanh_rnn"][0] > norms["tanh_rnn"][0]
    ax = plot_gradient_norms(norms)
    assert len(ax.get_lines()) == 3 and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="norms"):
        plot_gradient_norms({})


def test_hidden_gradient_norms_match_explicit_deltas():
    rng = np.random.default_rng(4)
    cell = _cell("lstm", 5, 3, 5)
    x = rng.standard_normal((4, 10, 3)).astype("float32")
    norms = hidden_gradient_norms(cell, x, loss_fn=lambda h: tf.reduce_sum(h))
    dl_dh = np.zeros((4, 10, 5), "float32")
    dl_dh[:, -1] = 1.0
    deltas = np.asarray(explicit_bptt(cell, x, dl_dh).deltas)
    np.testing.assert_allclose(norms, np.linalg.norm(deltas, axis=-1).mean(0), rtol=1e-5)


def test_clipping_matches_tensorflow_and_numpy():
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal((3, 4)).astype("float32") * 5, rng.standard_normal(6).astype("float32"), None]
    clipped, norm = clip_by_global_norm(grads, 2.0)
    ref, ref_norm = tf.clip_by_global_norm([grads[0], grads[1]], 2.0)
    np.testing.assert_allclose(norm, ref_norm, rtol=1e-6)
    for a, b in zip(clipped[:2], ref):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert clipped[2] is None
    np.testing.assert_allclose(np.sqrt(sum(np.sum(np.asarray(c) ** 2) for c in clipped[:2])), 2.0, rtol=1e-6)
    small, _ = clip_by_global_norm([g * 1e-3 for g in grads[:2]], 2.0)  # under the bound: unchanged
    np.testing.assert_allclose(small[0], grads[0] * 1e-3, rtol=1e-6)
    per = clip_by_norm(grads, 1.5)
    for a, g in zip(per[:2], grads[:2]):
        np.testing.assert_allclose(a, tf.clip_by_norm(g, 1.5), rtol=1e-6)
        assert np.linalg.norm(a) <= 1.5 + 1e-5
    val = clip_by_value(grads, 0.5)
    np.testing.assert_array_equal(val[0], np.clip(grads[0], -0.5, 0.5))
    for bad in (0, -1.0, "1", True):
        with pytest.raises(ValueError, match="Received"):
            clip_by_global_norm(grads, bad)


def test_diagnostics_argument_errors():
    from adl_keras.bptt import make_cell

    with pytest.raises(ValueError, match="kind='lstm2'"):
        make_cell("lstm2", 4)
    with pytest.raises(ValueError, match="x.shape"):
        hidden_gradient_norms(keras.layers.SimpleRNNCell(3), np.zeros((4, 3), "float32"))


def test_explicit_bptt_follows_a_float64_cell():
    """A float64 cell gets a float64 backward pass equal to autodiff (it used to fail inside TensorFlow)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from adl_keras.bptt import explicit_bptt

    cell = keras.layers.SimpleRNNCell(3, dtype="float64")
    x = np.random.default_rng(0).random((2, 4, 2))
    result = explicit_bptt(cell, x, np.ones((2, 4, 3)))
    with tf.GradientTape() as tape:
        h = keras.layers.RNN(cell, return_sequences=True)(x)
        loss = tf.reduce_sum(h)
    reference = tape.gradient(loss, cell.trainable_weights)
    assert [np.asarray(g).dtype for g in result.grads] == [np.float64] * len(reference)
    for got, want in zip(result.grads, reference):
        np.testing.assert_allclose(np.asarray(got), want.numpy(), atol=1e-12)
