"""Finding 8: wrong values are refused with the argument and value named;
a bool is not an int where a count is expected."""

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.conv import builders as conv_builders
from adl_keras.explain import zoo_entries as explain_entries
from adl_keras.rl import dqn, qnetworks, tabular
from adl_keras.rnn import builders as rnn_builders


@pytest.mark.parametrize("build", [
    lambda v: conv_builders.lenet5((8, 8, 1), num_classes=v),
    lambda v: conv_builders.resnet_small((16, 16, 3), num_classes=v),
    lambda v: conv_builders.vgg_small((16, 16, 3), num_classes=v),
    lambda v: rnn_builders.sequence_classifier((5, 3), num_classes=v),
    lambda v: explain_entries.tabular_mlp(4, num_classes=v),
    lambda v: zoo.load_model("lenet5.digits", pretrained=False, num_classes=v),
])
def test_num_classes_true_is_refused(build):
    with pytest.raises(ValueError, match="num_classes=True"):
        build(True)


@pytest.mark.parametrize("call, needle", [
    (lambda: qnetworks.mlp_q_network((4,), True, (8,)), "num_actions=True"),
    (lambda: qnetworks.mlp_q_network((4,), 2, (True,)), "True"),
    (lambda: dqn.ReplayMemory(True, (4,)), "capacity=True"),
    (lambda: dqn.DQNConfig(learning_starts=True), "learning_starts=True"),
    (lambda: dqn.DQNConfig(batch_size=True), "batch_size=True"),
    (lambda: dqn.DQNConfig(seed=False), "seed=False"),
    (lambda: explain_entries.tabular_mlp(True, 3), "num_features=True"),
    (lambda: zoo.train("lenet5.digits", seed=True), "seed=True"),
])
def test_bool_counts_are_refused(call, needle):
    with pytest.raises(ValueError) as err:
        call()
    assert needle in str(err.value)


def test_pretrained_false_with_weights_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"pretrained=False, weights='x.weights.h5'"):
        zoo.load_model("lenet5.digits", pretrained=False, weights="x.weights.h5", sha256="0" * 64)
    with pytest.raises(ValueError, match="sha256="):
        zoo.load_model("lenet5.digits", sha256="0" * 64)


@pytest.mark.parametrize("kwargs, needle", [
    ({"max_grad_norm": -1}, "max_grad_norm=-1"),
    ({"max_grad_norm": 0}, "max_grad_norm=0"),
    ({"huber_delta": 0}, "huber_delta=0"),
    ({"huber_delta": -1.0}, "huber_delta=-1.0"),
])
def test_dqn_config_refuses_silent_no_ops(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        dqn.DQNConfig(**kwargs)
    assert dqn.DQNConfig(max_grad_norm=None).max_grad_norm is None  # None still means "no clipping"


def test_index_true_is_refused():
    from adl_keras import cli
    from adl_keras.explain import zoo_explain

    with pytest.raises(ValueError, match="index=True"):
        zoo_explain.explain_zoo_entry("mlp.wine", True, "saliency", None)
    with pytest.raises(SystemExit):  # argparse: --index takes an int
        cli.build_parser().parse_args(["explain", "mlp.wine", "--index", "True", "--out", "x.png"])


def test_explanation_index_true_is_refused():
    from adl_keras.explain.explanation import Explanation

    values = np.arange(6.0).reshape(2, 3)
    expl = Explanation(values=values, base_values=np.zeros(2), data=values, output_names=["a", "b"],
                       method="saliency", seconds=0.0, targets=np.zeros(2, int), output_values=np.zeros(2),
                       kind="tabular")
    np.testing.assert_array_equal(expl[1].values, values[1:])
    with pytest.raises(TypeError, match="index=True"):
        expl[True]


def test_tabular_episodes_bool_is_refused():
    with pytest.raises(ValueError, match="episodes=True"):
        tabular.QLearningConfig(episodes=True)


@pytest.mark.parametrize("option", [{"steps": True}, {"batch_size": False}, {"seed": True}, {"steps": 0}])
def test_explain_count_options_refuse_bools(option):
    import keras

    from adl_keras.explain import explain

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.ones((1, 3), "float32")
    (name, value), = option.items()
    with pytest.raises(ValueError, match=f"{name}={value!r}"):
        explain(model, x, "integrated-gradients", background=x, **option)
