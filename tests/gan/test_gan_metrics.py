"""digits-FID, class coverage and the mode-collapse callback."""

import warnings

import numpy as np
import pytest

import keras  # noqa: E402 - a missing Keras must fail the suite, not skip it

from adl_keras import data  # noqa: E402
from adl_keras.gan import metrics  # noqa: E402


def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_frechet_distance_one_dimensional_closed_form():
    # N(m1, s1^2) vs N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2
    got = metrics.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]])
    assert got == pytest.approx((1 - 3) ** 2 + (2 - 3) ** 2)


def test_frechet_distance_matches_scipy_sqrtm():
    import scipy.linalg

    rng = np.random.default_rng(0)
    d = 6
    mu1, mu2, s1, s2 = rng.normal(size=d), rng.normal(size=d), _spd(rng, d), _spd(rng, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)
    with pytest.raises(ValueError, match="mu1.shape"):
        metrics.frechet_distance(mu1, s1, mu2[:3], s2)


def test_gaussian_stats_and_errors():
    x = np.random.default_rng(1).normal(size=(50, 3))
    mu, cov = metrics.gaussian_stats(x)
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(cov, np.cov(x.T))
    with pytest.raises(ValueError, match="shape=\\(1, 3\\)"):
        metrics.gaussian_stats(x[:1])


def test_to_classifier_input_average_pools_to_8x8():
    rng = np.random.default_rng(2)
    x16 = rng.uniform(size=(3, 16, 16))
    out = metrics.to_classifier_input(x16)
    assert out.shape == (3, 8, 8, 1)
    np.testing.assert_allclose(out[1, 2, 5, 0], x16[1, 4:6, 10:12].mean(), rtol=1e-6)
    x32 = rng.uniform(size=(2, 32, 32, 1))
    np.testing.assert_allclose(metrics.to_classifier_input(x32)[0, 7, 0, 0], x32[0, 28:32, 0:4, 0].mean(), rtol=1e-6)
    with pytest.raises(ValueError, match="shape=\\(2, 12, 12, 1\\)"):
        metrics.to_classifier_input(np.zeros((2, 12, 12, 1)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.to_classifier_input(np.full((1, 8, 8, 1), np.nan))


def test_references_and_coverage_of_real_data():
    ds = data.load("digits")
    refs = metrics.reference_fids()
    assert refs["num_samples"] == len(ds.test[0])
    assert 0 < refs["real_vs_real"] < 0.1 * refs["noise_vs_real"]
    # real-vs-real = the validation split against the test split's statistics (deterministic)
    assert metrics.digits_fid(ds.val[0]) == refs["real_vs_real"]
    assert metrics.digits_fid(ds.val[0], reference="test") == refs["real_vs_real"]
    # the test split against itself is 0 (up to sqrtm rounding, ~2e-5); against the train split it is not
    assert abs(metrics.digits_fid(ds.test[0])) < 1e-3 < metrics.digits_fid(ds.test[0], reference="train")
    # the statistics are the split's: FID against them equals the Frechet distance computed here
    feats, _ = metrics.digits_features(ds.val[0])
    test_feats, _ = metrics.digits_features(ds.test[0])
    assert metrics.frechet_distance(*metrics.gaussian_stats(feats), *metrics.gaussian_stats(test_feats)) == \
        pytest.approx(refs["real_vs_real"], rel=1e-12)
    # the same images upsampled to 16x16 pool back to the same FID
    up = np.repeat(np.repeat(ds.val[0], 2, axis=1), 2, axis=2)
    assert metrics.digits_fid(up) == pytest.approx(refs["real_vs_real"], rel=1e-4)
    with pytest.raises(ValueError, match="reference='val'"):
        metrics.digits_fid(ds.val[0], reference="val")
    shares = metrics.class_coverage(ds.test[0])
    assert shares.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(shares, np.bincount(ds.test[1], minlength=10) / len(ds.test[1]), atol=0.02)


def _constant_generator(latent=8):
    z = keras.Input((latent,))
    x = keras.layers.Dense(64, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(0.3))(z)
    return keras.Model(z, keras.layers.Reshape((8, 8, 1))(x))


def test_mode_collapse_monitor_warns_on_a_collapsed_generator():
    ds = data.load("digits")
    monitor = metrics.ModeCollapseMonitor(reference=ds.train[0], num_samples=100)
    monitor.set_model(_constant_generator())
    logs = {}
    with pytest.warns(RuntimeWarning, match="mode collapse at epoch 1.*diversity is 0.00.*classes"):
        monitor.on_epoch_end(0, logs)
    assert logs["sample_diversity"] == pytest.approx(0.0, abs=1e-6)
    assert logs["min_class_share"] == 0.0 and monitor.history[0]["collapsed"]


def test_mode_collapse_monitor_quiet_on_diverse_samples():
    ds = data.load("digits")
    x = ds.train[0][:200]

    monitor = metrics.ModeCollapseMonitor(reference=ds.train[0], num_samples=200)
    monitor._generator = lambda: _ReplayGenerator(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.on_epoch_end(0, {})
    assert not monitor.history[0]["collapsed"]
    assert monitor.history[0]["diversity_ratio"] > 0.8


class _ReplayGenerator:
    def __init__(self, images):
        self.images = images
        self.inputs = [keras.KerasTensor((None, 4))]

    def __call__(self, z, training=False):
        return self.images[: len(z)]


@pytest.mark.parametrize("kwargs, match", [
    ({"num_samples": 1}, "num_samples=1"),
    ({"every": 0}, "every=0"),
    ({"min_class_share": 1.5}, "min_class_share=1.5"),
])
def test_mode_collapse_monitor_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.ModeCollapseMonitor(**kwargs)
