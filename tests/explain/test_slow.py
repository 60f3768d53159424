"""Longer checks (``make test-slow``): shap's PartitionExplainer (its numba
kernels compile for about a minute on first use), LIME at the benchmark's
1,000 samples, expected gradients converging."""

import numpy as np
import pytest

from adl_keras.explain import explain

pytestmark = pytest.mark.slow


def test_partition_additive_on_every_kind(lenet, digits, lstm_model, linear_model):
    model, w, _ = linear_model
    rng = np.random.default_rng(0)
    bg_tab = rng.normal(size=(20, 5)).astype("float32")
    e = explain(model, bg_tab[:2], "shap-partition", background=bg_tab, target=0)
    assert e.additivity_error() < 1e-4
    # a linear model's Owen values equal its Shapley values (x - E b) * w
    np.testing.assert_allclose(e.values, (bg_tab[:2] - bg_tab.mean(0)) * w[:, 0], atol=1e-4)
    e = explain(lstm_model, rng.random((1, 8, 8), dtype="float32"), "shap-partition",
                background=rng.random((10, 8, 8), dtype="float32"))
    assert e.additivity_error() < 1e-4
    e = explain(lenet, digits.test[0][:1], "shap-partition", background=digits.train[0][:20], max_evals=300)
    mean_image = digits.train[0][:20].mean(0, keepdims=True)
    np.testing.assert_allclose(e.base_values, lenet(mean_image).numpy()[0, e.targets], rtol=1e-5)
    assert e.additivity_error() < 1e-4


def test_vectorised_lime_equals_stock_at_1000_samples(lenet, digits):
    from adl_keras.explain import lime_methods
    from adl_keras.explain._inputs import forward

    x = digits.test[0][5:8]
    t = lenet(x).numpy().argmax(1)
    fast = lime_methods.lime_image(forward(lenet), x, t, seed=11, num_samples=1000, vectorised=True)
    stock = lime_methods.lime_image(forward(lenet), x, t, seed=11, num_samples=1000, vectorised=False)
    for a, b in zip(fast[2]["segment_weights"], stock[2]["segment_weights"]):
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert list(np.argsort(-np.abs(a))[:5]) == list(np.argsort(-np.abs(b))[:5])


def test_expected_gradients_error_shrinks_with_samples(lenet, digits):
    x, bg = digits.test[0][:3], digits.train[0][:50]
    few = explain(lenet, x, "shap-gradient", background=bg, nsamples=50, seed=1).additivity_errors().mean()
    many = explain(lenet, x, "shap-gradient", background=bg, nsamples=2000, seed=1).additivity_errors().mean()
    assert many < few and many < 0.05


def test_shap_kernel_matches_shap_deep_on_tabular_mlp():
    """Two estimators of the SHAP values of the breast-cancer MLP: KernelSHAP
    (sampling, converges to the Shapley values) and DeepSHAP (DeepLIFT's rescale
    rule, an approximation for nonlinear nets). Measured correlations 0.81-0.85."""
    from adl_keras import data, zoo

    ds = data.load("breast_cancer")
    model = zoo.load_model("mlp.breast_cancer")
    x, bg = ds.test[0][:3], ds.train[0][:40]
    deep = explain(model, x, "shap-deep", background=bg, target=1)
    kern = explain(model, x, "shap-kernel", background=bg, target=1, nsamples=4000)
    for a, b in zip(deep.values, kern.values):
        assert np.corrcoef(a, b)[0, 1] > 0.75
