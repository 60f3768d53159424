"""Environment steps and wall-clock to target: the Keras 3 DQN vs the TF-Agents
DQN tutorial configuration, side by side in one process.

* native: ``dqn.cartpole``'s recipe (Double DQN, MLP 64-64, 64 updates per
  64 env steps in one XLA-compiled loop, NumPy acting) on CartPole-v1, target: mean
  greedy return >= 475 over 20 evaluation episodes, checked every 1000 env
  steps, at most 50,000 steps.
* anchor: the TF-Agents DQN tutorial configuration (DqnAgent, Dense 100-50,
  Adam 1e-3, batch 64, epsilon 0.1, one collect step per train step) on
  CartPole-v0, target: its own, mean return >= 200 (the v0 maximum) over 10
  episodes, checked every 1000 iterations as in the tutorial, at most 20,000.

Wall-clock counts training only (collection, updates and the first call's
tracing/compilation on both sides), not evaluation. TF-Agents' seeding does not make
its runs repeat exactly (its steps to target vary from run to run).
Medians over seeds 0, 1, 2. Run: ``python -m benchmarks.bench_dqn_cartpole_to_target``
(``--seeds 0 1 2``); expensive (minutes per seed on a shared 2-core box).
"""

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_var, "1")  # both sides alike; the box is shared

import statistics  # noqa: E402

from benchmarks._common import write_result  # noqa: E402

NATIVE_TARGET, NATIVE_MAX_STEPS = 475.0, 50_000
TFA_TARGET, TFA_MAX_ITERATIONS = 200.0, 20_000


def run_native(seed):
    from adl_keras.rl.dqn import DQN
    from adl_keras.rl.zoo_entries import cartpole_dqn_config

    config = cartpole_dqn_config(seed, total_steps=NATIVE_MAX_STEPS, eval_every=1000, eval_episodes=20,
                                 stop_at_return=NATIVE_TARGET, keep_best=False)
    agent = DQN(config)
    history = agent.train()
    reached = bool(history["eval_returns"]) and history["eval_returns"][-1] >= NATIVE_TARGET
    return {"seed": seed, "reached": reached, "env_steps": agent.env_steps,
            "seconds": round(history["train_seconds"], 2), "last_eval": history["eval_returns"][-1]}


def run_tf_agents(seed):
    from adl_keras.rl import tf_agents_dqn

    config = tf_agents_dqn.TFAgentsDQNConfig(env_id="CartPole-v0", hidden_units=(100, 50),
                                             iterations=TFA_MAX_ITERATIONS, eval_every=1000, eval_episodes=10,
                                             stop_at_return=TFA_TARGET, seed=seed)
    _, history = tf_agents_dqn.train_tf_agents_dqn(config)
    reached = bool(history["eval_returns"]) and history["eval_returns"][-1] >= TFA_TARGET
    return {"seed": seed, "reached": reached, "env_steps": history["iterations"],
            "seconds": round(history["train_seconds"], 2), "last_eval": history["eval_returns"][-1]}


def main(seeds):
    from adl_keras import compat

    compat.import_tf_agents()  # both paths in this one process
    native, anchor = [], []
    for seed in seeds:  # interleaved so both sides see the same machine load
        native.append(run_native(seed))
        print("native", native[-1], flush=True)
        anchor.append(run_tf_agents(seed))
        print("tf-agents", anchor[-1], flush=True)
    n_sec = statistics.median(r["seconds"] for r in native)
    a_sec = statistics.median(r["seconds"] for r in anchor)
    n_steps = statistics.median(r["env_steps"] for r in native)
    extra = {
        "native": native, "tf_agents_tutorial": anchor,
        "native_median_env_steps_to_475": n_steps,
        "native_steps_goal": f"<= {NATIVE_MAX_STEPS}", "native_steps_goal_met": bool(
            n_steps <= NATIVE_MAX_STEPS and all(r["reached"] for r in native)),
        "tf_agents_median_iterations_to_200": statistics.median(r["env_steps"] for r in anchor),
        "speedup_native_vs_tf_agents": a_sec / n_sec,
        "protocol": "training seconds exclude evaluation; native CartPole-v1 to 475 (20 episodes), "
                    "TF-Agents tutorial CartPole-v0 to 200 (10 episodes), evaluation every 1000 steps",
    }
    write_result("dqn_cartpole_to_target", "wall-clock seconds to target (median over seeds)", "s",
                 n_sec, "TF-Agents DQN tutorial configuration to its own target", a_sec, goal=0.5,
                 higher_is_better=False, repeats=len(seeds), extra=extra)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    main(parser.parse_args().seeds)
