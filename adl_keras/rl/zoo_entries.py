"""Q-learning / DQN zoo entries and their recipes.

Evaluators re-run seeded greedy episodes (fixed reset seeds, greedy actions),
so a re-measured return is a deterministic function of the weights; the
tolerances only cover floating-point differences between machines that could
flip a near-tied argmax.
"""

import io
import os
from pathlib import Path

import numpy as np

from adl_keras.rl import qnetworks
from adl_keras.zoo import preprocessing as prep
from adl_keras.zoo.registry import register

CARTPOLE_ACTIONS = ["push cart left", "push cart right"]

# The environment of each Q-network entry (for greedy episodes and explanations).
ENV_IDS = {"dqn.cartpole": "CartPole-v1", "dqn_tfagents.cartpole": "CartPole-v1",
           "cnn_dqn.minatar_breakout": "MinAtar/Breakout"}

EVAL_SEED = 10_000  # reset seed of the first evaluation episode (training evals use 20000+)
# Greedy returns over seeded episodes are deterministic: re-measured in fresh
# processes they agreed exactly, so `adl-zoo evaluate` allows only float rounding.
EVAL_TOLERANCE = 1e-6
REPRODUCIBILITY = ("reproducibility: the greedy returns over seeded episodes are deterministic; re-measured in "
                   "fresh processes they agreed exactly, so `adl-zoo evaluate` uses a tolerance of 1e-6")

# --------------------------------------------------------------------- Q-table
FROZENLAKE_GAMMA = 0.99
FROZENLAKE_CURVE_EVERY = 500  # episodes between the learning curve's points


def train_qtable_frozenlake(seed=0, progress=None, episodes=20_000):
    """Recipe of ``qtable.frozenlake4x4``: tabular Q-learning, gamma 0.99,
    alpha_t(s,a) = max(0.2 / (1 + n(s,a)/1000), 0.01) (decaying, as the
    stochastic-approximation convergence conditions ask; a constant alpha
    keeps the greedy policy flipping between near-tied actions), epsilon
    1 -> 0.1 over half of 20000 episodes.

    The learning curve (``eval_curve``) is the exact success probability
    (expected return) of the greedy policy of the table every 500 episodes,
    computed from the transition table, so it costs no episodes and no
    random draws: the training is the same with or without it."""
    from adl_keras.rl import tabular

    config = tabular.QLearningConfig(episodes=episodes, alpha=0.2, alpha_decay=True, gamma=FROZENLAKE_GAMMA,
                                     epsilon_end=0.1, seed=seed)
    table = tabular.transition_table("FrozenLake-v1")
    greedy_success = lambda q: tabular.success_probability(table, tabular.greedy_policy(q))  # noqa: E731
    curve = [(0, greedy_success(np.zeros((16, 4))))]
    q, returns = tabular.q_learning("FrozenLake-v1", config, progress,
                                    callback=lambda done, q: curve.append((done, greedy_success(q))),
                                    callback_every=min(FROZENLAKE_CURVE_EVERY, episodes))
    model = qnetworks.q_table_model(16, 4, name="qtable_frozenlake4x4")
    qnetworks.set_q_table(model, q)
    q_star, _ = tabular.value_iteration(table, gamma=FROZENLAKE_GAMMA)
    info = {
        "config": config.__dict__,
        "train_return_last_1000": float(returns[-1000:].mean()),
        "eval_curve": [[int(done), float(p)] for done, p in curve],
        "eval_curve_axes": ["training episodes", "greedy success probability (exact)"],
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
    preprocessing=prep.passthrough("state", (1,), dtype="int32", value_range=(0, 15),
                                   action_names=["left", "down", "right", "up"],
                                   notes="the FrozenLake state index row * 4 + column"),
    description="Tabular Q-learning on gymnasium FrozenLake 4x4 (slippery); greedy policy matches value iteration.",
)

# ------------------------------------------------------------- DQN on CartPole
CARTPOLE_HIDDEN = (64, 64)  # dqn.cartpole (native Keras 3 DQN)
CARTPOLE_TF_AGENTS_HIDDEN = (128, 128)  # dqn_tfagents.cartpole


