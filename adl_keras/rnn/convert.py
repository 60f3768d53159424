"""Exact weight conversion between the textbook cells and Keras' LSTM / GRU.

LSTM: both store ``[W_i|W_f|W_c|W_o]``, ``[U_i|U_f|U_c|U_o]``, ``[b_i|b_f|b_c|b_o]``
with the same activations (sigmoid gates, tanh), so the mapping is the
identity on these three arrays; a Keras LSTM without bias maps to zeros.

GRU: Keras writes ``h = z'*h_prev + (1-z')*h~`` while the textbook writes
``h = (1-z)*h_prev + z*h~``. Since ``1 - s(a) = s(-a)``, ``z' = 1 - z`` exactly
when the z-block of the kernel, recurrent kernel and bias is negated; r and h
blocks are copied. Only ``GRU(reset_after=False)`` applies the reset gate
before the recurrent matmul as the textbook does; ``reset_after=True`` has no
exact mapping (``r*(U_h h) != U_h (r*h)``) and is refused.

Example:
    >>> import keras, numpy as np
    >>> from adl_keras.rnn import TextbookGRU
    >>> ours = TextbookGRU(4); ours.build((None, 3, 2))
    >>> theirs = keras.layers.GRU(4, reset_after=False); theirs.build((None, 3, 2))
    >>> theirs.set_weights(gru_weights_to_keras(ours.get_weights(), 4, use_bias=True))
"""

import numpy as np

__all__ = [
    "lstm_weights_to_keras",
    "lstm_weights_from_keras",
    "gru_weights_to_keras",
    "gru_weights_from_keras",
    "textbook_from_keras",
    "textbook_to_keras",
]


def _arrays(weights, expected, what):
    weights = [np.asarray(w) for w in weights]
    if len(weights) not in expected:
        raise ValueError(f"{what} expects {' or '.join(map(str, expected))} arrays "
                         f"(kernel, recurrent_kernel[, bias]). Received: {len(weights)} arrays "
                         f"with shapes {[w.shape for w in weights]}")
    return weights


def _check_units(kernel, recurrent, gates, what):
    units = recurrent.shape[0]
    if recurrent.shape != (units, gates * units) or kernel.shape[-1] != gates * units:
        raise ValueError(f"{what}: shapes do not describe a {gates}-gate cell. Received: "
                         f"kernel={kernel.shape}, recurrent_kernel={recurrent.shape}")
    return units


def lstm_weights_to_keras(weights, use_bias=True):
    """Textbook LSTM weights -> ``keras.layers.LSTM(use_bias=use_bias)`` weights.

    Args:
        weights (list of arrays): ``[kernel, recurrent_kernel]`` or ``[..., bias]``.
        use_bias (bool, default True): whether the Keras layer has a bias. A
            missing textbook bias becomes zeros; a non-zero bias cannot be dropped.

    Returns:
        list of arrays for ``keras.layers.LSTM.set_weights``.
    """
    kernel, recurrent, *bias = _arrays(weights, (2, 3), "lstm_weights_to_keras")
    units = _check_units(kernel, recurrent, 4, "lstm_weights_to_keras")
    bias = bias[0] if bias else np.zeros((4 * units,), kernel.dtype)
    out = [kernel, recurrent]  # same [i|f|c|o] layout, same activations
    if use_bias:
        out.append(bias)
    elif np.any(bias != 0):
        raise ValueError("The textbook LSTM has a non-zero bias; convert with use_bias=True. "
                         "Received: use_bias=False")
    return out


def lstm_weights_from_keras(weights, use_bias=True):
    """``keras.layers.LSTM`` weights -> textbook LSTM weights (the inverse of the above).

    Args:
        weights (list of arrays): ``layer.get_weights()`` of a Keras LSTM.
        use_bias (bool, default True): whether the textbook cell has a bias.

    Returns:
        list of arrays for the textbook cell.
    """
    return lstm_weights_to_keras(weights, use_bias=use_bias)


def gru_weights_to_keras(weights, units=None, use_bias=True):
    """Textbook GRU weights -> ``keras.layers.GRU(reset_after=False)`` weights.

    The z-block (first ``units`` columns) of kernel, recurrent kernel and bias
    is negated, so that Keras' ``z' = s(-a_z) = 1 - z`` weights the old state.

    Args:
        weights (list of arrays): ``[kernel, recurrent_kernel]`` or ``[..., bias]``.
        units (int or None, default None): checked against the shapes when given.
        use_bias (bool, default True): whether the Keras GRU has a bias.

    Returns:
        list of arrays for ``keras.layers.GRU(reset_after=False).set_weights``.
    """
    kernel, recurrent, *bias = _arrays(weights, (2, 3), "gru_weights_to_keras")
    n = _check_units(kernel, recurrent, 3, "gru_weights_to_keras")
    if units is not None and units != n:
        raise ValueError(f"units does not match the weights ({n}). Received: units={units}")
    if bias and bias[0].ndim != 1:
        raise ValueError("A 2-D GRU bias comes from reset_after=True, which has no exact textbook "
                         f"mapping. Received: bias shape {bias[0].shape}")
    bias = bias[0] if bias else np.zeros((3 * n,), kernel.dtype)
    flip = np.concatenate([-np.ones(n), np.ones(2 * n)]).astype(kernel.dtype)
    out = [kernel * flip, recurrent * flip]  # z' = 1 - z: negate the z pre-activation
    if use_bias:
        out.append(bias * flip)
    elif np.any(bias != 0):
        raise ValueError("The GRU has a non-zero bias; convert with use_bias=True. Received: use_bias=False")
    return out


