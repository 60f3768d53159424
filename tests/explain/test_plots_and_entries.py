"""PNG plots for each input kind and the tabular zoo entries."""

import numpy as np
import pytest

from adl_keras.explain import explain, plot_explanation


def _png_size(path):
    import matplotlib.image

    return matplotlib.image.imread(path).shape


def test_plots_for_each_kind(tmp_path, lenet, digits, lstm_model, linear_model):
    model, _, _ = linear_model
    rng = np.random.default_rng(0)
    cases = [
        (lenet, digits.test[0][:2], "integrated-gradients", None),
        (model, rng.normal(size=(12, 5)).astype("float32"), "saliency", None),
        (lstm_model, rng.random((2, 8, 8), dtype="float32"), "integrated-gradients", None),
    ]
    for i, (m, x, method, bg) in enumerate(cases):
        e = explain(m, x, method, background=bg, **({"steps": 16} if method == "integrated-gradients" else {}))
        path = plot_explanation(e, tmp_path / f"p{i}" / "plot.png")
        h, w, _ = _png_size(path)
        assert h > 100 and w > 100
    with pytest.raises(ValueError, match="path must end in .png"):
        plot_explanation(e, tmp_path / "plot.jpg")
    with pytest.raises(ValueError, match="index must be"):
        plot_explanation(e, tmp_path / "plot.png", index=9)


def test_tabular_mlp_builder_checks_and_harness(tmp_path):
    from adl_keras.explain.zoo_entries import tabular_mlp
    import copy

    import keras

    with pytest.raises(ValueError, match="num_classes=1"):
        tabular_mlp(4, 1)
    with pytest.raises(ValueError, match="dropout=1.5"):
        tabular_mlp(4, 2, dropout=1.5)
    with pytest.raises(ValueError, match="num_features=0"):
        tabular_mlp(0, 2)
    model = tabular_mlp(5, 3, hidden=(4,))
    assert model.count_params() == 5 * 4 + 4 + 4 * 3 + 3
    # adl_keras.testing.check_model cannot be used on Functional models yet: it passes
    # its config dict to from_config, which consumes it, then compares with the emptied
    # dict. The same checks, with a copy:
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    config = model.get_config()
    assert keras.Model.from_config(copy.deepcopy(config)).get_config() == config
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), atol=1e-6)


@pytest.mark.parametrize("name,dataset", [("mlp.breast_cancer", "breast_cancer"), ("mlp.wine", "wine")])
def test_tabular_entries_meet_their_card(name, dataset):
    from adl_keras import zoo

    info = zoo.model_info(name)
    assert info["task"] == "tabular-classification" and info["pretrained"]
    report = zoo.evaluate(name)
    assert report["match"], report
    assert report["metrics"]["accuracy"]["measured"] >= 0.95
    out = zoo.load_model(name).output
    assert out.shape[-1] == {"breast_cancer": 2, "wine": 3}[dataset]
