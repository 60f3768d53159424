"""GAN objectives: minimax, non-saturating, Wasserstein (clipping and
gradient penalty), least-squares and hinge.

Conventions: the discriminator returns *logits* ``l`` for the minimax family
(``D(x) = sigmoid(l)``) and unbounded *scores* ``f(x)`` for the Wasserstein,
least-squares and hinge losses. Every function returns the quantity that is
*minimised* by the player it names. Means are over the batch.

The identities used for numerically stable logs (sigmoid = logistic):

    -log D(x)       = -log sigmoid(l) = softplus(-l)
    -log(1 - D(x))  = -log sigmoid(-l) = softplus(l)

Example:
    >>> import numpy as np
    >>> from adl_keras.gan import losses
    >>> loss = losses.get("wgan_gp")
    >>> float(loss.d_loss(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
    -1.5
"""

import dataclasses

import keras
from keras import ops

__all__ = [
    "GANLoss",
    "LOSSES",
    "get",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "minimax_value",
    "non_saturating_generator_loss",
    "wasserstein_critic_loss",
    "wasserstein_estimate",
    "wasserstein_generator_loss",
]


def _float(x):
    return ops.cast(ops.convert_to_tensor(x), "float32")


def minimax_value(real_logits, fake_logits):
    """Monte-Carlo estimate of V(D, G) of Goodfellow et al. (2014).

    Args:
        real_logits: tensor, D's logits on real data.
        fake_logits: tensor, D's logits on generated data.

    Returns:
        Scalar tensor. ``V(D,G) = E[log D(x)] + E[log(1 - D(G(z)))]``.

    Example:
        >>> float(minimax_value([0.0], [0.0]))  # 2 log(1/2)
        -1.3862943649291992
    """
    real_logits, fake_logits = _float(real_logits), _float(fake_logits)
    # V = E[log sigmoid(l_r)] + E[log(1 - sigmoid(l_f))] = -E[softplus(-l_r)] - E[softplus(l_f)]
    return -ops.mean(ops.softplus(-real_logits)) - ops.mean(ops.softplus(fake_logits))


def minimax_discriminator_loss(real_logits, fake_logits):
    """D's loss in the minimax game: ``-V(D, G)`` (binary cross-entropy).

    Args:
        real_logits: tensor, D's logits on real data.
        fake_logits: tensor, D's logits on generated data.

    Returns:
        Scalar tensor ``-E[log D(x)] - E[log(1 - D(G(z)))]``.

    Example:
        >>> float(minimax_discriminator_loss([0.0], [0.0]))
        1.3862943649291992
    """
    return -minimax_value(real_logits, fake_logits)


def minimax_generator_loss(fake_logits):
    """The original, *saturating* generator loss ``E[log(1 - D(G(z)))]``.

    G minimises it; its gradient vanishes when D confidently rejects samples
    (``D(G(z)) -> 0``), which is why :func:`non_saturating_generator_loss`
    is used in practice.

    Args:
        fake_logits: tensor, D's logits on generated data.

    Returns:
        Scalar tensor.

    Example:
        >>> float(minimax_generator_loss([0.0]))  # log(1/2)
        -0.6931471824645996
    """
    # E[log(1 - sigmoid(l))] = -E[softplus(l)]
    return -ops.mean(ops.softplus(_float(fake_logits)))


def non_saturating_generator_loss(fake_logits):
    """The non-saturating generator loss ``-E[log D(G(z))]`` (Goodfellow 2014, sec. 3).

    Args:
        fake_logits: tensor, D's logits on generated data.

    Returns:
        Scalar tensor.

    Example:
        >>> float(non_saturating_generator_loss([0.0]))
        0.6931471824645996
    """
    # -E[log sigmoid(l)] = E[softplus(-l)]
    return ops.mean(ops.softplus(-_float(fake_logits)))


