"""Run by each worker of a local 2-worker cluster: every kind of fit-based zoo
recipe, with a tiny budget, through zoo.train under MultiWorkerMirroredStrategy
(tests/distribute/test_multi_worker.py, slow)."""

import json
import os
import sys

from adl_keras import distribute

out_dir = sys.argv[1]
RECIPES = {  # one entry per kind of training loop, with a tiny budget
    "lenet5.digits": {"epochs": 1},                                # fit_classifier
    "lstm.adding": {"epochs": 1},                                  # own fit, XLA, goal stopping
    "wgan_gp.digits": {"epochs": 1},                               # GAN.train_step, 5 critic steps, GP
    "mlp.wine": {"epochs": 2},                                     # tabular fit_classifier
    "resnet_small.digits10shot": {"head_epochs": 1, "epochs": 1},  # two-phase fine_tune
}
names = sys.argv[2].split(",") if len(sys.argv) > 2 else list(RECIPES)
distribute.configure_threads(1)
from adl_keras import zoo  # noqa: E402

strategy = distribute.get_strategy("multi_worker")
spec = distribute.parse_tf_config()
results = {}
for name in names:
    meta = zoo.train(name, root=os.path.join(out_dir, f"zoo-{spec.task_index}"), strategy=strategy,
                     backup_dir=os.path.join(out_dir, f"backup-{name}"), **RECIPES[name])
    results[name] = {k: v["value"] for k, v in meta["metrics"].items()}
if distribute.is_chief():
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f)
print("DONE", spec.task_index)
