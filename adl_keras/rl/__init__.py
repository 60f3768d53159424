"""Q-learning and DQN: tabular Q-learning and value iteration, a Keras 3 DQN
with replay memory and target network, the TF-Agents ``DqnAgent`` path, and
CNN Q-networks for pixel environments (MinAtar).

gymnasium, tf_agents and minatar load only inside the functions that need
them. Submodules load on first use:

    tabular        Q-learning update, value iteration, exact policy values
    qnetworks      MLP/CNN Q-network specs and builders, the QTable layer
    dqn            the Keras 3 DQN (replay, target network, Double DQN, checkpoints)
    tf_agents_dqn  DqnAgent on gymnasium via a PyEnvironment adapter, PolicySaver
    envs           gymnasium / MinAtar environment helpers and policy evaluation

Example:
    >>> from adl_keras.rl import tabular
    >>> q_star, _ = tabular.value_iteration("FrozenLake-v1", gamma=0.99)
"""

import importlib

_SUBMODULES = ("tabular", "qnetworks", "dqn", "tf_agents_dqn", "envs", "policies")

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"adl_keras.rl.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'adl_keras.rl' has no attribute {name!r}")