def cartpole_dqn_config(seed=0, **overrides):
    """The ``dqn.cartpole`` recipe's DQNConfig.

    Chosen for wall-clock to target on a CPU (benchmarks/bench_dqn_cartpole_to_target.py):
    64 updates every 64 env steps in one compiled call (one call's overhead,
    ~1 ms, per 64 updates; acting lags the learner by at most 64 steps, as in
    rl-baselines3-zoo's train_freq=256/gradient_steps=128), MLP 64-64, Adam
    1e-3, epsilon decayed over 2,500 steps. Picked on seeds 3-7 (median 21,000 env
    steps to a 20-episode mean >= 475); the benchmark uses seeds 0-2.
    """
    from adl_keras.rl.dqn import DQNConfig

    kwargs = dict(env_id="CartPole-v1", hidden_units=CARTPOLE_HIDDEN, total_steps=50_000, learning_rate=1e-3,
                  batch_size=64, gamma=0.99, buffer_size=20_000, learning_starts=500, train_every=64,
                  gradient_steps=64, target_update="hard", target_update_period=100, double_dqn=True,
                  epsilon_end=0.02, epsilon_decay_steps=2500, eval_every=2500, eval_episodes=20, keep_best=True,
                  stop_at_return=500.0, seed=seed)
    kwargs.update(overrides)
    return DQNConfig(**kwargs)


def train_dqn_cartpole(seed=0, progress=None, **overrides):
    """Recipe of ``dqn.cartpole``: Double DQN, MLP 64-64, Adam 1e-3, batch 64,
    gamma 0.99, replay 20k, one update per env step (64 updates every 64 steps
    in one compiled call), hard target copy every 100 updates, epsilon 1 -> 0.02
    over 2.5k steps after 500 random steps; at most 50k env steps, keeping the best of the evaluations
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
                  "<= 50,000 environment steps", REPRODUCIBILITY],
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
    tolerance=EVAL_TOLERANCE,
    preprocessing=prep.passthrough("state", (4,), action_names=CARTPOLE_ACTIONS,
                                   notes="the CartPole-v1 observation as gymnasium returns it: cart position, "
                                         "cart velocity, pole angle, pole angular velocity"),
    description="Keras 3 Double DQN Q-network on gymnasium CartPole-v1 (greedy policy).",
)

# ------------------------------------------------------ CNN-DQN on MinAtar pixels
MINATAR_ENV = "MinAtar/Breakout"
MINATAR_SHAPE = (10, 10, 4)
MINATAR_ACTIONS = 3
MINATAR_EVAL_EPISODES = 30


def minatar_dqn_config(seed=0, **overrides):
    """The ``cnn_dqn.minatar_breakout`` recipe's DQNConfig."""
    from adl_keras.rl.dqn import DQNConfig

    kwargs = dict(env_id=MINATAR_ENV, network="cnn", conv_filters=(16,), hidden_units=(128,),
                  total_steps=40_000, learning_rate=5e-4, batch_size=32, gamma=0.99, buffer_size=40_000,
                  learning_starts=2000, train_every=4, gradient_steps=4, target_update="hard",
                  target_update_period=1000, double_dqn=True, epsilon_end=0.05, epsilon_decay_steps=12_500,
                  eval_every=5000, eval_episodes=10, keep_best=False, seed=seed)
    kwargs.update(overrides)
    return DQNConfig(**kwargs)


def random_policy_returns(env_id=MINATAR_ENV, episodes=100, seed=EVAL_SEED):
    """Returns of the uniform random policy over seeded episodes (the baseline)."""
    from adl_keras.rl import envs

    env, _, num_actions = envs.make_env(env_id)
    rng = np.random.default_rng(seed)
    returns = np.zeros(episodes)
    for i in range(episodes):
        env.reset(seed=seed + i)
        done = False
        while not done:
            _, r, terminated, truncated, _ = env.step(int(rng.integers(num_actions)))
            returns[i] += r
            done = terminated or truncated
    return returns


