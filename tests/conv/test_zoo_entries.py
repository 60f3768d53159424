"""The convolution zoo entries: verified weights, card metrics reproduced, transfer surface."""

import numpy as np
import pytest

from adl_keras import zoo

ENTRIES = ["lenet5.digits", "resnet_small.shapes32", "vgg_small.shapes32"]


@pytest.mark.parametrize("name", ENTRIES)
def test_card_metric_is_reproduced(name):
    if not zoo.model_info(name)["pretrained"]:
        pytest.skip(f"{name} has no committed weights in this checkout")
    report = zoo.evaluate(name)
    assert report["split"] == "test" and report["match"], report


def test_backbone_meets_its_card_and_transfers():
    info = zoo.model_info("resnet_small.shapes32")
    assert info["task"] == "image-classification" and info["topic"] == "convolution"
    assert info["metrics"]["accuracy"]["value"] >= 0.85
    model = zoo.load_model("resnet_small.shapes32", num_classes=4)
    assert model.output.shape == (None, 4)
    assert model.load_report.mismatched[0][0] == "predictions" and len(model.load_report.loaded) > 10
    backbone = zoo.load_model("resnet_small.shapes32", include_top=False, pooling="avg")
    full = zoo.load_model("resnet_small.shapes32")
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    features = full.get_layer("features").output
    import keras

    np.testing.assert_allclose(np.asarray(backbone(x)), np.asarray(keras.Model(full.input, features)(x)), atol=1e-5)


def test_digits_accuracy_goal():
    assert zoo.model_info("lenet5.digits")["metrics"]["accuracy"]["value"] >= 0.97


class _StopFit(Exception):
    pass


@pytest.mark.parametrize("recipe", ["train_lenet5_fashion_mnist", "train_resnet_small_fashion_mnist"])
def test_fashion_recipes_fit_their_stream_without_keras_shuffle_warning(recipe, monkeypatch, fashion_mnist):
    # Keras warns "shuffle=True ... will be ignored" for a tf.data input unless fit gets shuffle=False;
    # the recipes' augmented stream shuffles itself, so the warning would only be noise in `adl-zoo train`.
    import warnings

    import keras

    from adl_keras.conv import zoo_entries

    stock_fit, caught = keras.Model.fit, []

    def one_step_fit(self, x=None, **kwargs):
        kwargs.update(steps_per_epoch=1, epochs=1, validation_data=None, callbacks=[])
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            stock_fit(self, x, **kwargs)
        caught.extend(str(w.message) for w in seen)
        raise _StopFit

    monkeypatch.setattr(keras.Model, "fit", one_step_fit)
    with pytest.raises(_StopFit):
        getattr(zoo_entries, recipe)(epochs=2)
    assert not [w for w in caught if "shuffle" in w], caught
