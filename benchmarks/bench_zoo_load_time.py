"""Time to load a pretrained zoo entry vs Keras' own ways of loading the same trained model.

Project: ``adl_keras.zoo.load_model(NAME)``: build the architecture from the
registry, read the weight file once, verify its size and sha256, assign the
weights from those bytes. Anchor, in each documented configuration that could
be its fastest, on the same trained model:

* ``keras.saving.load_model(path.keras, compile=False)``: the whole-model
  file (config + weights; the zoo returns an uncompiled model too);
* the same architecture built in code + ``model.load_weights(path.weights.h5)``:
  Keras' weights-only restore, which skips deserialising a config.

All in this process, interleaved, medians over repeats; the outputs of every
way are checked equal first. The fastest anchor's median is the anchor value.

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

    entry = zoo.get_entry(NAME)
    reference = zoo.load_model(NAME)
    folder = Path(tempfile.mkdtemp(prefix="zoo_load_time_"))
    keras_path, weights_path = folder / "model.keras", folder / "model.weights.h5"
    reference.save(keras_path)
    reference.save_weights(weights_path)

    def project():
        return zoo.load_model(NAME)

    def load_model():
        return keras.saving.load_model(keras_path, compile=False)

    def build_and_load_weights():
        model = entry.build()
        model.load_weights(weights_path)
        return model

    anchors = {"keras.saving.load_model(.keras file, compile=False)": load_model,
               "architecture built in code + model.load_weights(.weights.h5)": build_and_load_weights}
    fns = {"adl_keras.zoo.load_model": project, **anchors}
    x = np.random.default_rng(0).uniform(0, 1, (4,) + tuple(entry.input_shape)).astype("float32")
    expected = reference.predict(x, verbose=0)
    for fn in fns.values():  # also the warm-up: imports, first graph construction
        np.testing.assert_allclose(fn().predict(x, verbose=0), expected, atol=1e-5)
    times = {label: [] for label in fns}
    labels = list(fns)
    for r in range(repeats):  # interleaved, order rotated, so load on the shared machine hits all alike
        shift = r % len(labels)
        for label in labels[shift:] + labels[:shift]:
            start = time.perf_counter()
            fns[label]()
            times[label].append(time.perf_counter() - start)
    medians = {label: statistics.median(t) for label, t in times.items()}
    best = min(anchors, key=medians.get)
    return write_result(
        "zoo_load_time", metric=f"seconds to load {NAME} (median)", unit="s",
        value=medians["adl_keras.zoo.load_model"], anchor=best, anchor_value=medians[best],
        goal=1.2, higher_is_better=False, repeats=repeats,
        extra={"entry": NAME, "weights_bytes": weights_path.stat().st_size,
               "project_steps": "registry build + read once + size/sha256 verify + load_weights from those bytes",
               "anchor_config": f"{best}: the faster of Keras' two documented ways to restore this trained "
                                "model in this run, from a local file, no hash check",
               "why_best": "load_model(compile=False) skips the optimizer; building the model in code and "
                           "calling load_weights skips deserialising the config too, the least work Keras "
                           "can do to restore trained weights; both read the same local disk",
               "median_s_by_config": medians, "seconds_by_config": times},
    )


if __name__ == "__main__":
    main()
