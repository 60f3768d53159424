"""MinibatchStdDev and the DCGAN discriminator option that uses it."""

import keras
import numpy as np
import pytest

from adl_keras.gan import dcgan_discriminator


def test_minibatch_stddev_appends_the_batch_mean_std_as_a_channel():
    from adl_keras.gan import MinibatchStdDev

    x = np.random.default_rng(0).normal(size=(5, 3, 4, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(MinibatchStdDev()(x))
    expected = np.sqrt(x.var(axis=0) + 1e-8).mean()   # population std over the batch, mean over h, w, c
    assert out.shape == (5, 3, 4, 3)
    np.testing.assert_array_equal(out[..., :2], x)
    np.testing.assert_allclose(out[..., 2], np.full((5, 3, 4), expected), rtol=1e-5)
    same = keras.ops.convert_to_numpy(MinibatchStdDev()(np.repeat(x[:1], 4, axis=0)))
    np.testing.assert_allclose(same[..., 2], 1e-4, rtol=1e-3)   # no variety: sqrt(epsilon)
    with pytest.raises(ValueError, match="epsilon=0"):
        MinibatchStdDev(epsilon=0)


def test_dcgan_discriminator_with_minibatch_stddev_round_trips():
    from adl_keras.gan import MinibatchStdDev

    d = dcgan_discriminator((28, 28, 1), base_filters=8, minibatch_stddev=True)
    assert isinstance(d.get_layer("minibatch_stddev"), MinibatchStdDev)
    assert d.get_layer("stddev_conv").input.shape == (None, 7, 7, 17)
    assert d.output_shape == (None, 1)
    x = np.random.default_rng(1).uniform(size=(6, 28, 28, 1)).astype("float32")
    clone = keras.Model.from_config(d.get_config())
    clone.set_weights(d.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), d.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="minibatch_stddev='yes'"):
        dcgan_discriminator((28, 28, 1), minibatch_stddev="yes")
