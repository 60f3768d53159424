import numpy as np
import pytest

from adl_keras import transfer, zoo
from adl_keras.transfer import few_shot


def test_pretrained_digits_model_carries_the_backbone_weights():
    source = zoo.load_model(few_shot.BACKBONE)
    model = few_shot.pretrained_digits_model(num_classes=10, seed=0)
    assert model.load_report.skipped == ["predictions"]
    for layer in source.layers:
        if layer.weights and layer.name != "predictions":
            for a, b in zip(model.get_layer(layer.name).weights, layer.weights):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert transfer.check_surface(model)["stages"] == ["stage1", "stage2", "stage3"]
    # The adapter: 8x8 grey -> 32x32 RGB with three equal channels.
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 1)).astype("float32")
    import keras

    rgb = keras.Model(model.inputs, model.get_layer("grey_to_rgb").output).predict(x, verbose=0)
    assert rgb.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def test_few_shot_split_is_balanced_and_seeded():
    (x, y), (xt, yt) = few_shot.few_shot_split(shots=3, seed=1)
    assert x.shape == (30, 8, 8, 1) and np.bincount(y).tolist() == [3] * 10
    (x2, _), _ = few_shot.few_shot_split(shots=3, seed=1)
    np.testing.assert_array_equal(x, x2)
    assert len(yt) == 360
    with pytest.raises(ValueError, match="shots"):
        few_shot.FewShotConfig(shots=0)


@pytest.mark.slow
def test_run_seed_short():
    cfg = few_shot.FewShotConfig(shots=2, scratch_epochs=2, head_epochs=2, epochs=2)
    out = few_shot.run_seed(0, cfg)
    assert set(out) == {"scratch", "frozen", "fine_tune"} and all(0 <= v <= 1 for v in out.values())


def test_backbone_and_eval_split_are_configurable():
    assert few_shot.FewShotConfig().backbone == few_shot.BACKBONE == "resnet_small.glyphs32"
    model = few_shot.pretrained_digits_model(num_classes=10, seed=0, backbone="resnet_small.shapes32")
    source = zoo.load_model("resnet_small.shapes32")
    np.testing.assert_array_equal(model.get_layer("stem_conv").weights[0].numpy(),
                                  source.get_layer("stem_conv").weights[0].numpy())
    _, (xv, yv) = few_shot.few_shot_split(shots=2, seed=0, split="val")
    assert len(yv) == 359
    with pytest.raises(ValueError, match="split"):
        few_shot.few_shot_split(shots=2, seed=0, split="holdout")


def test_fashion_mnist_backbone_keeps_digits_grey_at_28x28():
    from adl_keras.zoo import cards

    if not cards.weights_shipped("resnet_small.fashion_mnist"):
        pytest.skip("resnet_small.fashion_mnist has no shipped weights")
    model = few_shot.pretrained_digits_model(num_classes=10, seed=0, backbone="resnet_small.fashion_mnist")
    source = zoo.load_model("resnet_small.fashion_mnist")
    names = [layer.name for layer in model.layers]
    assert "grey_to_rgb" not in names and model.get_layer("resize").output.shape == (None, 28, 28, 1)
    for name in ("stem_conv", "stage3_block1_conv2"):
        for a, b in zip(model.get_layer(name).weights, source.get_layer(name).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert model.load_report.skipped == ["predictions"]
