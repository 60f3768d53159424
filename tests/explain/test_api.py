"""The entry point, the Explanation type and the gradient/SHAP methods
against closed forms."""

import warnings

import numpy as np
import pytest

from adl_keras.explain import Explanation, ExplainerFallbackWarning, explain, shap_methods


def test_rejects_bad_input(linear_model, lenet):
    model, _, _ = linear_model
    x = np.ones((2, 5), "float32")
    with pytest.raises(ValueError, match="method=.*'nope'"):
        explain(model, x, "nope")
    with pytest.raises(ValueError, match=r"x.shape=\(2, 4\)"):
        explain(model, np.ones((2, 4)), "saliency")
    with pytest.raises(ValueError, match="NaN"):
        explain(model, np.full((1, 5), np.nan), "saliency")
    with pytest.raises(ValueError, match="needs background"):
        explain(model, x, "shap-deep")
    with pytest.raises(ValueError, match="Unknown option.*'steps'"):
        explain(model, x, "saliency", steps=3)
    with pytest.raises(ValueError, match="target must lie in"):
        explain(model, x, "saliency", target=7)
    with pytest.raises(ValueError, match="grad-cam needs image"):
        explain(model, x, "grad-cam")
    with pytest.raises(ValueError, match="layer='nope'"):
        explain(lenet, np.zeros((1, 8, 8, 1)), "grad-cam", layer="nope")


def test_single_example_gets_batch_axis(linear_model):
    model, w, _ = linear_model
    e = explain(model, np.ones(5, "float32"), "saliency", target=1)
    assert e.values.shape == (1, 5) and e.kind == "tabular"
    np.testing.assert_allclose(e.values[0], np.abs(w[:, 1]), rtol=1e-6)   # |df_1/dx| = |W[:, 1]|


def test_integrated_gradients_linear_closed_form(linear_model):
    model, w, b = linear_model
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5)).astype("float32")
    bg = rng.normal(size=(6, 5)).astype("float32")
    e = explain(model, x, "integrated-gradients", background=bg, target=[0, 1, 2, 0], steps=8)
    # linear f: IG_i = (x_i - mean_b b_i) * W_ic exactly
    expected = (x - bg.mean(0)) * w[:, [0, 1, 2, 0]].T
    np.testing.assert_allclose(e.values, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e.base_values, (bg @ w + b).mean(0)[[0, 1, 2, 0]], rtol=1e-5)
    assert e.additivity_error() < 1e-5


def test_integrated_gradients_zero_baseline_completeness(lenet, digits):
    x = digits.test[0][:3]
    e = explain(lenet, x, "integrated-gradients")
    f0 = lenet(np.zeros((1, 8, 8, 1), "float32")).numpy()[0]
    np.testing.assert_allclose(e.base_values, f0[e.targets], rtol=1e-6)
    assert e.additivity_error() < 1e-2   # sum = f(x) - f(0), the auto steps guarantee it
    assert e.notes == ["baseline: all zeros"]


def test_shap_deep_and_kernel_equal_exact_shap_of_linear_model(linear_model):
    model, w, _ = linear_model
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5)).astype("float32")
    bg = rng.normal(size=(10, 5)).astype("float32")
    exact = (x - bg.mean(0)) * w[:, 2]        # SHAP of a linear model with independent features
    for method in ("shap-deep", "shap-kernel"):
        e = explain(model, x, method, background=bg, target=2)
        np.testing.assert_allclose(e.values, exact, atol=1e-4, err_msg=method)
        assert e.method == method and not e.fallback
        assert e.additivity_error() < 1e-4


def test_shap_deep_cnn_additivity_and_to_shap(lenet, digits):
    x, bg = digits.test[0][:2], digits.train[0][:20]
    e = explain(lenet, x, "shap-deep", background=bg)
    assert e.method == "shap-deep" and e.additivity_error() < 1e-4
    np.testing.assert_array_equal(e.targets, lenet(x).numpy().argmax(1))
    s = e.to_shap()
    np.testing.assert_array_equal(s.values, e.values)
    np.testing.assert_array_equal(s.base_values, e.base_values)
    assert isinstance(e[1], Explanation) and e[1].values.shape == (1, 8, 8, 1)


