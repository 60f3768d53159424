"""Every card says what goes in, and raw images from a folder reach each image
entry's card accuracy through ``zoo.preprocess``."""

import numpy as np
import pytest

from adl_keras import data, zoo
from adl_keras.zoo import cards

IMAGE_ENTRIES = [n for n in zoo.list_models(task="image-classification") if zoo.model_info(n)["metrics"]]
# The 50-class glyphs32 test split (2,400 PNGs) is the slowest: slow run only.
SLOW_IMAGE_ENTRIES = ("resnet_small.glyphs32", "vgg_small.shapes32", "lenet5.fashion_mnist", "resnet_small.fashion_mnist")


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_entry_has_a_preprocessing_record_in_its_card(name):
    info = zoo.model_info(name)
    record = info["preprocessing"]
    assert record["shape"] == info["input_shape"] and record["dtype"]
    outputs = info["build_kwargs"].get("num_classes") or info["build_kwargs"].get("num_actions")
    if info["task"].endswith("classification") and not name.endswith(".imagenet"):
        assert len(record["class_names"]) == outputs
    if info["task"] in ("q-network", "q-table"):
        assert len(record["action_names"]) == outputs
    if record["input"] == "image":
        lo, hi = record["value_range"]
        assert record["raw_range"] == [0, 255] and record["channel_order"] in ("RGB", "grayscale")
        assert (lo, hi) == ((0.0, 255.0) if name.endswith(".imagenet") else (0.0, 1.0))
    assert "## Preprocessing" in (cards.entry_dir(name) / cards.CARD_FILE).read_text()
    assert cards.read_meta(name)["preprocessing"] == record


def _write_pngs(folder, x, y, class_names):
    from PIL import Image

    pixels = np.round(np.clip(x, 0.0, 1.0) * 255).astype("uint8")
    for i, (img, label) in enumerate(zip(pixels, y)):
        sub = folder / class_names[label]
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(sub / f"{i:05d}.png")


def _folder_accuracy(name, tmp_path):
    import keras

    info = zoo.model_info(name)
    record = info["preprocessing"]
    x, y = data.load(info["dataset"]["name"]).test
    _write_pngs(tmp_path, x, y, record["class_names"])
    # What a user does with their own folder: the card gives size, colour mode and class order.
    ds = keras.utils.image_dataset_from_directory(
        tmp_path, image_size=tuple(record["shape"][:2]), interpolation=record["interpolation"],
        color_mode="grayscale" if record["channel_order"] == "grayscale" else "rgb",
        class_names=record["class_names"], shuffle=False, batch_size=128, verbose=False)
    ds = ds.map(lambda images, labels: (zoo.preprocess(name, images), labels))
    model = zoo.load_model(name)
    correct = total = 0
    for images, labels in ds:
        correct += int(np.sum(np.argmax(model(images, training=False), -1) == labels.numpy()))
        total += len(labels)
    assert total == len(y)
    return correct / total, info["metrics"]["accuracy"]["value"]


@pytest.mark.parametrize("name", [n for n in IMAGE_ENTRIES if n not in SLOW_IMAGE_ENTRIES])
def test_raw_png_folder_reaches_card_accuracy(name, tmp_path):
    accuracy, card = _folder_accuracy(name, tmp_path)
    # PNGs hold 8-bit pixels: the quantisation may flip a borderline example or two.
    assert abs(accuracy - card) <= 0.01, (accuracy, card)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_IMAGE_ENTRIES)
def test_raw_png_folder_reaches_card_accuracy_slow(name, tmp_path):
    accuracy, card = _folder_accuracy(name, tmp_path)
    assert abs(accuracy - card) <= 0.01, (accuracy, card)


def test_preprocess_maps_raw_pixels_channels_and_size():
    raw = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3)).astype("float32")
    out = zoo.preprocess("lenet5.digits", raw)  # RGB 16x16 -> grey 8x8 in [0, 1]
    assert out.shape == (2, 8, 8, 1) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    grey = zoo.preprocess("lenet5.digits", raw[:, ::2, ::2])
    np.testing.assert_allclose(grey[..., 0], raw[:, ::2, ::2] @ np.array([0.299, 0.587, 0.114]) / 255, atol=1e-5)
    rgba = np.concatenate([raw, np.full((2, 16, 16, 1), 255.0, "float32")], -1)
    np.testing.assert_allclose(zoo.preprocess("resnet_small.shapes32", rgba)[0, :16],
                               zoo.preprocess("resnet_small.shapes32", raw)[0, :16], atol=1e-6)
    np.testing.assert_array_equal(zoo.preprocess("mobilenet_v2.imagenet", np.zeros((224, 224, 1))).shape,
                                  (224, 224, 3))


def test_preprocess_standardises_tabular_features_like_the_training_data():
    from sklearn.datasets import load_wine

    raw = load_wine().data.astype("float32")
    ds = data.load("wine")
    idx = data.split_indices(load_wine().target)[2]
    np.testing.assert_allclose(zoo.preprocess("mlp.wine", raw[idx]), ds.test[0], atol=1e-4)


def test_preprocess_rejects_bad_input():
    with pytest.raises(ValueError, match=r"Received: x.shape=\(8, 8\)"):
        zoo.preprocess("lenet5.digits", np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"raw pixels in \[0, 255\]"):
        zoo.preprocess("lenet5.digits", np.full((8, 8, 1), 300.0))
    with pytest.warns(UserWarning, match="already scaled"):
        zoo.preprocess("lenet5.digits", np.full((8, 8, 1), 0.5))
    with pytest.raises(ValueError, match=r"Received: x.shape=\(2, 12\)"):
        zoo.preprocess("mlp.wine", np.zeros((2, 12)))
    with pytest.raises(KeyError, match="lenet5.digits"):
        zoo.preprocess("lenet5.digit", np.zeros((8, 8, 1)))
