"""Fashion-MNIST generators: the sample grid, the feature extractor's checks
and the shipped cards' goals (re-measurement is the registry-wide card test)."""

import io

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.gan import zoo_entries as ge
from adl_keras.zoo import cards

NAMES = ["dcgan.fashion_mnist", "wgan_gp.fashion_mnist"]


def test_sample_grid_is_a_png_of_the_requested_grid():
    from PIL import Image

    generator = zoo.get_entry("dcgan.fashion_mnist").build()
    image = Image.open(io.BytesIO(ge.sample_grid_png(generator, rows=2, cols=3, pad=2)))
    assert image.mode == "L"
    assert image.size == (2 * (3 * 30 + 2), 2 * (2 * 30 + 2))  # 28 px + 2 px gap per cell, drawn at 2x


def test_fashion_features_refuses_wrong_images():
    with pytest.raises(ValueError, match=r"images must be \(n, 28, 28"):
        ge.fashion_features(np.zeros((2, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="NaN"):
        ge.fashion_features(np.full((2, 28, 28), np.nan, "float32"))


@pytest.mark.parametrize("name", [n for n in NAMES if cards.weights_shipped(n)])
def test_shipped_card_reports_fid_beside_real_vs_real_and_grid(name):
    meta = cards.read_meta(name)
    m = {k: v["value"] for k, v in meta["metrics"].items()}
    assert m["fid_real_vs_real"] < m["fashion_fid"] < m["fid_noise_vs_real"], m
    assert m["fid_ratio"] == pytest.approx(m["fashion_fid"] / m["fid_real_vs_real"])
    assert m["min_class_share"] <= 0.1 <= m["max_class_share"]
    assert (cards.entry_dir(name) / ge.SAMPLE_GRID_FILE).is_file() and meta["files"] == [ge.SAMPLE_GRID_FILE]
    assert f"]({ge.SAMPLE_GRID_FILE})" in (cards.entry_dir(name) / cards.CARD_FILE).read_text()
    training = meta["training"]
    val = training["val_fid_per_epoch"]   # the epoch was chosen on validation FID ...
    assert len(val) == training["config"]["epochs"]
    floor = training.get("min_class_share_for_choice")   # ... among the epochs covering every class, if asked
    if floor is not None:
        shares = training["val_min_class_share_per_epoch"]
        assert len(shares) == len(val) and shares[training["best_epoch"] - 1] >= floor
        val = [v if s >= floor else np.inf for v, s in zip(val, shares)]
    assert training["best_epoch"] == 1 + val.index(min(val))


def test_fashion_fid_names_a_bad_reference():
    with pytest.raises(ValueError, match="reference must be 'test' or 'val'. Received: reference='train'"):
        ge.fashion_fid(np.zeros((2, 28, 28, 1), "float32"), reference="train")


def test_best_validation_fid_callback_keeps_the_best_epoch(monkeypatch):
    generator = zoo.get_entry("dcgan.fashion_mnist").build()
    figures = iter([5.0, 3.0, 4.0])
    monkeypatch.setattr(ge, "_validation_figures", lambda images: (next(figures), 0.1))
    seen = []
    callback = ge.best_validation_fid_callback(generator, num_samples=4, progress=seen.append)
    kernels = []
    for epoch in range(3):
        generator.layers[1].kernel.assign(np.full(generator.layers[1].kernel.shape, epoch, "float32"))
        kernels.append(generator.get_weights())
        callback.on_epoch_end(epoch)
    callback.on_train_end()
    assert callback.val_fid == [5.0, 3.0, 4.0] and callback.best_epoch == 2
    for restored, best in zip(generator.get_weights(), kernels[1]):
        np.testing.assert_array_equal(restored, best)
    assert seen[-1] == "epoch 3: validation FID 4.0000, smallest class 10.0% (best: epoch 2)"


@pytest.mark.parametrize("shares, best", [
    ([0.02, 0.04, 0.01, 0.05], 4),   # epoch 2 has the lowest FID, but epoch 4 is the best that covers every class
    ([0.02, 0.03, 0.01, 0.04], 2),   # no epoch covers every class: the lowest FID
    ([0.06, 0.02, 0.06, 0.01], 3),
])
def test_best_validation_fid_callback_prefers_epochs_that_cover_every_class(monkeypatch, shares, best):
    generator = zoo.get_entry("dcgan.fashion_mnist").build()
    figures, smallest = iter([5.0, 2.0, 4.0, 3.0]), iter(shares)
    monkeypatch.setattr(ge, "_validation_figures", lambda images: (next(figures), next(smallest)))
    callback = ge.best_validation_fid_callback(generator, num_samples=4, min_class_share=0.05)
    for epoch in range(4):
        callback.on_epoch_end(epoch)
    assert callback.val_min_class_share == shares and callback.best_epoch == best


def test_best_validation_fid_callback_names_a_bad_class_share():
    generator = zoo.get_entry("dcgan.fashion_mnist").build()
    with pytest.raises(ValueError, match="min_class_share=0.5"):
        ge.best_validation_fid_callback(generator, min_class_share=0.5)


@pytest.mark.skipif(not cards.weights_shipped(ge.FASHION_CLASSIFIER), reason="needs the shipped feature extractor")
def test_validation_figures_equal_fid_and_shares_from_one_forward_pass(monkeypatch, fashion_mnist):
    images = np.random.default_rng(0).uniform(0.0, 1.0, (300, 28, 28, 1)).astype("float32")
    expected = (ge.fashion_fid(images, reference="val"), float(ge.fashion_class_shares(images).min()))
    calls = []
    forward = ge.fashion_features
    monkeypatch.setattr(ge, "fashion_features", lambda x: calls.append(len(x)) or forward(x))
    assert ge._validation_figures(images) == expected
    assert calls == [300]   # the FID's features and the classes come from the same pass


@pytest.mark.parametrize("name", [n for n in NAMES if cards.weights_shipped(n)])
def test_shipped_card_was_measured_with_the_shipped_feature_extractor(name):
    # A FID compares only on the same features: re-shipping resnet_small.fashion_mnist
    # without re-measuring (re-training, as the epoch choice uses it too) these cards fails here.
    assert cards.read_meta(name)["training"]["fid_features"] == ge.fid_features_record()
    assert ge.fid_features_record()["sha256"] == cards.read_meta(ge.FASHION_CLASSIFIER)["weights"]["sha256"]


@pytest.mark.parametrize("name", NAMES)
def test_recipe_records_the_feature_extractor_it_measured_with(name, monkeypatch, fashion_mnist):
    import types

    from adl_keras.gan import training

    def no_training(generator, discriminator, images, cfg, progress, callbacks):
        return types.SimpleNamespace(generator=generator), {}

    monkeypatch.setattr(training, "train_gan", no_training)
    _, info = zoo.get_entry(name).recipe(seed=0)
    assert info["fid_features"] == ge.fid_features_record()
