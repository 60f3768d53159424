"""Textbook cells vs an independent NumPy implementation of DESIGN.md's equations,
exact conversion to/from keras.layers.LSTM / GRU(reset_after=False), and the harness."""

import keras
import numpy as np
import pytest

from adl_keras.rnn import (
    TextbookGRU,
    TextbookGRUCell,
    TextbookLSTM,
    TextbookLSTMCell,
    gru_weights_to_keras,
    lstm_weights_to_keras,
    sequence_classifier,
    sequence_regressor,
    textbook_from_keras,
    textbook_to_keras,
)
from adl_keras.testing import check_layer, check_model


def sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_lstm(x, W, U, b):
    """LSTM from the equations, per gate; W = {g: (d, n)}, U = {g: (n, n)}, b = {g: (n,)}."""
    batch, T, _ = x.shape
    n = U["i"].shape[0]
    h, c = np.zeros((batch, n)), np.zeros((batch, n))
    hs = []
    for t in range(T):
        xt = x[:, t]
        i = sig(xt @ W["i"] + h @ U["i"] + b["i"])
        f = sig(xt @ W["f"] + h @ U["f"] + b["f"])
        o = sig(xt @ W["o"] + h @ U["o"] + b["o"])
        c = f * c + i * np.tanh(xt @ W["c"] + h @ U["c"] + b["c"])
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1), h, c


def numpy_gru(x, W, U, b=None):
    batch, T, _ = x.shape
    n = U["z"].shape[0]
    b = b or {g: np.zeros(n) for g in "zrh"}
    h = np.zeros((batch, n))
    hs = []
    for t in range(T):
        xt = x[:, t]
        z = sig(xt @ W["z"] + h @ U["z"] + b["z"])
        r = sig(xt @ W["r"] + h @ U["r"] + b["r"])
        h_tilde = np.tanh(xt @ W["h"] + (r * h) @ U["h"] + b["h"])
        h = (1 - z) * h + z * h_tilde
        hs.append(h)
    return np.stack(hs, 1), h


def split_blocks(weights, gates):
    kernel, recurrent, *bias = weights
    n = recurrent.shape[0]
    W = {g: kernel[:, k * n:(k + 1) * n].astype("float64") for k, g in enumerate(gates)}
    U = {g: recurrent[:, k * n:(k + 1) * n].astype("float64") for k, g in enumerate(gates)}
    b = {g: bias[0][k * n:(k + 1) * n].astype("float64") for k, g in enumerate(gates)} if bias else None
    return W, U, b


def randomise(layer, rng, scale=0.5):
    layer.set_weights([scale * rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])


@pytest.mark.parametrize("use_bias", [True, False])
def test_lstm_matches_numpy_equations(use_bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 4)).astype("float32")
    layer = TextbookLSTM(5, use_bias=use_bias, return_sequences=True, return_state=True)
    layer.build(x.shape)
    randomise(layer, rng)
    seq, h, c = layer(x)
    W, U, b = split_blocks(layer.get_weights(), "ifco")
    b = b or {g: np.zeros(5) for g in "ifco"}
    ref_seq, ref_h, ref_c = numpy_lstm(x.astype("float64"), W, U, b)
    np.testing.assert_allclose(seq, ref_seq, atol=1e-5)
    np.testing.assert_allclose(h, ref_h, atol=1e-5)
    np.testing.assert_allclose(c, ref_c, atol=1e-5)


def test_lstm_unit_forget_bias_initialises_forget_block_to_one():
    cell = TextbookLSTMCell(3)
    cell.build((None, 2))
    np.testing.assert_array_equal(np.asarray(cell.bias), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    cell = TextbookLSTMCell(3, unit_forget_bias=False)
    cell.build((None, 2))
    np.testing.assert_array_equal(np.asarray(cell.bias), np.zeros(12))


@pytest.mark.parametrize("use_bias", [False, True])
def test_gru_matches_numpy_equations(use_bias):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 4)).astype("float32")
    layer = TextbookGRU(5, use_bias=use_bias, return_sequences=True)
    layer.build(x.shape)
    randomise(layer, rng)
    assert len(layer.get_weights()) == (3 if use_bias else 2)
    W, U, b = split_blocks(layer.get_weights(), "zrh")
    ref_seq, _ = numpy_gru(x.astype("float64"), W, U, b)
    np.testing.assert_allclose(layer(x), ref_seq, atol=1e-5)


