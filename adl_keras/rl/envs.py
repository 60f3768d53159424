"""Environments for the DQN: gymnasium vector-observation envs and MinAtar
pixel games behind one small interface, plus seeded greedy evaluation.

gymnasium and minatar are imported inside functions only.
"""

import numpy as np

MINATAR_GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")


class MinAtarEnv:
    """A MinAtar game with gymnasium's ``reset``/``step`` API.

    Observations are float32 (10, 10, C) boolean channel maps; actions are
    the game's minimal action set (Breakout: noop, left, right). Sticky
    actions (probability 0.1) and difficulty ramping follow the MinAtar paper.

    Args:
        game: one of :data:`MINATAR_GAMES` (default "breakout").
        sticky_action_prob: float (default 0.1).
        max_episode_steps: truncation horizon (default 10000).

    Example:
        >>> env = MinAtarEnv("breakout")
        >>> obs, _ = env.reset(seed=0)
        >>> obs.shape
        (10, 10, 4)
    """

    def __init__(self, game="breakout", sticky_action_prob=0.1, max_episode_steps=10_000):
        if game not in MINATAR_GAMES:
            raise ValueError(f"game must be one of {MINATAR_GAMES}. Received: game={game!r}")
        from minatar import Environment

        self.game = game
        self._env = Environment(game, sticky_action_prob=sticky_action_prob)
        self._actions = list(self._env.minimal_action_set())
        self.max_episode_steps = int(max_episode_steps)
        self.observation_shape = tuple(self._env.state_shape())
        self.num_actions = len(self._actions)
        self._steps = 0

    def reset(self, seed=None):
        if seed is not None:
            self._env.seed(int(seed))
        self._env.reset()
        self._steps = 0
        return self._env.state().astype("float32"), {}

    def step(self, action):
        reward, terminated = self._env.act(self._actions[int(action)])
        self._steps += 1
        truncated = self._steps >= self.max_episode_steps and not terminated
        return self._env.state().astype("float32"), float(reward), bool(terminated), truncated, {}


def make_env(env_id):
    """A gymnasium env (``"CartPole-v1"``) or a MinAtar game (``"MinAtar/Breakout"``).

    Returns:
        (env, observation_shape, num_actions)
    """
    if not isinstance(env_id, str):
        raise ValueError(f"env_id must be a string. Received: env_id={env_id!r}")
    if env_id.lower().startswith("minatar/"):
        game = env_id.split("/", 1)[1].lower().replace("-", "_")
        env = MinAtarEnv(game)
        return env, env.observation_shape, env.num_actions
    import gymnasium as gym

    env = gym.make(env_id)
    if not hasattr(env.action_space, "n"):
        raise ValueError(f"DQN needs a Discrete action space. Received: env_id={env_id!r} with {env.action_space}")
    return env, tuple(env.observation_space.shape), int(env.action_space.n)


def evaluate_greedy(q_values_fn, env_id, episodes=100, seed=10_000, max_steps=None):
    """Mean return of the greedy policy argmax_a Q(s,a) over seeded episodes.

    All ``episodes`` run in lockstep so Q-values are computed in one batch per
    step; episode ``i`` resets with ``seed + i``, which makes the result a
    deterministic function of the network.

    Args:
        q_values_fn: callable (batch, *obs) float32 -> (batch, A) Q-values
            (a keras.Model works).
        env_id: as for :func:`make_env`.
        episodes: int, default 100.
        seed: int, default 10000 (kept away from training seeds).
        max_steps: optional cap on steps per episode.

    Returns:
        np.ndarray of the (episodes,) returns.

    Example:
        >>> returns = evaluate_greedy(model, "CartPole-v1", episodes=10)
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive int. Received: episodes={episodes!r}")
    envs = [make_env(env_id)[0] for _ in range(episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]).astype("float32")
    returns = np.zeros(episodes)
    alive = np.ones(episodes, dtype=bool)
    steps = 0
    while alive.any() and (max_steps is None or steps < max_steps):
        idx = np.flatnonzero(alive)
        q = np.asarray(q_values_fn(obs[idx]))
        actions = q.argmax(axis=1)
        for j, i in enumerate(idx):
            o, r, terminated, truncated, _ = envs[i].step(int(actions[j]))
            returns[i] += r
            obs[i] = o
            if terminated or truncated:
                alive[i] = False
        steps += 1
    return returns
