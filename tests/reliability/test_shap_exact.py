"""Finding 9 (SHAP half): shap-kernel gives every feature its value and equals
the exact interventional Shapley values, computed here by enumerating every
coalition over the same background, within 1e-3."""

import itertools
import math

import keras
import numpy as np
import pytest

from adl_keras.explain import explain


def exact_shapley(f, x, background, target):
    """phi_i = sum_S |S|!(F-|S|-1)!/F! [v(S+i) - v(S)], v(S) = mean_b f(x_S, b_rest)[target]."""
    n = x.shape[0]
    masks = np.array(list(itertools.product([0, 1], repeat=n)), dtype=bool)  # every coalition
    rows = np.where(masks[:, None, :], x[None, None, :], background[None, :, :])
    out = f(rows.reshape(-1, n).astype("float32"))[:, target].reshape(len(masks), len(background))
    value = {tuple(m): v for m, v in zip(masks, out.mean(axis=1))}
    phi = np.zeros(n)
    for m in masks:
        size = int(m.sum())
        for i in np.flatnonzero(~m):
            with_i = m.copy()
            with_i[i] = True
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            phi[i] += weight * (value[tuple(with_i)] - value[tuple(m)])
    return phi


def _model(n_features, hidden):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((n_features,))
    x = inputs
    for units in hidden:
        x = keras.layers.Dense(units, activation="tanh")(x)
    outputs = keras.layers.Dense(2)(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("n_features, hidden", [(12, ()), (10, (16, 8))], ids=["linear12", "mlp10"])
def test_shap_kernel_equals_exact_shapley(n_features, hidden):
    model = _model(n_features, hidden)
    rng = np.random.default_rng(1)
    background = rng.normal(size=(8, n_features)).astype("float32")
    x = rng.normal(size=(2, n_features)).astype("float32") * 2
    f = lambda z: np.asarray(model.predict(z, batch_size=8192, verbose=0))
    expl = explain(model, x, "shap-kernel", background=background, target=1, nsamples=2 ** n_features + 2,
                   kind="tabular")
    for i in range(len(x)):
        exact = exact_shapley(f, x[i], background, 1)
        assert np.count_nonzero(np.abs(exact) > 1e-3) > 10 or n_features <= 10
        np.testing.assert_allclose(expl.values[i], exact, atol=1e-3)


def test_l1_reg_is_an_option_and_validated():
    model = _model(12, ())
    rng = np.random.default_rng(1)
    background = rng.normal(size=(8, 12)).astype("float32")
    x = rng.normal(size=(1, 12)).astype("float32") * 2
    sparse = explain(model, x, "shap-kernel", background=background, target=1, nsamples=600,
                     l1_reg="num_features(3)", kind="tabular")
    assert np.count_nonzero(sparse.values) <= 3
    with pytest.raises(ValueError, match="l1_reg"):
        explain(model, x, "shap-kernel", background=background, l1_reg=True, kind="tabular")