def test_gru_gate_convention_z_weights_the_new_candidate():
    # z -> 1 (huge z bias): h equals the candidate h~ = tanh(W_h x) from a zero state,
    # whereas in keras.layers.GRU a saturated z keeps the old state.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, 3)).astype("float32")
    ours = TextbookGRU(4, use_bias=True)
    ours.build(x.shape)
    kernel, recurrent, bias = ours.get_weights()
    bias[:4] = 50.0
    ours.set_weights([kernel, recurrent, bias])
    np.testing.assert_allclose(ours(x), np.tanh(x[:, 0] @ kernel[:, 8:]), atol=1e-6)
    keras_gru = keras.layers.GRU(4, reset_after=False)
    keras_gru.build(x.shape)
    keras_gru.set_weights([kernel, recurrent, bias])  # copied without the z flip
    np.testing.assert_allclose(keras_gru(x), 0.0, atol=1e-6)  # z'=1 keeps h_prev = 0
    keras_gru.set_weights(gru_weights_to_keras([kernel, recurrent, bias], 4))
    np.testing.assert_allclose(keras_gru(x), ours(x), atol=1e-6)
    assert np.all(keras_gru.get_weights()[2][:4] == -50.0)


OPTIONS = [
    dict(return_sequences=False, return_state=False, go_backwards=False),
    dict(return_sequences=True, return_state=True, go_backwards=False),
    dict(return_sequences=True, return_state=True, go_backwards=True),
]
# Default run: a covering set (every option on, with and without a mask); the full grid is slow.
FAST = {(0, False), (1, True), (2, True), (2, False)}
GRID = [pytest.param(kind, o, m, id=f"{kind}-{'-'.join(k[:6] for k, v in o.items() if v) or 'last'}-"
                                     f"{'mask' if m else 'nomask'}",
                     marks=() if (k, m) in FAST else pytest.mark.slow)
        for kind in ("lstm", "gru") for k, o in enumerate(OPTIONS) for m in (False, True)]


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


@pytest.mark.parametrize("kind,options,masked", GRID)
def test_conversion_both_ways_is_exact(kind, options, masked):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 9, 3)).astype("float32")
    mask = None
    if masked:
        lengths = np.array([9, 5, 1, 7])
        mask = np.arange(9)[None, :] < lengths[:, None]
    ours = (TextbookLSTM if kind == "lstm" else TextbookGRU)(6, use_bias=True, **options)
    ours.build(x.shape)
    randomise(ours, rng)
    theirs = textbook_to_keras(ours)
    assert isinstance(theirs, keras.layers.LSTM if kind == "lstm" else keras.layers.GRU)
    a, b = _as_list(ours(x, mask=mask)), _as_list(theirs(x, mask=mask))
    assert len(a) == len(b) == (1 + (2 if kind == "lstm" else 1) * options["return_state"])
    for u, v in zip(a, b):
        assert np.max(np.abs(np.asarray(u) - np.asarray(v))) <= 1e-5
    # And back: a fresh Keras layer -> textbook.
    fresh = (keras.layers.LSTM(6, **options) if kind == "lstm"
             else keras.layers.GRU(6, reset_after=False, **options))
    fresh.build(x.shape)
    randomise(fresh, rng)
    back = textbook_from_keras(fresh)
    for u, v in zip(_as_list(fresh(x, mask=mask)), _as_list(back(x, mask=mask))):
        assert np.max(np.abs(np.asarray(u) - np.asarray(v))) <= 1e-5


