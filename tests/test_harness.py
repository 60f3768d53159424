import keras
import numpy as np
import pytest

from adl_keras.testing import check_layer, check_model


def test_harness_passes_builtin_layer(tmp_path):
    report = check_layer(keras.layers.Dense, {"units": 3}, input_shape=(4, 5), expected_output_shape=(4, 3),
                         tmp_dir=tmp_path)
    assert report["keras_max_diff"] == 0 and report["savedmodel_max_diff"] < 1e-6
    assert report["weights_changed"] == 2


def test_harness_catches_incomplete_config(tmp_path):
    @keras.saving.register_keras_serializable(package="adl_keras_tests")
    class ForgetfulScale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):  # forgets `factor`
            return {"name": self.name, "dtype": self.dtype_policy.name}

    with pytest.raises((AssertionError, TypeError)):
        check_layer(ForgetfulScale, {"factor": 3.0}, input_shape=(2, 3), tmp_dir=tmp_path, fit=False)


def test_harness_catches_wrong_output_shape(tmp_path):
    with pytest.raises(AssertionError, match="output shape"):
        check_layer(keras.layers.Dense, {"units": 3}, input_shape=(4, 5), expected_output_shape=(4, 2),
                    tmp_dir=tmp_path)


def test_harness_catches_frozen_model(tmp_path):
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(2, trainable=False)
    model = keras.Model(inputs, keras.layers.Dense(2)(dense(inputs)))
    model.layers[-1].trainable = False
    report = check_model(model, np.ones((2, 3), "float32"), tmp_dir=tmp_path)
    assert "weights_changed" not in report  # nothing trainable: the fit step is skipped, not faked
