"""Tabular Q-learning and value iteration on gymnasium's discrete environments.

Q-learning (Watkins 1989) learns from sampled transitions::

    Q(s,a) <- Q(s,a) + alpha [r + gamma max_a' Q(s',a') - Q(s,a)]

value iteration solves the Bellman optimality equation from the
environment's transition table ``env.unwrapped.P``::

    Q*(s,a) = sum_s' P(s'|s,a) [r + gamma max_a' Q*(s',a')]

so the two can be checked against each other. gymnasium is imported inside
functions only (``import adl_keras.rl`` stays light).
"""

import dataclasses

import numpy as np

#: Environments of this module and their gymnasium keyword arguments.
TABULAR_ENVS = {
    "FrozenLake-v1": {"map_name": "4x4", "is_slippery": True},
    "FrozenLake-v1-deterministic": {"map_name": "4x4", "is_slippery": False},
    "Taxi-v4": {},
}


def make_tabular_env(env_id="FrozenLake-v1", **kwargs):
    """Makes a discrete gymnasium environment of :data:`TABULAR_ENVS`.

    Args:
        env_id: str, default ``"FrozenLake-v1"`` (4x4, slippery);
            ``"FrozenLake-v1-deterministic"`` is the same map with
            ``is_slippery=False``; ``"Taxi-v4"``.
        **kwargs: override the gymnasium keyword arguments.

    Returns:
        gymnasium.Env with Discrete observation and action spaces.

    Example:
        >>> env = make_tabular_env("FrozenLake-v1-deterministic")
    """
    import gymnasium as gym

    if env_id not in TABULAR_ENVS:
        raise ValueError(f"env_id must be one of {sorted(TABULAR_ENVS)}. Received: env_id={env_id!r}")
    gym_id = env_id.replace("-deterministic", "")
    return gym.make(gym_id, **{**TABULAR_ENVS[env_id], **kwargs})


@dataclasses.dataclass(frozen=True)
class TransitionTable:
    """The model of a finite MDP as dense arrays.

    Attributes:
        probs: (S, A, S') transition probabilities P(s'|s,a).
        rewards: (S, A, S') expected reward of each transition.
        terminal: (S, A, S') whether the transition ends the episode.
    """

    probs: np.ndarray
    rewards: np.ndarray
    terminal: np.ndarray

    @property
    def num_states(self):
        return self.probs.shape[0]

    @property
    def num_actions(self):
        return self.probs.shape[1]


def transition_table(env):
    """Reads ``env.unwrapped.P`` (gymnasium's toy-text model) into arrays.

    Args:
        env: a gymnasium toy-text environment (FrozenLake, Taxi, CliffWalking)
            or an ``env_id`` for :func:`make_tabular_env`.

    Returns:
        TransitionTable.

    Example:
        >>> table = transition_table("FrozenLake-v1")
        >>> table.probs.sum(axis=2).round(6).min()
        1.0
    """
    if isinstance(env, str):
        env = make_tabular_env(env)
    model = getattr(env.unwrapped, "P", None)
    if model is None:
        raise ValueError(f"env must expose its transition table as env.unwrapped.P. Received: env={env!r}")
    n_s, n_a = env.observation_space.n, env.action_space.n
    probs = np.zeros((n_s, n_a, n_s))
    rewards = np.zeros((n_s, n_a, n_s))
    terminal = np.zeros((n_s, n_a, n_s), dtype=bool)
    for s in range(n_s):
        for a in range(n_a):
            for p, s2, r, done in model[s][a]:
                # Several outcomes may lead to the same s'; rewards average by probability.
                rewards[s, a, s2] = (rewards[s, a, s2] * probs[s, a, s2] + r * p) / max(probs[s, a, s2] + p, 1e-300)
                probs[s, a, s2] += p
                terminal[s, a, s2] |= bool(done)
    return TransitionTable(probs, rewards, terminal)


def bellman_optimality_backup(table, q, gamma):
    """One application of the Bellman optimality operator T to ``q``.

    (TQ)(s,a) = sum_s' P(s'|s,a) [r + gamma (1 - done) max_a' Q(s',a')]
    """
    v_next = q.max(axis=1)  # max_a' Q(s', a')
    target = table.rewards + gamma * (~table.terminal) * v_next[None, None, :]
    return np.einsum("ijk,ijk->ij", table.probs, target)


