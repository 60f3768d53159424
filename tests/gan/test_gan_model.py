"""The GAN keras.Model: argument checks, fit with callbacks and tf.data,
k D-steps, clipping, serialization and export."""

import numpy as np
import pytest

import keras  # noqa: E402 - a missing Keras must fail the suite, not skip it

from adl_keras.gan import GAN, dcgan_discriminator, dcgan_generator, wgan_gp_critic  # noqa: E402
from adl_keras.testing import check_model  # noqa: E402

LATENT = 8


def _images(n=32, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 8, 8, 1)).astype("float32")


def _gan(critic=False, d_steps=1, **kwargs):
    d = wgan_gp_critic(base_filters=4) if critic else dcgan_discriminator(base_filters=4)
    return GAN(dcgan_generator(LATENT, base_filters=4), d, d_steps=d_steps, **kwargs)


def test_builders_shapes_and_layers():
    g = dcgan_generator(16, image_shape=(16, 16, 1), base_filters=8)
    assert g.output_shape == (None, 16, 16, 1)
    assert [l.name for l in g.layers if "bn" in l.name] == ["project_bn", "up1_bn", "up2_bn", "up3_bn"]
    d = dcgan_discriminator((16, 16, 1), num_blocks=3)
    assert d.output_shape == (None, 1) and d.get_layer("features")
    assert any(isinstance(l, keras.layers.BatchNormalization) for l in d.layers)
    assert not isinstance(d.layers[2], keras.layers.BatchNormalization)  # none on the first block
    c = wgan_gp_critic((16, 16, 1), num_blocks=3)
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in c.layers)
    assert any(isinstance(l, keras.layers.LayerNormalization) for l in c.layers)
    out = np.asarray(g(np.random.default_rng(0).normal(size=(4, 16)).astype("float32")))
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("kwargs, match", [
    ({"image_shape": (12, 12, 1)}, "image_shape"),
    ({"image_shape": (8, 8)}, "image_shape"),
    ({"latent_dim": 0}, "latent_dim=0"),
    ({"base_filters": -1}, "base_filters=-1"),
])
def test_generator_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dcgan_generator(**kwargs)


def test_critic_and_discriminator_bad_arguments():
    with pytest.raises(ValueError, match="normalization='batch'"):
        wgan_gp_critic(normalization="batch")
    with pytest.raises(ValueError, match="num_blocks=4"):
        dcgan_discriminator((8, 8, 1), num_blocks=4)


@pytest.mark.parametrize("builder, args", [
    (dcgan_generator, dict(latent_dim=LATENT, base_filters=4)),
    (dcgan_discriminator, dict(base_filters=4)),
    (wgan_gp_critic, dict(base_filters=4)),
])
def test_builders_pass_harness(builder, args, tmp_path):
    model = builder(**args)
    x = np.random.default_rng(0).normal(size=(4, LATENT)).astype("float32") if builder is dcgan_generator \
        else _images(4)
    check_model(model, x, tmp_dir=tmp_path)


def test_gan_bad_arguments():
    g, d = dcgan_generator(LATENT, base_filters=4), dcgan_discriminator(base_filters=4)
    with pytest.raises(ValueError, match="d_steps=0"):
        GAN(g, d, d_steps=0)
    with pytest.raises(ValueError, match="generator="):
        GAN("g", d)
    with pytest.raises(ValueError, match="latent_dim=5"):
        GAN(g, d, latent_dim=5)
    gan = GAN(g, d)
    with pytest.raises(ValueError, match="loss='bce'"):
        gan.compile(loss="bce")
    with pytest.raises(ValueError, match="optimizer="):
        gan.compile(optimizer="adam")
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two optimizer instances"):
        gan.compile(d_optimizer=opt, g_optimizer=opt)
    with pytest.raises((RuntimeError, ValueError), match="compile"):
        gan.fit(_images(8), epochs=1, verbose=0)


