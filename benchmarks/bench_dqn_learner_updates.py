"""Learner updates per second: the Keras 3 DQN vs TF-Agents' DqnAgent, same
Q-network (Dense 100-50 from the same specs), batch 64, in one process.

* native: the training path, 4 updates per XLA-compiled call (replay
  sampling in NumPy included); also reported: 1 update per call.
* anchor: ``agent.train(experience)`` under ``common.function`` with
  experience from ``TFUniformReplayBuffer.as_dataset`` (the tutorial's loop
  without the collect step).

Median over 3 repeats (seeds) of 400 updates each, after warm-up.
Run: ``python -m benchmarks.bench_dqn_learner_updates``.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import time  # noqa: E402

from benchmarks._common import write_result  # noqa: E402

UPDATES = 400
HIDDEN = (100, 50)


def native_rate(seed, gradient_steps):
    from adl_keras.rl.dqn import DQN, DQNConfig

    agent = DQN(DQNConfig(hidden_units=HIDDEN, batch_size=64, learning_starts=1000, train_every=4,
                          gradient_steps=gradient_steps, eval_every=0, total_steps=1000, seed=seed))
    agent.train()  # fills the replay memory with 1000 transitions, no updates yet
    call = agent.learner_call if gradient_steps > 1 else agent.learner_update
    for _ in range(5):
        call()
    calls = UPDATES // gradient_steps
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return calls * gradient_steps / (time.perf_counter() - start)


def tf_agents_rate(seed):
    from adl_keras.rl import tf_agents_dqn
    from tf_agents.utils import common

    parts = tf_agents_dqn.make_agent(tf_agents_dqn.TFAgentsDQNConfig(
        env_id="CartPole-v1", hidden_units=HIDDEN, batch_size=64, initial_collect_steps=1000, seed=seed))
    train = common.function(parts["agent"].train)
    iterator = parts["dataset_iterator"]
    for _ in range(5):
        train(next(iterator)[0])
    start = time.perf_counter()
    for _ in range(UPDATES):
        train(next(iterator)[0])
    return UPDATES / (time.perf_counter() - start)


def main(seeds=(0, 1, 2)):
    from adl_keras import compat

    compat.import_tf_agents()
    rows = []
    for seed in seeds:
        rows.append({"seed": seed, "native_batched": native_rate(seed, 4), "native_single": native_rate(seed, 1),
                     "tf_agents": tf_agents_rate(seed)})
        print(rows[-1], flush=True)
    native = statistics.median(r["native_batched"] for r in rows)
    anchor = statistics.median(r["tf_agents"] for r in rows)
    extra = {"runs": rows, "native_single_update_per_call_median": statistics.median(r["native_single"] for r in rows),
             "network": f"Dense {HIDDEN} -> 2 (CartPole), batch 64", "updates_per_repeat": UPDATES}
    write_result("dqn_learner_updates", "learner updates per second (median over seeds)", "updates/s", native,
                 "TF-Agents DqnAgent.train (common.function, TFUniformReplayBuffer dataset)", anchor, goal=1.0,
                 higher_is_better=True, repeats=len(seeds), extra=extra)


if __name__ == "__main__":
    main()
