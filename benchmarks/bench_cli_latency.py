"""Latency of ``adl-zoo list`` / ``info`` / argument validation vs ``import keras``.

Each command runs in a fresh process (``python -m adl_keras.cli ...``, the
console script's code path) and is timed end to end; the anchor is a fresh
``python -c "import keras"`` in the same run, with the same interpreter,
environment (TF_CPP_MIN_LOG_LEVEL=3) and a warm file cache for both. The
reported value is the slowest command's median: every one must answer in a
small fraction of what loading Keras alone costs.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._common import write_result

REPEATS = 7
ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "list": ["list"],
    "list --json": ["list", "--json"],
    "info lenet5.digits --json": ["info", "lenet5.digits", "--json"],
    "explain with an invalid --method": ["explain", "lenet5.digits", "--method", "no-such-method",
                                         "--out", os.devnull],
}
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}


def fresh_process_seconds(argv, expect_rc=0):
    times = []
    for _ in range(REPEATS + 1):  # the first run warms the file cache and is dropped
        start = time.perf_counter()
        res = subprocess.run([sys.executable, *argv], capture_output=True, env=ENV, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if res.returncode != expect_rc:
            raise RuntimeError(f"{argv} exited {res.returncode}: {res.stderr.decode()[-2000:]}")
    return statistics.median(times[1:]), times[1:]


if __name__ == "__main__":
    results = {}
    for label, args in COMMANDS.items():
        rc = 2 if "invalid" in label else 0
        results[label] = fresh_process_seconds(["-m", "adl_keras.cli", *args], expect_rc=rc)
    anchor, anchor_all = fresh_process_seconds(["-c", "import keras"])
    startup, _ = fresh_process_seconds(["-c", "pass"])
    slowest = max(results, key=lambda k: results[k][0])
    write_result(
        "cli_latency", "median wall-clock of the slowest of `adl-zoo list`, `list --json`, `info`, "
        "and an invalid `explain --method`, each in a fresh process", "s",
        results[slowest][0], 'python -c "import keras"', anchor, goal=0.1, higher_is_better=False,
        repeats=REPEATS,
        extra={"slowest_command": slowest,
               "per_command_median_s": {k: v[0] for k, v in results.items()},
               "per_command_all_s": {k: v[1] for k, v in results.items()},
               "import_keras_all_s": anchor_all, "python_startup_s": startup,
               "absolute_goal_s": 0.5, "meets_absolute_goal": results[slowest][0] < 0.5,
               "anchor_config": "fresh `python -c 'import keras'` (TensorFlow backend), same interpreter and "
                                "environment, warm file cache, nothing else imported",
               "why_best": "importing Keras (TensorFlow backend, the project's backend) is the least any "
                           "Keras-based command pays before it can answer; there is no setting that makes "
                           "`import keras` cheaper, and its first run is dropped so the cache is warm for both"},
    )
