"""The minimax game as a ``keras.Model``: alternating D and G steps inside
``train_step``, so ``fit``, callbacks, ``tf.data`` and ``tf.distribute`` work.

Goodfellow et al. (2014), Algorithm 1: for each generator step, take k
discriminator steps; for WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et
al. 2017) the critic takes k = 5 steps. Each of the k D-steps here sees the
same real batch and fresh noise z (as the keras.io WGAN-GP example does).

The step is written with ``tf.GradientTape`` (the TensorFlow backend, which
``adl_keras`` uses), scaling losses by the number of replicas exactly like
Keras' own ``train_step`` so that a ``MirroredStrategy`` all-reduce yields the
global-batch mean.
"""

import keras
from keras import ops

from adl_keras.gan import losses as gan_losses

__all__ = ["GAN"]


def _replica_scale():
    import tensorflow as tf

    return 1.0 / tf.distribute.get_strategy().num_replicas_in_sync


@keras.saving.register_keras_serializable(package="adl_keras")
class GAN(keras.Model):
    """A generator G and a discriminator/critic D trained as a two-player game.

    ``compile(d_optimizer=, g_optimizer=, loss=)`` then ``fit(real_images)``.
    Calling the model maps noise ``z`` to ``G(z)`` (inference mode by default),
    so ``predict``, ``.keras`` saving and ``model.export()`` serve the generator.

    Conditional GANs (Mirza & Osindero 2014): when G takes ``[z, label]`` and D
    ``[image, label]`` (see ``conditional_dcgan_generator``), ``fit(x, y)``
    trains on labelled images and fakes are generated for the real batch's labels.

    Logged metrics: ``d_loss``, ``g_loss`` (each the player's own loss, the
    gradient penalty included in ``d_loss``), ``value`` (V(D, G) for minimax
    losses, the Wasserstein estimate for critics) and ``gp`` for WGAN-GP.

    Args:
        generator: keras.Model mapping (batch, latent_dim) to images.
        discriminator: keras.Model mapping images to (batch, 1) logits/scores.
        latent_dim: int size of z, or None to read it from ``generator`` (default None).
        d_steps: int k >= 1, discriminator steps per generator step (default 1).
        seed: int seed of the noise and interpolation draws (default 0).
        **kwargs: passed to ``keras.Model``.

    Example:
        >>> from adl_keras.gan import GAN, dcgan_generator, dcgan_discriminator
        >>> gan = GAN(dcgan_generator(16), dcgan_discriminator())
        >>> gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        ...             g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss="non_saturating")
        >>> history = gan.fit(images, batch_size=64, epochs=1)   # doctest: +SKIP
    """

    def __init__(self, generator, discriminator, latent_dim=None, d_steps=1, seed=0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(generator, keras.Model):
            raise ValueError(f"generator must be a keras.Model. Received: generator={generator!r}")
        if not isinstance(discriminator, keras.Model):
            raise ValueError(f"discriminator must be a keras.Model. Received: discriminator={discriminator!r}")
        if isinstance(d_steps, bool) or not isinstance(d_steps, int) or d_steps < 1:
            raise ValueError(f"d_steps must be an int >= 1. Received: d_steps={d_steps!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an int. Received: seed={seed!r}")
        inferred = None
        try:
            inferred = int(generator.inputs[0].shape[-1])
        except (AttributeError, TypeError, IndexError, ValueError):
            pass
        if latent_dim is None:
            latent_dim = inferred
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive int (or readable from the generator's input). "
                             f"Received: latent_dim={latent_dim!r}")
        if inferred is not None and inferred != latent_dim:
            raise ValueError(f"latent_dim must match the generator's input width {inferred}. "
                             f"Received: latent_dim={latent_dim}")
        n_g, n_d = len(getattr(generator, "inputs", None) or [None]), len(getattr(discriminator, "inputs", None) or [None])
        if n_g != n_d or n_g not in (1, 2):
            raise ValueError(f"generator and discriminator must both take one input (unconditional) or two "
                             f"(conditional: [z, label] and [image, label]). Received: {n_g} and {n_d} inputs")
        self.conditional = n_g == 2
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.d_steps = d_steps
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.value_tracker = keras.metrics.Mean(name="value")
        self.gp_tracker = keras.metrics.Mean(name="gp")
        self.gan_loss = None
        # Inputs are z, not the real images fit() feeds: record the latent shape now so that
        # Keras never builds the model by calling it on a data batch.
        self.build([(None, latent_dim), (None, 1)] if self.conditional else (None, latent_dim))

    def build(self, input_shape=None):
        # Both players are built functional models; nothing to create here.
        self.built = True

    # ------------------------------------------------------------------ compile
    def compile(self, d_optimizer=None, g_optimizer=None, loss="non_saturating",
                gradient_penalty_weight=None, clip_value=None, **kwargs):
        """Sets the two optimizers and the game's loss.

        Args:
            d_optimizer: keras optimizer of D (default Adam(2e-4, beta_1=0.5)).
            g_optimizer: keras optimizer of G (default Adam(2e-4, beta_1=0.5)).
            loss: a name of ``adl_keras.gan.losses.LOSSES`` or a ``GANLoss``
                (default "non_saturating").
            gradient_penalty_weight: float lambda overriding the loss's (WGAN-GP: 10).
            clip_value: float c overriding the loss's critic clipping bound (WGAN: 0.01).
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``steps_per_execution``).
        """
        for arg in ("optimizer", "metrics", "loss_weights"):
            if arg in kwargs:
                raise ValueError(f"GAN.compile takes d_optimizer= and g_optimizer=, not {arg}=. "
                                 f"Received: {arg}={kwargs[arg]!r}")
        if gradient_penalty_weight is not None and gradient_penalty_weight < 0:
            raise ValueError(f"gradient_penalty_weight must be >= 0. "
                             f"Received: gradient_penalty_weight={gradient_penalty_weight}")
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be > 0. Received: clip_value={clip_value}")
        self.gan_loss = gan_losses.get(loss).with_options(gradient_penalty_weight, clip_value)
        self.d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer is not None \
            else keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer is not None \
            else keras.optimizers.Adam(2e-4, beta_1=0.5)
        if self.d_optimizer is self.g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two optimizer instances "
                             "(each keeps its own slots). Received the same object twice.")
        super().compile(**kwargs)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        # The optimizers and loss are not part of the saved artefact: a loaded
        # GAN is a generator to sample from; call compile() again to train.
        return None

    @property
    def metrics(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker, self.value_tracker]
        if self.gan_loss is not None and self.gan_loss.gradient_penalty_weight > 0:
            trackers.append(self.gp_tracker)
        return trackers

    # ------------------------------------------------------------------ forward
    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def sample(self, num_samples, seed=0, batch_size=256, labels=None):
        """``num_samples`` images G(z) (or G(z | y)) with z ~ N(0, I) from a fixed NumPy seed, in inference mode.

        Args:
            num_samples: int number of images.
            seed: int NumPy seed of z (default 0).
            batch_size: int prediction batch (default 256).
            labels: int array of class labels for a conditional GAN; None cycles
                through the classes of the generator's ``label_embedding``.

        Returns:
            NumPy array of images.
        """
        import numpy as np

        z = np.random.default_rng(seed).standard_normal((int(num_samples), self.latent_dim)).astype("float32")
        if not self.conditional:
            return self.generator.predict(z, batch_size=batch_size, verbose=0)
        if labels is None:
            classes = self.generator.get_layer("label_embedding").input_dim
            labels = np.arange(int(num_samples)) % classes
        labels = np.asarray(labels, "int32").reshape(-1, 1)
        if len(labels) != int(num_samples):
            raise ValueError(f"labels must hold num_samples={num_samples} entries. Received: {len(labels)}")
        return self.generator.predict([z, labels], batch_size=batch_size, verbose=0)

    # ------------------------------------------------------------------ training
    def _noise_seed(self):
        # A fresh stateless seed, the same on every replica (the seed generator's
        # state is a mirrored variable); _replica_rows gives each replica its own rows.
        return ops.cast(self.seed_generator.next(), "int32")

    def _replica_rows(self, draw, batch):
        """``draw(global_batch)[r*batch:(r+1)*batch]`` on replica r.

        Every replica draws the noise of the whole global batch from the same
        seed and keeps the rows of its own shard of the real batch (worker r
        reads rows ``[r*b, (r+1)*b)``), so N replicas at batch b see exactly the
        z and eps one process sees at batch N*b, and train to the same weights.
        """
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas == 1:
            return draw(batch)
        rid = tf.distribute.get_replica_context().replica_id_in_sync_group
        start = ops.cast(rid, "int32") * ops.cast(batch, "int32")
        return draw(batch * replicas)[start:start + batch]

    def _noise(self, batch):
        import tensorflow as tf

        seed = self._noise_seed()
        return self._replica_rows(
            lambda n: tf.random.stateless_normal((n, self.latent_dim), seed=seed), batch)

    def _g(self, z, labels, training=True):
        return self.generator([z, labels] if self.conditional else z, training=training)

    def _d(self, x, labels, training=True):
        return self.discriminator([x, labels] if self.conditional else x, training=training)

    def _d_step(self, real, labels, batch):
        import tensorflow as tf

        loss = self.gan_loss
        z = self._noise(batch)
        # conditional GANs generate fakes for the real batch's labels
        fake = self._g(z, labels)
        with tf.GradientTape() as tape:
            real_out = self._d(real, labels)
            fake_out = self._d(fake, labels)
            d_loss = loss.d_loss(real_out, fake_out)
            gp = ops.zeros((), "float32")
            if loss.gradient_penalty_weight > 0:
                critic = lambda x, training=True: self._d(x, labels, training)  # noqa: E731
                seed = self._noise_seed()
                eps = self._replica_rows(
                    lambda n: tf.random.stateless_uniform((n,), seed=seed, minval=0.0, maxval=1.0), batch)
                gp = gan_losses.gradient_penalty(critic, real, fake, eps=eps)
                d_loss = d_loss + loss.gradient_penalty_weight * gp
            scaled = d_loss * _replica_scale()
        weights = self.discriminator.trainable_weights
        grads = tape.gradient(scaled, weights)
        self.d_optimizer.apply_gradients(zip(grads, weights))
        if loss.clip_value is not None:
            c = loss.clip_value
            # WGAN: clip every critic parameter to [-c, c] after each update.
            for w in weights:
                w.assign(ops.clip(w, -c, c))
        return d_loss, gp, loss.value(real_out, fake_out)

    def _g_step(self, labels, batch):
        import tensorflow as tf

        z = self._noise(batch)
        with tf.GradientTape() as tape:
            fake_out = self._d(self._g(z, labels), labels)
            g_loss = self.gan_loss.g_loss(fake_out)
            scaled = g_loss * _replica_scale()
        weights = self.generator.trainable_weights
        grads = tape.gradient(scaled, weights)
        self.g_optimizer.apply_gradients(zip(grads, weights))
        return g_loss

    def train_step(self, data):
        if self.gan_loss is None:
            raise RuntimeError("Call GAN.compile(d_optimizer=..., g_optimizer=..., loss=...) before fit.")
        real, labels = self._unpack(data)
        batch = ops.shape(real)[0]
        for _ in range(self.d_steps):
            d_loss, gp, value = self._d_step(real, labels, batch)
        g_loss = self._g_step(labels, batch)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.value_tracker.update_state(value)
        if self.gan_loss.gradient_penalty_weight > 0:
            self.gp_tracker.update_state(gp)
        return {m.name: m.result() for m in self.metrics}

    def _unpack(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        labels = None
        if self.conditional:
            if not isinstance(data, (tuple, list)) or len(data) < 2 or data[1] is None:
                raise ValueError("A conditional GAN trains on (images, labels) pairs: call fit(x, y). "
                                 "Received images without labels.")
            labels = ops.reshape(ops.cast(data[1], "int32"), (-1, 1))
        return ops.cast(real, "float32"), labels

    def test_step(self, data):
        real, labels = self._unpack(data)
        batch = ops.shape(real)[0]
        fake = self._g(self._noise(batch), labels, training=False)
        real_out = self._d(real, labels, training=False)
        fake_out = self._d(fake, labels, training=False)
        self.d_loss_tracker.update_state(self.gan_loss.d_loss(real_out, fake_out))
        self.g_loss_tracker.update_state(self.gan_loss.g_loss(fake_out))
        self.value_tracker.update_state(self.gan_loss.value(real_out, fake_out))
        return {m.name: m.result() for m in self.metrics if m is not self.gp_tracker}

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = super().get_config()
        config.update({
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "d_steps": self.d_steps,
            "seed": self.seed,
        })
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        import copy

        config = copy.deepcopy(config)  # deserialisation consumes the nested dicts
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"],
                                                                    custom_objects=custom_objects)
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"],
                                                                        custom_objects=custom_objects)
        return cls(**config)
