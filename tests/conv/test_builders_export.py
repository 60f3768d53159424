"""Builders with an in-model resize and BatchNorm export to SavedModel with
inference-mode outputs (keras.layers.Resizing breaks this in Keras 3.15)."""

import keras
import numpy as np
import pytest

from adl_keras.conv.builders import ResizeImages, resnet_small
from adl_keras.testing import check_layer, check_model


def test_resize_layer_harness(tmp_path):
    check_layer(ResizeImages, {"height": 6, "width": 4}, input_shape=(2, 3, 3, 2), expected_output_shape=(2, 6, 4, 2),
                tmp_dir=tmp_path, fit=False)


def test_resize_layer_rejects_bad_size():
    with pytest.raises(ValueError, match="height=0"):
        ResizeImages(0, 4)


def test_resized_resnet_exports_in_inference_mode(tmp_path):
    model = resnet_small((8, 8, 1), resize_to=(32, 32), grey_to_rgb=True)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, "float32"))
    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    assert np.abs(model(x, training=True) - model(x, training=False)).max() > 1e-2  # the check can fail
    report = check_model(model, x, tmp_dir=tmp_path, fit=False)
    assert report["savedmodel_max_diff"] <= 1e-5
