"""From-scratch Conv1D/Conv2D/MaxPool2D/AveragePool2D against the Keras built-ins."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_keras.conv import layers as scratch
from adl_keras.testing import check_layer

ATOL = 1e-5


def _outputs_and_grads(layer, x, cotangent=None):
    """y = layer(x) and d<y, r>/d(x, weights) for a fixed random cotangent r."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        r = cotangent if cotangent is not None else np.random.default_rng(7).standard_normal(y.shape).astype("float32")
        objective = tf.reduce_sum(y * r)
    grads = tape.gradient(objective, [x] + [w.value for w in layer.trainable_weights])
    return np.asarray(y), [np.asarray(g) for g in grads], r


def _assert_same_as_keras(ours, theirs, x):
    y_ours, g_ours, r = _outputs_and_grads(ours, x)
    if ours.weights:
        theirs.build(x.shape)
        theirs.set_weights(ours.get_weights())
    y_theirs, g_theirs, _ = _outputs_and_grads(theirs, x, r)
    assert y_ours.shape == y_theirs.shape
    np.testing.assert_allclose(y_ours, y_theirs, atol=ATOL, rtol=0)
    assert len(g_ours) == len(g_theirs)
    for a, b in zip(g_ours, g_theirs):
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=1e-5)


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


CONV2D_GRID = [
    # The second input shape runs with the slow tests only (``-m slow``).
    pytest.param(shape, k, s, p, d, marks=[pytest.mark.slow] if shape[0] == 1 else [])
    for shape, k, s, p, d in itertools.product(
        [(2, 7, 8, 3), (1, 10, 9, 2)], [1, 2, 3, (2, 3)], [1, 2, (1, 2)], ["valid", "same"], [1, 2, (2, 1)]
    )
    if s == 1 or d == 1  # keras.layers.Conv2D rejects strides > 1 with dilation > 1
]


@pytest.mark.parametrize("shape, kernel_size, strides, padding, dilation", CONV2D_GRID)
def test_conv2d_equals_keras(shape, kernel_size, strides, padding, dilation):
    kwargs = dict(filters=4, kernel_size=kernel_size, strides=strides, padding=padding, dilation_rate=dilation,
                  bias_initializer="glorot_uniform")
    _assert_same_as_keras(scratch.Conv2D(**kwargs), keras.layers.Conv2D(**kwargs), _random(shape))


@pytest.mark.parametrize("kernel_size, strides, padding, dilation", [
    (k, s, p, d)
    for k, s, p, d in itertools.product([1, 2, 3, 5], [1, 2, 3], ["valid", "same", "causal"], [1, 2, 3])
    if s == 1 or d == 1
])
def test_conv1d_equals_keras(kernel_size, strides, padding, dilation):
    kwargs = dict(filters=3, kernel_size=kernel_size, strides=strides, padding=padding, dilation_rate=dilation,
                  bias_initializer="glorot_uniform", activation="tanh")
    _assert_same_as_keras(scratch.Conv1D(**kwargs), keras.layers.Conv1D(**kwargs), _random((2, 13, 3)))


POOL_GRID = list(itertools.product(
    [(2, 9, 8, 3)], [2, 3, (2, 3)], [None, 1, 2, (1, 2)], ["valid", "same"]
))


@pytest.mark.parametrize("shape, pool_size, strides, padding", POOL_GRID)
def test_max_pool_equals_keras(shape, pool_size, strides, padding):
    kwargs = dict(pool_size=pool_size, strides=strides, padding=padding)
    _assert_same_as_keras(scratch.MaxPool2D(**kwargs), keras.layers.MaxPooling2D(**kwargs), _random(shape))


@pytest.mark.parametrize("shape, pool_size, strides, padding", POOL_GRID)
def test_average_pool_equals_keras(shape, pool_size, strides, padding):
    kwargs = dict(pool_size=pool_size, strides=strides, padding=padding)
    _assert_same_as_keras(scratch.AveragePool2D(**kwargs), keras.layers.AveragePooling2D(**kwargs), _random(shape))


def test_conv2d_matches_numpy_correlation_with_constant_weights():
    """np.arange input, constant kernel: every valid output is a window sum."""
    from adl_keras.conv import math as cm

    x = np.arange(2 * 5 * 6 * 2, dtype="float32").reshape(2, 5, 6, 2)
    layer = scratch.Conv2D(1, 3, kernel_initializer="ones", use_bias=False)
    expected = cm.correlate2d(x, np.ones((3, 3, 2, 1), "float32"), mode="valid")
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-6)
    assert np.asarray(layer(x))[0, 0, 0, 0] == x[0, :3, :3].sum()


