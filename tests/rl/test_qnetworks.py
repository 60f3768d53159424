"""Q-network builders and the QTable layer through the Keras harness."""

import keras
import numpy as np
import pytest

from adl_keras.rl import qnetworks
from adl_keras.testing import check_model


def test_mlp_q_network_shapes_and_harness():
    model = qnetworks.mlp_q_network((4,), 2, hidden_units=(8, 8))
    assert [l.name for l in model.layers[1:]] == ["hidden_1", "hidden_2", "q_values"]
    assert model.count_params() == (4 * 8 + 8) + (8 * 8 + 8) + (8 * 2 + 2)
    check_model(model, np.random.default_rng(0).standard_normal((3, 4)).astype("float32"))


def test_cnn_q_network_shapes_and_harness():
    model = qnetworks.cnn_q_network((10, 10, 4), 3, filters=(4,), hidden_units=(16,))
    # valid 3x3 conv: 10x10 -> 8x8x4 = 256 features
    assert model.get_layer("features").output.shape[-1] == 256
    check_model(model, np.random.default_rng(0).random((2, 10, 10, 4)).astype("float32"))


def test_q_table_model_lookup_and_harness():
    model = qnetworks.q_table_model(5, 3)
    table = np.arange(15, dtype="float32").reshape(5, 3)
    qnetworks.set_q_table(model, table)
    states = np.array([[4], [0], [2]], dtype="int32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(states)), table[[4, 0, 2]])
    np.testing.assert_array_equal(qnetworks.get_q_table(model), table)
    check_model(model, states, fit=True)


@pytest.mark.parametrize("call,message", [
    (lambda: qnetworks.mlp_q_network((4, 4), 2), "input_shape"),
    (lambda: qnetworks.mlp_q_network((4,), 0), "num_actions"),
    (lambda: qnetworks.mlp_q_network((4,), 2, hidden_units=()), "hidden_units"),
    (lambda: qnetworks.cnn_q_network((10, 10), 2), "input_shape"),
    (lambda: qnetworks.cnn_q_network((10, 10, 4), 2, kernel_size=0), "kernel_size"),
    (lambda: qnetworks.QTable(0, 2), "num_states"),
    (lambda: qnetworks.QTable(4, 2.5), "num_actions"),
    (lambda: qnetworks.set_q_table(qnetworks.q_table_model(4, 2), np.zeros((2, 4))), "q.shape"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
