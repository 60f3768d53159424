"""Deep Q-Networks in Keras 3 (Mnih et al. 2015; Double DQN: van Hasselt et al. 2016).

The whole algorithm in one module: a uniform replay memory, an online and a
target Q-network (hard copy every ``target_update_period`` learner updates, or
soft Polyak averaging with ``tau``), the Huber loss on the TD error, optional
Double DQN targets, a linear epsilon schedule, and a jit-compiled (XLA)
learner step. Everything is seeded, and :meth:`DQN.save_checkpoint` /
:meth:`DQN.load_checkpoint` capture networks, optimizer, replay memory,
environment, random generators and counters so a resumed run continues
exactly like an uninterrupted one.

Example:
    >>> from adl_keras.rl.dqn import DQN, DQNConfig
    >>> agent = DQN(DQNConfig(env_id="CartPole-v1", total_steps=2000))
    >>> history = agent.train()
"""

import dataclasses
import io
import json
import time

import keras
import numpy as np
from keras import ops

from adl_keras.rl import envs as envs_lib
from adl_keras.rl import qnetworks

CHECKPOINT_VERSION = 2
CHECKPOINT_FORMAT = "adl_keras.dqn.checkpoint"


@dataclasses.dataclass
class DQNConfig:
    """Hyperparameters of :class:`DQN` (defaults suit CartPole; the tuned
    ``dqn.cartpole`` recipe is :func:`adl_keras.rl.zoo_entries.cartpole_dqn_config`).

    Attributes:
        env_id: gymnasium id or ``"MinAtar/<Game>"`` (default "CartPole-v1").
        network: "mlp" or "cnn" (default "mlp").
        hidden_units: MLP widths, or CNN dense widths (default (64, 64)).
        conv_filters: CNN conv filters (default (16,)).
        total_steps: environment steps of :meth:`DQN.train` (default 50000).
        learning_rate: Adam step size (default 1e-3).
        adam_epsilon: Adam's epsilon (default 1e-7).
        batch_size: transitions per learner update (default 64).
        gamma: discount (default 0.99).
        buffer_size: replay capacity in transitions (default 50000).
        learning_starts: env steps before the first update (default 1000).
        train_every: env steps between learner calls (default 4).
        gradient_steps: learner updates per call, each on its own batch
            (default 4: one update per env step on average, as in
            rl-baselines3-zoo's ``train_freq``/``gradient_steps``). A call
            runs its G updates in one compiled loop; acting uses the weights
            of the last call, at most ``train_every`` env steps old. Larger
            values cost fewer calls (~1 ms of overhead each on CPU).
        target_update: "hard" (copy) or "soft" (Polyak) (default "hard").
        target_update_period: learner updates between hard copies (default 500).
        tau: soft update rate theta' <- tau theta + (1 - tau) theta' (default 0.005).
        double_dqn: use Double DQN targets (default True).
        huber_delta: the Huber loss' delta (default 1.0).
        max_grad_norm: global gradient-norm clip, or None (default 10.0).
        epsilon_start: initial exploration rate (default 1.0).
        epsilon_end: final exploration rate (default 0.02).
        epsilon_decay_steps: env steps of linear decay (default 10000).
        eval_every: env steps between greedy evaluations, 0 = never (default 2500).
        eval_episodes: episodes per evaluation (default 20).
        eval_seed: first reset seed of evaluation episodes (default 20000).
        keep_best: restore the best-evaluated online weights at the end of
            :meth:`DQN.train` (default True).
        stop_at_return: stop training once an evaluation reaches this mean
            return, or None (default None).
        jit_compile: XLA-compile the learner step (default True).
        seed: seeds the environment, exploration, replay sampling and the
            network initialisation (default 0).
    """

    env_id: str = "CartPole-v1"
    network: str = "mlp"
    hidden_units: tuple = (64, 64)
    conv_filters: tuple = (16,)
    total_steps: int = 50_000
    learning_rate: float = 1e-3
    adam_epsilon: float = 1e-7
    batch_size: int = 64
    gamma: float = 0.99
    buffer_size: int = 50_000
    learning_starts: int = 1000
    train_every: int = 4
    gradient_steps: int = 4
    target_update: str = "hard"
    target_update_period: int = 500
    tau: float = 0.005
    double_dqn: bool = True
    huber_delta: float = 1.0
    max_grad_norm: float = 10.0
    epsilon_start: float = 1.0
    epsilon_end: float = 0.02
    epsilon_decay_steps: int = 10_000
    eval_every: int = 2500
    eval_episodes: int = 20
    eval_seed: int = 20_000
    keep_best: bool = True
    stop_at_return: float = None
    jit_compile: bool = True
    seed: int = 0

    def __post_init__(self):
        self.hidden_units = tuple(self.hidden_units)
        self.conv_filters = tuple(self.conv_filters)
        positive = ("total_steps", "batch_size", "buffer_size", "train_every", "gradient_steps", "target_update_period",
                    "eval_episodes")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
        for name in ("learning_starts", "epsilon_decay_steps", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative int. Received: {name}={value!r}")
        if self.network not in ("mlp", "cnn"):
            raise ValueError(f"network must be 'mlp' or 'cnn'. Received: network={self.network!r}")
        if self.target_update not in ("hard", "soft"):
            raise ValueError(f"target_update must be 'hard' or 'soft'. Received: target_update={self.target_update!r}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1]. Received: tau={self.tau}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1]. Received: gamma={self.gamma}")
        if isinstance(self.huber_delta, bool) or not self.huber_delta > 0:
            raise ValueError(f"huber_delta must be > 0 (0 would make the loss zero). "
                             f"Received: huber_delta={self.huber_delta!r}")
        if self.max_grad_norm is not None and (isinstance(self.max_grad_norm, bool) or not self.max_grad_norm > 0):
            raise ValueError(f"max_grad_norm must be > 0, or None for no clipping. "
                             f"Received: max_grad_norm={self.max_grad_norm!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int. Received: seed={self.seed!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0. Received: learning_rate={self.learning_rate}")
        for name in ("epsilon_start", "epsilon_end"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]. Received: {name}={getattr(self, name)}")
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size must be <= buffer_size. Received: batch_size={self.batch_size}, "
                             f"buffer_size={self.buffer_size}")

    def epsilon(self, step):
        """epsilon_t = eps_start + min(1, t / T) (eps_end - eps_start)."""
        if self.epsilon_decay_steps == 0:
            return self.epsilon_end
        frac = min(1.0, step / self.epsilon_decay_steps)
        return self.epsilon_start + frac * (self.epsilon_end - self.epsilon_start)


