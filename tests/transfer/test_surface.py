import numpy as np
import pytest

from adl_keras import transfer, zoo
from tests.transfer.conftest import tiny_bn_cnn


def test_lenet_surface_names_and_widths():
    model = zoo.load_model("lenet5.digits")
    info = transfer.check_surface(model)
    assert info["stages"] == ["stage1", "stage2"]
    # conv2 output 12x12 -> pool 6x6 x 16 channels, flattened
    assert info["num_features"] == transfer.num_features(model) == 6 * 6 * 16
    assert info["head"] == ["head_fc1", "head_fc2", "predictions"]
    assert info["num_classes"] == 10


def test_backbone_shares_layers_and_matches_manual_forward():
    model = tiny_bn_cnn()
    bb = transfer.backbone(model)
    x = np.random.default_rng(1).standard_normal((3, 8, 8, 3)).astype("float32")
    feats = bb.predict(x, verbose=0)
    assert feats.shape == (3, transfer.num_features(model))
    # Head applied by hand to the backbone output equals the full model.
    h = np.maximum(feats @ model.get_layer("head_fc").kernel.numpy() + model.get_layer("head_fc").bias.numpy(), 0)
    logits = h @ model.get_layer("predictions").kernel.numpy() + model.get_layer("predictions").bias.numpy()
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    np.testing.assert_allclose(probs, model.predict(x, verbose=0), atol=1e-5)
    assert bb.get_layer("conv1") is model.get_layer("conv1")


@pytest.mark.parametrize("keep_hidden", [True, False])
def test_reset_head(keep_hidden):
    model = zoo.load_model("lenet5.digits")
    new = transfer.reset_head(model, 3, keep_hidden=keep_hidden, seed=1)
    assert new.output.shape == (None, 3)
    assert ("head_fc2" in [l.name for l in new.layers]) == keep_hidden
    assert new.get_layer("conv1") is model.get_layer("conv1")
    assert new.get_layer("predictions") is not model.get_layer("predictions")
    x = np.zeros((2, 8, 8, 1), "float32")
    np.testing.assert_allclose(new.predict(x, verbose=0).sum(1), 1.0, atol=1e-5)
    transfer.check_surface(new)


def test_reset_head_bad_input():
    model = tiny_bn_cnn()
    with pytest.raises(ValueError, match="num_classes"):
        transfer.reset_head(model, 0)
    with pytest.raises(TypeError, match="keras.Model"):
        transfer.reset_head("lenet", 3)


def test_feature_extractor_matches_backbone_and_stage_shapes():
    model = tiny_bn_cnn()
    x = np.random.default_rng(2).standard_normal((2, 8, 8, 3)).astype("float32")
    out = transfer.feature_extractor(model).predict(x, verbose=0)
    assert set(out) == {"stage1", "stage2", "features"}
    assert out["stage1"].shape == (2, 8, 8, 4) and out["stage2"].shape == (2, 4, 4, 8)
    np.testing.assert_allclose(out["features"], out["stage2"].mean(axis=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(transfer.extract_features(model, x, "stage2"), out["stage2"], atol=1e-6)
    with pytest.raises(ValueError, match="stage9"):
        transfer.feature_extractor(model, ["stage9"])


def test_check_surface_rejects_unconventional_model():
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="predictions")(inputs))
    with pytest.raises(ValueError, match="stage"):
        transfer.check_surface(model)