def value_iteration(table, gamma=0.99, tol=1e-10, max_iterations=100_000):
    """Solves Q* = T Q* by repeated Bellman optimality backups.

    T is a gamma-contraction in the max norm, so iterating it from Q = 0
    converges to its unique fixed point Q*.

    Args:
        table: TransitionTable, or an env / env_id for :func:`transition_table`.
        gamma: float in [0, 1), discount (default 0.99).
        tol: float, stop when max |Q_{k+1} - Q_k| < tol (default 1e-10).
        max_iterations: int, default 100000.

    Returns:
        (q_star, iterations): (S, A) array and the number of backups.

    Example:
        >>> q_star, _ = value_iteration("FrozenLake-v1-deterministic", gamma=0.9)
        >>> round(float(q_star[14, 2]), 6)   # right of the goal's neighbour
        1.0
    """
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1). Received: gamma={gamma}")
    if not isinstance(table, TransitionTable):
        table = transition_table(table)
    q = np.zeros((table.num_states, table.num_actions))
    for iteration in range(1, max_iterations + 1):
        q_new = bellman_optimality_backup(table, q, gamma)
        delta = np.max(np.abs(q_new - q))
        q = q_new
        if delta < tol:
            return q, iteration
    raise RuntimeError(f"value_iteration did not converge in max_iterations={max_iterations} (last change {delta:.3g}).")


def greedy_policy(q):
    """argmax_a Q(s,a) for every state; ties go to the lowest action."""
    return np.asarray(q).argmax(axis=1)


def policy_value(table, policy, gamma=0.99):
    """Exact state values V^pi of a deterministic policy: (I - gamma P_pi) V = r_pi.

    Args:
        table: TransitionTable.
        policy: (S,) int actions.
        gamma: float in [0, 1] (default 0.99). gamma = 1 is allowed when the
            policy reaches a terminal transition from every state; it gives
            the success probability on FrozenLake.

    Returns:
        (S,) array.
    """
    policy = np.asarray(policy, dtype=int)
    idx = np.arange(table.num_states)
    p = table.probs[idx, policy]  # (S, S')
    r = np.einsum("ij,ij->i", p, table.rewards[idx, policy])
    cont = p * (~table.terminal[idx, policy])
    return np.linalg.lstsq(np.eye(table.num_states) - gamma * cont, r, rcond=None)[0]


def success_probability(table, policy, start_state=0, horizon=100):
    """Probability that ``policy`` ends in a rewarded terminal transition
    within ``horizon`` steps (the TimeLimit of gymnasium's FrozenLake).

    Computed exactly by propagating the state distribution.
    """
    policy = np.asarray(policy, dtype=int)
    idx = np.arange(table.num_states)
    p = table.probs[idx, policy]
    success = p * ((table.rewards[idx, policy] > 0) & table.terminal[idx, policy])
    cont = p * (~table.terminal[idx, policy])
    dist = np.zeros(table.num_states)
    dist[start_state] = 1.0
    total = 0.0
    for _ in range(horizon):
        total += float(dist @ success.sum(axis=1))
        dist = dist @ cont
    return total


