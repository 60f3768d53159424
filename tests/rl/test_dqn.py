"""The Keras 3 DQN: replay memory, targets, target updates, checkpoint/resume."""

import keras
import numpy as np
import pytest

from adl_keras.rl import dqn, envs, qnetworks


def small_config(**overrides):
    kwargs = dict(env_id="CartPole-v1", hidden_units=(16, 16), total_steps=400, learning_starts=100,
                  buffer_size=1000, batch_size=32, train_every=2, gradient_steps=2, target_update_period=20,
                  epsilon_decay_steps=200, eval_every=0, jit_compile=False, seed=3)
    kwargs.update(overrides)
    return dqn.DQNConfig(**kwargs)


def test_replay_memory_ring_buffer_and_state():
    memory = dqn.ReplayMemory(3, (2,), seed=0)
    for i in range(5):
        memory.add(np.full(2, i), i % 2, float(i), np.full(2, i + 1), i == 4)
    assert len(memory) == 3 and memory.position == 2
    # The oldest two transitions (0, 1) were overwritten by 3 and 4.
    assert sorted(memory.rewards.tolist()) == [2.0, 3.0, 4.0]
    assert memory.dones[memory.rewards == 4.0][0] == 1.0
    obs, actions, rewards, next_obs, dones = memory.sample(8)
    assert obs.shape == (8, 2) and actions.shape == (8,) and dones.dtype == np.float32
    np.testing.assert_array_equal(next_obs, obs + 1)
    clone = dqn.ReplayMemory(3, (2,), seed=99)
    clone.set_state(memory.get_state())
    np.testing.assert_array_equal(clone.sample(4)[2], memory.sample(4)[2])
    with pytest.raises(ValueError, match="capacity"):
        dqn.ReplayMemory(0, (2,))


def test_huber_matches_keras():
    x = np.linspace(-3, 3, 13).astype("float32")
    ours = keras.ops.convert_to_numpy(dqn.huber(x, 1.5))
    ref = [keras.losses.Huber(delta=1.5, reduction=None)(np.array([v]), np.array([0.0])) for v in x]
    np.testing.assert_allclose(ours, np.array(ref).ravel(), rtol=1e-6)


@pytest.mark.parametrize("double_dqn", [False, True])
def test_learner_loss_is_the_huber_td_error(double_dqn):
    agent = dqn.DQN(small_config(double_dqn=double_dqn, gamma=0.9))
    agent.train(steps=150)  # fills the memory past learning_starts
    # Make target and online differ so Double DQN differs from DQN.
    agent.target.set_weights([w + 0.1 for w in agent.target.get_weights()])
    rng_state = agent.memory.rng.bit_generator.state
    obs, actions, rewards, next_obs, dones = agent.memory.sample(agent.config.batch_size)
    agent.memory.rng.bit_generator.state = rng_state
    q = agent.online(obs).numpy()
    q_next_target = agent.target(next_obs).numpy()
    if double_dqn:
        a_star = agent.online(next_obs).numpy().argmax(axis=1)
        q_next = q_next_target[np.arange(len(a_star)), a_star]
    else:
        q_next = q_next_target.max(axis=1)
    td = rewards + 0.9 * (1 - dones) * q_next - q[np.arange(len(actions)), actions]
    expected = np.mean(np.where(np.abs(td) <= 1, 0.5 * td**2, np.abs(td) - 0.5))
    assert agent.learner_update() == pytest.approx(expected, rel=1e-5)


