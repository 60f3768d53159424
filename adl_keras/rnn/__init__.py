"""LSTM / GRU topic: textbook cells, Keras layers around them, exact weight
conversion to/from ``keras.layers.LSTM`` and ``keras.layers.GRU(reset_after=False)``,
and sequence-model builders."""

from adl_keras.rnn.builders import recurrent_layer, sequence_classifier, sequence_regressor
from adl_keras.rnn.cells import TextbookGRUCell, TextbookLSTMCell
from adl_keras.rnn.convert import (
    gru_weights_from_keras,
    gru_weights_to_keras,
    lstm_weights_from_keras,
    lstm_weights_to_keras,
    textbook_from_keras,
    textbook_to_keras,
)
from adl_keras.rnn.layers import TextbookGRU, TextbookLSTM

__all__ = [
    "TextbookGRU",
    "TextbookGRUCell",
    "TextbookLSTM",
    "TextbookLSTMCell",
    "gru_weights_from_keras",
    "gru_weights_to_keras",
    "lstm_weights_from_keras",
    "lstm_weights_to_keras",
    "recurrent_layer",
    "sequence_classifier",
    "sequence_regressor",
    "textbook_from_keras",
    "textbook_to_keras",
]
