"""GAN losses against hand computations on fixed logits."""

import numpy as np
import pytest

import keras  # noqa: E402 - a missing Keras must fail the suite, not skip it

from adl_keras.gan import losses  # noqa: E402

REAL = np.array([2.0, -1.0, 0.5, 3.0], "float32")
FAKE = np.array([-0.5, 1.5, 0.0, -2.0], "float32")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype("float64")))


def _assert_close(tensor, expected, tol=1e-5):
    np.testing.assert_allclose(float(tensor), expected, rtol=tol, atol=tol)


def test_minimax_value_and_discriminator_loss_by_hand():
    d_real, d_fake = _sigmoid(REAL), _sigmoid(FAKE)
    value = np.mean(np.log(d_real)) + np.mean(np.log(1 - d_fake))  # V(D,G)
    _assert_close(losses.minimax_value(REAL, FAKE), value)
    _assert_close(losses.minimax_discriminator_loss(REAL, FAKE), -value)
    # the same as binary cross-entropy with labels 1 (real) and 0 (fake)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    _assert_close(losses.minimax_discriminator_loss(REAL, FAKE),
           float(bce(np.ones(4), REAL)) + float(bce(np.zeros(4), FAKE)))


def test_saturating_and_non_saturating_generator_losses_by_hand():
    d_fake = _sigmoid(FAKE)
    _assert_close(losses.minimax_generator_loss(FAKE), np.mean(np.log(1 - d_fake)))
    _assert_close(losses.non_saturating_generator_loss(FAKE), -np.mean(np.log(d_fake)))


def test_saturating_loss_vanishes_where_non_saturating_does_not():
    import tensorflow as tf

    logits = tf.constant([-8.0])  # D confidently rejects the sample
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        sat = losses.minimax_generator_loss(logits)
        ns = losses.non_saturating_generator_loss(logits)
    g_sat = float(tape.gradient(sat, logits)[0])
    g_ns = float(tape.gradient(ns, logits)[0])
    # d/dl log(1 - s(l)) = -s(l);  d/dl -log s(l) = -(1 - s(l))
    _assert_close(g_sat, -_sigmoid(np.array([-8.0]))[0])
    _assert_close(g_ns, -(1 - _sigmoid(np.array([-8.0]))[0]))
    assert abs(g_sat) < 1e-3 < abs(g_ns)


def test_wasserstein_losses_by_hand():
    _assert_close(losses.wasserstein_critic_loss(REAL, FAKE), FAKE.mean() - REAL.mean())
    _assert_close(losses.wasserstein_generator_loss(FAKE), -FAKE.mean())
    _assert_close(losses.wasserstein_estimate(REAL, FAKE), REAL.mean() - FAKE.mean())


def test_least_squares_and_hinge_by_hand():
    _assert_close(losses.least_squares_discriminator_loss(REAL, FAKE),
           0.5 * np.mean((REAL - 1) ** 2) + 0.5 * np.mean(FAKE ** 2))
    _assert_close(losses.least_squares_generator_loss(FAKE), 0.5 * np.mean((FAKE - 1) ** 2))
    _assert_close(losses.hinge_discriminator_loss(REAL, FAKE),
           np.mean(np.maximum(0, 1 - REAL)) + np.mean(np.maximum(0, 1 + FAKE)))
    _assert_close(losses.hinge_generator_loss(FAKE), -FAKE.mean())


def test_gradient_penalty_linear_critic_known_norm():
    # f(x) = <a, x> has gradient a everywhere: penalty (||a|| - 1)^2 whatever eps is.
    a = np.array([3.0, 4.0, 0.0, 0.0], "float32")  # ||a|| = 5
    critic = lambda x: keras.ops.sum(x * a, axis=-1, keepdims=True)  # noqa: E731
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(6, 4)).astype("float32"), rng.normal(size=(6, 4)).astype("float32")
    _assert_close(losses.gradient_penalty(critic, real, fake, seed=1), 16.0, tol=1e-4)
    # and with images: the norm runs over every non-batch axis
    a_img = np.full((2, 2, 1), 0.5, "float32")  # ||a|| = 1 -> zero penalty
    critic_img = lambda x: keras.ops.sum(x * a_img, axis=(1, 2, 3))  # noqa: E731
    _assert_close(losses.gradient_penalty(critic_img, np.ones((3, 2, 2, 1)), np.zeros((3, 2, 2, 1)), seed=0), 0.0,
           tol=1e-4)


def test_gradient_penalty_given_eps_by_hand():
    # f(x) = ||x||^2 / 2 has gradient x_hat = eps x + (1 - eps) x_fake.
    critic = lambda x: 0.5 * keras.ops.sum(x * x, axis=-1)  # noqa: E731
    real = np.array([[2.0, 0.0], [0.0, 4.0], [1.0, 1.0]], "float32")
    fake = np.array([[0.0, 0.0], [0.0, 2.0], [-1.0, 1.0]], "float32")
    eps = np.array([0.5, 0.25, 1.0], "float32")
    x_hat = eps[:, None] * real + (1 - eps[:, None]) * fake
    expected = np.mean((np.linalg.norm(x_hat, axis=1) - 1) ** 2)
    _assert_close(losses.gradient_penalty(critic, real, fake, eps=eps), expected)


def test_gradient_penalty_draws_eps_uniform_per_sample():
    # f(x) = ||x||^2 / 2, real = unit vectors, fake = 0: ||grad|| = eps, penalty = E[(eps - 1)^2].
    # eps ~ U[0, 1] gives 1/3; eps ~ N(0, 1) (keras.io's example) would give 2.
    n = 20000
    real = np.zeros((n, 3), "float32")
    real[:, 0] = 1.0
    critic = lambda x: 0.5 * keras.ops.sum(x * x, axis=-1)  # noqa: E731
    gp = float(losses.gradient_penalty(critic, real, np.zeros_like(real), seed=3))
    assert abs(gp - 1.0 / 3.0) < 0.01, gp
    # per-sample eps: E[eps^2 - ...] differs from a shared scalar eps only in spread;
    # check directly that the interpolates of one draw spread over [0, 1]
    x_hat = losses.interpolate(real, np.zeros_like(real), keras.random.uniform((n,), seed=3))
    first = np.asarray(x_hat)[:, 0]
    assert first.min() >= 0.0 and first.max() <= 1.0 and first.std() > 0.25


def test_get_and_options():
    assert losses.get("wgan_gp").gradient_penalty_weight == 10.0
    assert losses.get("wgan").clip_value == 0.01
    assert losses.get("minimax").g_loss is losses.minimax_generator_loss
    assert losses.get("non_saturating").g_loss is losses.non_saturating_generator_loss
    custom = losses.get("wgan").with_options(clip_value=0.05)
    assert custom.clip_value == 0.05 and losses.get(custom) is custom
    with pytest.raises(ValueError, match="loss=.*'bce'"):
        losses.get("bce")
