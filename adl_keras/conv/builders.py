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


@keras.saving.register_keras_serializable(package="adl_keras")
class ResizeImages(layers.Layer):
    """Bilinear resize to (height, width) with ``keras.ops.image.resize``.

    Used instead of ``keras.layers.Resizing``: in Keras 3.15 a model that
    contains ``Resizing`` (a tf.data-compatible preprocessing layer) exports
    to SavedModel with its BatchNormalization layers in training mode, so the
    export's outputs differ from the model's (see tests/conv/test_builders_export.py).

    Args:
        height: output height (int > 0).
        width: output width (int > 0).
    """

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{arg} must be a positive int. Received: {arg}={value!r}")
        self.height, self.width = height, width

    def call(self, images):
        return keras.ops.image.resize(images, (self.height, self.width), interpolation="bilinear")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


def _check_common(input_shape, num_classes, pooling, include_top):
    if len(tuple(input_shape)) != 3 or any(int(d) <= 0 for d in input_shape):
        raise ValueError(f"input_shape must be (height, width, channels). Received: input_shape={input_shape}")
    if include_top and (isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1):
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
        x = ResizeImages(*resize_to, name="resize")(x)
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


def _check_widths(name, values):
    if not isinstance(values, (list, tuple)) or not values or any(
        isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values
    ):
        raise ValueError(f"{name} must be a non-empty sequence of positive ints. Received: {name}={values!r}")


def apply_basic_block(x, filters, stride=1, name=None, out_name=None, bn_momentum=0.9):
    """ResNet basic block (He et al. 2016): y = relu(F(x) + shortcut(x)).

    F = conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN; the shortcut is the
    identity, or a 1x1 conv + BN when the stride or width changes.

    Args:
        x: input tensor (N, H, W, C).
        filters: output channels (int).
        stride: stride of the first conv and of the projection (default 1).
        name: prefix of the layer names.
        out_name: name of the block's output ReLU (default ``{name}_out``).
        bn_momentum: BatchNormalization momentum (default 0.9).

    Returns:
        Output tensor.
    """
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj_conv")(x)
        shortcut = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_proj_bn")(shortcut)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn2")(y)
    y = layers.Add(name=f"{name}_add")([shortcut, y])  # F(x) + x
    return layers.ReLU(name=out_name or f"{name}_out")(y)


