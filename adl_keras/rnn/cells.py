"""Textbook LSTM and GRU cells, wrapped by ``keras.layers.RNN``.

The cells compute exactly the equations of DESIGN.md (s = logistic sigmoid)::

    LSTM  i = s(W_i x + U_i h + b_i)   f = s(W_f x + U_f h + b_f)   o = s(W_o x + U_o h + b_o)
          c = f*c_prev + i*tanh(W_c x + U_c h + b_c)                h = o*tanh(c)
    GRU   z = s(W_z x + U_z h)   r = s(W_r x + U_r h)   h~ = tanh(W_h x + U_h (r*h))
          h = (1-z)*h_prev + z*h~

Weights are stored fused, one matrix per input (as Keras does, so one matmul
computes all gates): ``kernel = [W_i | W_f | W_c | W_o]`` of shape
``(input_dim, 4*units)``, ``recurrent_kernel = [U_i | U_f | U_c | U_o]`` and
``bias = [b_i | b_f | b_c | b_o]``; the GRU stores ``[W_z | W_r | W_h]`` and
``[U_z | U_r | U_h]``. :func:`adl_keras.rnn.convert` maps them to and from
``keras.layers.LSTM`` / ``keras.layers.GRU(reset_after=False)``.

Example:
    >>> import keras, numpy as np
    >>> layer = keras.layers.RNN(TextbookLSTMCell(8), return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 5, 8])
"""

import keras
from keras import ops

__all__ = ["TextbookLSTMCell", "TextbookGRUCell", "LSTM_GATES", "GRU_GATES"]

LSTM_GATES = ("i", "f", "c", "o")  # column blocks of kernel/recurrent_kernel/bias
GRU_GATES = ("z", "r", "h")


def _check_units(units):
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"units must be a positive integer. Received: units={units!r}")
    return units


class _TextbookCellBase(keras.layers.Layer):
    """Shared arguments, initial state and config of the textbook cells."""

    _num_gates = None

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = _check_units(units)
        if not isinstance(use_bias, bool):
            raise ValueError(f"use_bias must be a bool. Received: use_bias={use_bias!r}")
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def _build_weights(self, input_dim, bias_initializer):
        g = self._num_gates
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim, g * self.units),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, g * self.units),
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(g * self.units,), initializer=bias_initializer,
                regularizer=self.bias_regularizer)
        else:
            self.bias = None

    def get_config(self):
        config = {
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="adl_keras")
class TextbookLSTMCell(_TextbookCellBase):
    """LSTM cell computing the textbook equations (no peepholes, no dropout).

    Args:
        units (int): size of ``h`` and ``c``.
        use_bias (bool, default True): add ``b_i, b_f, b_c, b_o``.
        unit_forget_bias (bool, default True): initialise ``b_f`` to 1 (Jozefowicz
            et al. 2015), as ``keras.layers.LSTM`` does.
        kernel_initializer, recurrent_initializer, bias_initializer: Keras
            initializers (defaults glorot_uniform, orthogonal, zeros).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional.

    Returns (when called with ``(x_t, [h_prev, c_prev])``):
        ``(h, [h, c])``.

    Example:
        >>> import keras
        >>> lstm = keras.layers.RNN(TextbookLSTMCell(16))
    """

    _num_gates = 4

    def __init__(self, units, use_bias=True, unit_forget_bias=True, **kwargs):
        super().__init__(units, use_bias=use_bias, **kwargs)
        if not isinstance(unit_forget_bias, bool):
            raise ValueError(
                f"unit_forget_bias must be a bool. Received: unit_forget_bias={unit_forget_bias!r}")
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"The last input dimension must be known. Received: input_shape={input_shape}")
        init = self.bias_initializer
        if self.unit_forget_bias:
            base, u = self.bias_initializer, self.units

            def init(shape, dtype=None):
                return ops.concatenate([base((u,), dtype=dtype), ops.ones((u,), dtype=dtype),
                                        base((2 * u,), dtype=dtype)])
        self._build_weights(input_dim, init)
        self.built = True

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states[0], states[1]
        # All four pre-activations at once: [W_i|W_f|W_c|W_o] x + [U_i|U_f|U_c|U_o] h + b.
        a = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.use_bias:
            a = a + self.bias
        a_i, a_f, a_c, a_o = ops.split(a, 4, axis=-1)
        i = ops.sigmoid(a_i)  # i = s(W_i x + U_i h + b_i)
        f = ops.sigmoid(a_f)  # f = s(W_f x + U_f h + b_f)
        o = ops.sigmoid(a_o)  # o = s(W_o x + U_o h + b_o)
        c = f * c_prev + i * ops.tanh(a_c)  # c = f*c_prev + i*tanh(W_c x + U_c h + b_c)
        h = o * ops.tanh(c)  # h = o*tanh(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype) for _ in range(2)]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


