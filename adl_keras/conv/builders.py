"""CNN builders with fixed layer names and the zoo's transfer-learning surface.

Every image builder follows ``keras.applications``: ``include_top``,
``pooling`` (None, "avg", "max") and ``num_classes``. Layer names are fixed so
weights load by name:

* ``stage1`` ... ``stageN``: the last layer of each stage (feature maps);
* ``features``: the pooled/flattened feature vector (``num_features`` wide);
* ``head_*`` layers after it, ending in ``predictions``.
"""

import keras
from keras import layers


def _check_common(input_shape, num_classes, pooling, include_top):
    if len(tuple(input_shape)) != 3 or any(int(d) <= 0 for d in input_shape):
        raise ValueError(f"input_shape must be (height, width, channels). Received: input_shape={input_shape}")
    if include_top and (not isinstance(num_classes, int) or num_classes < 1):
        raise ValueError(f"num_classes must be a positive int. Received: num_classes={num_classes!r}")
    if pooling not in (None, "avg", "max", "flatten"):
        raise ValueError(f"pooling must be None, 'avg', 'max' or 'flatten'. Received: pooling={pooling!r}")


def _features(x, pooling):
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="features")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="features")(x)
    return layers.Flatten(name="features")(x)


def lenet5(
    input_shape=(32, 32, 1),
    num_classes=10,
    include_top=True,
    pooling=None,
    resize_to=None,
    classifier_activation="softmax",
    name="lenet5",
):
    """LeNet-5 style CNN (LeCun et al. 1998) with ReLU and max pooling.

    conv 5x5x6 -> pool 2 -> conv 5x5x16 -> pool 2 -> 120 -> 84 -> classes.

    Args:
        input_shape: (H, W, C) of the input (default (32, 32, 1)).
        num_classes: classes of the head (default 10).
        include_top: add the 120-84-classes head (default True).
        pooling: None/"flatten" flattens the last maps into ``features`` when
            the head is included (and returns the maps without it), "avg" or
            "max" pools them globally.
        resize_to: (H, W) to bilinearly resize inputs to first (e.g. (32, 32)
            for 8x8 digits), or None.
        classifier_activation: activation of ``predictions`` (default softmax).
        name: model name.

    Returns:
        keras.Model.

    Example:
        >>> model = lenet5((8, 8, 1), num_classes=10, resize_to=(32, 32))
    """
    _check_common(input_shape, num_classes, pooling, include_top)
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    if resize_to is not None:
        x = layers.Resizing(*resize_to, interpolation="bilinear", name="resize")(x)
    x = layers.Conv2D(6, 5, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="stage1")(x)
    x = layers.Conv2D(16, 5, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="stage2")(x)
    if include_top or pooling is not None:
        x = _features(x, pooling)
    if include_top:
        x = layers.Dense(120, activation="relu", name="head_fc1")(x)
        x = layers.Dense(84, activation="relu", name="head_fc2")(x)
        x = layers.Dense(num_classes, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, x, name=name)