def test_conversion_round_trip_weights_and_biasless_gru():
    rng = np.random.default_rng(4)
    ours = TextbookGRU(3)  # the textbook default: no biases
    ours.build((None, None, 2))
    randomise(ours, rng)
    theirs = textbook_to_keras(ours)
    assert not theirs.cell.use_bias
    back = textbook_from_keras(theirs)
    for u, v in zip(ours.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(u, v)
    lstm = TextbookLSTM(3)
    lstm.build((None, None, 2))
    w = lstm.get_weights()
    for u, v in zip(w, lstm_weights_to_keras(w)):
        np.testing.assert_array_equal(u, v)


def test_conversion_errors():
    gru = keras.layers.GRU(3)  # reset_after=True by default
    gru.build((None, 4, 2))
    with pytest.raises(ValueError, match="reset_after"):
        textbook_from_keras(gru)
    with pytest.raises(ValueError, match="reset_after"):
        gru_weights_to_keras(gru.get_weights())
    relu = keras.layers.LSTM(3, activation="relu")
    relu.build((None, 4, 2))
    with pytest.raises(ValueError, match="activation='relu'"):
        textbook_from_keras(relu)
    with pytest.raises(ValueError, match="Build the layer"):
        textbook_to_keras(TextbookLSTM(3))
    with pytest.raises(ValueError, match="Received: 1 arrays"):
        lstm_weights_to_keras([np.zeros((2, 12))])
    with pytest.raises(ValueError, match="4-gate"):
        lstm_weights_to_keras([np.zeros((2, 9)), np.zeros((3, 9))])
    with pytest.raises(ValueError, match="use_bias=False"):
        gru_weights_to_keras([np.zeros((2, 9)), np.zeros((3, 9)), np.ones(9)], use_bias=False)
    with pytest.raises(ValueError, match="Received: layer of type"):
        textbook_to_keras(keras.layers.Dense(3))


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "8"])
def test_bad_units(bad):
    with pytest.raises(ValueError, match="units"):
        TextbookLSTMCell(bad)
    with pytest.raises(ValueError, match="units"):
        TextbookGRU(bad)


def test_bad_flags_and_builder_arguments():
    with pytest.raises(ValueError, match="use_bias=1"):
        TextbookGRUCell(3, use_bias=1)
    with pytest.raises(ValueError, match="unit_forget_bias"):
        TextbookLSTMCell(3, unit_forget_bias="yes")
    with pytest.raises(ValueError, match="cell='rnn'"):
        sequence_classifier((8, 8), 10, cell="rnn")
    with pytest.raises(ValueError, match="num_classes=1"):
        sequence_classifier((8, 8), 1)
    with pytest.raises(ValueError, match="input_shape"):
        sequence_regressor((8,))


@pytest.mark.parametrize("layer_cls,kwargs", [
    (TextbookLSTM, {"units": 4, "return_sequences": True}),
    (TextbookGRU, {"units": 4, "use_bias": True, "go_backwards": True}),
])
def test_layers_pass_the_harness(layer_cls, kwargs, tmp_path):
    shape = (3, 5, 2)
    want = (3, 5, 4) if kwargs.get("return_sequences") else (3, 4)
    report = check_layer(layer_cls, kwargs, shape, expected_output_shape=want, tmp_dir=tmp_path)
    assert report["keras_max_diff"] <= 1e-5


def test_cell_in_plain_rnn_and_classifier_survive_save_load(tmp_path):
    rng = np.random.default_rng(5)
    inputs = keras.Input((6, 3))
    h = keras.layers.RNN(TextbookLSTMCell(4), return_sequences=True)(inputs)
    h = keras.layers.RNN(TextbookGRUCell(4, use_bias=True))(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    check_model(model, rng.standard_normal((2, 6, 3)).astype("float32"), tmp_dir=tmp_path, export=False)
    clf = sequence_classifier((8, 8), 10, cell="gru", units=8)
    assert [l.name for l in clf.layers] == ["sequence", "rnn", "predictions"]
    probs = clf(rng.standard_normal((2, 8, 8)).astype("float32"))
    np.testing.assert_allclose(np.sum(probs, -1), 1.0, atol=1e-5)