def wasserstein_estimate(real_scores, fake_scores):
    """The critic's estimate of the Wasserstein-1 distance, ``E[f(x)] - E[f(G(z))]``.

    Args:
        real_scores: tensor, critic scores on real data.
        fake_scores: tensor, critic scores on generated data.

    Returns:
        Scalar tensor.
    """
    return ops.mean(_float(real_scores)) - ops.mean(_float(fake_scores))


def wasserstein_critic_loss(real_scores, fake_scores):
    """WGAN critic loss ``E[f(G(z))] - E[f(x)]`` (Arjovsky et al. 2017).

    Args:
        real_scores: tensor, critic scores on real data.
        fake_scores: tensor, critic scores on generated data.

    Returns:
        Scalar tensor (the negated Wasserstein estimate).

    Example:
        >>> float(wasserstein_critic_loss([1.0, 3.0], [0.5, 0.5]))
        -1.5
    """
    return -wasserstein_estimate(real_scores, fake_scores)


def wasserstein_generator_loss(fake_scores):
    """WGAN generator loss ``-E[f(G(z))]``.

    Args:
        fake_scores: tensor, critic scores on generated data.

    Returns:
        Scalar tensor.
    """
    return -ops.mean(_float(fake_scores))


def least_squares_discriminator_loss(real_scores, fake_scores):
    """LSGAN discriminator loss ``1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]`` (Mao et al. 2017, a=0, b=c=1).

    Args:
        real_scores: tensor, D's outputs on real data.
        fake_scores: tensor, D's outputs on generated data.

    Returns:
        Scalar tensor.
    """
    real_scores, fake_scores = _float(real_scores), _float(fake_scores)
    return 0.5 * ops.mean(ops.square(real_scores - 1.0)) + 0.5 * ops.mean(ops.square(fake_scores))


def least_squares_generator_loss(fake_scores):
    """LSGAN generator loss ``1/2 E[(D(G(z)) - 1)^2]``.

    Args:
        fake_scores: tensor, D's outputs on generated data.

    Returns:
        Scalar tensor.
    """
    return 0.5 * ops.mean(ops.square(_float(fake_scores) - 1.0))


def hinge_discriminator_loss(real_scores, fake_scores):
    """Hinge discriminator loss ``E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]`` (Lim & Ye 2017).

    Args:
        real_scores: tensor, D's outputs on real data.
        fake_scores: tensor, D's outputs on generated data.

    Returns:
        Scalar tensor.
    """
    real_scores, fake_scores = _float(real_scores), _float(fake_scores)
    return ops.mean(ops.relu(1.0 - real_scores)) + ops.mean(ops.relu(1.0 + fake_scores))


def hinge_generator_loss(fake_scores):
    """Hinge generator loss ``-E[D(G(z))]``.

    Args:
        fake_scores: tensor, D's outputs on generated data.

    Returns:
        Scalar tensor.
    """
    return -ops.mean(_float(fake_scores))


def interpolate(real, fake, eps):
    """``x_hat = eps * x + (1 - eps) * G(z)``, eps broadcast per sample."""
    real, fake = _float(real), _float(fake)
    eps = ops.reshape(_float(eps), (-1,) + (1,) * (len(real.shape) - 1))
    return eps * real + (1.0 - eps) * fake


