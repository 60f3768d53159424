"""The TF-Agents path: ``DqnAgent`` on gymnasium environments.

* :func:`gymnasium_py_environment` adapts a gymnasium env to TF-Agents'
  ``PyEnvironment`` (tf-agents 0.19 ships only a ``gym`` suite), mapping
  gymnasium's ``terminated`` to a terminal step (discount 0) and
  ``truncated`` to a truncation (the value still bootstraps).
* :func:`tf_agents_q_network` builds the Q-network from the same layer specs
  as the Keras 3 builders in :mod:`adl_keras.rl.qnetworks` (same layers, same
  sizes, same weight order), as a ``tf_keras``-based TF-Agents ``Sequential``;
  :func:`copy_weights` moves weights between the two.
* :func:`train_tf_agents_dqn` runs ``DqnAgent`` (or ``DdqnAgent``) with
  ``TFUniformReplayBuffer`` and ``DynamicStepDriver``, one collect step per
  train step, as in the TF-Agents DQN tutorial.
* :func:`save_policy` exports the greedy policy with ``PolicySaver``.

TF-Agents is imported only through :func:`adl_keras.compat.import_tf_agents`,
which routes ``tf.keras`` to ``tf_keras`` while ``import keras`` stays Keras 3,
so this module runs in the same process as the Keras 3 DQN.
"""

import dataclasses
import time

import numpy as np

from adl_keras.rl import envs as envs_lib
from adl_keras.rl import qnetworks


def _tf_agents():
    from adl_keras import compat

    return compat.import_tf_agents()


def gymnasium_py_environment(env_id="CartPole-v1", seed=None, discount=1.0):
    """A gymnasium environment as a TF-Agents ``PyEnvironment``.

    Args:
        env_id: gymnasium id with a Box observation and Discrete action space
            (default "CartPole-v1"), or a gymnasium.Env.
        seed: seed of the first reset, or None.
        discount: per-step discount reported in time steps (default 1.0; the
            agent's ``gamma`` multiplies it).

    Returns:
        tf_agents.environments.py_environment.PyEnvironment.

    Example:
        >>> env = gymnasium_py_environment("CartPole-v1", seed=0)
        >>> time_step = env.reset()
    """
    _tf_agents()
    import gymnasium as gym
    from tf_agents.environments import py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts

    env = gym.make(env_id) if isinstance(env_id, str) else env_id
    if not hasattr(env.action_space, "n"):
        raise ValueError(f"env_id must have a Discrete action space. Received: {env.action_space}")

    class GymnasiumPyEnvironment(py_environment.PyEnvironment):
        def __init__(self):
            super().__init__(handle_auto_reset=False)
            self._env = env
            self._seed = seed
            self._done = True
            self._observation_spec = array_spec.ArraySpec(env.observation_space.shape, np.float32, "observation")
            self._action_spec = array_spec.BoundedArraySpec((), np.int64, 0, env.action_space.n - 1, "action")
            self._discount = np.float32(discount)

        def observation_spec(self):
            return self._observation_spec

        def action_spec(self):
            return self._action_spec

        @property
        def gymnasium_env(self):
            return self._env

        def _reset(self):
            obs, _ = self._env.reset(seed=self._seed)
            self._seed = None  # seed only the first episode; later ones continue the RNG
            self._done = False
            return ts.restart(np.asarray(obs, np.float32))

        def _step(self, action):
            if self._done:
                return self.reset()
            obs, reward, terminated, truncated, _ = self._env.step(int(action))
            obs = np.asarray(obs, np.float32)
            reward = np.float32(reward)
            self._done = terminated or truncated
            if terminated:
                return ts.termination(obs, reward)
            if truncated:
                return ts.truncation(obs, reward, self._discount)
            return ts.transition(obs, reward, self._discount)

    return GymnasiumPyEnvironment()


