"""Q-learning / DQN zoo entries and their recipes.

Evaluators re-run seeded greedy episodes (fixed reset seeds, greedy actions),
so a re-measured return is a deterministic function of the weights; the
tolerances only cover floating-point differences between machines that could
flip a near-tied argmax.
"""

import numpy as np

from adl_keras.rl import qnetworks
from adl_keras.zoo.registry import register

EVAL_SEED = 10_000  # reset seed of the first evaluation episode (training evals use 20000+)

# --------------------------------------------------------------------- Q-table
FROZENLAKE_GAMMA = 0.99


def train_qtable_frozenlake(seed=0, progress=None, episodes=20_000):
    """Recipe of ``qtable.frozenlake4x4``: tabular Q-learning, alpha 0.1,
    gamma 0.99, epsilon 1 -> 0.1 over half the episodes, 20000 episodes."""
    from adl_keras.rl import tabular

    config = tabular.QLearningConfig(episodes=episodes, alpha=0.1, gamma=FROZENLAKE_GAMMA,
                                     epsilon_end=0.1, seed=seed)
    q, returns = tabular.q_learning("FrozenLake-v1", config, progress)
    model = qnetworks.q_table_model(16, 4, name="qtable_frozenlake4x4")
    qnetworks.set_q_table(model, q)
    table = tabular.transition_table("FrozenLake-v1")
    q_star, _ = tabular.value_iteration(table, gamma=FROZENLAKE_GAMMA)
    info = {
        "config": config.__dict__,
        "train_return_last_1000": float(returns[-1000:].mean()),
        "optimal_success_probability": tabular.success_probability(table, tabular.greedy_policy(q_star)),
        "goals": ["greedy success probability (exact, 100-step limit) equals value iteration's optimum "
                  "(0.7402 at gamma=0.99)"],
    }
    return model, info


def evaluate_qtable_frozenlake(model):
    """Exact success probability of the greedy policy from the transition
    table, and the success rate of 1000 seeded episodes."""
    from adl_keras.rl import tabular

    q = qnetworks.get_q_table(model)
    policy = tabular.greedy_policy(q)
    table = tabular.transition_table("FrozenLake-v1")
    mean, _ = tabular.run_greedy_episodes("FrozenLake-v1", policy, episodes=1000, seed=EVAL_SEED)
    return {"success_probability": tabular.success_probability(table, policy),
            "success_rate_1000_episodes": mean, "_split": "seeded evaluation episodes"}


register(
    "qtable.frozenlake4x4",
    qnetworks.q_table_model,
    build_kwargs={"num_states": 16, "num_actions": 4, "name": "qtable_frozenlake4x4"},
    topic="rl",
    task="q-table",
    dataset="FrozenLake-v1 (4x4, slippery)",
    input_shape=(1,),
    recipe=train_qtable_frozenlake,
    evaluator=evaluate_qtable_frozenlake,
    tolerance=1e-6,
    description="Tabular Q-learning on gymnasium FrozenLake 4x4 (slippery); greedy policy matches value iteration.",
)

# ------------------------------------------------------------- DQN on CartPole
CARTPOLE_HIDDEN = (256, 256)


def cartpole_dqn_config(seed=0, **overrides):
    """The ``dqn.cartpole`` recipe's DQNConfig."""
    from adl_keras.rl.dqn import DQNConfig

    kwargs = dict(env_id="CartPole-v1", hidden_units=CARTPOLE_HIDDEN, total_steps=50_000, learning_rate=1e-3,
                  batch_size=64, gamma=0.98, buffer_size=50_000, learning_starts=1000, train_every=4, gradient_steps=4,
                  target_update="hard", target_update_period=250, double_dqn=True, epsilon_end=0.04,
                  epsilon_decay_steps=8000, eval_every=2500, eval_episodes=20, keep_best=True,
                  stop_at_return=500.0, seed=seed)
    kwargs.update(overrides)
    return DQNConfig(**kwargs)


def train_dqn_cartpole(seed=0, progress=None, **overrides):
    """Recipe of ``dqn.cartpole``: Double DQN, MLP 256-256, Adam 1e-3, batch 64,
    gamma 0.98, one update per env step (4 updates every 4 steps in one compiled
    call), hard target copy every 250 updates, epsilon 1 -> 0.04 over 8k steps
    (close to rl-baselines3-zoo's CartPole DQN hyperparameters); at most 50k env steps, keeping the best of the evaluations
    (20 episodes, seeds 20000+, disjoint from the card's evaluation seeds)."""
    from adl_keras.rl.dqn import DQN

    config = cartpole_dqn_config(seed, **overrides)
    agent = DQN(config)
    history = agent.train(progress=progress)
    model = qnetworks.mlp_q_network((4,), 2, CARTPOLE_HIDDEN, name="dqn_cartpole")
    model.set_weights(agent.online.get_weights())
    info = {
        "config": config.__dict__,
        "env_steps": agent.env_steps,
        "learner_updates": agent.updates,
        "train_seconds": round(history["train_seconds"], 1),
        "best_eval": {"step": agent.best["step"], "mean_return_20_episodes": agent.best["return"]},
        "eval_curve": list(zip(history["eval_steps"], history["eval_returns"])),
        "goals": ["mean return >= 475 over 100 seeded evaluation episodes of CartPole-v1",
                  "<= 50,000 environment steps"],
    }
    return model, info


def evaluate_cartpole(model):
    """Mean greedy return over 100 CartPole-v1 episodes with reset seeds 10000..10099."""
    from adl_keras.rl import envs

    returns = envs.evaluate_greedy(lambda x: model(x, training=False), "CartPole-v1", 100, EVAL_SEED)
    return {"mean_return_100_episodes": float(np.mean(returns)), "min_return": float(np.min(returns)),
            "_split": "100 seeded evaluation episodes"}


register(
    "dqn.cartpole",
    qnetworks.mlp_q_network,
    build_kwargs={"input_shape": (4,), "num_actions": 2, "hidden_units": CARTPOLE_HIDDEN, "name": "dqn_cartpole"},
    topic="rl",
    task="q-network",
    dataset="CartPole-v1",
    input_shape=(4,),
    recipe=train_dqn_cartpole,
    evaluator=evaluate_cartpole,
    tolerance=5.0,
    description="Keras 3 Double DQN Q-network on gymnasium CartPole-v1 (greedy policy).",
)
