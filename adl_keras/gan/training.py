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


def train_gan(generator, discriminator, images, config=None, progress=None, callbacks=(), *, verbose=0,
              **fit_kwargs):
    """Builds a :class:`~adl_keras.gan.GAN` of the two players and fits it on ``images``.

    Args:
        generator: keras.Model z -> image.
        discriminator: keras.Model image -> logit/score.
        images: float array (n, H, W, C) in the generator's output range, or a
            batched ``tf.data.Dataset`` of such images or of ``(images, labels)``
            (labels are used by a conditional GAN, ignored otherwise).
        config: GANConfig (default GANConfig()).
        progress: optional ``progress(message)`` called once per epoch.
        callbacks: extra Keras callbacks.
        verbose: ``fit`` verbosity (default 0).
        **fit_kwargs: passed to ``fit`` (``steps_per_epoch``, ``initial_epoch``, ...).

    Returns:
        (gan, info): the trained GAN (``gan.history`` is the Keras
        ``History``) and a dict with the config and the per-epoch
        ``history`` of d_loss, g_loss and value.

    Example:
        >>> gan, info = train_gan(dcgan_generator(), dcgan_discriminator(), images,
        ...                       GANConfig(epochs=2))       # doctest: +SKIP
    """
    import keras

    from adl_keras import distribute
    from adl_keras.gan.model import GAN
    from adl_keras.training import progress_callback, stream_fit_kwargs

    config = config or GANConfig()
    if hasattr(images, "element_spec"):  # tf.data: batched by the user, fit takes it as is
        steps_per_epoch = fit_kwargs.get("steps_per_epoch") or int(images.cardinality())
        if steps_per_epoch < 0 and config.linear_decay:
            raise ValueError("linear_decay needs the number of steps: pass steps_per_epoch= or a dataset of "
                             f"known length. Received: images.cardinality()={int(images.cardinality())}")
        fit_data = stream_fit_kwargs(images)
    else:
        images = np.asarray(images, "float32")
        if not np.all(np.isfinite(images)):
            raise ValueError(f"images contain NaN or inf values ({int(np.sum(~np.isfinite(images)))} entries).")
        if images.ndim < 2 or len(images) < config.batch_size:
            raise ValueError(f"images must hold at least batch_size={config.batch_size} examples. "
                             f"Received: images.shape={images.shape}")
        steps_per_epoch = int(np.ceil(len(images) / config.batch_size))
        fit_data = {"x": images, "batch_size": config.batch_size, "shuffle": True}
    keras.utils.set_random_seed(config.seed)
    gan = GAN(generator, discriminator, d_steps=config.d_steps, seed=config.seed)

    g_steps = config.epochs * max(steps_per_epoch, 1)

    def adam(updates):
        lr = config.learning_rate
        if config.linear_decay:  # lr_t = lr (1 - t / T)
            lr = keras.optimizers.schedules.PolynomialDecay(lr, decay_steps=updates, end_learning_rate=0.0, power=1.0)
        return keras.optimizers.Adam(lr, beta_1=config.beta_1, beta_2=config.beta_2)

    gan.compile(d_optimizer=adam(g_steps * config.d_steps), g_optimizer=adam(g_steps), loss=config.loss,
                steps_per_execution=distribute.steps_per_execution(config.steps_per_execution))
    hist = gan.fit(**fit_data, epochs=config.epochs, verbose=verbose,
                   callbacks=[*distribute.backup_callbacks(), progress_callback(progress, config.epochs),
                              *callbacks], **fit_kwargs)
    info = {
        "config": dataclasses.asdict(config),
        "history": {k: [round(float(v), 5) for v in vals] for k, vals in hist.history.items()},
    }
    return gan, info
