"""Every registered image entry exposes the transfer-learning surface.

Pretrained entries with shipped weights are loaded; the rest (external
ImageNet weights, not downloaded in tests) are built with random weights, at
a small input size when their builder allows it. The big keras.applications
graphs take seconds each to build, so they run under ``-m slow``.
"""

import numpy as np
import pytest

from adl_keras import transfer, zoo
from adl_keras.zoo import cards

IMAGE_ENTRIES = sorted(name for name, entry in zoo.entries().items() if entry.image)
# keras.applications graphs take 10-40 s each to build on a loaded 2-core box.
SLOW = {name for name in IMAGE_ENTRIES if name.endswith(".imagenet")}


def _load(name):
    entry = zoo.get_entry(name)
    if cards.has_weights(name) and (cards.entry_dir(name) / cards.read_meta(name)["weights"]["file"]).exists():
        return zoo.load_model(name), tuple(entry.input_shape)
    if entry.builder.__name__ == "keras_application":
        return entry.build(input_shape=(32, 32, 3)), (32, 32, 3)
    return entry.build(), tuple(entry.input_shape)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in IMAGE_ENTRIES])
def test_image_entry_exposes_the_surface(name):
    model, shape = _load(name)
    info = transfer.check_surface(model)
    width = transfer.num_features(model)
    x = np.random.default_rng(0).uniform(0, 1, (2,) + shape).astype("float32")
    maps = transfer.feature_extractor(model).predict(x, verbose=0)
    assert list(maps) == info["stages"] + ["features"]
    assert maps["features"].shape == (2, width) and np.all(np.isfinite(maps["features"]))
    np.testing.assert_allclose(transfer.backbone(model).predict(x, verbose=0), maps["features"], atol=1e-5)
    new = transfer.reset_head(model, 3, seed=0)
    probs = new.predict(x, verbose=0)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert transfer.freeze(new) and not any(transfer.trainable_summary(new)[n]
                                            for n in transfer.backbone_layer_names(new)
                                            if n in transfer.trainable_summary(new))


def test_registry_has_image_entries():
    assert {"lenet5.digits", "resnet_small.shapes32", "mobilenet_v2.imagenet"} <= set(IMAGE_ENTRIES)