def test_strided_dilated_conv2d_matches_convolution_math():
    """strides > 1 with dilation > 1 (Keras refuses it) checked against adl_keras.conv.math."""
    from adl_keras.conv import math as cm

    x = _random((2, 13, 12, 3))
    layer = scratch.Conv2D(5, 3, strides=2, dilation_rate=2, padding="valid")
    y = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    ref = cm.correlate2d(x, kernel, mode="valid", strides=2, dilation=2) + bias
    np.testing.assert_allclose(y, ref, atol=1e-5)


HARNESS_CASES = [
    (scratch.Conv2D, {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
     (2, 8, 8, 2), (2, 4, 4, 3)),
    (scratch.Conv2D, {"filters": 2, "kernel_size": (2, 3), "dilation_rate": 2}, (2, 8, 9, 3), (2, 6, 5, 2)),
    (scratch.Conv1D, {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 10, 3),
     (2, 10, 4)),
    (scratch.MaxPool2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 2), (2, 4, 4, 2)),
    (scratch.AveragePool2D, {"pool_size": 2, "padding": "same"}, (2, 5, 5, 2), (2, 3, 3, 2)),
]


@pytest.mark.parametrize("cls, kwargs, in_shape, out_shape", HARNESS_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_harness(cls, kwargs, in_shape, out_shape, tmp_path):
    report = check_layer(cls, kwargs, in_shape, expected_output_shape=out_shape, tmp_dir=tmp_path,
                         fit=bool(cls in (scratch.Conv1D, scratch.Conv2D)))
    assert report["keras_max_diff"] <= 1e-5 and report["savedmodel_max_diff"] <= 1e-5


def test_config_is_complete():
    layer = scratch.Conv2D(8, (3, 5), strides=(2, 1), padding="same", dilation_rate=1, activation="relu",
                           use_bias=False, kernel_initializer="he_normal", kernel_regularizer="l2", name="c")
    again = scratch.Conv2D.from_config(layer.get_config())
    for key in ("filters", "kernel_size", "strides", "padding", "dilation_rate", "use_bias"):
        assert getattr(again, key) == getattr(layer, key)
    assert again.activation is keras.activations.relu
    assert isinstance(again.kernel_initializer, keras.initializers.HeNormal)
    assert isinstance(again.kernel_regularizer, keras.regularizers.L2)


@pytest.mark.parametrize("call, match", [
    (lambda: scratch.Conv2D(0, 3), "filters must be a positive int. Received: filters=0"),
    (lambda: scratch.Conv2D(4, (3, 3, 3)), "kernel_size must be"),
    (lambda: scratch.Conv2D(4, 3, strides=0), "strides must be"),
    (lambda: scratch.Conv2D(4, 3, padding="causal"), "padding must be one of"),
    (lambda: scratch.Conv2D(4, 3, use_bias="yes"), "use_bias must be a bool"),
    (lambda: scratch.Conv1D(4, 3, dilation_rate=-1), "dilation_rate must be"),
    (lambda: scratch.MaxPool2D(pool_size=0), "pool_size must be"),
    (lambda: scratch.AveragePool2D(padding="full"), "padding must be one of"),
    (lambda: scratch.Conv2D(4, 3)(np.zeros((1, 8, 3), "float32")), "ndim"),
    (lambda: scratch.Conv2D(4, 5)(np.zeros((1, 3, 3, 1), "float32")), "output would be empty"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_trains_in_fit_on_digits():
    from adl_keras import data

    keras.utils.set_random_seed(0)
    ds = data.load("digits")
    inputs = keras.Input((8, 8, 1))
    x = scratch.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = scratch.MaxPool2D(2)(x)
    x = scratch.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = scratch.AveragePool2D(2)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(5e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(*ds.train, epochs=6, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 4
    _, acc = model.evaluate(*ds.test, verbose=0)
    assert acc > 0.85


@pytest.mark.parametrize("strides, dilation, pads", [((1, 1), (1, 1), [(0, 0), (0, 0)]),
                                                     ((2, 3), (1, 1), [(1, 0), (2, 1)]),
                                                     ((1, 2), (2, 1), [(0, 2), (1, 1)])])
def test_extract_patches_is_im2col(strides, dilation, pads):
    """patches[n, a, b, (i, j), c] = x_pad[n, s_h·a + d_h·i, s_w·b + d_w·j, c]."""
    x = np.arange(2 * 7 * 8 * 3, dtype="float32").reshape(2, 7, 8, 3)
    patches, out = scratch.extract_patches(x, (2, 3), strides, dilation, pads)
    patches = np.asarray(patches)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    assert patches.shape == (2,) + out + (6, 3)
    for a, b in itertools.product(range(out[0]), range(out[1])):
        for t, (i, j) in enumerate(itertools.product(range(2), range(3))):
            np.testing.assert_array_equal(
                patches[:, a, b, t], xp[:, strides[0] * a + dilation[0] * i, strides[1] * b + dilation[1] * j])


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(scratch, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0
