"""The first thing a user runs, ``import adl_keras`` + ``zoo.list_models()``, vs
``import keras`` alone, in fresh processes (medians).

    python -m benchmarks.bench_import_time

value = median seconds of ``python -c "import adl_keras;
adl_keras.zoo.list_models()"``; anchor = ``python -c "import keras"`` (the
import any Keras user pays first); goal ratio <= 1.0. The processes of the
three commands alternate. ``details``: the bare ``import adl_keras`` (lazy:
loads no Keras) and Python's own start-up.
"""

import os
import statistics
import subprocess
import sys
import time

from benchmarks._common import write_result

REPEATS = 9
COMMANDS = {
    "adl_keras_and_list": "import adl_keras; adl_keras.zoo.list_models()",
    "keras": "import keras",
    "adl_keras_only": "import adl_keras",
    "python": "pass",
}


def _seconds(code):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    load = os.getloadavg()
    for code in COMMANDS.values():  # warm the file cache
        _seconds(code)
    times = {key: [] for key in COMMANDS}
    for r in range(REPEATS):
        keys = list(COMMANDS)[r % len(COMMANDS):] + list(COMMANDS)[:r % len(COMMANDS)]
        for key in keys:
            times[key].append(_seconds(COMMANDS[key]))
    med = {key: statistics.median(v) for key, v in times.items()}
    write_result(
        "import_time", "median wall-clock of a fresh `python -c 'import adl_keras; adl_keras.zoo.list_models()'`",
        "s", med["adl_keras_and_list"], "python -c 'import keras'", med["keras"], goal=1.0, higher_is_better=False,
        repeats=REPEATS,
        extra={"anchor_config": "a fresh `python -c 'import keras'` (Keras 3 on TensorFlow), same interpreter",
               "why_best": "the least any Keras user pays before the first call; nothing to tune",
               "medians_s": med, "all_s": {k: [round(t, 4) for t in v] for k, v in times.items()},
               "listing": "zoo.list_models() answers from the shipped zoo/index.json (tested equal to the "
                          "registry) without importing the entry modules, so Keras is not loaded",
               "load_average_at_start": [round(v, 2) for v in load]},
    )
