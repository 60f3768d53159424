"""Deletion/insertion AUC, the randomisation sanity check and the surrogate tree."""

import numpy as np
import pytest

from adl_keras.explain import explain, metrics, surrogate_tree


def test_deletion_insertion_against_numpy(linear_model):
    model, w, b = linear_model
    x = np.array([[1.0, -2.0, 0.5, 3.0, 0.0]], "float32")
    values = np.array([[0.3, 0.1, 0.5, 0.2, 0.4]], "float32")   # order: 2, 4, 0, 3, 1
    order = [2, 4, 0, 3, 1]
    dele = metrics.deletion_insertion(model, x, values, [0], mode="deletion")
    ins = metrics.deletion_insertion(model, x, values, [0], mode="insertion")
    exp_del, exp_ins = [], []
    for k in range(6):
        gone = np.zeros(5, bool)
        gone[order[:k]] = True
        exp_del.append(np.where(gone, 0, x[0]) @ w[:, 0] + b[0])
        exp_ins.append(np.where(gone, x[0], 0) @ w[:, 0] + b[0])
    np.testing.assert_allclose(dele["curves"][0], exp_del, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ins["curves"][0], exp_ins, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dele["auc"][0], np.trapezoid(exp_del, np.linspace(0, 1, 6)), rtol=1e-5)
    with pytest.raises(ValueError, match="mode="):
        metrics.deletion_insertion(model, x, values, [0], mode="both")
    with pytest.raises(ValueError, match="values must have"):
        metrics.deletion_insertion(model, x, values[:, :3], [0])


def test_attributions_beat_random_on_digits(lenet, digits):
    x, bg = digits.test[0][:8], digits.train[0][:20]
    e = explain(lenet, x, "integrated-gradients", background=bg, steps=32)
    ig = metrics.deletion_auc(lenet, x, e.values, e.targets)
    rnd = metrics.random_baseline_auc(lenet, x, e.targets, repeats=3)
    assert ig < rnd
    assert metrics.insertion_auc(lenet, x, e.values, e.targets) > metrics.random_baseline_auc(
        lenet, x, e.targets, mode="insertion", repeats=3)


def test_model_randomisation_drops_saliency_correlation(lenet, digits):
    x = digits.test[0][:4]
    before = explain(lenet, x, "saliency").values
    weights_before = [w.copy() for w in lenet.get_weights()]
    res = metrics.model_randomisation_check(lenet, x, "saliency")
    layers = [l.name for l in lenet.layers if l.trainable_weights]
    assert [r["layer"] for r in res] == ["(original)"] + layers[::-1]
    # the unrandomised clone explains exactly like the model (measured, not assumed)
    assert res[0]["spearman"] == pytest.approx(1.0, abs=1e-9)
    assert res[-1]["spearman"] < 0.5
    # the original model is untouched: same weights, same explanation as before the check
    for a, b in zip(weights_before, lenet.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(explain(lenet, x, "saliency").values, before)


def test_surrogate_tree_fidelity_and_rules():
    from adl_keras import data, zoo

    ds = data.load("wine")
    model = zoo.load_model("mlp.wine")
    s = surrogate_tree(model, ds.train[0], ds.test[0], max_depth=3,
                       feature_names=ds.info["feature_names"], class_names=ds.info["target_names"])
    pred = model.predict(ds.test[0], verbose=0).argmax(1)
    assert s.fidelity_test == pytest.approx(np.mean(s.predict(ds.test[0]) == pred))
    assert s.fidelity_test >= 0.8 and s.tree.get_depth() <= 3
    assert "class:" in s.rules and any(name in s.rules for name in ds.info["feature_names"])
    with pytest.raises(ValueError, match="max_depth"):
        surrogate_tree(model, ds.train[0], max_depth=0)
