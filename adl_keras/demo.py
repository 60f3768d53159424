"""``make demo``: the zoo end to end, offline.

For every zoo entry whose weights ship in zoo/: load it (hash verified), re-measure its card
metrics on its held-out data, export it as a SavedModel, reload that and
compare outputs with the Keras model; then print a short report, with the
Fashion-MNIST entries (real data) beside the dataset's published anchors.
"""

import os
import sys
import tempfile
import time

FASHION_DATASETS = ("fashion_mnist", "seq_fashion")
# The benchmark table of Fashion-MNIST's README (zalandoresearch/fashion-mnist), test accuracy
FASHION_ANCHORS = "anchors: 2-conv CNN 0.922, ResNet18 + augmentation 0.949, humans 0.835"


def _example_input(model, n=8):
    import numpy as np

    spec = model.inputs[0]
    return np.random.default_rng(0).random((n, *spec.shape[1:])).astype(spec.dtype)


def export_roundtrip(model, x, folder):
    """Exports ``model`` as a SavedModel, reloads it and returns max |diff| on ``x``."""
    import numpy as np
    import tensorflow as tf

    model.export(folder, format="tf_saved_model", verbose=False)
    restored = tf.saved_model.load(folder)
    served = restored.serve(tf.constant(x))
    served = list(served.values())[0] if isinstance(served, dict) else served
    expected = model(x, training=False)
    expected = expected[0] if isinstance(expected, (list, tuple)) else expected
    return float(np.max(np.abs(np.asarray(served) - np.asarray(expected))))


def main(names=None):
    from adl_keras import _logging

    _logging.quiet()  # ADL_KERAS_VERBOSE=1 shows TensorFlow's start-up lines and warnings
    import keras

    from adl_keras import zoo
    from adl_keras.zoo import cards

    pretrained = zoo.list_models(pretrained=True)
    names = names or [n for n in pretrained if cards.weights_shipped(n)]
    print(f"adl_keras zoo: {len(zoo.list_models())} entries, {len(pretrained)} pretrained, "
          f"{len(names)} shipped offline (the others fetch verified weights from their URL)\n")
    rows, ok = [], True
    with tempfile.TemporaryDirectory(prefix="adl_keras_demo_") as tmp:
        for name in names:
            start = time.perf_counter()
            model = zoo.load_model(name)
            report = zoo.evaluate(name, model=model)
            shown = [(k, m) for k, m in report["metrics"].items() if m["card"] is not None][:2]
            metrics = "; ".join(f"{k} {m['measured']:.4g} (card {m['card']:.4g})" for k, m in shown)
            diff = None
            if isinstance(model, keras.Model) and model.inputs:
                x = _example_input(model)
                diff = export_roundtrip(model, x, os.path.join(tmp, name))
            seconds = time.perf_counter() - start
            good = report["match"] and (diff is None or diff <= 1e-5)
            ok &= good
            rows.append((name, metrics, diff, seconds, good))
            print(f"{'ok ' if good else 'BAD'} {name:<26} {metrics:<48} "
                  f"savedmodel max|diff| {'n/a' if diff is None else f'{diff:.1e}'}  {seconds:.1f}s", flush=True)
    print(f"\n{sum(r[4] for r in rows)}/{len(rows)} entries reproduce their cards and export to SavedModel")
    fashion = [r for r in rows if zoo.get_entry(r[0]).dataset in FASHION_DATASETS]
    if fashion:
        print(f"\nReal data: the Fashion-MNIST entries, test split (classifier {FASHION_ANCHORS}):")
        for name, metrics, *_ in fashion:
            print(f"  {name:<26} {metrics}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or None))