def resnet_small(
    input_shape=(32, 32, 3),
    num_classes=10,
    include_top=True,
    pooling=None,
    widths=(16, 32, 64),
    blocks_per_stage=(1, 1, 1),
    dropout=0.0,
    bn_momentum=0.9,
    classifier_activation="softmax",
    resize_to=None,
    grey_to_rgb=False,
    name="resnet_small",
):
    """A small CIFAR-style ResNet (He et al. 2016) with BatchNorm.

    stem conv3x3 -> BN -> ReLU, then one stage per entry of ``widths``
    (``blocks_per_stage`` basic blocks each; every stage after the first
    halves the resolution), then global pooling into ``features`` and a
    softmax ``predictions`` layer. With the defaults this is ResNet-8
    (~78k parameters).

    Args:
        input_shape: (H, W, C) of the input (default (32, 32, 3)).
        num_classes: classes of the head (default 10).
        include_top: add ``features`` and the classifier (default True).
        pooling: how ``features`` pools the last stage: None or "avg"
            (global average, the default with the head), "max" or
            "flatten". Without the head, None returns the last stage's maps.
        widths: channels of each stage (default (16, 32, 64)).
        blocks_per_stage: basic blocks per stage (default (1, 1, 1)).
        dropout: dropout rate of ``head_dropout`` before ``predictions``
            (default 0.0: no dropout layer).
        bn_momentum: momentum of every BatchNormalization's moving
            statistics (default 0.9, suited to small datasets).
        classifier_activation: activation of ``predictions`` (default softmax).
        resize_to: (H, W) to bilinearly resize inputs to first (layer
            ``resize``), or None (default).
        grey_to_rgb: repeat a 1-channel input to 3 channels (layer
            ``grey_to_rgb``) so RGB weights apply to grey images (default False).
        name: model name.

    Returns:
        keras.Model with layers ``stage1``..``stageN``, ``features`` and,
        with the head, ``predictions``.

    Example:
        >>> model = resnet_small((32, 32, 3), num_classes=10)
        >>> backbone = resnet_small(include_top=False, pooling="avg")
    """
    _check_common(input_shape, num_classes, pooling, include_top)
    _check_widths("widths", widths)
    _check_widths("blocks_per_stage", blocks_per_stage)
    if len(widths) != len(blocks_per_stage):
        raise ValueError(
            "widths and blocks_per_stage must have the same length. "
            f"Received: widths={widths!r}, blocks_per_stage={blocks_per_stage!r}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
    if not 0.0 <= bn_momentum < 1.0:
        raise ValueError(f"bn_momentum must be in [0, 1). Received: bn_momentum={bn_momentum!r}")
    if grey_to_rgb and input_shape[-1] != 1:
        raise ValueError(f"grey_to_rgb needs a 1-channel input. Received: input_shape={input_shape}")
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    if resize_to is not None:
        x = ResizeImages(*resize_to, name="resize")(x)
    if grey_to_rgb:
        x = layers.Concatenate(axis=-1, name="grey_to_rgb")([x, x, x])
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for s, (filters, blocks) in enumerate(zip(widths, blocks_per_stage), start=1):
        for b in range(1, blocks + 1):
            stride = 2 if (s > 1 and b == 1) else 1
            # The stage's last block outputs through a ReLU named ``stageK``.
            out_name = f"stage{s}" if b == blocks else None
            x = apply_basic_block(x, filters, stride, name=f"stage{s}_block{b}", out_name=out_name,
                                  bn_momentum=bn_momentum)
    if include_top or pooling is not None:
        x = _features(x, pooling or "avg")
    if include_top:
        if dropout:
            x = layers.Dropout(dropout, name="head_dropout")(x)
        x = layers.Dense(num_classes, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def vgg_small(
    input_shape=(32, 32, 3),
    num_classes=10,
    include_top=True,
    pooling=None,
    widths=(16, 32, 64),
    convs_per_stage=2,
    hidden=128,
    dropout=0.3,
    classifier_activation="softmax",
    kernel_initializer="he_normal",
    name="vgg_small",
):
    """A small VGG-style CNN (Simonyan & Zisserman 2015).

    Each stage is ``convs_per_stage`` conv3x3 + ReLU layers followed by 2x2
    max pooling (named ``stageK``); the head is ``features`` (flatten, or a
    global pool) -> ``head_fc1`` (Dense ``hidden``, ReLU) -> ``head_dropout``
    -> ``predictions``.

    Args:
        input_shape: (H, W, C) of the input (default (32, 32, 3)).
        num_classes: classes of the head (default 10).
        include_top: add the fully connected head (default True).
        pooling: None/"flatten" flattens the last maps into ``features`` when
            the head is included (and returns the maps without it), "avg" or
            "max" pools them globally.
        widths: channels of each stage (default (16, 32, 64)).
        convs_per_stage: conv layers per stage (int, default 2).
        hidden: units of ``head_fc1`` (int, default 128).
        dropout: rate of ``head_dropout`` (default 0.3).
        classifier_activation: activation of ``predictions`` (default softmax).
        kernel_initializer: initializer of the ReLU layers (every conv and
            ``head_fc1``; default "he_normal", He et al. 2015). A plain VGG
            has no normalisation, and with Keras' default Glorot-uniform its
            ReLUs can all die in the first epoch: on shapes32 the loss then
            stays at ln(10) for good (seeds 0 and 1, Adam 1e-3), while
            He-normal starts learning within five epochs.
        name: model name.

    Returns:
        keras.Model.

    Example:
        >>> model = vgg_small((32, 32, 3), num_classes=10)
    """
    _check_common(input_shape, num_classes, pooling, include_top)
    _check_widths("widths", widths)
    if isinstance(convs_per_stage, bool) or not isinstance(convs_per_stage, int) or convs_per_stage < 1:
        raise ValueError(f"convs_per_stage must be a positive int. Received: convs_per_stage={convs_per_stage!r}")
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
        raise ValueError(f"hidden must be a positive int. Received: hidden={hidden!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    for s, filters in enumerate(widths, start=1):
        for c in range(1, convs_per_stage + 1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                              kernel_initializer=kernel_initializer, name=f"stage{s}_conv{c}")(x)
        x = layers.MaxPooling2D(2, name=f"stage{s}")(x)
    if include_top or pooling is not None:
        x = _features(x, pooling)
    if include_top:
        x = layers.Dense(hidden, activation="relu", kernel_initializer=kernel_initializer, name="head_fc1")(x)
        x = layers.Dropout(dropout, name="head_dropout")(x)
        x = layers.Dense(num_classes, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, x, name=name)