@dataclasses.dataclass
class QLearningConfig:
    """Hyperparameters of :func:`q_learning`.

    Attributes:
        episodes: number of training episodes (default 20000).
        alpha: learning rate of the update (default 0.1).
        gamma: discount (default 0.99).
        epsilon_start: initial exploration rate of epsilon-greedy (default 1.0).
        epsilon_end: final exploration rate (default 0.05).
        epsilon_decay_episodes: episodes of linear decay (default half of
            ``episodes`` when None).
        alpha_decay: if True, alpha_t(s,a) = max(alpha / (1 + n(s,a) / 1000),
            alpha_min) for Robbins-Monro convergence on stochastic maps.
        alpha_min: floor of the decayed alpha (default 0.01).
        seed: seeds exploration and the environment (default 0).
    """

    episodes: int = 20000
    alpha: float = 0.1
    gamma: float = 0.99
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_decay_episodes: int = None
    alpha_decay: bool = False
    alpha_min: float = 0.01
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.episodes, bool) or not isinstance(self.episodes, int) or self.episodes < 1:
            raise ValueError(f"episodes must be a positive int. Received: episodes={self.episodes!r}")
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1]. Received: alpha={self.alpha}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1]. Received: gamma={self.gamma}")
        for name in ("epsilon_start", "epsilon_end"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]. Received: {name}={getattr(self, name)}")

    def epsilon(self, episode):
        """Linearly decayed exploration rate of ``episode``."""
        horizon = self.epsilon_decay_episodes or max(1, self.episodes // 2)
        frac = min(1.0, episode / horizon)
        return self.epsilon_start + frac * (self.epsilon_end - self.epsilon_start)


def q_learning_update(q, s, a, r, s_next, terminated, alpha, gamma):
    """Applies one Q-learning update in place and returns the TD error.

    delta = r + gamma max_a' Q(s',a') - Q(s,a)   (no bootstrap when terminated)
    Q(s,a) <- Q(s,a) + alpha delta
    """
    target = r if terminated else r + gamma * np.max(q[s_next])
    delta = target - q[s, a]
    q[s, a] += alpha * delta
    return delta


def q_learning(env, config=None, progress=None, callback=None, callback_every=1000):
    """Trains a Q-table with epsilon-greedy tabular Q-learning.

    Args:
        env: gymnasium env with Discrete spaces, or an env_id of
            :data:`TABULAR_ENVS`.
        config: QLearningConfig (default ``QLearningConfig()``).
        progress: optional callable receiving a status line every 10% of
            training.
        callback: optional ``callback(episodes_done, q)`` called after every
            ``callback_every`` episodes with a copy of the table (e.g. to
            record a learning curve); it cannot change the training, which
            draws nothing for it.
        callback_every: episodes between callback calls (default 1000).

    Returns:
        (q, returns): the (S, A) table and the (episodes,) training returns.

    Example:
        >>> q, returns = q_learning("FrozenLake-v1-deterministic",
        ...                         QLearningConfig(episodes=2000, epsilon_end=1.0))
    """
    config = config or QLearningConfig()
    if isinstance(callback_every, bool) or not isinstance(callback_every, int) or callback_every < 1:
        raise ValueError(f"callback_every must be a positive int. Received: callback_every={callback_every!r}")
    if isinstance(env, str):
        env = make_tabular_env(env)
    rng = np.random.default_rng(config.seed)
    n_s, n_a = env.observation_space.n, env.action_space.n
    q = np.zeros((n_s, n_a))
    visits = np.zeros((n_s, n_a))
    returns = np.zeros(config.episodes)
    s, _ = env.reset(seed=config.seed)
    if progress and hasattr(progress, "epoch"):
        progress.epoch(0, config.episodes, unit="episode")  # starts the bar's clock with the work
    for episode in range(config.episodes):
        if episode:
            s, _ = env.reset()
        eps = config.epsilon(episode)
        done, total = False, 0.0
        while not done:
            if rng.random() < eps:
                a = int(rng.integers(n_a))
            else:
                row = q[s]
                a = int(rng.choice(np.flatnonzero(row == row.max())))  # random tie-break
            s_next, r, terminated, truncated, _ = env.step(a)
            visits[s, a] += 1
            alpha = config.alpha
            if config.alpha_decay:
                alpha = max(config.alpha / (1.0 + visits[s, a] / 1000.0), config.alpha_min)
            q_learning_update(q, s, a, r, s_next, terminated, alpha, config.gamma)
            total += r
            s, done = s_next, terminated or truncated
        returns[episode] = total
        if callback is not None and (episode + 1) % callback_every == 0:
            callback(episode + 1, q.copy())
        if progress and (episode + 1) % max(1, config.episodes // 10) == 0:
            recent = returns[max(0, episode - 999): episode + 1].mean()
            if hasattr(progress, "epoch"):  # a progress bar (the CLI's Keras Progbar)
                progress.epoch(episode + 1, config.episodes, {"eps": eps, "mean_return": recent}, unit="episode")
            else:
                progress(f"episode {episode + 1}/{config.episodes} eps={eps:.3f} "
                         f"mean return (last 1000)={recent:.3f}")
    return q, returns


def run_greedy_episodes(env, policy, episodes=1000, seed=0):
    """Mean and per-episode returns of a deterministic tabular policy.

    Episode ``i`` resets with ``seed + i``, so the result is reproducible.

    Args:
        env: gymnasium env or env_id.
        policy: (S,) actions, or a callable state -> action.
        episodes: int, default 1000.
        seed: int, default 0.

    Returns:
        (mean_return, returns array).
    """
    if isinstance(env, str):
        env = make_tabular_env(env)
    act = policy if callable(policy) else (lambda s, p=np.asarray(policy): int(p[s]))
    returns = np.zeros(episodes)
    for i in range(episodes):
        s, _ = env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            s, r, terminated, truncated, _ = env.step(act(s))
            total += r
            done = terminated or truncated
        returns[i] = total
    return float(returns.mean()), returns
