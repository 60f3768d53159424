"""Small models following the builder conventions, for the transfer tests."""

import numpy as np
import pytest


def tiny_bn_cnn(input_shape=(8, 8, 3), num_classes=4, width=4, name="tiny_bn_cnn"):
    """conv-BN-relu x2 (stage1, stage2) -> GAP features -> head_fc -> predictions."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    x = layers.Conv2D(width, 3, padding="same", name="conv1")(inputs)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="stage1")(x)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", name="conv2")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.ReLU(name="stage2")(x)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    x = layers.Dense(8, activation="relu", name="head_fc")(x)
    x = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name=name)


@pytest.fixture
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    return tiny_bn_cnn()


@pytest.fixture
def tiny_data():
    rng = np.random.default_rng(0)
    # Shifted and scaled: far from BatchNorm's initial statistics (mean 0, var 1).
    x = (rng.standard_normal((64, 8, 8, 3)) * 3.0 + 2.0).astype("float32")
    y = rng.integers(0, 4, 64).astype("int32")
    return x, y
