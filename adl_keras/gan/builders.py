"""DCGAN generator/discriminator builders and a WGAN-GP critic (Radford et al. 2016;
Gulrajani et al. 2017), with fixed layer names so weights load by name.

Generator: ``Dense -> BN -> ReLU -> reshape -> [Conv2DTranspose(stride 2) -> BN -> ReLU] x n ->
Conv2D -> sigmoid`` (images in [0, 1], the range of ``adl_keras.data``).
Discriminator: ``[Conv2D(stride 2) -> (BN) -> LeakyReLU(0.2)] x n -> features -> logit``, no BN on
the first block (DCGAN); optionally a minibatch standard-deviation channel and one more 3x3 conv
before ``features`` (Karras et al. 2018, section 3), which lets the discriminator see a batch's
variety. The WGAN-GP critic uses layer normalisation (or none), never batch normalisation,
because the gradient penalty is defined per sample.
"""

import math

import keras
from keras import layers

__all__ = [
    "MinibatchStdDev",
    "conditional_dcgan_discriminator",
    "conditional_dcgan_generator",
    "dcgan_discriminator",
    "dcgan_generator",
    "wgan_gp_critic",
]


def _check_image_shape(image_shape, start_size=None):
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else None
    if shape is None or len(shape) != 3 or any(not isinstance(d, int) or d <= 0 for d in shape) \
            or shape[0] != shape[1]:
        raise ValueError(f"image_shape must be (size, size, channels) with positive ints. "
                         f"Received: image_shape={image_shape!r}")
    if start_size is not None:
        n = math.log2(shape[0] / start_size) if shape[0] >= start_size else -1
        if n < 1 or n != int(n):
            raise ValueError(f"image_shape[0] must be start_size * 2**n with n >= 1 (start_size={start_size}). "
                             f"Received: image_shape={image_shape!r}")
        return shape, int(n)
    return shape, None


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")


def dcgan_generator(latent_dim=32, image_shape=(8, 8, 1), base_filters=32, start_size=2,
                    output_activation="sigmoid", name="dcgan_generator"):
    """DCGAN generator ``z -> G(z)`` with BatchNorm after every hidden layer.

    Widths halve at every upsampling: the first block has
    ``base_filters * 2**(n-1)`` channels, the last ``base_filters``.

    Args:
        latent_dim: int size of z (default 32).
        image_shape: (size, size, channels) of the output; size = start_size * 2**n (default (8, 8, 1)).
        base_filters: int channels of the last upsampling block (default 32).
        start_size: int spatial size after the projection (default 2).
        output_activation: activation of the ``image`` layer (default "sigmoid" for [0, 1] data).
        name: model name.

    Returns:
        keras.Model (functional), input ``z`` (latent_dim,), output ``image``.

    Example:
        >>> g = dcgan_generator(latent_dim=16, image_shape=(16, 16, 1))
        >>> g.output_shape
        (None, 16, 16, 1)
    """
    _check_positive_int("latent_dim", latent_dim)
    _check_positive_int("base_filters", base_filters)
    _check_positive_int("start_size", start_size)
    shape, n = _check_image_shape(image_shape, start_size)
    z = keras.Input((latent_dim,), name="z")
    return keras.Model(z, _generator_body(z, shape, n, base_filters, start_size, output_activation), name=name)


def _generator_body(x, shape, n, base_filters, start_size, output_activation):
    width = base_filters * 2 ** (n - 1)
    x = layers.Dense(start_size * start_size * width, use_bias=False, name="project")(x)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((start_size, start_size, width), name="project_reshape")(x)
    for i in range(1, n + 1):
        width = base_filters * 2 ** (n - i)
        x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False, name=f"up{i}_conv")(x)
        x = layers.BatchNormalization(name=f"up{i}_bn")(x)
        x = layers.ReLU(name=f"stage{i}")(x)
    return layers.Conv2D(shape[2], 3, padding="same", activation=output_activation, name="image")(x)


