"""Multi-worker scaling of a zoo recipe's training step on this machine.

Both sides train ``resnet_small.shapes32`` (the recipe's model, optimizer,
loss and data) for the same number of steps at the same **global** batch,
in worker processes with one TensorFlow thread each:

* anchor: one process with no distribution strategy (the best a single
  worker can do: no collective at all);
* ours: two processes on 127.0.0.1 under ``MultiWorkerMirroredStrategy``
  (``adl_keras.distribute``), each computing half of every global batch and
  all-reducing the gradients.

ratio = throughput(2 workers) / (2 x throughput(1 worker)); goal >= 0.8.
The 1- and 2-worker runs alternate, ``REPEATS`` times each, and the medians
are compared. ``details`` also give, for every fit-based zoo entry, the
all-reduce bytes per step of a ring all-reduce, 2 (N - 1) / N x parameter
bytes, and the step time below which sending them over a 10 Gbit/s link
would take longer than the step itself.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import write_result

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "resnet_small.shapes32"
GLOBAL_BATCH = 128
STEPS = 60
WARMUP_STEPS = 5
REPEATS = 5
LINK_BYTES_PER_S = 10e9 / 8


def worker(out_path):
    """One worker: times STEPS training steps after WARMUP_STEPS."""
    from adl_keras import data, distribute, zoo

    distribute.configure_threads(1)
    import keras
    import numpy as np
    import tensorflow as tf

    strategy = distribute.get_strategy()  # multi-worker when TF_CONFIG names a cluster (what adl-zoo train uses)
    ds = data.load("shapes32")
    x, y = ds.train
    n = (WARMUP_STEPS + STEPS) * GLOBAL_BATCH
    idx = np.arange(n) % len(x)
    train = tf.data.Dataset.from_tensor_slices((x[idx], y[idx])).batch(GLOBAL_BATCH)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = zoo.load_model(ENTRY, pretrained=False)
        model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter())

    model.fit(train, epochs=1, verbose=0, callbacks=[Clock()])
    seconds = times[-1] - times[WARMUP_STEPS - 1]
    if distribute.is_chief():
        Path(out_path).write_text(json.dumps({
            "seconds": seconds, "steps": STEPS, "samples_per_s": STEPS * GLOBAL_BATCH / seconds,
            "replicas": strategy.num_replicas_in_sync, "params": int(model.count_params())}))


def run(num_workers):
    from adl_keras import distribute

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "result.json")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
        configs = distribute.local_tf_configs(num_workers) if num_workers > 1 else [""]
        procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.bench_multiworker_scaling", "--worker", str(out)],
                                  cwd=ROOT, env={**env, "TF_CONFIG": c}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for c in configs]
        errors = [p.communicate(timeout=900)[1] for p in procs]
        if any(p.returncode for p in procs):
            raise RuntimeError(f"{num_workers}-worker run failed:\n" + "\n".join(e[-2000:] for e in errors))
        return json.loads(out.read_text())


def allreduce_table(workers=(2, 8)):
    """All-reduce bytes per step and the 10 Gbit/s break-even step time of every fit-based entry."""
    from adl_keras import zoo

    table = {}
    for name in zoo.list_models():
        entry = zoo.get_entry(name)
        if entry.recipe is None or entry.topic == "rl":
            continue
        params = zoo.model_info(name)["params"]
        if not params:
            continue
        row = {"params": params, "param_bytes": 4 * params}
        for n in workers:
            sent = 2 * (n - 1) / n * 4 * params
            row[f"allreduce_bytes_per_step_{n}_workers"] = int(sent)
            row[f"comm_dominates_below_step_ms_{n}_workers"] = round(1e3 * sent / LINK_BYTES_PER_S, 4)
        table[name] = row
    return table


def main():
    one, two = [], []
    for _ in range(REPEATS):
        one.append(run(1))
        two.append(run(2))
    t1 = statistics.median(r["samples_per_s"] for r in one)
    t2 = statistics.median(r["samples_per_s"] for r in two)
    load = os.getloadavg()
    write_result(
        "multiworker_scaling", f"{ENTRY} training samples/s, 2 workers x 1 thread", "samples/s",
        t2, "the same training on 1 worker (1 thread, no distribution strategy)", t1,
        goal=0.8, higher_is_better=True, repeats=REPEATS, ratio=t2 / (2 * t1),
        extra={
            "ratio_definition": "throughput(2 workers) / (2 x throughput(1 worker))",
            "global_batch": GLOBAL_BATCH, "per_worker_batch_2_workers": GLOBAL_BATCH // 2,
            "timed_steps": STEPS, "warmup_steps": WARMUP_STEPS,
            "one_worker_samples_per_s": [round(r["samples_per_s"], 2) for r in one],
            "two_workers_samples_per_s": [round(r["samples_per_s"], 2) for r in two],
            "transport": "gRPC over 127.0.0.1, TensorFlow collective all-reduce (MultiWorkerMirroredStrategy)",
            "anchor_config": "one process, default strategy (no tf.distribute), 1 TensorFlow thread, same model, "
                             "optimizer, data, global batch and steps as the 2-worker side",
            "why_best": "a single worker with no distribution strategy runs no collective and no cross-replica "
                        "bookkeeping at all, so it is the fastest 1-worker run to scale from; one thread each "
                        "gives both sides the same compute per worker on this 2-core machine",
            "load_average_at_end": [round(v, 2) for v in load],
            "allreduce_per_entry": allreduce_table(),
            "allreduce_note": "ring all-reduce sends 2(N-1)/N x parameter bytes per worker per step (float32); "
                              "below the listed step time a 10 Gbit/s link is the bottleneck",
        })


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
