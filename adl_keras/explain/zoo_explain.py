"""Explaining zoo entries by name (the work behind ``adl-zoo explain``)."""

import numpy as np

from adl_keras.explain.methods import EXPLAINABLE_TASKS


def explainable_entries():
    """Names of zoo entries whose task is one of :data:`EXPLAINABLE_TASKS`."""
    from adl_keras import zoo

    return [n for n, e in sorted(zoo.entries().items()) if e.task in EXPLAINABLE_TASKS]


def entry_data(name, background_size=100, seed=0):
    """(test x, test y, background from the train split, feature names, class names) of an entry."""
    from adl_keras import data, zoo

    entry = zoo.get_entry(name)
    ds = data.load(entry.dataset)
    x_test, y_test = ds.test
    x_train = ds.train[0]
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x_train), size=min(background_size, len(x_train)), replace=False)
    info = ds.info or {}
    classes = info.get("target_names") or [str(c) for c in range(ds.num_classes or 0)] or None
    shape = tuple(entry.input_shape)
    # the dataset may store images as (N, 8, 8, 1) for an entry taking (8, 8) sequences
    reshape = lambda a: np.asarray(a, dtype="float32").reshape((len(a),) + shape)
    return reshape(x_test), np.asarray(y_test), reshape(x_train[np.sort(pick)]), info.get("feature_names"), classes


def explain_zoo_entry(name, index=0, method="shap-deep", out_path=None, background_size=100, **options):
    """Loads zoo entry ``name``, explains test example ``index`` and saves a PNG.

    Args:
        name: zoo entry (an image, tabular or sequence classifier).
        index: index into the entry dataset's test split (default 0).
        method: an :data:`adl_keras.explain.METHODS` name (default ``"shap-deep"``).
        out_path: PNG path, or None to skip the plot.
        background_size: training examples used as background (default 100).
        **options: passed to :func:`adl_keras.explain.explain`.

    Returns:
        Explanation (``extras["png"]`` holds the plot path).

    Example:
        >>> e = explain_zoo_entry("lenet5.digits", 3, "integrated-gradients", "ig.png")
    """
    from adl_keras import zoo
    from adl_keras.explain.api import explain
    from adl_keras.explain.plots import plot_explanation

    entry = zoo.get_entry(name)
    if entry.task not in EXPLAINABLE_TASKS:
        raise ValueError(f"Zoo entry {name!r} has task {entry.task!r}; explain handles {EXPLAINABLE_TASKS}.")
    x_test, _, background, feature_names, classes = entry_data(name, background_size)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(x_test):
        raise ValueError(f"index must be an int in [0, {len(x_test) - 1}]. Received: index={index!r}")
    model = zoo.load_model(name)
    options.setdefault("output_names", classes if classes and len(classes) == model.output_shape[-1] else None)
    if feature_names is not None and len(entry.input_shape) != 3 and len(feature_names) == entry.input_shape[-1]:
        options.setdefault("feature_names", feature_names)
    if method == "lime" and len(entry.input_shape) == 3:
        background = None
    expl = explain(model, x_test[index:index + 1], method, background=background, **options)
    if out_path is not None:
        expl.extras["png"] = str(plot_explanation(expl, out_path))
    return expl
