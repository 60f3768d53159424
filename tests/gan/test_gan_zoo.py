"""The pretrained GAN zoo entries: registration, loading, goals, re-measurement."""

import numpy as np
import pytest

import keras  # noqa: E402 - a missing Keras must fail the suite, not skip it

from adl_keras import zoo  # noqa: E402
from adl_keras.gan import metrics  # noqa: E402
from adl_keras.gan.zoo_entries import COVERAGE_SAMPLES, COVERAGE_SEED, LATENT_DIM  # noqa: E402

NAMES = ["dcgan.digits", "wgan_gp.digits"]


@pytest.mark.parametrize("name", NAMES)
def test_entry_is_registered_as_image_generator(name):
    entry = zoo.get_entry(name)
    assert entry.topic == "gan" and entry.task == "image-generation" and entry.dataset == "digits"
    assert entry.input_shape == (LATENT_DIM,)
    assert entry.build().output_shape == (None, 8, 8, 1)
    assert name in zoo.list_models(topic="gan", pretrained=True)


@pytest.mark.parametrize("name", NAMES)
def test_pretrained_generator_meets_card_goals(name):
    info = zoo.model_info(name)
    m = {k: v["value"] for k, v in info["metrics"].items()}
    assert m["digits_fid"] <= 3.0 * m["fid_real_vs_real"], m
    assert m["min_class_share"] >= 0.05, m
    assert m["fid_real_vs_real"] < m["digits_fid"] < m["fid_noise_vs_real"]
    assert info["weights"]["size"] < 5_000_000
    # re-measure class coverage (the classifier judges fresh samples from the card's fixed z)
    generator = zoo.load_model(name)
    z = np.random.default_rng(COVERAGE_SEED).standard_normal((COVERAGE_SAMPLES, LATENT_DIM)).astype("float32")
    images = generator.predict(z, verbose=0)
    assert images.shape == (COVERAGE_SAMPLES, 8, 8, 1) and 0.0 <= images.min() and images.max() <= 1.0
    shares = metrics.class_coverage(images)
    # deterministic: the same fixed z and classifier give the card's shares exactly (k / 1000)
    assert shares.min() == pytest.approx(m["min_class_share"], abs=1e-12)
    assert shares.max() == pytest.approx(m["max_class_share"], abs=1e-12)
    assert shares.min() >= 0.05
    # FID against the held-out test split, with the train-split figure reported separately
    assert m["digits_fid"] != m["digits_fid_vs_train_split"]
    assert info["dataset"]["split"] == "test"


@pytest.mark.parametrize("name", NAMES + ["dcgan.fashion_mnist"])
def test_card_labels_each_figure_with_the_split_it_was_measured_on(name):
    """Issue 19: the FID against the train split was labelled "test" in the card."""
    from adl_keras.gan.zoo_entries import DIGITS_METRIC_SPLITS, FASHION_METRIC_SPLITS
    from adl_keras.zoo import cards

    meta = cards.read_meta(name)
    labels = DIGITS_METRIC_SPLITS if name.endswith(".digits") else FASHION_METRIC_SPLITS
    assert {k: v["split"] for k, v in meta["metrics"].items()} == {k: labels.get(k, "test") for k in meta["metrics"]}
    card = (cards.entry_dir(name) / cards.CARD_FILE).read_text()
    assert card == cards.render_card(meta)
    if name.endswith(".digits"):
        assert "| digits_fid_vs_train_split | " in card and " | train | " in card


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_evaluate_reproduces_card(name):
    report = zoo.evaluate(name)
    assert report["match"], report
