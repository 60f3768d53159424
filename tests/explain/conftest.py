import numpy as np
import pytest


@pytest.fixture(scope="session")
def digits():
    from adl_keras import data

    return data.load("digits")


@pytest.fixture(scope="session")
def lenet(digits):
    from adl_keras import zoo

    return zoo.load_model("lenet5.digits")


@pytest.fixture(scope="session")
def linear_model():
    """f(x) = W^T x + b with known weights (5 features, 3 outputs, no activation)."""
    import keras

    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3)).astype("float32")
    b = np.array([0.1, -0.2, 0.3], dtype="float32")
    inp = keras.Input((5,))
    dense = keras.layers.Dense(3, name="predictions")
    model = keras.Model(inp, dense(inp))
    dense.set_weights([w, b])
    return model, w, b


@pytest.fixture(scope="session")
def lstm_model():
    """A small (untrained, seeded) LSTM classifier on (8, 8) sequences."""
    import keras

    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8))
    h = keras.layers.LSTM(8, name="lstm")(inp)
    out = keras.layers.Dense(4, activation="softmax", name="predictions")(h)
    return keras.Model(inp, out, name="tiny_lstm")
