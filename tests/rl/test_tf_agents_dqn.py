"""The TF-Agents path: gymnasium adapter, shared Q-network specs, DqnAgent, PolicySaver."""

import keras
import numpy as np
import pytest

from adl_keras import compat
from adl_keras.rl import qnetworks, tf_agents_dqn


@pytest.fixture(autouse=True, scope="module")
def tf_agents_bridge():
    """TF-Agents is only ever imported through the Keras 2/3 bridge."""
    return compat.import_tf_agents()


def test_gymnasium_adapter_specs_and_episode_ends():
    from tf_agents.environments import utils

    env = tf_agents_dqn.gymnasium_py_environment("CartPole-v1", seed=0)
    assert env.observation_spec().shape == (4,) and env.action_spec().maximum == 1
    utils.validate_py_environment(env, episodes=2)
    step = env.reset()
    assert step.is_first()
    while not step.is_last():
        step = env.step(np.int64(0))
    # Pushing the pole one way ends the episode by termination: discount 0.
    assert float(step.discount) == 0.0
    truncating = tf_agents_dqn.gymnasium_py_environment(
        __import__("gymnasium").make("CartPole-v1", max_episode_steps=3), seed=0)
    truncating.reset()
    for _ in range(3):
        step = truncating.step(np.int64(_ % 2))
    assert step.is_last() and float(step.discount) == 1.0  # truncation keeps bootstrapping
    with pytest.raises(ValueError, match="Discrete"):
        tf_agents_dqn.gymnasium_py_environment("Pendulum-v1")


def test_q_network_from_the_same_specs_as_keras3():
    env = tf_agents_dqn.gymnasium_py_environment("CartPole-v1", seed=0)
    from tf_agents.specs import tensor_spec

    obs_spec = tensor_spec.from_spec(env.observation_spec())
    act_spec = tensor_spec.from_spec(env.action_spec())
    specs = qnetworks.mlp_layer_specs(2, (12, 7))
    q_net = tf_agents_dqn.tf_agents_q_network(obs_spec, act_spec, specs)
    model = qnetworks.mlp_q_network((4,), 2, (12, 7))
    assert [tuple(v.shape) for v in q_net.trainable_weights] == [tuple(w.shape) for w in model.get_weights()]
    tf_agents_dqn.copy_weights(model, q_net)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(q_net(x)[0].numpy(), keras.ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="units"):
        tf_agents_dqn.tf_agents_q_network(obs_spec, act_spec, qnetworks.mlp_layer_specs(3, (4,)))


def test_dqn_agent_trains_and_policy_saver_round_trips(tmp_path):
    import tensorflow as tf

    config = tf_agents_dqn.TFAgentsDQNConfig(env_id="CartPole-v1", hidden_units=(16,), iterations=30,
                                             eval_every=15, eval_episodes=2, batch_size=16,
                                             initial_collect_steps=50)
    parts, history = tf_agents_dqn.train_tf_agents_dqn(config)
    assert history["iterations"] == 30 and len(history["eval_returns"]) == 2
    assert int(parts["agent"].train_step_counter.numpy()) == 30
    path = tf_agents_dqn.save_policy(parts["agent"], tmp_path / "policy")
    loaded = tf.saved_model.load(path)
    time_step = parts["tf_env"].reset()
    for _ in range(5):
        ours = parts["agent"].policy.action(time_step).action.numpy()
        theirs = loaded.action(time_step).action.numpy()
        np.testing.assert_array_equal(ours, theirs)
        time_step = parts["tf_env"].step(ours)
    # The greedy TF-Agents policy equals argmax of the Keras 3 copy of its Q-network.
    model = tf_agents_dqn.keras_q_network_from(parts["q_network"], (4,), 2, (16,))
    obs = time_step.observation.numpy()
    np.testing.assert_array_equal(parts["agent"].policy.action(time_step).action.numpy(),
                                  keras.ops.convert_to_numpy(model(obs)).argmax(axis=1))