def gru_weights_from_keras(weights, units=None, use_bias=False):
    """``keras.layers.GRU(reset_after=False)`` weights -> textbook GRU weights.

    Args:
        weights (list of arrays): ``layer.get_weights()`` of a Keras GRU.
        units (int or None, default None): checked against the shapes when given.
        use_bias (bool, default False): whether the textbook cell has a bias;
            with False a non-zero Keras bias raises.

    Returns:
        list of arrays for the textbook cell.
    """
    # Negation is its own inverse.
    return gru_weights_to_keras(weights, units=units, use_bias=use_bias)


def _cell_of(layer):
    return getattr(layer, "cell", layer)


def textbook_to_keras(layer):
    """Builds the ``keras.layers.LSTM`` / ``GRU(reset_after=False)`` equal to a textbook layer.

    Args:
        layer: a built :class:`TextbookLSTM`/:class:`TextbookGRU`, or a
            ``keras.layers.RNN`` around a textbook cell.

    Returns:
        a built Keras layer with the same RNN options (return_sequences,
        return_state, go_backwards, stateful, unroll) and converted weights.
    """
    import keras

    from adl_keras.rnn.cells import TextbookGRUCell, TextbookLSTMCell

    cell = _cell_of(layer)
    if not isinstance(cell, (TextbookLSTMCell, TextbookGRUCell)):
        raise ValueError(f"layer must hold a TextbookLSTMCell or TextbookGRUCell. "
                         f"Received: layer of type {type(layer).__name__}")
    if not cell.built:
        raise ValueError(f"Build the layer first (call it on an input). Received: layer={layer.name!r}")
    options = {k: getattr(layer, k) for k in ("return_sequences", "return_state", "go_backwards",
                                               "stateful", "unroll")}
    input_dim = cell.kernel.shape[0]
    if isinstance(cell, TextbookLSTMCell):
        out = keras.layers.LSTM(cell.units, use_bias=cell.use_bias, **options)
        out.build((None, None, input_dim))
        out.set_weights(lstm_weights_to_keras(cell.get_weights(), use_bias=cell.use_bias))
    else:
        out = keras.layers.GRU(cell.units, use_bias=cell.use_bias, reset_after=False, **options)
        out.build((None, None, input_dim))
        out.set_weights(gru_weights_to_keras(cell.get_weights(), cell.units, use_bias=cell.use_bias))
    return out


def textbook_from_keras(layer):
    """Builds the textbook layer equal to a ``keras.layers.LSTM`` or ``GRU(reset_after=False)``.

    Args:
        layer: a built ``keras.layers.LSTM`` (tanh/sigmoid activations) or
            ``keras.layers.GRU(reset_after=False)``.

    Returns:
        a built :class:`TextbookLSTM` or :class:`TextbookGRU` with the same
        RNN options and converted weights.

    Raises:
        ValueError: for ``reset_after=True``, other activations or unbuilt layers.
    """
    import keras

    from adl_keras.rnn.layers import TextbookGRU, TextbookLSTM

    cell = _cell_of(layer)
    if not isinstance(cell, (keras.layers.LSTMCell, keras.layers.GRUCell)):
        raise ValueError(f"layer must be a keras.layers.LSTM or keras.layers.GRU. "
                         f"Received: layer of type {type(layer).__name__}")
    if isinstance(cell, keras.layers.GRUCell) and cell.reset_after:
        raise ValueError(
            "keras.layers.GRU(reset_after=True) applies the reset gate after the recurrent "
            "matmul, r*(U_h h), which no textbook GRU (U_h (r*h)) reproduces. Use "
            "reset_after=False. Received: reset_after=True")
    if not cell.built:
        raise ValueError(f"Build the layer first (call it on an input). Received: layer={layer.name!r}")
    acts = (keras.activations.serialize(cell.activation), keras.activations.serialize(cell.recurrent_activation))
    if acts != ("tanh", "sigmoid"):
        raise ValueError(f"Only activation='tanh', recurrent_activation='sigmoid' match the textbook cell. "
                         f"Received: activation={acts[0]!r}, recurrent_activation={acts[1]!r}")
    options = {k: getattr(layer, k) for k in ("return_sequences", "return_state", "go_backwards",
                                               "stateful", "unroll")}
    input_dim = cell.kernel.shape[0]
    if isinstance(cell, keras.layers.LSTMCell):
        out = TextbookLSTM(cell.units, use_bias=cell.use_bias, **options)
        out.build((None, None, input_dim))
        out.set_weights(lstm_weights_from_keras(cell.get_weights(), use_bias=cell.use_bias))
    else:
        out = TextbookGRU(cell.units, use_bias=cell.use_bias, **options)
        out.build((None, None, input_dim))
        out.set_weights(gru_weights_from_keras(cell.get_weights(), cell.units, use_bias=cell.use_bias))
    return out