LEARNING_CURVE_FILE = "learning_curve.png"


def plot_learning_curve(history, random_return, path, title):
    """Training-episode returns (moving average of 50) and greedy evaluations
    against env steps, with the random policy's mean return; saved as PNG to
    ``path`` (a file name or a binary file object)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(history["episode_end_steps"])
    returns = np.asarray(history["episode_returns"])
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(returns):
        window = min(50, len(returns))
        smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, label=f"training episodes (moving mean of {window}, epsilon-greedy)")
    if history["eval_steps"]:
        ax.plot(history["eval_steps"], history["eval_returns"], "o-", label="greedy evaluation (10 episodes)")
    ax.axhline(random_return, color="gray", linestyle="--", label=f"random policy ({random_return:.2f})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    if isinstance(path, (str, os.PathLike)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
    return path


def train_cnn_dqn_minatar(seed=0, progress=None, **overrides):
    """Recipe of ``cnn_dqn.minatar_breakout``: Double DQN with MinAtar's CNN
    (conv 16 3x3, dense 128), Adam 5e-4, batch 32, 40k env steps (the CPU
    budget of a shared 2-core box: about 20 minutes), one update per step,
    hard target copy every 1000 updates, epsilon 1 -> 0.05 over 12.5k steps.
    Returns ``learning_curve.png`` for the card's folder (``info["files"]``)."""
    from adl_keras.rl.dqn import DQN

    config = minatar_dqn_config(seed, **overrides)
    agent = DQN(config)
    history = agent.train(progress=progress)
    model = qnetworks.cnn_q_network(MINATAR_SHAPE, MINATAR_ACTIONS, (16,), hidden_units=(128,),
                                    name="cnn_dqn_minatar_breakout")
    model.set_weights(agent.online.get_weights())
    random_return = float(np.mean(random_policy_returns()))
    png = io.BytesIO()
    plot_learning_curve(history, random_return, png, "CNN-DQN on MinAtar Breakout")
    returns = np.asarray(history["episode_returns"])
    info = {
        "config": config.__dict__,
        "env_steps": agent.env_steps,
        "learner_updates": agent.updates,
        "train_seconds": round(history["train_seconds"], 1),
        "random_policy_mean_return_100_episodes": random_return,
        "first_100_training_episodes_mean_return": float(returns[:100].mean()) if len(returns) else None,
        "last_100_training_episodes_mean_return": float(returns[-100:].mean()) if len(returns) else None,
        "eval_curve": list(zip(history["eval_steps"], history["eval_returns"])),
        "learning_curve": LEARNING_CURVE_FILE,
        "files": {LEARNING_CURVE_FILE: png.getvalue()},
        "goals": ["greedy mean return clearly above the random policy's within a ~15-30 min CPU budget; "
                  "far below published MinAtar DQN results (trained for 5M frames)", REPRODUCIBILITY],
    }
    return model, info


def evaluate_minatar(model):
    """Mean greedy return over 30 MinAtar Breakout episodes with seeds 10000..10029."""
    from adl_keras.rl import envs

    returns = envs.evaluate_greedy(lambda x: model(x, training=False), MINATAR_ENV, MINATAR_EVAL_EPISODES,
                                   EVAL_SEED)
    return {"mean_return_30_episodes": float(np.mean(returns)), "_split": "30 seeded evaluation episodes"}


register(
    "cnn_dqn.minatar_breakout",
    qnetworks.cnn_q_network,
    build_kwargs={"input_shape": MINATAR_SHAPE, "num_actions": MINATAR_ACTIONS, "filters": (16,),
                  "hidden_units": (128,), "name": "cnn_dqn_minatar_breakout"},
    topic="rl",
    task="q-network",
    dataset="MinAtar Breakout (10x10x4 pixels)",
    input_shape=MINATAR_SHAPE,
    recipe=train_cnn_dqn_minatar,
    evaluator=evaluate_minatar,
    tolerance=EVAL_TOLERANCE,
    preprocessing=prep.passthrough("state", MINATAR_SHAPE, value_range=(0, 1), action_names=["noop", "left", "right"],
                                   notes="MinAtar Breakout's state(): 0/1 channel maps (paddle, ball, trail, "
                                         "brick) as float32"),
    description="Keras 3 CNN Double DQN on MinAtar Breakout pixels (10x10x4 channel maps).",
)

