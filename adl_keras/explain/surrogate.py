"""A global surrogate: a shallow decision tree fitted to a model's predictions."""

import dataclasses

import numpy as np

from adl_keras.explain import _inputs


@dataclasses.dataclass
class SurrogateTree:
    """A fitted surrogate.

    Attributes:
        tree: the ``sklearn.tree.DecisionTreeClassifier``.
        fidelity_train: share of fit inputs where tree and model agree.
        fidelity_test: the same on held-out inputs (None without them).
        rules: the tree as text (``sklearn.tree.export_text``).
        feature_names, class_names: names used in the rules.
    """

    tree: object
    fidelity_train: float
    fidelity_test: object
    rules: str
    feature_names: list
    class_names: list

    def predict(self, x):
        """The tree's class for each row of ``x`` (flattened)."""
        x = np.asarray(x)
        return self.tree.predict(x.reshape(len(x), -1))


def surrogate_tree(model, x, x_test=None, max_depth=4, feature_names=None, class_names=None, seed=0,
                   min_samples_leaf=5):
    """Fits a decision tree to ``model``'s predicted classes on ``x``.

    Fidelity = (1/n) sum_i [tree(x_i) == argmax_c f_c(x_i)], on ``x`` and on
    ``x_test`` (held out from the tree's fit).

    Args:
        model: keras.Model with class outputs.
        x: inputs to fit on ``(n, ...)`` (flattened for the tree).
        x_test: held-out inputs for the test fidelity (default None).
        max_depth: tree depth (default 4).
        feature_names: names of the flattened features (default x0, x1, ...).
        class_names: names of the classes (default class_0, ...).
        seed: tree random_state (default 0).
        min_samples_leaf: default 5.

    Returns:
        SurrogateTree.

    Example:
        >>> s = surrogate_tree(model, ds.train[0], ds.test[0], feature_names=names)
        >>> print(s.fidelity_test); print(s.rules)
    """
    from sklearn.tree import DecisionTreeClassifier, export_text

    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
        raise ValueError(f"max_depth must be a positive int. Received: max_depth={max_depth!r}")
    shape = _inputs.model_input_shape(model)
    x = _inputs.check_batch(x, shape, "x")
    fwd = _inputs.forward(model)
    probs = fwd(x)
    labels = probs.argmax(1)
    flat = x.reshape(len(x), -1)
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(flat.shape[1])]
    if len(names) != flat.shape[1]:
        raise ValueError(f"feature_names must have {flat.shape[1]} names. Received: {len(names)} names")
    classes = list(class_names) if class_names is not None else [f"class_{c}" for c in range(probs.shape[1])]
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=seed)
    tree.fit(flat, labels)
    fid_train = float(np.mean(tree.predict(flat) == labels))
    fid_test = None
    if x_test is not None:
        xt = _inputs.check_batch(x_test, shape, "x_test")
        fid_test = float(np.mean(tree.predict(xt.reshape(len(xt), -1)) == fwd(xt).argmax(1)))
    present = [classes[c] for c in tree.classes_]
    rules = export_text(tree, feature_names=names, class_names=present)
    return SurrogateTree(tree, fid_train, fid_test, rules, names, classes)
