"""Time to load a pretrained zoo entry vs ``keras.saving.load_model`` of the same model.

Project: ``adl_keras.zoo.load_model(NAME)`` — build the architecture from the
registry, verify the weight file's sha256, assign the weights. Anchor: the
same trained model saved once as a ``.keras`` file and loaded with
``keras.saving.load_model`` (deserialise the config, build, assign). Both in
this process, alternating, medians over repeats; the outputs of both models
are checked equal first.

Run: ``python -m benchmarks.bench_zoo_load_time``
"""

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import write_result

NAME = "resnet_small.shapes32"
REPEATS = 15


def main(repeats=REPEATS):
    import keras

    from adl_keras import zoo

    reference = zoo.load_model(NAME)
    path = Path(tempfile.mkdtemp(prefix="zoo_load_time_")) / "model.keras"
    reference.save(path)
    x = np.random.default_rng(0).uniform(0, 1, (4,) + tuple(zoo.get_entry(NAME).input_shape)).astype("float32")
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0),
                               zoo.load_model(NAME).predict(x, verbose=0), atol=1e-5)

    def project():
        zoo.load_model(NAME)

    def anchor():
        keras.saving.load_model(path)

    for fn in (project, anchor):  # warm-up: imports, first graph construction
        fn()
    times = {"project": [], "anchor": []}
    for _ in range(repeats):  # alternate so load on the shared machine hits both alike
        for key, fn in (("project", project), ("anchor", anchor)):
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    value, anchor_value = statistics.median(times["project"]), statistics.median(times["anchor"])
    return write_result(
        "zoo_load_time", metric=f"seconds to load {NAME} (median)", unit="s", value=value,
        anchor="keras.saving.load_model(.keras file of the same model)", anchor_value=anchor_value,
        goal=1.2, higher_is_better=False, repeats=repeats,
        extra={"entry": NAME, "project_times": times["project"], "anchor_times": times["anchor"],
               "project_steps": "registry build + sha256 verify + load_weights"},
    )


if __name__ == "__main__":
    main()