def test_soft_and_hard_target_updates():
    agent = dqn.DQN(small_config(target_update="soft", tau=0.25))
    agent.train(steps=120)
    target_before = agent.target.get_weights()
    agent.learner_update()
    online_after = agent.online.get_weights()
    for t_new, t_old, o in zip(agent.target.get_weights(), target_before, online_after):
        np.testing.assert_allclose(t_new, 0.25 * o + 0.75 * t_old, rtol=1e-5, atol=1e-6)

    hard = dqn.DQN(small_config(target_update="hard", target_update_period=5))
    hard.train(steps=101)  # 1 learner call of 2 updates at step 100
    assert hard.updates == 2
    before = hard.target.get_weights()
    for _ in range(2):
        hard.learner_update()
    assert hard.updates == 4
    for a, b in zip(before, hard.target.get_weights()):
        np.testing.assert_array_equal(a, b)  # no copy before 5 updates
    hard.learner_update()
    for a, b in zip(hard.online.get_weights(), hard.target.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_epsilon_schedule_and_config_errors():
    cfg = small_config(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_steps=100)
    assert cfg.epsilon(0) == 1.0 and cfg.epsilon(50) == pytest.approx(0.55) and cfg.epsilon(10**6) == pytest.approx(0.1)
    for kwargs, message in [({"batch_size": 0}, "batch_size"), ({"network": "rnn"}, "network"),
                            ({"target_update": "sometimes"}, "target_update"), ({"tau": 0.0}, "tau"),
                            ({"gradient_steps": 0}, "gradient_steps"), ({"batch_size": 2000}, "buffer_size")]:
        with pytest.raises(ValueError, match=message):
            small_config(**kwargs)


@pytest.mark.parametrize("build", [
    lambda: qnetworks.mlp_q_network((4,), 3, (8, 5)),
    lambda: qnetworks.cnn_q_network((10, 10, 4), 3, filters=(4, 2), hidden_units=(8,)),
])
def test_numpy_mirror_equals_keras(build):
    model = build()
    mirror = qnetworks.NumpyQNetwork(model)
    mirror.set_flat_weights(qnetworks.flat_weights(model))
    x = np.random.default_rng(0).random((3,) + tuple(model.input_shape[1:])).astype("float32")
    np.testing.assert_allclose(mirror(x), keras.ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="flat.size"):
        mirror.set_flat_weights(np.zeros(3))


def test_checkpoint_resume_continues_exactly(tmp_path):
    """Networks, optimizer, replay memory, env, RNGs and counters: a run that is
    checkpointed, reloaded into a new agent and continued equals an
    uninterrupted run bit for bit (XLA-compiled learner included)."""
    config = small_config(total_steps=300, jit_compile=True, target_update_period=30)
    straight = dqn.DQN(config)
    straight.train()

    first = dqn.DQN(config)
    first.train(steps=187)  # between learner calls (train_every=2)
    while first.episode_return == 0:  # make sure the split is mid-episode
        first.train(steps=1)
    path = first.save_checkpoint(tmp_path / "ckpt.pkl")
    assert not list(tmp_path.glob("*.part"))  # atomic write leaves no temporary file
    resumed = dqn.DQN.load_checkpoint(path)
    assert resumed.env_steps == first.env_steps and resumed.episode_return == first.episode_return
    resumed.train()

    assert (resumed.env_steps, resumed.updates, resumed.episodes) == (straight.env_steps, straight.updates,
                                                                      straight.episodes)
    for a, b in zip(straight.online.get_weights() + straight.target.get_weights(),
                    resumed.online.get_weights() + resumed.target.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    assert straight.history["episode_returns"] == resumed.history["episode_returns"]
    np.testing.assert_array_equal(straight.memory.rewards, resumed.memory.rewards)
    np.testing.assert_array_equal(straight.observation, resumed.observation)
    assert straight.rng.random() == resumed.rng.random()


def test_evaluate_greedy_is_deterministic():
    model = qnetworks.mlp_q_network((4,), 2, (8,))
    a = envs.evaluate_greedy(model, "CartPole-v1", episodes=5, seed=1)
    b = envs.evaluate_greedy(model, "CartPole-v1", episodes=5, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5,) and np.all(a >= 1)
    with pytest.raises(ValueError, match="episodes"):
        envs.evaluate_greedy(model, "CartPole-v1", episodes=0)


def test_minatar_env_and_cnn_agent_run():
    env = envs.MinAtarEnv("breakout")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (10, 10, 4) and obs.dtype == np.float32 and env.num_actions == 3
    agent = dqn.DQN(dqn.DQNConfig(env_id="MinAtar/Breakout", network="cnn", hidden_units=(16,),
                                  conv_filters=(4,), total_steps=120, learning_starts=60, batch_size=8,
                                  buffer_size=200, eval_every=0, jit_compile=False))
    agent.train()
    assert agent.updates == 64 and agent.online.output_shape == (None, 3)
    with pytest.raises(ValueError, match="game"):
        envs.MinAtarEnv("pong")


def test_g_updates_in_one_call_equal_g_single_update_calls(jit_compile=True):
    """G updates in one compiled call = G one-update calls on the same batches,
    and the hard target copy happens exactly every target_update_period
    updates, also in the middle of a call (period 3, G 8: after updates 3 and 6).
    XLA-compiled, the training path (the graph-mode path shares the code)."""
    g, b = 8, 16
    config = small_config(target_update="hard", target_update_period=3, batch_size=b, jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    batches = (rng.normal(size=(g, b, 4)).astype("float32"), rng.integers(0, 2, (g, b)).astype("int32"),
               rng.normal(size=(g, b)).astype("float32"), rng.normal(size=(g, b, 4)).astype("float32"),
               (rng.random((g, b)) < 0.1).astype("float32"))
    batched, single = dqn.DQN(config), dqn.DQN(config)
    for x, y in zip(batched.online.get_weights(), single.online.get_weights()):
        np.testing.assert_array_equal(x, y)
    losses = batched.learner_call(batches=batches)
    single_losses, online_after = [], []
    for i in range(g):
        single_losses.append(single.learner_call(batches=[a[i:i + 1] for a in batches])[0])
        online_after.append(single.online.get_weights())
    assert batched.updates == single.updates == g
    np.testing.assert_allclose(losses, single_losses, rtol=0, atol=1e-6)
    for x, y in zip(batched.online.get_weights(), single.online.get_weights()):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)
    # the target holds the online weights of update 6 (the last multiple of 3), in both
    for x, y, z in zip(batched.target.get_weights(), single.target.get_weights(), online_after[5]):
        np.testing.assert_allclose(x, z, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(y, z)
    assert not np.allclose(batched.target.get_weights()[0], batched.online.get_weights()[0])
    # acting uses the weights of the last update
    np.testing.assert_allclose(batched.policy(batches[0][0]), single.q_values(batches[0][0]), atol=1e-5)