class ReplayMemory:
    """Uniform experience replay (Lin 1992): a ring buffer of transitions.

    Args:
        capacity: int, most transitions kept; the oldest are overwritten.
        observation_shape: tuple.
        seed: int, seeds the sampling generator (default 0).
        observation_dtype: numpy dtype of stored observations (default float32).

    Example:
        >>> memory = ReplayMemory(1000, (4,))
        >>> memory.add(np.zeros(4), 1, 1.0, np.ones(4), False)
        >>> obs, actions, rewards, next_obs, dones = memory.sample(1)
    """

    def __init__(self, capacity, observation_shape, seed=0, observation_dtype="float32"):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive int. Received: capacity={capacity!r}")
        self.capacity = capacity
        shape = (capacity,) + tuple(observation_shape)
        self.observations = np.zeros(shape, dtype=observation_dtype)
        self.next_observations = np.zeros(shape, dtype=observation_dtype)
        self.actions = np.zeros(capacity, dtype="int32")
        self.rewards = np.zeros(capacity, dtype="float32")
        self.dones = np.zeros(capacity, dtype="float32")
        self.position = 0
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.size

    def add(self, observation, action, reward, next_observation, terminated):
        """Stores one transition; ``terminated`` (not truncation) stops bootstrapping."""
        i = self.position
        self.observations[i] = observation
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_observation
        self.dones[i] = float(terminated)
        self.position = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        """``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("Cannot sample from an empty ReplayMemory.")
        idx = self.rng.integers(0, self.size, size=batch_size)
        return (self.observations[idx], self.actions[idx], self.rewards[idx],
                self.next_observations[idx], self.dones[idx])

    def get_state(self):
        n = self.size
        return {"capacity": self.capacity, "position": self.position, "size": n,
                "observations": self.observations[:n].copy(), "next_observations": self.next_observations[:n].copy(),
                "actions": self.actions[:n].copy(), "rewards": self.rewards[:n].copy(),
                "dones": self.dones[:n].copy(), "rng": self.rng.bit_generator.state}

    def set_state(self, state):
        if state["capacity"] != self.capacity:
            raise ValueError(f"Checkpointed replay capacity {state['capacity']} != capacity={self.capacity}.")
        n = state["size"]
        for key in ("observations", "next_observations", "actions", "rewards", "dones"):
            getattr(self, key)[:n] = state[key]
        self.position, self.size = state["position"], n
        self.rng.bit_generator.state = state["rng"]


def build_q_network(config, observation_shape, num_actions, name="q_network"):
    """The Q-network a :class:`DQNConfig` asks for (MLP or CNN)."""
    if config.network == "mlp":
        return qnetworks.mlp_q_network(observation_shape, num_actions, config.hidden_units, name=name)
    return qnetworks.cnn_q_network(observation_shape, num_actions, config.conv_filters,
                                   hidden_units=config.hidden_units, name=name)


def huber(x, delta=1.0):
    """Huber loss: 0.5 x^2 if |x| <= delta else delta (|x| - 0.5 delta)."""
    abs_x = ops.abs(x)
    quadratic = ops.minimum(abs_x, delta)
    return 0.5 * quadratic**2 + delta * (abs_x - quadratic)


class DQN:
    """A DQN agent: environment, replay memory, online and target networks.

    Args:
        config: DQNConfig (default ``DQNConfig()``).

    Attributes:
        online, target: keras.Model Q-networks.
        memory: ReplayMemory.
        env_steps, updates, episodes: counters.
        history: dict of lists: ``episode_returns``, ``episode_end_steps``,
            ``eval_steps``, ``eval_returns``, ``losses`` (mean per 1000 updates),
            ``train_seconds``.

    Example:
        >>> agent = DQN(DQNConfig(total_steps=5000, eval_every=0))
        >>> agent.train()
        >>> returns = agent.evaluate(episodes=10)
    """

    def __init__(self, config=None):
        import tensorflow as tf

        self.config = config = config or DQNConfig()
        self.env, self.observation_shape, self.num_actions = envs_lib.make_env(config.env_id)
        keras.utils.set_random_seed(config.seed)
        self.online = build_q_network(config, self.observation_shape, self.num_actions, "online_q_network")
        self.target = build_q_network(config, self.observation_shape, self.num_actions, "target_q_network")
        self.target.set_weights(self.online.get_weights())
        self.optimizer = keras.optimizers.Adam(config.learning_rate, epsilon=config.adam_epsilon)
        self.optimizer.build(self.online.trainable_variables)
        self.memory = ReplayMemory(config.buffer_size, self.observation_shape, seed=config.seed + 1)
        self.rng = np.random.default_rng(config.seed + 2)
        self.env_steps = self.updates = self.episodes = 0
        self.history = {"episode_returns": [], "episode_end_steps": [], "eval_steps": [], "eval_returns": [],
                        "losses": [], "train_seconds": 0.0}
        self.best = {"return": -np.inf, "step": None, "weights": None}
        self._loss_sum, self._loss_count = 0.0, 0
        self.observation = np.asarray(self.env.reset(seed=config.seed)[0], dtype="float32")
        self.episode_return = 0.0

        obs_spec = tf.TensorSpec((None,) + tuple(self.observation_shape), tf.float32)
        self._q_values = tf.function(lambda x: self.online(x, training=False), input_signature=[obs_spec])
        # One trace per number of stacked batches G (a static shape); calls go
        # to the traced concrete function, whose dispatch is cheaper.
        self._learn_many = tf.function(self._learn_many_step, jit_compile=config.jit_compile)
        self._learn_concrete = {}
        # Learner updates so far, as seen by the compiled loop (its hard target
        # copies); re-synced from `self.updates` when that was set from outside.
        self._update_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="learner_updates")
        self._counter_synced = 0
        # The acting copy of the online network (NumPy; synced after every learner call).
        self.policy = qnetworks.NumpyQNetwork(self.online)
        self._sync_policy()

    # ------------------------------------------------------------------ learner
    def _copy_to_target(self):
        for t, o in zip(self.target.weights, self.online.weights):
            t.assign(o)

    def _learn_step(self, observations, actions, rewards, next_observations, dones):
        """One gradient step on the Huber TD loss; returns the loss."""
        import tensorflow as tf

        cfg = self.config
        q_next_target = self.target(next_observations, training=False)
        if cfg.double_dqn:
            # Double DQN: y = r + gamma Q_target(s', argmax_a' Q_online(s', a'))
            a_star = ops.argmax(self.online(next_observations, training=False), axis=1)
            q_next = ops.take_along_axis(q_next_target, a_star[:, None], axis=1)[:, 0]
        else:
            # DQN: y = r + gamma max_a' Q_target(s', a')
            q_next = ops.max(q_next_target, axis=1)
        targets = rewards + cfg.gamma * (1.0 - dones) * q_next
        targets = ops.stop_gradient(targets)
        with tf.GradientTape() as tape:
            q = self.online(observations, training=True)
            q_taken = ops.take_along_axis(q, ops.cast(actions, "int32")[:, None], axis=1)[:, 0]
            loss = ops.mean(huber(targets - q_taken, cfg.huber_delta))
        variables = self.online.trainable_variables
        grads = tape.gradient(loss, variables)
        if cfg.max_grad_norm:
            grads, _ = tf.clip_by_global_norm(grads, cfg.max_grad_norm)
        self.optimizer.apply(grads, variables)
        if cfg.target_update == "soft":
            # Polyak averaging: theta' <- tau theta + (1 - tau) theta'
            for t, o in zip(self.target.weights, self.online.weights):
                t.assign(cfg.tau * o + (1.0 - cfg.tau) * t)
        return loss

    def _learn_many_step(self, packed):
        """G learner steps on stacked batches in one compiled call; returns
        [losses (G), flat online weights].

        ``packed`` is ``(G, B, 2 D + 3)`` float32: observation (D values),
        action, reward, next observation, done (one argument: each argument
        of a compiled call costs ~0.1 ms on CPU).

        The G steps run in a ``tf.while_loop``, not unrolled: XLA compiles
        one step's graph whatever G is (unrolling 16 steps took ~12 s to
        compile on a 2-core CPU, the loop ~1.6 s). The hard target copy runs
        inside the loop, right after update number u when u is a multiple of
        ``target_update_period`` (``updates_before`` + g + 1 = u), so the copy
        period is exact whatever G is.
        """
        import tensorflow as tf

        groups, batch = packed.shape[0], packed.shape[1]
        obs_shape = (groups, batch) + tuple(self.observation_shape)
        d = int(np.prod(self.observation_shape))
        observations = ops.reshape(packed[..., :d], obs_shape)
        actions = ops.cast(packed[..., d], "int32")
        rewards = packed[..., d + 1]
        next_observations = ops.reshape(packed[..., d + 2:2 * d + 2], obs_shape)
        dones = packed[..., 2 * d + 2]
        period = self.config.target_update_period
        hard = self.config.target_update == "hard"
        updates_before = self._update_counter.read_value()

        def body(g, losses):
            loss = self._learn_step(observations[g], actions[g], rewards[g], next_observations[g], dones[g])
            if hard:
                def copy():
                    self._copy_to_target()  # theta' <- theta every `period` updates
                    return tf.constant(True)

                tf.cond(tf.equal((updates_before + tf.cast(g, tf.int64) + 1) % period, 0), copy,
                        lambda: tf.constant(False))
            return g + 1, losses.write(g, loss)

        _, losses = tf.while_loop(lambda g, _: g < groups, body,
                                  (tf.constant(0), tf.TensorArray(tf.float32, size=groups)))
        self._update_counter.assign_add(groups)
        flat = ops.concatenate([ops.reshape(w, (-1,)) for w in self.online.trainable_variables])
        return ops.concatenate([losses.stack(), flat])

    def _sync_policy(self, flat=None):
        self.policy.set_flat_weights(qnetworks.flat_weights(self.online) if flat is None else flat)

    def _sample_stacked(self, groups):
        batch = self.memory.sample(self.config.batch_size * groups)
        return [b.reshape((groups, self.config.batch_size) + b.shape[1:]) for b in batch]

    def learner_call(self, gradient_steps=None, batches=None):
        """Samples G batches and runs G learner updates in one compiled call.

        G updates in one call equal G calls of one update on the same
        batches, target copies included (tested to 1e-6).

        Args:
            gradient_steps: G, default ``config.gradient_steps``.
            batches: optional stacked batches ``(observations, actions,
                rewards, next_observations, dones)``, each of leading shape
                (G, batch_size), to learn from instead of sampling the
                replay memory (default None).

        Returns:
            np.ndarray of the (G,) Huber losses.
        """
        import tensorflow as tf

        if batches is None:
            g = gradient_steps or self.config.gradient_steps
            batches = self._sample_stacked(g)
        else:
            g = int(np.shape(batches[0])[0])
            if gradient_steps is not None and gradient_steps != g:
                raise ValueError(f"gradient_steps must match the batches' leading axis {g}. "
                                 f"Received: gradient_steps={gradient_steps!r}")
        observations, actions, rewards, next_observations, dones = (np.asarray(b) for b in batches)
        lead = observations.shape[:2]
        packed = np.concatenate([observations.reshape(lead + (-1,)), actions.reshape(lead + (1,)),
                                 rewards.reshape(lead + (1,)), next_observations.reshape(lead + (-1,)),
                                 dones.reshape(lead + (1,))], axis=-1, dtype="float32")
        if self._counter_synced != self.updates:  # e.g. after set_state
            self._update_counter.assign(self.updates)
        fn = self._learn_concrete.get(packed.shape)
        if fn is None:
            fn = self._learn_concrete[packed.shape] = self._learn_many.get_concrete_function(
                tf.TensorSpec(packed.shape, tf.float32))
        out = fn(tf.constant(packed)).numpy()
        self._sync_policy(out[g:])
        self.updates += g
        self._counter_synced = self.updates
        return out[:g]

    def learner_update(self):
        """One learner update on one batch in its own compiled call; returns the loss."""
        return float(self.learner_call(1)[0])

    # ------------------------------------------------------------------- acting
    def q_values(self, observations):
        """Q(s, .) of the online network for a batch of observations (numpy)."""
        return self._q_values(np.asarray(observations, dtype="float32")).numpy()

    def act(self, observation, epsilon):
        """epsilon-greedy: a random action with probability epsilon, else argmax_a Q(s,a)."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(self.num_actions))
        return int(np.argmax(self.policy(observation[None])[0]))

    def evaluate(self, episodes=100, seed=10_000, model=None):
        """Returns of the greedy policy over seeded episodes (see ``envs.evaluate_greedy``)."""
        fn = self.policy if model is None else model
        return envs_lib.evaluate_greedy(lambda x: np.asarray(fn(x)), self.config.env_id, episodes, seed)

    # ----------------------------------------------------------------- training
    def train(self, steps=None, progress=None, checkpoint_path=None, checkpoint_every=0):
        """Runs the agent until ``config.total_steps`` env steps (or ``steps`` more).

        Args:
            steps: int env steps to run now, or None to run to ``total_steps``.
            progress: optional callable receiving status lines.
            checkpoint_path: where :meth:`save_checkpoint` writes, or None.
            checkpoint_every: env steps between checkpoints (default 0: never).

        Returns:
            ``self.history``.
        """
        cfg = self.config
        end = cfg.total_steps if steps is None else min(cfg.total_steps, self.env_steps + int(steps))
        start = time.perf_counter()
        eval_time = 0.0
        if progress and hasattr(progress, "epoch"):
            progress.epoch(self.env_steps, end, unit="step")  # starts the bar's clock with the work
        while self.env_steps < end:
            eps = cfg.epsilon(self.env_steps)
            action = self.act(self.observation, eps)
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            next_obs = np.asarray(next_obs, dtype="float32")
            self.memory.add(self.observation, action, reward, next_obs, terminated)
            self.episode_return += float(reward)
            self.observation = next_obs
            self.env_steps += 1
            if terminated or truncated:
                self.history["episode_returns"].append(self.episode_return)
                self.history["episode_end_steps"].append(self.env_steps)
                self.episodes += 1
                self.episode_return = 0.0
                self.observation = np.asarray(self.env.reset()[0], dtype="float32")
            if self.env_steps >= cfg.learning_starts and self.env_steps % cfg.train_every == 0:
                losses = self.learner_call()
                self._loss_sum += float(losses.sum())
                self._loss_count += len(losses)
                if self._loss_count >= 1000:
                    self.history["losses"].append(self._loss_sum / self._loss_count)
                    self._loss_sum, self._loss_count = 0.0, 0
            if cfg.eval_every and self.env_steps % cfg.eval_every == 0:
                t0 = time.perf_counter()
                mean = float(np.mean(self.evaluate(cfg.eval_episodes, cfg.eval_seed)))
                eval_time += time.perf_counter() - t0
                self.history["eval_steps"].append(self.env_steps)
                self.history["eval_returns"].append(mean)
                if mean > self.best["return"]:
                    self.best = {"return": mean, "step": self.env_steps, "weights": self.online.get_weights()}
                if progress:
                    recent = self.history["episode_returns"][-10:]
                    train_return = np.mean(recent) if recent else float("nan")
                    if hasattr(progress, "epoch"):  # a progress bar (the CLI's Keras Progbar)
                        progress.epoch(self.env_steps, end, {"eps": eps, "train_return": train_return,
                                                             "eval_return": mean}, unit="step")
                    else:
                        progress(f"step {self.env_steps} eps={eps:.3f} updates={self.updates} "
                                 f"train return (last 10)={train_return:.1f} eval={mean:.1f}")
                if cfg.stop_at_return is not None and mean >= cfg.stop_at_return:
                    break
            if checkpoint_path and checkpoint_every and self.env_steps % checkpoint_every == 0:
                self.save_checkpoint(checkpoint_path)
        if hasattr(progress, "done"):  # close a bar that an early stop left short of its target
            progress.done()
        self.history["train_seconds"] += time.perf_counter() - start - eval_time
        if cfg.keep_best and self.best["weights"] is not None:
            self.online.set_weights(self.best["weights"])
            self._sync_policy()
        return self.history

    # -------------------------------------------------------------- checkpoints
    def get_state(self):
        """Everything needed to continue training, as plain Python values and numpy arrays."""
        return {
            "version": CHECKPOINT_VERSION,
            "config": dataclasses.asdict(self.config),
            "online": self.online.get_weights(),
            "target": self.target.get_weights(),
            "optimizer": [np.array(v) for v in self.optimizer.variables],
            "memory": self.memory.get_state(),
            "rng": self.rng.bit_generator.state,
            "env": env_state(self.env),
            "observation": self.observation.copy(),
            "episode_return": self.episode_return,
            "counters": {"env_steps": self.env_steps, "updates": self.updates, "episodes": self.episodes},
            "history": self.history,
            "best": self.best,
            "loss_sum": (self._loss_sum, self._loss_count),
        }

    def set_state(self, state):
        if state.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"Unsupported checkpoint version {state.get('version')!r}; expected {CHECKPOINT_VERSION}.")
        self.online.set_weights(state["online"])
        self.target.set_weights(state["target"])
        for var, value in zip(self.optimizer.variables, state["optimizer"]):
            var.assign(value)
        self.memory.set_state(state["memory"])
        self.rng.bit_generator.state = state["rng"]
        restore_env_state(self.env, state["env"])
        self.observation = np.array(state["observation"], dtype="float32")
        self.episode_return = state["episode_return"]
        self.env_steps = state["counters"]["env_steps"]
        self.updates = state["counters"]["updates"]
        self.episodes = state["counters"]["episodes"]
        self.history = state["history"]
        self.best = state["best"]
        self._loss_sum, self._loss_count = state["loss_sum"]
        self._sync_policy()

    def save_checkpoint(self, path):
        """Writes the full training state to ``path`` atomically.

        The file is a NumPy ``.npz`` archive of plain arrays plus one JSON
        document (config, counters, history, random-generator states, the
        environment's state as values): no pickle, so loading a checkpoint
        cannot run code. It is written to a temporary file in the same
        folder, fsynced, then renamed over ``path``: a crash mid-write leaves
        the previous checkpoint intact.

        Returns:
            pathlib.Path of the checkpoint.
        """
        from adl_keras.zoo.store import atomic_write_bytes

        return atomic_write_bytes(path, encode_checkpoint(self.get_state()))

    @classmethod
    def load_checkpoint(cls, path):
        """A new agent in exactly the state :meth:`save_checkpoint` wrote.

        Raises:
            ValueError: ``path`` is not a checkpoint of this format (a pickle,
                an archive holding object arrays, a different version); it
                is refused before anything in it is used.
        """
        with open(path, "rb") as handle:
            state = decode_checkpoint(handle.read(), source=path)
        config = DQNConfig(**state["config"])
        agent = cls(config)
        agent.set_state(state)
        return agent


