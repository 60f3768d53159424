"""Registry-wide: every image/tabular/sequence classifier in the zoo is
explained, and its attributions add up to f(x) - E[f(background)]."""

import warnings

import numpy as np
import pytest

from adl_keras.explain import EXPLAINABLE_TASKS, ExplainerFallbackWarning, explain
from adl_keras.explain.zoo_explain import entry_data, explainable_entries

TOLERANCE = 1e-2   # shap's own additivity tolerance (shap.explainers._deep.deep_utils)
# Entries with inputs larger than this (ImageNet backbones) are checked in the slow run only.
DEFAULT_MAX_INPUT_SIZE = 64 * 64 * 3


def _params():
    from adl_keras import zoo

    out = []
    for name in explainable_entries():
        size = int(np.prod(zoo.get_entry(name).input_shape))
        # Of the Fashion-MNIST entries, LeNet-5 covers real 28x28 images by default.
        fashion = zoo.get_entry(name).dataset in ("fashion_mnist", "seq_fashion") and name != "lenet5.fashion_mnist"
        marks = [pytest.mark.slow] if size > DEFAULT_MAX_INPUT_SIZE or fashion else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def _model_and_data(name, n_background):
    """The entry's model and its own test/background data.

    Entries whose weights ship in zoo/ must load (a broken entry fails here);
    entries with external weights (ImageNet backbones, fetched from a URL) are
    freshly built when offline: additivity holds for any weights. The data is
    the entry's own (every dataset loads offline): no fallback to random inputs.
    """
    from adl_keras import zoo
    from adl_keras.zoo import cards

    entry = zoo.get_entry(name)
    if cards.weights_shipped(name):
        model = zoo.load_model(name)
    else:
        try:
            model = zoo.load_model(name)
        except (zoo.WeightsError, zoo.OfflineError, OSError):
            model = entry.build()
    x, _, bg, _, _ = entry_data(name, background_size=n_background)
    return model, x[:2], bg


def test_registry_has_the_explain_entries():
    assert {"lenet5.digits", "mlp.breast_cancer", "mlp.wine"} <= set(explainable_entries())


@pytest.mark.parametrize("name", _params())
def test_attributions_add_up(name):
    from adl_keras import zoo

    big = int(np.prod(zoo.get_entry(name).input_shape)) > DEFAULT_MAX_INPUT_SIZE
    model, x, bg = _model_and_data(name, 4 if big else 16)
    if big:
        x = x[:1]
    methods = ["shap-deep", "integrated-gradients"]
    if len(x.shape) == 2:
        methods.append("shap-kernel")
    options = {}
    if big:  # ImageNet backbones: one example, shap-deep (or its IG fallback) at 32 steps,
        methods, options = ["shap-deep"], {"steps": 32}   # about 3 min for ConvNeXt-T on 2 CPU cores
    for method in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExplainerFallbackWarning)
            e = explain(model, x, method, background=bg, **options)
        assert e.is_additive, (name, method, e.method)
        if e.fallback:   # said so: recorded method, requested method and reason
            assert e.method == "integrated-gradients" and e.notes, (name, e.notes)
        np.testing.assert_allclose(e.base_values, model(bg, training=False).numpy()[:, e.targets].mean(0),
                                   atol=1e-5, err_msg=f"{name} {method}")
        assert e.additivity_error() < TOLERANCE, (name, method, e.additivity_errors())


@pytest.mark.parametrize("name,method", [("lenet5.digits", "grad-cam"), ("mlp.wine", "shap-deep")])
def test_explain_zoo_entry_writes_png(name, method, tmp_path):
    import matplotlib.image

    out = tmp_path / f"{name}.png"
    e = explain_zoo_entry(name, 5, method, out)
    assert out.exists() and e.extras["png"] == str(out)
    assert matplotlib.image.imread(out).shape[2] in (3, 4)
    assert len(e) == 1 and e.requested_method == method
    with pytest.raises(ValueError, match="index must be"):
        explain_zoo_entry(name, 10**6, method, None)


def explain_zoo_entry(*args, **kwargs):
    from adl_keras.explain import explain_zoo_entry as fn

    return fn(*args, **kwargs)


def test_tasks_constant():
    assert EXPLAINABLE_TASKS == ("image-classification", "tabular-classification", "sequence-classification")
