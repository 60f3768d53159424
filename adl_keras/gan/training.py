"""Seeded GAN training on image arrays: the library function behind the zoo
recipes, the notebook and the benchmark (STYLE.md: loops take a config dataclass)."""

import dataclasses

import numpy as np

__all__ = ["GANConfig", "train_gan"]


@dataclasses.dataclass
class GANConfig:
    """Hyperparameters of :func:`train_gan`.

    Attributes:
        loss: name in ``adl_keras.gan.losses.LOSSES`` (default "non_saturating").
        epochs: passes over the images (default 100).
        batch_size: real images per step (default 64).
        d_steps: discriminator/critic steps per generator step, k (default 1).
        learning_rate: Adam learning rate of both players (default 2e-4, DCGAN).
        beta_1: Adam beta_1 (default 0.5, DCGAN).
        beta_2: Adam beta_2 (default 0.999; WGAN-GP uses 0.9).
        steps_per_execution: steps per compiled call of fit (default 1).
        linear_decay: decay both learning rates linearly to 0 over training, as
            Gulrajani et al. (2017) do for WGAN-GP (default False).
        seed: seeds Python, NumPy, TensorFlow and the GAN's noise (default 0).
    """

    loss: str = "non_saturating"
    epochs: int = 100
    batch_size: int = 64
    d_steps: int = 1
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    steps_per_execution: int = 1
    linear_decay: bool = False
    seed: int = 0


def train_gan(generator, discriminator, images, config=None, progress=None, callbacks=()):
    """Builds a :class:`~adl_keras.gan.GAN` of the two players and fits it on ``images``.

    Args:
        generator: keras.Model z -> image.
        discriminator: keras.Model image -> logit/score.
        images: float array (n, H, W, C) in the generator's output range.
        config: GANConfig (default GANConfig()).
        progress: optional ``progress(message)`` called once per epoch.
        callbacks: extra Keras callbacks.

    Returns:
        (gan, info): the trained GAN and a dict with the config and the
        per-epoch ``history`` of d_loss, g_loss and value.

    Example:
        >>> gan, info = train_gan(dcgan_generator(), dcgan_discriminator(), images,
        ...                       GANConfig(epochs=2))       # doctest: +SKIP
    """
    import keras

    from adl_keras import distribute
    from adl_keras.gan.model import GAN
    from adl_keras.training import progress_callback

    config = config or GANConfig()
    images = np.asarray(images, "float32")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"images contain NaN or inf values ({int(np.sum(~np.isfinite(images)))} entries).")
    if images.ndim < 2 or len(images) < config.batch_size:
        raise ValueError(f"images must hold at least batch_size={config.batch_size} examples. "
                         f"Received: images.shape={images.shape}")
    keras.utils.set_random_seed(config.seed)
    gan = GAN(generator, discriminator, d_steps=config.d_steps, seed=config.seed)

    g_steps = config.epochs * int(np.ceil(len(images) / config.batch_size))

    def adam(updates):
        lr = config.learning_rate
        if config.linear_decay:  # lr_t = lr (1 - t / T)
            lr = keras.optimizers.schedules.PolynomialDecay(lr, decay_steps=updates, end_learning_rate=0.0, power=1.0)
        return keras.optimizers.Adam(lr, beta_1=config.beta_1, beta_2=config.beta_2)

    gan.compile(d_optimizer=adam(g_steps * config.d_steps), g_optimizer=adam(g_steps), loss=config.loss,
                steps_per_execution=distribute.steps_per_execution(config.steps_per_execution))
    hist = gan.fit(images, batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0,
                   callbacks=[*distribute.backup_callbacks(), progress_callback(progress, config.epochs),
                              *callbacks])
    info = {
        "config": dataclasses.asdict(config),
        "history": {k: [round(float(v), 5) for v in vals] for k, vals in hist.history.items()},
    }
    return gan, info