def tf_agents_q_network(observation_spec, action_spec, specs):
    """A TF-Agents Q-network built from Keras-3-builder layer ``specs``.

    Args:
        observation_spec: TensorSpec of one observation.
        action_spec: BoundedTensorSpec of the scalar discrete action.
        specs: list from :func:`adl_keras.rl.qnetworks.mlp_layer_specs` or
            ``cnn_layer_specs``; the last layer must have one unit per action.

    Returns:
        tf_agents.networks.Sequential of tf_keras layers, built.

    Example:
        >>> specs = qnetworks.mlp_layer_specs(2, (100, 50))
        >>> q_net = tf_agents_q_network(env.observation_spec(), env.action_spec(), specs)
    """
    _tf_agents()
    import tensorflow as tf
    from tf_agents.networks import sequential

    num_actions = int(action_spec.maximum) - int(action_spec.minimum) + 1
    if specs[-1][1].get("units") != num_actions:
        raise ValueError(f"The last layer must have {num_actions} units (one per action). "
                         f"Received: units={specs[-1][1].get('units')!r}")
    net = sequential.Sequential(qnetworks.build_keras_layers(specs, tf.keras.layers), input_spec=observation_spec)
    net.create_variables(observation_spec)
    return net


def copy_weights(source, target):
    """Copies weights between a Keras 3 Q-network and a TF-Agents one built
    from the same specs (either direction; both have get/set_weights).

    Args:
        source: a model/network, or a list of arrays in layer order.
        target: a model/network with ``set_weights``.
    """
    src = source.get_weights() if hasattr(source, "get_weights") else [np.asarray(w) for w in source]
    shapes = [tuple(w.shape) for w in target.get_weights()]
    if [tuple(np.shape(w)) for w in src] != shapes:
        raise ValueError(f"Weight shapes differ: source {[np.shape(w) for w in src]} vs target {shapes}.")
    target.set_weights(src)


def keras_q_network_from(q_net, input_shape, num_actions, hidden_units, name="tf_agents_q_network"):
    """The Keras 3 MLP with the weights of a TF-Agents Q-network of the same specs."""
    model = qnetworks.mlp_q_network(input_shape, num_actions, hidden_units, name=name)
    copy_weights([v.numpy() for v in q_net.trainable_weights], model)
    return model


def greedy_policy_from_keras(model, hidden_units=None):
    """The TF-Agents greedy policy of a Keras 3 MLP Q-network (e.g. ``dqn_tfagents.cartpole``).

    Builds the TF-Agents Q-network from the same layer specs, copies the
    weights into it and wraps it in ``QPolicy`` + ``GreedyPolicy``, as
    ``DqnAgent.policy`` is made.

    Args:
        model: Keras 3 model from :func:`adl_keras.rl.qnetworks.mlp_q_network`.
        hidden_units: its hidden widths (default: read from its ``hidden_*`` layers).

    Returns:
        tf_agents.policies.greedy_policy.GreedyPolicy.

    Example:
        >>> policy = greedy_policy_from_keras(zoo.load_model("dqn_tfagents.cartpole"))
    """
    _tf_agents()
    import tensorflow as tf
    from tf_agents.policies import greedy_policy, q_policy
    from tf_agents.specs import tensor_spec
    from tf_agents.trajectories import time_step as ts

    if hidden_units is None:
        hidden_units = tuple(l.units for l in model.layers if l.name.startswith("hidden_"))
    shape = tuple(model.input_shape[1:])
    num_actions = int(model.output_shape[-1])
    observation_spec = tensor_spec.TensorSpec(shape, tf.float32, name="observation")
    action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, num_actions - 1, name="action")
    q_net = tf_agents_q_network(observation_spec, action_spec, qnetworks.mlp_layer_specs(num_actions, hidden_units))
    copy_weights(model, q_net)
    policy = q_policy.QPolicy(ts.time_step_spec(observation_spec), action_spec, q_network=q_net)
    return greedy_policy.GreedyPolicy(policy)