def test_shap_deep_falls_back_on_lstm_with_warning(lstm_model):
    rng = np.random.default_rng(3)
    x = rng.random((2, 8, 8), dtype="float32")
    bg = rng.random((8, 8, 8), dtype="float32")
    missing = shap_methods.unsupported_ops(lstm_model, (8, 8))
    assert "While" in missing
    with pytest.warns(ExplainerFallbackWarning, match="While"):
        e = explain(lstm_model, x, "shap-deep", background=bg)
    assert e.method == "integrated-gradients" and e.requested_method == "shap-deep" and e.fallback
    assert "While" in e.notes[0]
    assert e.additivity_error() < 1e-2
    with pytest.raises(NotImplementedError, match="While"):
        explain(lstm_model, x, "shap-deep", background=bg, fallback=False)


def test_cnn_has_no_unsupported_ops(lenet):
    assert shap_methods.unsupported_ops(lenet, (8, 8, 1)) == []


def test_grad_cam_equals_cam_on_gap_model():
    """With conv -> global average pooling -> softmax Dense, Grad-CAM is
    ReLU(sum_k w_kc A^k) / (H W) (Zhou et al. 2016's CAM, Selvaraju et al. 2017)."""
    import keras

    keras.utils.set_random_seed(4)
    inp = keras.Input((6, 6, 1))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stage1")(inp)
    g = keras.layers.GlobalAveragePooling2D(name="features")(a)
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(g)
    model = keras.Model(inp, out)
    x = np.random.default_rng(5).random((2, 6, 6, 1), dtype="float32")
    e = explain(model, x, "grad-cam", target=[0, 2])
    assert e.extras["layer"] == "stage1" and np.all(np.isnan(e.base_values))
    maps = keras.Model(inp, a)(x).numpy()
    w = model.get_layer("predictions").get_weights()[0]
    cam = np.maximum(np.einsum("nhwk,kn->nhw", maps, w[:, [0, 2]]), 0) / 36.0
    np.testing.assert_allclose(e.values[..., 0], cam, rtol=1e-4, atol=1e-7)


def test_grad_cam_uses_last_stage_of_lenet(lenet, digits):
    e = explain(lenet, digits.test[0][:2], "grad-cam")
    assert e.extras["layer"] == "stage2" and e.values.shape == (2, 8, 8, 1) and e.values.min() >= 0


def test_shap_gradient_additive_in_expectation(linear_model):
    """Expected gradients of a linear model are exact whatever the samples."""
    model, w, _ = linear_model
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 5)).astype("float32")
    bg = rng.normal(size=(10, 5)).astype("float32")
    e = explain(model, x, "shap-gradient", background=bg, target=1, nsamples=400)
    # phi = (x - b) * W over sampled b: its mean over the sampled b approaches (x - E b) W
    assert e.additivity_error() < 0.35
    assert np.corrcoef(e.values.ravel(), ((x - bg.mean(0)) * w[:, 1]).ravel())[0, 1] > 0.9


def test_explaining_never_changes_batchnorm_statistics():
    """shap calls model(data) without training=False; the explainers must not let
    that update BatchNormalization's moving statistics."""
    import keras

    keras.utils.set_random_seed(7)
    inp = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(4, 3, name="conv")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU(name="stage1")(h)
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(8)
    x, bg = rng.random((2, 6, 6, 1), dtype="float32"), 3 + rng.random((10, 6, 6, 1), dtype="float32")
    before = [w.copy() for w in model.get_weights()]
    for method in ("shap-deep", "shap-gradient"):
        e = explain(model, x, method, background=bg)
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=method)
        assert all(l.trainable for l in model.layers)
    assert e.method == "shap-gradient"
    assert explain(model, x, "shap-deep", background=bg).additivity_error() < 1e-4


def test_import_stays_light():
    """The registry imports adl_keras.explain.zoo_entries; shap and lime must load only on use."""
    import subprocess
    import sys

    code = ("import sys, adl_keras.explain, adl_keras.explain.zoo_entries\n"
            "from adl_keras import zoo\n"
            "assert 'mlp.wine' in zoo.list_models()\n"
            "print(sorted(m for m in ('shap', 'lime', 'tf_agents') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
