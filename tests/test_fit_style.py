"""The training helpers behave like ``fit``: arrays or tf.data, callbacks,
validation_data, verbose and other fit arguments, a Keras History back."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from adl_keras import training
from adl_keras.gan.builders import dcgan_discriminator, dcgan_generator
from adl_keras.gan.training import GANConfig, train_gan


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def _classifier():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])


def _blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype("int32")
    return (rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[y]).astype("float32"), y


def test_fit_classifier_takes_arrays_or_tf_data_with_fit_arguments():
    x, y = _blobs()
    count = _Count()
    config = training.ClassifierConfig(epochs=3, patience=5)
    history = training.fit_classifier(_classifier(), (x, y), config, validation_data=(x[:32], y[:32]),
                                      callbacks=[count], verbose=0, class_weight={0: 1.0, 1: 1.0, 2: 2.0})
    assert isinstance(history, keras.callbacks.History) and count.epochs == 3
    assert len(history.history["val_accuracy"]) == 3
    summary = training.fit_summary(history)
    assert summary["epochs_run"] == 3 and summary["config"]["epochs"] == 3
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = training.fit_classifier(_classifier(), ds, config, epochs=2)  # no validation: no early stopping
    assert len(history.history["loss"]) == 2 and "val_loss" not in history.history
    assert not [w for w in caught if "shuffle" in str(w.message)]   # stock fit(ds) warns "shuffle=True ... ignored"


def test_train_gan_takes_a_tf_data_dataset():
    images = np.random.default_rng(0).random((32, 8, 8, 1)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(images).batch(16)
    count = _Count()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan, info = train_gan(dcgan_generator(8, base_filters=4), dcgan_discriminator(base_filters=4), ds,
                              GANConfig(epochs=2, batch_size=16, linear_decay=True), callbacks=[count])
    assert not [w for w in caught if "shuffle" in str(w.message)]
    assert count.epochs == 2 and len(info["history"]["d_loss"]) == 2
    assert isinstance(gan.history, keras.callbacks.History) and len(gan.history.history["g_loss"]) == 2