def test_fit_logs_losses_and_value_and_runs_callbacks():
    keras.utils.set_random_seed(0)
    gan = _gan()
    gan.compile(loss="minimax")
    seen = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(dict(logs)))
    hist = gan.fit(_images(32), batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    assert set(hist.history) == {"d_loss", "g_loss", "value"}
    assert len(seen) == 2 and all(np.isfinite(v) for logs in seen for v in logs.values())
    # For the minimax loss D minimises -V(D, G) on the same batch: value == -d_loss.
    np.testing.assert_allclose(hist.history["value"], -np.array(hist.history["d_loss"]), rtol=1e-5)
    # the saturating G loss E[log(1 - D(G(z)))] is negative
    assert all(v < 0 for v in hist.history["g_loss"])
    scores = gan.evaluate(_images(16), batch_size=8, verbose=0, return_dict=True)
    assert set(scores) == {"d_loss", "g_loss", "value"}
    assert scores["value"] == pytest.approx(-scores["d_loss"], rel=1e-5)


def test_k_discriminator_steps_per_generator_step_with_tf_data():
    import tensorflow as tf

    gan = _gan(critic=True, d_steps=3)
    gan.compile(loss="wgan_gp", d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensor_slices(_images(32)).batch(8)
    hist = gan.fit(data, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 4
    assert int(gan.d_optimizer.iterations) == 12
    assert "gp" in hist.history and hist.history["gp"][0] >= 0
    # the logged d_loss includes lambda * gp: d_loss = -W + 10 gp (on the last critic batch)
    assert np.isfinite(hist.history["value"][0])


def test_wgan_clips_critic_weights():
    gan = _gan(critic=True)
    gan.compile(loss="wgan", d_optimizer=keras.optimizers.RMSprop(5e-2), g_optimizer=keras.optimizers.RMSprop(5e-2))
    gan.fit(_images(16), batch_size=8, epochs=1, verbose=0)
    biggest = max(float(np.max(np.abs(np.asarray(w)))) for w in gan.discriminator.trainable_weights)
    assert biggest <= 0.01 + 1e-7
    gan.compile(loss="wgan", clip_value=0.5)
    assert gan.gan_loss.clip_value == 0.5


def test_noise_is_fresh_each_step():
    gan = _gan()
    gan.compile()
    z1, z2 = np.asarray(gan._noise(4)), np.asarray(gan._noise(4))
    assert z1.shape == (4, LATENT) and not np.allclose(z1, z2)


def test_save_load_and_export_serve_the_generator(tmp_path):
    import tensorflow as tf

    gan = _gan(seed=3)
    gan.compile()
    gan.fit(_images(16), batch_size=8, epochs=1, verbose=0)
    z = np.random.default_rng(1).normal(size=(5, LATENT)).astype("float32")
    expected = np.asarray(gan(z))
    config = gan.get_config()
    clone = GAN.from_config(config)
    assert clone.get_config() == config
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert isinstance(loaded, GAN) and loaded.d_steps == 1 and loaded.seed == 3
    np.testing.assert_allclose(np.asarray(loaded(z)), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(loaded.discriminator(_images(3))), np.asarray(gan.discriminator(_images(3))),
                               atol=1e-5)
    gan.export(str(tmp_path / "export"), format="tf_saved_model", verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "export"))  # keep a reference while serving
    served = restored.serve(tf.constant(z))
    np.testing.assert_allclose(np.asarray(served), expected, atol=1e-5)
    # sample() is deterministic for a seed
    np.testing.assert_array_equal(gan.sample(6, seed=2), gan.sample(6, seed=2))


def test_train_gan_helper_history_and_errors():
    from adl_keras.gan.training import GANConfig, train_gan

    cfg = GANConfig(epochs=2, batch_size=8, d_steps=2, loss="lsgan", linear_decay=True, steps_per_execution=2)
    gan, info = train_gan(dcgan_generator(LATENT, base_filters=4), dcgan_discriminator(base_filters=4),
                          _images(16), cfg)
    assert info["config"]["loss"] == "lsgan" and len(info["history"]["d_loss"]) == 2
    assert int(gan.g_optimizer.iterations) == 4 and int(gan.d_optimizer.iterations) == 8
    # linear decay reaches 0 at the last generator step: lr_t = lr (1 - t / T)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    bad = _images(16)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train_gan(dcgan_generator(LATENT, base_filters=4), dcgan_discriminator(base_filters=4), bad, cfg)
    with pytest.raises(ValueError, match="batch_size=64"):
        train_gan(dcgan_generator(LATENT, base_filters=4), dcgan_discriminator(base_filters=4), _images(16))


def test_conditional_gan_trains_saves_and_samples_per_class(tmp_path):
    from adl_keras.gan import conditional_dcgan_discriminator, conditional_dcgan_generator

    g = conditional_dcgan_generator(LATENT, num_classes=3, base_filters=4)
    d = conditional_dcgan_discriminator(num_classes=3, base_filters=4, normalization="layer")
    assert [tuple(i.shape) for i in g.inputs] == [(None, LATENT), (None, 1)]
    gan = GAN(g, d, d_steps=2)
    assert gan.conditional
    gan.compile(loss="wgan_gp")
    labels = np.arange(16) % 3
    hist = gan.fit(_images(16), labels, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(hist.history["gp"][0]) and int(gan.d_optimizer.iterations) == 4
    with pytest.raises(ValueError, match="labels"):
        gan.fit(_images(16), batch_size=8, epochs=1, verbose=0)
    samples = gan.sample(6, seed=0)
    assert samples.shape == (6, 8, 8, 1)
    z = np.random.default_rng(0).standard_normal((6, LATENT)).astype("float32")
    np.testing.assert_allclose(samples, np.asarray(g([z, (np.arange(6) % 3)[:, None]])), atol=1e-5)
    # the label changes the image for the same z
    assert not np.allclose(np.asarray(g([z, np.zeros((6, 1), "int32")])), np.asarray(g([z, np.ones((6, 1), "int32")])))
    gan.save(tmp_path / "cgan.keras")
    loaded = keras.saving.load_model(tmp_path / "cgan.keras")
    np.testing.assert_allclose(loaded.sample(6, seed=0), samples, atol=1e-5)
    with pytest.raises(ValueError, match="inputs"):
        GAN(g, dcgan_discriminator(base_filters=4))
    with pytest.raises(ValueError, match="normalization='group'"):
        conditional_dcgan_discriminator(normalization="group")
