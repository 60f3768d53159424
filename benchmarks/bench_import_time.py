"""Time of ``import adl_keras`` vs ``import keras`` alone, fresh processes.

Also reported (details): ``import keras`` + listing the zoo, which is the
first thing most users do and loads Keras through the registry.
"""

import statistics
import subprocess
import sys
import time

from benchmarks._common import write_result

REPEATS = 7


def fresh_process_seconds(code):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


if __name__ == "__main__":
    fresh_process_seconds("pass")  # warm the file cache
    empty, _ = fresh_process_seconds("pass")
    ours, ours_all = fresh_process_seconds("import adl_keras")
    anchor, anchor_all = fresh_process_seconds("import keras")
    listing, _ = fresh_process_seconds("import adl_keras; adl_keras.zoo.list_models()")
    write_result(
        "import_time", "median wall-clock of a fresh `python -c 'import ...'`", "s",
        ours, "import keras", anchor, goal=1.15, higher_is_better=False, repeats=REPEATS,
        extra={"python_startup_s": empty, "adl_keras_all_s": ours_all, "keras_all_s": anchor_all,
               "import_adl_keras_and_list_zoo_s": listing,
               "list_zoo_ratio_to_import_keras": listing / anchor},
    )