def conditional_dcgan_generator(latent_dim=32, num_classes=10, image_shape=(8, 8, 1), base_filters=32,
                                start_size=2, embedding_dim=16, output_activation="sigmoid",
                                name="conditional_dcgan_generator"):
    """Conditional DCGAN generator ``(z, y) -> G(z | y)`` (Mirza & Osindero 2014).

    The class label is embedded (``label_embedding``) and concatenated with z;
    the rest is :func:`dcgan_generator`.

    Args:
        latent_dim: int size of z (default 32).
        num_classes: int number of classes (default 10).
        image_shape: (size, size, channels) of the output (default (8, 8, 1)).
        base_filters: int channels of the last upsampling block (default 32).
        start_size: int spatial size after the projection (default 2).
        embedding_dim: int width of the label embedding (default 16).
        output_activation: activation of the ``image`` layer (default "sigmoid").
        name: model name.

    Returns:
        keras.Model with inputs ``[z (latent_dim,), label (1,) int]``.

    Example:
        >>> g = conditional_dcgan_generator(16, num_classes=10)
        >>> g.output_shape
        (None, 8, 8, 1)
    """
    for arg, value in (("latent_dim", latent_dim), ("num_classes", num_classes), ("base_filters", base_filters),
                       ("start_size", start_size), ("embedding_dim", embedding_dim)):
        _check_positive_int(arg, value)
    shape, n = _check_image_shape(image_shape, start_size)
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((1,), dtype="int32", name="label")
    emb = layers.Flatten(name="label_flatten")(layers.Embedding(num_classes, embedding_dim, name="label_embedding")(label))
    x = layers.Concatenate(name="z_and_label")([z, emb])
    return keras.Model([z, label], _generator_body(x, shape, n, base_filters, start_size, output_activation),
                       name=name)