def gradient_penalty(critic, real, fake, eps=None, seed=None, training=True):
    """WGAN-GP penalty ``E[(||grad_x_hat f(x_hat)||_2 - 1)^2]`` (Gulrajani et al. 2017, Alg. 1).

    ``x_hat = eps * x + (1 - eps) * G(z)`` with **eps ~ U[0, 1], one per
    sample** (the paper's choice; not a normal distribution).

    Args:
        critic: callable ``f`` mapping a batch to scores of shape (batch, 1) or (batch,).
        real: tensor, real batch.
        fake: tensor, generated batch of the same shape.
        eps: tensor of shape (batch,) with the interpolation weights, or None
            to draw them from U[0, 1] with ``seed``.
        seed: int, ``keras.random.SeedGenerator`` or a stateless ``(2,)``
            int tensor, used when ``eps`` is None (default None).
        training: passed to ``critic`` (default True).

    Returns:
        Scalar tensor.

    Example:
        >>> import numpy as np
        >>> f = lambda x: 3.0 * keras.ops.sum(x, axis=-1)   # ||grad|| = 3 sqrt(d)
        >>> gp = gradient_penalty(f, np.ones((4, 4), "float32"), np.zeros((4, 4), "float32"))
        >>> round(float(gp), 4)   # (3 * 2 - 1)^2
        25.0
    """
    import tensorflow as tf

    real, fake = _float(real), _float(fake)
    batch = ops.shape(real)[0]
    if eps is None:
        if seed is not None and tf.is_tensor(seed):
            eps = tf.random.stateless_uniform((batch,), seed=seed, minval=0.0, maxval=1.0)
        else:
            eps = keras.random.uniform((batch,), minval=0.0, maxval=1.0, seed=seed)
    x_hat = interpolate(real, fake, eps)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        try:
            scores = critic(x_hat, training=training)
        except TypeError:
            scores = critic(x_hat)
    grads = tape.gradient(scores, x_hat)
    # per-sample L2 norm over every non-batch axis
    norms = ops.sqrt(ops.sum(ops.square(ops.reshape(grads, (batch, -1))), axis=-1) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


@dataclasses.dataclass(frozen=True)
class GANLoss:
    """A pair of player losses plus the value the training loop reports.

    Attributes:
        name: registry name.
        d_loss: ``d_loss(real_out, fake_out) -> scalar`` minimised by D.
        g_loss: ``g_loss(fake_out) -> scalar`` minimised by G.
        value: ``value(real_out, fake_out) -> scalar``: V(D, G) for the
            minimax family, the Wasserstein estimate for critics.
        gradient_penalty_weight: lambda of WGAN-GP (0 = none).
        clip_value: critic weight clipping bound c of WGAN (None = none).
        value_name: what ``value`` estimates.
    """

    name: str
    d_loss: object
    g_loss: object
    value: object
    gradient_penalty_weight: float = 0.0
    clip_value: float = None
    value_name: str = "V(D,G)"

    def with_options(self, gradient_penalty_weight=None, clip_value=None):
        """A copy with a different lambda or clipping bound."""
        changes = {}
        if gradient_penalty_weight is not None:
            changes["gradient_penalty_weight"] = float(gradient_penalty_weight)
        if clip_value is not None:
            changes["clip_value"] = float(clip_value)
        return dataclasses.replace(self, **changes)


def _neg_lsgan(real, fake):
    return -least_squares_discriminator_loss(real, fake)


LOSSES = {
    "minimax": GANLoss("minimax", minimax_discriminator_loss, minimax_generator_loss, minimax_value),
    "non_saturating": GANLoss("non_saturating", minimax_discriminator_loss,
                              non_saturating_generator_loss, minimax_value),
    "wgan": GANLoss("wgan", wasserstein_critic_loss, wasserstein_generator_loss, wasserstein_estimate,
                    clip_value=0.01, value_name="W estimate"),
    "wgan_gp": GANLoss("wgan_gp", wasserstein_critic_loss, wasserstein_generator_loss, wasserstein_estimate,
                       gradient_penalty_weight=10.0, value_name="W estimate"),
    "lsgan": GANLoss("lsgan", least_squares_discriminator_loss, least_squares_generator_loss, _neg_lsgan,
                     value_name="-LSGAN D loss"),
    "hinge": GANLoss("hinge", hinge_discriminator_loss, hinge_generator_loss, wasserstein_estimate,
                     value_name="E[D(x)] - E[D(G(z))]"),
}


def get(identifier):
    """A :class:`GANLoss` by name (``minimax``, ``non_saturating``, ``wgan``,
    ``wgan_gp``, ``lsgan``, ``hinge``) or passed through.

    Args:
        identifier: str or GANLoss.

    Returns:
        GANLoss.
    """
    if isinstance(identifier, GANLoss):
        return identifier
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier]
    raise ValueError(f"loss must be a GANLoss or one of {sorted(LOSSES)}. Received: loss={identifier!r}")
