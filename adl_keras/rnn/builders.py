"""Functional builders for the sequence zoo (fixed layer names: ``rnn``, ``features``, ``predictions``)."""

import keras

from adl_keras.rnn.layers import TextbookGRU, TextbookLSTM

__all__ = ["sequence_classifier", "sequence_regressor", "recurrent_layer"]

_CELLS = {"lstm": TextbookLSTM, "gru": TextbookGRU}


def recurrent_layer(cell, units, name="rnn", **kwargs):
    """A textbook recurrent layer by name.

    Args:
        cell (str): ``"lstm"`` or ``"gru"``.
        units (int): hidden size.
        name (str, default "rnn"): layer name.
        **kwargs: passed to :class:`TextbookLSTM` / :class:`TextbookGRU`.

    Returns:
        the layer.
    """
    if cell not in _CELLS:
        raise ValueError(f"cell must be one of {sorted(_CELLS)}. Received: cell={cell!r}")
    return _CELLS[cell](units, name=name, **kwargs)


def _check_shape(input_shape):
    shape = tuple(input_shape)
    if len(shape) != 2 or shape[1] is None or (shape[0] is not None and shape[0] <= 0):
        raise ValueError(f"input_shape must be (timesteps or None, features). Received: input_shape={input_shape!r}")
    return shape


def sequence_classifier(input_shape, num_classes, cell="lstm", units=64, name=None, **cell_kwargs):
    """Many-to-one classifier: textbook RNN, last hidden state, softmax.

    Args:
        input_shape (tuple): ``(timesteps, features)``; timesteps may be None.
        num_classes (int): number of classes (>= 2).
        cell (str, default "lstm"): ``"lstm"`` or ``"gru"``.
        units (int, default 64): hidden size.
        name (str or None): model name (default ``f"{cell}_classifier"``).
        **cell_kwargs: passed to the recurrent layer (e.g. ``use_bias``).

    Returns:
        uncompiled functional keras.Model with layers ``rnn`` and ``predictions``.

    Example:
        >>> model = sequence_classifier((8, 8), 10, cell="gru", units=32)
    """
    shape = _check_shape(input_shape)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2. Received: num_classes={num_classes!r}")
    inputs = keras.Input(shape, name="sequence")
    h = recurrent_layer(cell, units, **cell_kwargs)(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(h)
    return keras.Model(inputs, outputs, name=name or f"{cell}_classifier")


def sequence_regressor(input_shape, cell="lstm", units=64, outputs=1, name=None, **cell_kwargs):
    """Many-to-one regressor: textbook RNN, last hidden state, linear output.

    Args:
        input_shape (tuple): ``(timesteps, features)``.
        cell (str, default "lstm"): ``"lstm"`` or ``"gru"``.
        units (int, default 64): hidden size.
        outputs (int, default 1): output size.
        name (str or None): model name (default ``f"{cell}_regressor"``).
        **cell_kwargs: passed to the recurrent layer.

    Returns:
        uncompiled functional keras.Model with layers ``rnn`` and ``predictions``.

    Example:
        >>> model = sequence_regressor((100, 2), cell="lstm", units=64)
    """
    shape = _check_shape(input_shape)
    if isinstance(outputs, bool) or not isinstance(outputs, int) or outputs < 1:
        raise ValueError(f"outputs must be a positive integer. Received: outputs={outputs!r}")
    inputs = keras.Input(shape, name="sequence")
    h = recurrent_layer(cell, units, **cell_kwargs)(inputs)
    out = keras.layers.Dense(outputs, name="predictions")(h)
    return keras.Model(inputs, out, name=name or f"{cell}_regressor")
