"""LIME: the vectorised image explainer equals stock lime, seeding, superpixels,
tabular and recurrent explainers against models with one relevant input."""

import numpy as np
import pytest

from adl_keras.explain import explain
from adl_keras.explain import lime_methods


def _top(weights, k=5):
    return set(np.argsort(-np.abs(weights))[:k])


def test_vectorised_lime_equals_stock_lime(lenet, digits):
    from adl_keras.explain._inputs import forward

    x = digits.test[0][:1]
    targets = lenet(x).numpy().argmax(1)
    fwd = forward(lenet)
    fast = lime_methods.lime_image(fwd, x, targets, seed=7, num_samples=300, vectorised=True)
    stock = lime_methods.lime_image(fwd, x, targets, seed=7, num_samples=300, vectorised=False)
    np.testing.assert_array_equal(fast[2]["segments"], stock[2]["segments"])
    # same random draws, same prediction batches, same regression: the same numbers
    np.testing.assert_allclose(fast[2]["segment_weights"][0], stock[2]["segment_weights"][0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(fast[1], stock[1], rtol=1e-12, atol=0)
    assert _top(fast[2]["segment_weights"][0]) == _top(stock[2]["segment_weights"][0])


def test_lime_image_seeded_reproducible(lenet, digits):
    x = digits.test[0][:2]
    a = explain(lenet, x, "lime", seed=3, num_samples=200)
    b = explain(lenet, x, "lime", seed=3, num_samples=200)
    c = explain(lenet, x, "lime", seed=4, num_samples=200)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    # 8x8 digits: 2x2 grid superpixels, values spread so that pixels sum to the superpixel weights
    assert a.extras["segments"].shape == (2, 8, 8) and a.extras["segments"].max() == 15
    np.testing.assert_allclose(a.values[0].sum(), a.extras["segment_weights"][0].sum(), rtol=1e-5)
    assert not a.is_additive


def test_grid_segments_and_seeded_quickshift():
    seg = lime_methods.grid_segments(8, 8, 2)
    assert np.bincount(seg.ravel()).tolist() == [4] * 16
    assert seg[0, :4].tolist() == [0, 0, 1, 1] and seg[2, 0] == 4
    img = np.random.default_rng(0).random((32, 32, 3))
    s1 = lime_methods.Segmenter("quickshift", seed=5)(img)
    s2 = lime_methods.Segmenter("quickshift", seed=5)(img)
    np.testing.assert_array_equal(s1, s2)
    with pytest.raises(ValueError, match="segmentation=.*'watershed'"):
        lime_methods.Segmenter("watershed")


def test_lime_quickshift_seed_is_dropped_with_new_scikit_image():
    """lime passes random_seed=...; scikit-image >= 0.21 calls it rng, and lime's
    wrapper silently drops unknown names, so the seed never arrives."""
    import inspect

    from skimage.segmentation import quickshift

    renamed = "rng" in inspect.signature(quickshift).parameters
    assert lime_methods.lime_quickshift_seed_forwarded() is (not renamed)


def _one_feature_model(n_features, relevant, shape=None):
    """softmax([0, 3 * x_relevant]): only one input matters."""
    import keras

    shape = shape or (n_features,)
    inp = keras.Input(shape)
    flat = keras.layers.Flatten()(inp)
    dense = keras.layers.Dense(2, activation="softmax")
    model = keras.Model(inp, dense(flat))
    w = np.zeros((n_features, 2), "float32")
    w[relevant, 1] = 3.0
    dense.set_weights([w, np.zeros(2, "float32")])
    return model


def test_lime_tabular_finds_the_only_relevant_feature():
    model = _one_feature_model(6, relevant=4)
    rng = np.random.default_rng(0)
    bg = rng.normal(size=(200, 6)).astype("float32")
    e = explain(model, bg[:3], "lime", background=bg, target=1, num_samples=1000)
    assert e.values.shape == (3, 6)
    assert np.all(np.abs(e.values).argmax(1) == 4)


def test_lime_recurrent_maps_time_and_feature(lstm_model):
    """Only x[t=5, f=2] matters; lime's flat (feature * T + t) index is mapped back."""
    model = _one_feature_model(8 * 3, relevant=5 * 3 + 2, shape=(8, 3))
    rng = np.random.default_rng(1)
    bg = rng.normal(size=(100, 8, 3)).astype("float32")
    e = explain(model, bg[:2], "lime", background=bg, target=1, num_samples=1000)
    assert e.values.shape == (2, 8, 3) and e.kind == "sequence"
    for v in e.values:
        assert np.unravel_index(np.abs(v).argmax(), v.shape) == (5, 2)


def test_lime_on_lstm_runs(lstm_model):
    rng = np.random.default_rng(2)
    bg = rng.random((50, 8, 8), dtype="float32")
    e = explain(lstm_model, bg[:1], "lime", background=bg, num_samples=500)
    assert e.values.shape == (1, 8, 8) and np.isfinite(e.values).all()


@pytest.mark.parametrize("kind", ["tabular", "sequence"])
def test_lime_tabular_does_not_depend_on_batch_position(kind):
    """Issue 13 finding 9: the same example explained alone and as the second of
    three gets the same weights (each example restarts its own seeded stream)."""
    from adl_keras.explain._inputs import forward

    shape = (6,) if kind == "tabular" else (4, 3)
    n = int(np.prod(shape))
    model = _one_feature_model(n, relevant=2, shape=shape)
    rng = np.random.default_rng(3)
    bg = rng.normal(size=(100,) + shape).astype("float32")
    fwd = forward(model)
    alone = lime_methods.lime_tabular(fwd, bg[1:2], np.array([1]), bg, seed=5, num_samples=300, kind=kind)
    batch = lime_methods.lime_tabular(fwd, bg[:3], np.array([1, 1, 1]), bg, seed=5, num_samples=300, kind=kind)
    np.testing.assert_array_equal(batch[0][1], alone[0][0])
    assert batch[1][1] == alone[1][0]
    # and the seed still matters: another seed gives other weights
    other = lime_methods.lime_tabular(fwd, bg[1:2], np.array([1]), bg, seed=6, num_samples=300, kind=kind)
    assert not np.array_equal(other[0][0], alone[0][0])


def test_vectorised_lime_equals_stock_with_labels_that_skip_numbers(lenet, digits):
    """A custom segmentation may skip labels; lime then never hides the pixels
    labelled >= the number of superpixels, and neither may the vectorised steps."""
    from adl_keras.explain._inputs import forward

    x = digits.test[0][:1]
    targets = lenet(x).numpy().argmax(1)
    segments = lime_methods.grid_segments(8, 8, 4) * 2    # labels 0, 2, 4, 6: four superpixels
    seg_fn = lambda image: segments   # noqa: E731
    fast = lime_methods.lime_image(forward(lenet), x, targets, seed=2, num_samples=100, segmentation=seg_fn)
    stock = lime_methods.lime_image(forward(lenet), x, targets, seed=2, num_samples=100, segmentation=seg_fn,
                                    vectorised=False)
    np.testing.assert_allclose(fast[2]["segment_weights"][0], stock[2]["segment_weights"][0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast[1], stock[1], rtol=1e-12)