@keras.saving.register_keras_serializable(package="adl_keras")
class MinibatchStdDev(layers.Layer):
    """Appends the minibatch standard deviation as one constant feature map (Karras et al. 2018, sec. 3).

    For an input ``x`` of shape (N, H, W, C): the standard deviation over
    the batch of every feature at every position, averaged over features
    and positions, ``s = mean_{h,w,c} sqrt(Var_n[x_{n,h,w,c}] + epsilon)``,
    is concatenated to ``x`` as channel C + 1 (the same ``s`` everywhere).
    A discriminator with it can tell a generated batch that lacks variety
    from a real one, which counters mode collapse. The real and the
    generated batches must go through it separately (as
    :class:`~adl_keras.gan.GAN` does); under ``tf.distribute`` the batch is
    each replica's.

    Args:
        epsilon: float added to the variance before the square root (default 1e-8).
        **kwargs: ``keras.layers.Layer`` arguments.

    Example:
        >>> layer = MinibatchStdDev()
        >>> layer(keras.ops.zeros((4, 7, 7, 8))).shape
        (4, 7, 7, 9)
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"epsilon must be a positive float. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)

    def call(self, x):
        s = keras.ops.mean(keras.ops.sqrt(keras.ops.var(x, axis=0) + self.epsilon))
        return keras.ops.concatenate([x, keras.ops.ones_like(x[..., :1]) * s], axis=-1)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"MinibatchStdDev expects (batch, height, width, channels). "
                             f"Received: input_shape={input_shape}")
        channels = None if input_shape[-1] is None else input_shape[-1] + 1
        return (*input_shape[:-1], channels)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def _conv_stack(x, n, base_filters, normalization, minibatch_stddev=False):
    for i in range(1, n + 1):
        x = layers.Conv2D(base_filters * 2 ** (i - 1), 4, strides=2, padding="same",
                          use_bias=(i == 1 or normalization is None), name=f"down{i}_conv")(x)
        if i > 1 and normalization == "batch":
            x = layers.BatchNormalization(name=f"down{i}_bn")(x)
        elif i > 1 and normalization == "layer":
            x = layers.LayerNormalization(axis=[1, 2, 3], name=f"down{i}_ln")(x)
        x = layers.LeakyReLU(0.2, name=f"stage{i}")(x)
    if minibatch_stddev:
        x = MinibatchStdDev(name="minibatch_stddev")(x)
        x = layers.Conv2D(base_filters * 2 ** (n - 1), 3, padding="same", name="stddev_conv")(x)
        x = layers.LeakyReLU(0.2, name="stddev_stage")(x)
    return layers.Flatten(name="features")(x)


def _discriminator(image_shape, base_filters, num_blocks, normalization, name, minibatch_stddev=False):
    _check_positive_int("base_filters", base_filters)
    _check_positive_int("num_blocks", num_blocks)
    shape, _ = _check_image_shape(image_shape)
    if shape[0] < 2 ** num_blocks:
        raise ValueError(f"num_blocks={num_blocks} halves the image below 1 pixel. "
                         f"Received: image_shape={image_shape!r}")
    if not isinstance(minibatch_stddev, bool):
        raise ValueError(f"minibatch_stddev must be True or False. Received: minibatch_stddev={minibatch_stddev!r}")
    inputs = keras.Input(shape, name="image")
    x = _conv_stack(inputs, num_blocks, base_filters, normalization, minibatch_stddev)
    out = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, out, name=name)


def dcgan_discriminator(image_shape=(8, 8, 1), base_filters=32, num_blocks=2, name="dcgan_discriminator",
                        minibatch_stddev=False):
    """DCGAN discriminator ``x -> logit`` with BatchNorm on every block but the first.

    Args:
        image_shape: (size, size, channels) of the input (default (8, 8, 1)).
        base_filters: int channels of the first block, doubling per block (default 32).
        num_blocks: int stride-2 blocks (default 2).
        name: model name.
        minibatch_stddev: add a :class:`MinibatchStdDev` channel and a 3x3
            conv (``stddev_conv``) after the last block (default False).

    Returns:
        keras.Model with ``features`` and a 1-unit ``logit`` output (no sigmoid:
        the losses take logits).

    Example:
        >>> d = dcgan_discriminator((8, 8, 1))
        >>> d.output_shape
        (None, 1)
    """
    return _discriminator(image_shape, base_filters, num_blocks, "batch", name, minibatch_stddev)


def wgan_gp_critic(image_shape=(8, 8, 1), base_filters=32, num_blocks=2, normalization="layer",
                   name="wgan_gp_critic"):
    """WGAN-GP critic ``x -> f(x)`` without batch normalisation.

    Args:
        image_shape: (size, size, channels) of the input (default (8, 8, 1)).
        base_filters: int channels of the first block, doubling per block (default 32).
        num_blocks: int stride-2 blocks (default 2).
        normalization: "layer" (per-sample LayerNormalization) or None (default "layer").
        name: model name.

    Returns:
        keras.Model with ``features`` and a 1-unit unbounded ``logit`` output.

    Example:
        >>> f = wgan_gp_critic((8, 8, 1), normalization=None)
    """
    if normalization not in ("layer", None):
        raise ValueError(f"normalization must be 'layer' or None (batch norm breaks the per-sample "
                         f"gradient penalty). Received: normalization={normalization!r}")
    return _discriminator(image_shape, base_filters, num_blocks, normalization, name)


def conditional_dcgan_discriminator(image_shape=(8, 8, 1), num_classes=10, base_filters=32, num_blocks=2,
                                    normalization="batch", name="conditional_dcgan_discriminator"):
    """Conditional discriminator ``(x, y) -> logit``: the label is embedded as one extra image channel.

    Args:
        image_shape: (size, size, channels) of the input (default (8, 8, 1)).
        num_classes: int number of classes (default 10).
        base_filters: int channels of the first block (default 32).
        num_blocks: int stride-2 blocks (default 2).
        normalization: "batch" (DCGAN), "layer" (for WGAN-GP) or None (default "batch").
        name: model name.

    Returns:
        keras.Model with inputs ``[image, label (1,) int]`` and a 1-unit ``logit``.

    Example:
        >>> d = conditional_dcgan_discriminator((8, 8, 1), num_classes=10)
    """
    if normalization not in ("batch", "layer", None):
        raise ValueError(f"normalization must be 'batch', 'layer' or None. Received: normalization={normalization!r}")
    _check_positive_int("num_classes", num_classes)
    _check_positive_int("base_filters", base_filters)
    _check_positive_int("num_blocks", num_blocks)
    shape, _ = _check_image_shape(image_shape)
    if shape[0] < 2 ** num_blocks:
        raise ValueError(f"num_blocks={num_blocks} halves the image below 1 pixel. "
                         f"Received: image_shape={image_shape!r}")
    image = keras.Input(shape, name="image")
    label = keras.Input((1,), dtype="int32", name="label")
    plane = layers.Embedding(num_classes, shape[0] * shape[1], name="label_embedding")(label)
    plane = layers.Reshape((shape[0], shape[1], 1), name="label_plane")(plane)
    x = layers.Concatenate(name="image_and_label")([image, plane])
    x = _conv_stack(x, num_blocks, base_filters, normalization)
    return keras.Model([image, label], layers.Dense(1, name="logit")(x), name=name)
