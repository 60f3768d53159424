"""Textbook LSTM cell in keras.layers.RNN vs keras.layers.LSTM: training throughput, same run.

Run: python -m benchmarks.bench_lstm_cell_throughput
"""

from benchmarks._rnn_throughput import run

if __name__ == "__main__":
    run("lstm")
