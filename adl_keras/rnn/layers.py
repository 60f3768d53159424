"""Sequence layers around the textbook cells: ``keras.layers.RNN`` with the cell built in.

Example:
    >>> import numpy as np
    >>> layer = TextbookLSTM(8, return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 5, 8])
"""

import keras

from adl_keras.rnn.cells import TextbookGRUCell, TextbookLSTMCell

__all__ = ["TextbookLSTM", "TextbookGRU"]

_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
             "zero_output_for_mask")


class _TextbookRNN(keras.layers.RNN):
    """``keras.layers.RNN`` whose config lists the cell's arguments flat (as keras.layers.LSTM)."""

    _cell_class = None
    _cell_args = ()

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in self._cell_args}
        cell = self._cell_class(units, dtype=kwargs.get("dtype"),
                                trainable=kwargs.get("trainable", True),
                                name=self._cell_class.__name__.lower().replace("textbook", "textbook_"),
                                **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    @property
    def units(self):
        return self.cell.units

    def get_config(self):
        base = super().get_config()
        del base["cell"]
        cell_config = self.cell.get_config()
        return {**base, **{k: cell_config[k] for k in ("units",) + self._cell_args}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_COMMON_CELL_ARGS = ("use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
                     "kernel_regularizer", "recurrent_regularizer", "bias_regularizer")


@keras.saving.register_keras_serializable(package="adl_keras")
class TextbookLSTM(_TextbookRNN):
    """LSTM layer: :class:`TextbookLSTMCell` run by ``keras.layers.RNN``.

    Args:
        units (int): size of the hidden and cell state.
        use_bias (bool): default True; passed to the cell.
        unit_forget_bias (bool): default True; passed to the cell.
        **kwargs: the cell's initializers and regularizers (``kernel_initializer``,
            ``recurrent_initializer``, ``bias_initializer`` and the regularizers), and
            ``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``,
            ``unroll``, ``zero_output_for_mask`` (bools, default False) as in
            ``keras.layers.RNN``.

    Returns:
        ``h_T`` (batch, units), or all ``h_t`` (batch, T, units) with
        ``return_sequences``; plus ``h_T, c_T`` with ``return_state``.

    Example:
        >>> layer = TextbookLSTM(32, return_sequences=True)
    """

    _cell_class = TextbookLSTMCell
    _cell_args = _COMMON_CELL_ARGS + ("unit_forget_bias",)


@keras.saving.register_keras_serializable(package="adl_keras")
class TextbookGRU(_TextbookRNN):
    """GRU layer: :class:`TextbookGRUCell` (z weights the new candidate) run by ``keras.layers.RNN``.

    Args:
        units (int): size of the hidden state.
        use_bias (bool): default False; passed to the cell.
        **kwargs: the cell's initializers and regularizers, and ``return_sequences``,
            ``return_state``, ``go_backwards``, ``stateful``, ``unroll``,
            ``zero_output_for_mask`` (bools, default False) as in ``keras.layers.RNN``.

    Returns:
        ``h_T`` or all ``h_t``; plus ``h_T`` with ``return_state``.

    Example:
        >>> layer = TextbookGRU(32, use_bias=True)
    """

    _cell_class = TextbookGRUCell
    _cell_args = _COMMON_CELL_ARGS
