"""Textbook GRU cell in keras.layers.RNN vs keras.layers.GRU(reset_after=False): training throughput, same run.

Run: python -m benchmarks.bench_gru_cell_throughput
"""

from benchmarks._rnn_throughput import run

if __name__ == "__main__":
    run("gru")
