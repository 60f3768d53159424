"""GAN zoo entries: DCGAN and WGAN-GP generators of scikit-learn digits.

Each entry's model is the *generator* (input z, output an 8x8x1 image in
[0, 1]); its evaluator re-measures digits-FID of 360 samples against the
held-out test split (the real-vs-real reference: the validation split against
the test split), digits-FID against the train split (labelled, separate), and
class coverage on 1,000 samples, with z drawn from fixed seeds, so the numbers
are deterministic: re-measured in fresh processes they agree to float rounding
(observed difference 0), hence the tolerance of 1e-6.
"""

import numpy as np

from adl_keras.gan.builders import dcgan_discriminator, dcgan_generator, wgan_gp_critic
from adl_keras.zoo import preprocessing as prep
from adl_keras.zoo.registry import register

LATENT_DIM = 32
FID_SEED = 1
COVERAGE_SEED = 2
COVERAGE_SAMPLES = 1000
GOALS = ["digits-FID against the test split <= 3 x the real-vs-real reference (validation vs test split)",
         "every digit class >= 5% of 1,000 samples (judged by lenet5.digits)",
         "reproducibility: every metric is deterministic (fixed z seeds, inference mode); re-measured in "
         "fresh processes it agreed bit for bit, so `adl-zoo evaluate` uses a tolerance of 1e-6"]

GENERATOR_KWARGS = {"latent_dim": LATENT_DIM, "image_shape": (8, 8, 1), "base_filters": 32}


def _sample(generator, n, seed):
    z = np.random.default_rng(seed).standard_normal((n, LATENT_DIM)).astype("float32")
    return generator.predict(z, batch_size=500, verbose=0)


def generator_evaluator(generator):
    """Measures a digits generator: digits-FID, its references and class coverage.

    Args:
        generator: keras.Model z (32,) -> (8, 8, 1) image in [0, 1].

    Returns:
        dict with ``digits_fid`` (against the test split), ``fid_real_vs_real``
        (validation vs test split), ``fid_noise_vs_real`` (noise vs test split),
        ``fid_ratio`` (digits_fid / real-vs-real), ``digits_fid_vs_train_split``
        (the same samples against the train split the GAN was fit to),
        ``min_class_share``, ``max_class_share`` and ``_split`` ("test").
    """
    from adl_keras.gan import metrics

    refs = metrics.reference_fids()
    samples = _sample(generator, refs["num_samples"], FID_SEED)
    fid = metrics.digits_fid(samples, reference="test")
    shares = metrics.class_coverage(_sample(generator, COVERAGE_SAMPLES, COVERAGE_SEED))
    return {
        "digits_fid": fid,
        "digits_fid_vs_train_split": metrics.digits_fid(samples, reference="train"),
        "fid_real_vs_real": refs["real_vs_real"],
        "fid_noise_vs_real": refs["noise_vs_real"],
        "fid_ratio": fid / refs["real_vs_real"],
        "min_class_share": float(shares.min()),
        "max_class_share": float(shares.max()),
        "_split": "test",
    }


def _recipe(discriminator, config, name):
    def recipe(seed=0, progress=None, **overrides):
        import dataclasses

        from adl_keras import data
        from adl_keras.gan.training import train_gan

        cfg = dataclasses.replace(config, seed=seed, **overrides)
        images = data.load("digits").train[0]
        import keras

        keras.utils.set_random_seed(seed)
        generator = dcgan_generator(**GENERATOR_KWARGS, name=name)
        gan, info = train_gan(generator, discriminator(), images, cfg, progress)
        info["data"] = "digits train split (1,077 images, 8x8, [0, 1])"
        info["goals"] = list(GOALS)
        return gan.generator, info

    return recipe


def _dcgan_recipe_config():
    from adl_keras.gan.training import GANConfig

    return GANConfig(loss="non_saturating", epochs=150, batch_size=64, d_steps=1, learning_rate=2e-4,
                     beta_1=0.5, beta_2=0.999, steps_per_execution=17)


def _wgan_gp_recipe_config():
    from adl_keras.gan.training import GANConfig

    return GANConfig(loss="wgan_gp", epochs=100, batch_size=64, d_steps=5, learning_rate=5e-4,
                     beta_1=0.5, beta_2=0.9, steps_per_execution=17, linear_decay=True)


def train_dcgan_digits(seed=0, progress=None, **overrides):
    """Recipe of ``dcgan.digits``: non-saturating loss, Adam(2e-4, 0.5), batch 64, k = 1, 150 epochs."""
    return _recipe(lambda: dcgan_discriminator((8, 8, 1), base_filters=32), _dcgan_recipe_config(),
                   "dcgan_digits_generator")(seed, progress, **overrides)


def train_wgan_gp_digits(seed=0, progress=None, **overrides):
    """Recipe of ``wgan_gp.digits``: WGAN-GP (lambda 10), Adam(5e-4, 0.5, 0.9) decayed linearly to 0,
    batch 64, k = 5 critic steps, 100 epochs."""
    return _recipe(lambda: wgan_gp_critic((8, 8, 1), base_filters=32), _wgan_gp_recipe_config(),
                   "wgan_gp_digits_generator")(seed, progress, **overrides)


register(
    "dcgan.digits",
    dcgan_generator,
    build_kwargs={**GENERATOR_KWARGS, "name": "dcgan_digits_generator"},
    topic="gan",
    task="image-generation",
    dataset="digits",
    input_shape=(LATENT_DIM,),
    recipe=train_dcgan_digits,
    evaluator=generator_evaluator,
    tolerance=1e-6,
    preprocessing=prep.passthrough("latent", (LATENT_DIM,), notes=f"z ~ N(0, I_{LATENT_DIM}); the output is an "
                                   "(8, 8, 1) grey image in [0, 1] (sigmoid), 1 = ink"),
    description="DCGAN generator (BatchNorm, non-saturating loss) of scikit-learn's 8x8 digits; input z ~ N(0, I_32).",
)

register(
    "wgan_gp.digits",
    dcgan_generator,
    build_kwargs={**GENERATOR_KWARGS, "name": "wgan_gp_digits_generator"},
    topic="gan",
    task="image-generation",
    dataset="digits",
    input_shape=(LATENT_DIM,),
    recipe=train_wgan_gp_digits,
    evaluator=generator_evaluator,
    tolerance=1e-6,
    preprocessing=prep.passthrough("latent", (LATENT_DIM,), notes=f"z ~ N(0, I_{LATENT_DIM}); the output is an "
                                   "(8, 8, 1) grey image in [0, 1] (sigmoid), 1 = ink"),
    description="WGAN-GP generator (layer-norm critic, 5 critic steps, lambda 10) of scikit-learn's 8x8 digits; "
                "input z ~ N(0, I_32).",
)