@keras.saving.register_keras_serializable(package="adl_keras")
class TextbookGRUCell(_TextbookCellBase):
    """GRU cell computing the textbook equations, where ``z`` weights the new candidate.

    ``h = (1-z)*h_prev + z*h~`` with the reset gate applied *before* the
    recurrent matmul, ``h~ = tanh(W_h x + U_h (r*h))`` (Cho et al. 2014).
    Without biases by default, exactly as written in DESIGN.md; ``use_bias=True``
    adds ``b_z, b_r, b_h`` inside the three pre-activations.

    Relation to ``keras.layers.GRU``: Keras writes ``h = z'*h_prev + (1-z')*h~``,
    so its update gate weights the *old* state: ``z' = 1 - z = s(-(W_z x + U_z h + b_z))``,
    i.e. the Keras z-block is the negated textbook z-block. ``GRU(reset_after=False)``
    then matches exactly. ``reset_after=True`` (Keras' default, the cuDNN variant)
    computes ``tanh(W_h x + b_h + r*(U_h h + b'_h))``: ``r*(U_h h)`` differs from
    ``U_h (r*h)`` for any non-diagonal ``U_h``, so no choice of weights makes the
    two equal and no exact mapping exists.

    Args:
        units (int): size of ``h``.
        use_bias (bool, default False): add ``b_z, b_r, b_h``.
        kernel_initializer, recurrent_initializer, bias_initializer: Keras
            initializers (defaults glorot_uniform, orthogonal, zeros).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional.

    Returns (when called with ``(x_t, [h_prev])``):
        ``(h, [h])``.

    Example:
        >>> import keras
        >>> gru = keras.layers.RNN(TextbookGRUCell(16), return_sequences=True)
    """

    _num_gates = 3

    def __init__(self, units, use_bias=False, **kwargs):
        super().__init__(units, use_bias=use_bias, **kwargs)
        self.state_size = [self.units]
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"The last input dimension must be known. Received: input_shape={input_shape}")
        self._build_weights(input_dim, self.bias_initializer)
        self.built = True

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        u = self.units
        ax = ops.matmul(inputs, self.kernel)  # [W_z x | W_r x | W_h x]
        if self.use_bias:
            ax = ax + self.bias
        x_z, x_r, x_h = ops.split(ax, 3, axis=-1)
        ah = ops.matmul(h_prev, self.recurrent_kernel[:, : 2 * u])  # [U_z h | U_r h]
        z = ops.sigmoid(x_z + ah[:, :u])  # z = s(W_z x + U_z h)
        r = ops.sigmoid(x_r + ah[:, u:])  # r = s(W_r x + U_r h)
        h_tilde = ops.tanh(x_h + ops.matmul(r * h_prev, self.recurrent_kernel[:, 2 * u:]))
        # ^ h~ = tanh(W_h x + U_h (r*h))
        h = (1.0 - z) * h_prev + z * h_tilde  # h = (1-z)*h_prev + z*h~
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]