# ------------------------------------------------------ TF-Agents DQN on CartPole


def tf_agents_cartpole_config(seed=0, **overrides):
    """The ``dqn_tfagents.cartpole`` recipe's TFAgentsDQNConfig: the native
    recipe's hyperparameters wherever TF-Agents has the same knob."""
    from adl_keras.rl.tf_agents_dqn import TFAgentsDQNConfig

    kwargs = dict(env_id="CartPole-v1", hidden_units=CARTPOLE_TF_AGENTS_HIDDEN, iterations=50_000, learning_rate=5e-4,
                  batch_size=64, gamma=0.99, epsilon_greedy=(1.0, 0.02, 5000), target_update_period=100,
                  double_dqn=True, td_loss="huber", replay_capacity=20_000, initial_collect_steps=1000,
                  eval_every=2500, eval_episodes=20, stop_at_return=500.0, seed=seed)
    kwargs.update(overrides)
    return TFAgentsDQNConfig(**kwargs)


def train_tf_agents_cartpole(seed=0, progress=None, **overrides):
    """Recipe of ``dqn_tfagents.cartpole``: TF-Agents ``DdqnAgent`` with the
    Q-network built from the same layer specs and builder as ``dqn.cartpole``
    (``qnetworks.mlp_layer_specs``; MLP 128-128 here, 64-64 there),
    Adam 5e-4, gamma 0.99, batch 64, Huber loss, target copy every 100 train
    steps, epsilon 1 -> 0.02 over 5k steps, one collect step per train step;
    keeps the best evaluation (20 episodes, seeds 20000+). The weights are
    copied into the Keras 3 MLP builder's model."""
    from adl_keras.rl import tf_agents_dqn

    config = tf_agents_cartpole_config(seed, **overrides)
    parts, history = tf_agents_dqn.train_tf_agents_dqn(config, progress)
    model = qnetworks.mlp_q_network((4,), 2, CARTPOLE_TF_AGENTS_HIDDEN, name="dqn_tfagents_cartpole")
    model.set_weights(history["best"]["weights"])
    info = {
        "config": {k: v for k, v in config.__dict__.items()},
        "iterations": history["iterations"],
        "train_seconds": round(history["train_seconds"], 1),
        "best_eval": {"iteration": history["best"]["iteration"],
                      "mean_return_20_episodes": history["best"]["return"]},
        "eval_curve": list(zip(history["eval_iterations"], history["eval_returns"])),
        "goals": ["mean return >= 475 over 100 seeded evaluation episodes of CartPole-v1", REPRODUCIBILITY],
    }
    return model, info


register(
    "dqn_tfagents.cartpole",
    qnetworks.mlp_q_network,
    build_kwargs={"input_shape": (4,), "num_actions": 2, "hidden_units": CARTPOLE_TF_AGENTS_HIDDEN,
                  "name": "dqn_tfagents_cartpole"},
    topic="rl",
    task="q-network",
    dataset="CartPole-v1",
    input_shape=(4,),
    recipe=train_tf_agents_cartpole,
    evaluator=evaluate_cartpole,
    tolerance=EVAL_TOLERANCE,
    preprocessing=prep.passthrough("state", (4,), action_names=CARTPOLE_ACTIONS,
                                   notes="the CartPole-v1 observation as gymnasium returns it: cart position, "
                                         "cart velocity, pole angle, pole angular velocity"),
    description="TF-Agents DdqnAgent Q-network on CartPole-v1, trained through the gymnasium adapter; "
                "weights in the Keras 3 MLP of the same definition.",
)