@dataclasses.dataclass
class TFAgentsDQNConfig:
    """Hyperparameters of :func:`train_tf_agents_dqn` (defaults: the TF-Agents
    DQN tutorial: CartPole-v0, Dense 100-50, Adam 1e-3, batch 64, one collect
    step per iteration, epsilon 0.1, gamma 1.0, target update every step).

    Attributes:
        env_id: gymnasium id (default "CartPole-v0").
        hidden_units: default (100, 50).
        iterations: train iterations (default 20000).
        learning_rate: default 1e-3.
        batch_size: default 64.
        gamma: default 1.0.
        epsilon_greedy: float, or (start, end, decay_steps) (default 0.1).
        target_update_period: default 1.
        target_update_tau: default 1.0.
        double_dqn: use DdqnAgent (default False).
        td_loss: "squared" (the tutorial's) or "huber" (default "squared").
        replay_capacity: default 100000.
        initial_collect_steps: random-policy steps before training (default 100).
        eval_every: iterations between evaluations (default 1000).
        eval_episodes: default 10.
        eval_seed: default 20000.
        stop_at_return: stop once an evaluation reaches it, or None.
        jit_compile: XLA-compile ``agent.train`` (``common.function(...,
            jit_compile=True)``; default False, the tutorial's setting).
        seed: default 0.
    """

    env_id: str = "CartPole-v0"
    hidden_units: tuple = (100, 50)
    iterations: int = 20_000
    learning_rate: float = 1e-3
    batch_size: int = 64
    gamma: float = 1.0
    epsilon_greedy: object = 0.1
    target_update_period: int = 1
    target_update_tau: float = 1.0
    double_dqn: bool = False
    td_loss: str = "squared"
    replay_capacity: int = 100_000
    initial_collect_steps: int = 100
    eval_every: int = 1000
    eval_episodes: int = 10
    eval_seed: int = 20_000
    stop_at_return: float = None
    jit_compile: bool = False
    seed: int = 0

    def __post_init__(self):
        self.hidden_units = tuple(self.hidden_units)
        for name in ("iterations", "batch_size", "target_update_period", "replay_capacity", "eval_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
        if self.td_loss not in ("squared", "huber"):
            raise ValueError(f"td_loss must be 'squared' or 'huber'. Received: td_loss={self.td_loss!r}")


def make_agent(config, py_env=None):
    """A DqnAgent/DdqnAgent with its TF environment, replay buffer and driver.

    Returns:
        dict with ``agent``, ``q_network``, ``tf_env``, ``py_env``,
        ``replay_buffer``, ``driver``, ``dataset_iterator``.
    """
    _tf_agents()
    import tensorflow as tf
    from tf_agents.agents.dqn import dqn_agent
    from tf_agents.drivers import dynamic_step_driver
    from tf_agents.environments import tf_py_environment
    from tf_agents.policies import random_tf_policy
    from tf_agents.replay_buffers import tf_uniform_replay_buffer
    from tf_agents.utils import common

    tf.random.set_seed(config.seed)
    py_env = py_env or gymnasium_py_environment(config.env_id, seed=config.seed)
    tf_env = tf_py_environment.TFPyEnvironment(py_env)
    action_spec = tf_env.action_spec()
    num_actions = int(action_spec.maximum) - int(action_spec.minimum) + 1
    specs = qnetworks.mlp_layer_specs(num_actions, config.hidden_units)
    q_net = tf_agents_q_network(tf_env.observation_spec(), action_spec, specs)
    step_counter = tf.Variable(0, dtype=tf.int64)
    epsilon = config.epsilon_greedy
    if isinstance(epsilon, (tuple, list)):
        start, end, decay = epsilon

        def epsilon():  # linear decay over `decay` train steps
            frac = tf.minimum(1.0, tf.cast(step_counter, tf.float32) / float(decay))
            return start + frac * (end - start)

    agent_cls = dqn_agent.DdqnAgent if config.double_dqn else dqn_agent.DqnAgent
    agent = agent_cls(
        tf_env.time_step_spec(), action_spec, q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(learning_rate=config.learning_rate),
        epsilon_greedy=epsilon, gamma=config.gamma, target_update_period=config.target_update_period,
        target_update_tau=config.target_update_tau,
        td_errors_loss_fn=(common.element_wise_squared_loss if config.td_loss == "squared"
                           else common.element_wise_huber_loss),
        train_step_counter=step_counter)
    agent.initialize()
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(agent.collect_data_spec, batch_size=tf_env.batch_size,
                                                            max_length=config.replay_capacity)
    random_policy = random_tf_policy.RandomTFPolicy(tf_env.time_step_spec(), action_spec)
    dynamic_step_driver.DynamicStepDriver(tf_env, random_policy, observers=[buffer.add_batch],
                                          num_steps=config.initial_collect_steps).run()
    driver = dynamic_step_driver.DynamicStepDriver(tf_env, agent.collect_policy, observers=[buffer.add_batch],
                                                   num_steps=1)
    dataset = buffer.as_dataset(num_parallel_calls=2, sample_batch_size=config.batch_size, num_steps=2,
                                single_deterministic_pass=False).prefetch(2)
    return {"agent": agent, "q_network": q_net, "tf_env": tf_env, "py_env": py_env, "replay_buffer": buffer,
            "driver": driver, "dataset_iterator": iter(dataset), "num_actions": num_actions}


def train_tf_agents_dqn(config=None, progress=None):
    """Trains a TF-Agents DQN with one collect step per train step.

    Evaluation copies the Q-network into the Keras 3 MLP of the same specs
    and runs :func:`adl_keras.rl.envs.evaluate_greedy` (the greedy policy of
    ``agent.policy``), so both DQN paths are evaluated identically.

    Returns:
        (parts, history): :func:`make_agent`'s dict and a dict with
        ``eval_iterations``, ``eval_returns``, ``train_seconds`` (evaluation
        excluded), ``iterations``, ``best``.
    """
    _tf_agents()
    from tf_agents.utils import common

    config = config or TFAgentsDQNConfig()
    parts = make_agent(config)
    agent, driver, iterator = parts["agent"], parts["driver"], parts["dataset_iterator"]
    train = common.function(agent.train, jit_compile=config.jit_compile)
    collect = common.function(driver.run)
    obs_shape = tuple(parts["tf_env"].observation_spec().shape)
    history = {"eval_iterations": [], "eval_returns": [], "train_seconds": 0.0, "iterations": 0,
               "best": {"return": -np.inf, "iteration": None, "weights": None}}
    time_step, policy_state = None, None
    start = time.perf_counter()
    eval_time = 0.0
    if progress and hasattr(progress, "epoch"):
        progress.epoch(0, config.iterations, unit="iteration")  # starts the bar's clock with the work
    for it in range(1, config.iterations + 1):
        time_step, policy_state = collect(time_step=time_step, policy_state=policy_state)
        experience, _ = next(iterator)
        train(experience)
        history["iterations"] = it
        if config.eval_every and it % config.eval_every == 0:
            t0 = time.perf_counter()
            model = keras_q_network_from(parts["q_network"], obs_shape, parts["num_actions"], config.hidden_units)
            mean = float(np.mean(envs_lib.evaluate_greedy(model, config.env_id, config.eval_episodes,
                                                          config.eval_seed)))
            eval_time += time.perf_counter() - t0
            history["eval_iterations"].append(it)
            history["eval_returns"].append(mean)
            if mean > history["best"]["return"]:
                history["best"] = {"return": mean, "iteration": it, "weights": model.get_weights()}
            if progress and hasattr(progress, "epoch"):  # a progress bar (the CLI's Keras Progbar)
                progress.epoch(it, config.iterations, {"eval_return": mean}, unit="iteration")
            elif progress:
                progress(f"iteration {it} eval={mean:.1f}")
            if config.stop_at_return is not None and mean >= config.stop_at_return:
                break
    if hasattr(progress, "done"):  # close a bar that an early stop left short of its target
        progress.done()
    history["train_seconds"] = time.perf_counter() - start - eval_time
    return parts, history


def save_policy(agent, path):
    """Exports ``agent.policy`` (greedy) with TF-Agents' ``PolicySaver``.

    Returns:
        str path of the SavedModel folder; load it with ``tf.saved_model.load``
        and call ``.action(time_step)``.
    """
    _tf_agents()
    from tf_agents.policies import policy_saver

    policy_saver.PolicySaver(agent.policy, batch_size=None).save(str(path))
    return str(path)