# ----------------------------------------------------------------- checkpoint format
# A checkpoint is an .npz archive (np.savez, read back with allow_pickle=False):
# "state.json" holds the state tree with every array replaced by a reference
# {"__array__": KEY} to the archive member KEY. Tuples, numpy scalars and
# dicts are tagged so the tree comes back with the same types.

def encode_checkpoint(state):
    """The bytes of an .npz checkpoint holding ``state`` (no pickle)."""
    arrays = {}

    def enc(value):
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError("Checkpoints hold numeric arrays only; got an object array.")
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__array__": key}
        if isinstance(value, np.generic):
            key = f"a{len(arrays)}"
            arrays[key] = np.asarray(value)
            return {"__scalar__": key}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"Checkpoint dict keys must be strings. Received keys: {list(value)[:5]}")
            return {"__dict__": {k: enc(v) for k, v in value.items()}}
        if isinstance(value, tuple):
            return {"__tuple__": [enc(v) for v in value]}
        if isinstance(value, list):
            return [enc(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(f"Cannot checkpoint a {type(value).__name__} value: {value!r:.80}")

    tree = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "state": enc(state)}
    buffer = io.BytesIO()
    np.savez(buffer, **{"state.json": np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)}, **arrays)
    return buffer.getvalue()


def decode_checkpoint(data, source="<bytes>"):
    """The state tree of checkpoint bytes; refuses anything but this format.

    Arrays are read with ``allow_pickle=False``, JSON is parsed as data, and
    no class named in the file is ever looked up: a crafted file can at
    worst give wrong numbers (arrays of the wrong shape are refused by Keras'
    ``set_weights`` and NumPy's assignment in :meth:`DQN.set_state`).

    Raises:
        ValueError: anything but a checkpoint of this format and version.
    """
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as err:  # numpy raises ValueError/OSError/BadZipFile variants
        raise ValueError(f"{source} is not an adl_keras DQN checkpoint (an .npz archive); refusing it "
                         f"(checkpoints are never unpickled). Detail: {err}") from None
    if not hasattr(archive, "files") or "state.json" not in archive.files:
        raise ValueError(f"{source} is not an adl_keras DQN checkpoint: no state.json member.")
    try:
        tree = json.loads(archive["state.json"].tobytes().decode())
        arrays = {}

        def array(key):
            if key not in arrays:
                arrays[key] = archive[key]  # allow_pickle=False: object arrays raise here
            return arrays[key]

        if not isinstance(tree, dict) or tree.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("wrong format tag")
        if tree.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"version {tree.get('version')!r}, expected {CHECKPOINT_VERSION}")

        def dec(value):
            if isinstance(value, list):
                return [dec(v) for v in value]
            if isinstance(value, dict):
                if set(value) == {"__array__"}:
                    return np.array(array(value["__array__"]))
                if set(value) == {"__scalar__"}:
                    return array(value["__scalar__"])[()]
                if set(value) == {"__tuple__"}:
                    return tuple(dec(v) for v in value["__tuple__"])
                if set(value) == {"__dict__"}:
                    return {k: dec(v) for k, v in value["__dict__"].items()}
                raise ValueError(f"unexpected object {sorted(value)[:5]}")
            return value

        return dec(tree["state"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
        raise ValueError(f"{source} is not a valid adl_keras DQN checkpoint ({err}); refusing it.") from None


# The environment's state as values: the attributes of the env, its wrappers
# and the objects they hold (gymnasium, MinAtar), captured as plain values,
# arrays and random-generator states, and written back into a freshly made env
# of the same id. No object is created from the checkpoint: only attributes
# the new env already has are assigned, with values of the same kind.
_ENV_MODULES = ("gymnasium", "minatar", "adl_keras")


def _is_plain(value):
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return True
    if isinstance(value, np.ndarray):
        return not value.dtype.hasobject
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _is_env_object(value):
    module = type(value).__module__ or ""
    return hasattr(value, "__dict__") and module.split(".")[0] in _ENV_MODULES and not isinstance(value, type)


def env_state(env, _seen=None):
    """The state of ``env`` (and of the objects it holds) as plain values."""
    seen = set() if _seen is None else _seen
    seen.add(id(env))
    out = {}
    for key, value in vars(env).items():
        if isinstance(value, np.random.Generator):
            out[key] = {"kind": "generator", "value": value.bit_generator.state}
        elif isinstance(value, np.random.RandomState):
            out[key] = {"kind": "random_state", "value": value.get_state(legacy=False)}
        elif _is_plain(value):
            out[key] = {"kind": "value", "value": value}
        elif _is_env_object(value) and id(value) not in seen:
            out[key] = {"kind": "object", "value": env_state(value, seen)}
    return out


def restore_env_state(env, state, _path="env"):
    """Writes :func:`env_state` values back into a fresh ``env`` of the same id."""
    if not isinstance(state, dict):
        raise ValueError(f"Checkpointed {_path} state is not a mapping.")
    attributes = vars(env)
    for key, item in state.items():
        where = f"{_path}.{key}"
        if key.startswith("__") or key not in attributes or not isinstance(item, dict):
            raise ValueError(f"Checkpoint does not match the environment: {where} is not an attribute of it.")
        current, kind, value = attributes[key], item.get("kind"), item.get("value")
        if kind == "generator" and current is None:
            # A generator the checkpointed env had created lazily (e.g. a space's).
            generator = np.random.default_rng()
            generator.bit_generator.state = value  # raises unless a PCG64 state
            attributes[key] = generator
        elif kind == "generator" and isinstance(current, np.random.Generator):
            current.bit_generator.state = value
        elif kind == "random_state" and isinstance(current, np.random.RandomState):
            current.set_state(value)
        elif kind == "object" and _is_env_object(current):
            restore_env_state(current, value, where)
        elif kind == "value" and (_is_plain(current) or value is None):
            if isinstance(current, np.ndarray):
                value = np.array(value, dtype=current.dtype)
            elif isinstance(current, np.generic):
                value = type(current)(value)
            attributes[key] = value
        else:
            raise ValueError(f"Checkpoint does not match the environment: {where} is a "
                             f"{type(current).__name__}, the checkpoint holds a {kind!r}.")


def train_dqn(config=None, progress=None):
    """Trains a :class:`DQN` with ``config`` and returns the agent.

    Example:
        >>> agent = train_dqn(DQNConfig(total_steps=3000, eval_every=1000))
        >>> agent.history["eval_returns"]
    """
    agent = DQN(config)
    agent.train(progress=progress)
    return agent
