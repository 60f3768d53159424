"""Few-shot learning curve on scikit-learn digits: pretraining vs training from scratch.

For k in {1, 2, 5, 10} labels per class and 10 seeds (seed s draws the same
k shots for every method), test accuracy on the fixed digits test split
(360 images) of three uses of the same ResNet (see
:mod:`adl_keras.transfer.few_shot`):

(a) from scratch (the anchor), (b) a linear probe on frozen pretrained
features, (c) two-phase fine-tuning (the value): (b)'s head, then the whole
backbone.

Hyperparameters (learning rates, update counts, BatchNorm frozen or not in
phase 2) are chosen on the digits *validation* split, once per k and per
backbone, with selection seeds disjoint from the evaluation seeds; the test
split is scored once per seed with the chosen values. The grid and every
score it got are in the JSON.

Two pretraining sources are compared, neither containing digits:
``resnet_small.glyphs32`` (procedural Bezier-stroke glyphs) and
``resnet_small.fashion_mnist`` (real Fashion-MNIST clothing images). The
headline backbone is the one whose (c) scores best on validation at k=1.

Goal (headline): at k=1, median (c) - median (a) >= 15 points, and median
(c) >= median (a) at every k. ``write_result`` states goals as ratio
bounds, so it is written as ratio >= (a + 0.15) / a at k=1; ``meets_goal``
also requires (c) >= (a) at every k. Medians and percentile-bootstrap 95 %
intervals (10,000 resamples of the seeds) per k are in ``details``, and
the curve is drawn to ``results/transfer_few_shot.png``.

The work is split by backbone so that each piece fits a ~20-minute slot of
the shared machine: each (backbone, k) result is saved to ``$ADL_KERAS_HOME/benchmarks/`` as it
finishes, a rerun with the same configuration and the same backbone weights
(each piece records its backbone's sha256; a re-shipped backbone's pieces
are run again) resumes from it (with no work file, from the committed JSON's
pieces), and the
JSON and PNG are written once every piece is there. One run, in slots:

    python -m benchmarks.bench_transfer_few_shot --backbones resnet_small.glyphs32
    python -m benchmarks.bench_transfer_few_shot --backbones resnet_small.fashion_mnist
    python -m benchmarks.bench_transfer_few_shot          # assembles (or runs what is missing)
"""

import argparse
import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path

from benchmarks._common import RESULTS, write_result

GOAL_POINTS = 15.0
NAME = "transfer_few_shot"
PLOT = RESULTS / f"{NAME}.png"


def _work_file():
    from adl_keras.zoo.store import cache_dir

    return cache_dir() / "benchmarks" / f"{NAME}.work.json"


def _config_key(config):
    return hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True).encode()).hexdigest()[:16]


def _load_work(config, committed=None):
    """The saved pieces of this configuration: the work file, else the committed result's curves.

    A fresh clone has no work file, but the committed JSON holds every piece
    of its run (with each backbone's sha256), so re-shipping one backbone
    re-runs only that backbone's pieces.
    """
    if _work_file().exists():
        work = json.loads(_work_file().read_text())
        if work.get("config_key") == _config_key(config):
            return work
    committed = RESULTS / f"{NAME}.json" if committed is None else committed
    if committed.exists():
        details = json.loads(committed.read_text()).get("details", {})
        if details.get("config") == json.loads(json.dumps(dataclasses.asdict(config))):
            return {"config_key": _config_key(config), "results": details.get("curves", {})}
    return {"config_key": _config_key(config), "results": {}}


def _save_piece(config, backbone, shots, piece):
    """Adds one (backbone, k) piece to the work file, re-read first: pieces run one after another."""
    work = _load_work(config)
    work["results"].setdefault(backbone, {})[str(shots)] = piece
    _work_file().parent.mkdir(parents=True, exist_ok=True)
    tmp = _work_file().with_suffix(".part")
    tmp.write_text(json.dumps(work, indent=1))
    os.replace(tmp, _work_file())
    return work


def _backbone_sha256(backbone):
    from adl_keras import zoo

    return zoo.model_info(backbone)["weights"]["sha256"]


def _current(results, backbone, shots, sha256):
    """The saved (backbone, k) piece if it was measured on these backbone weights, else None."""
    piece = results.get(backbone, {}).get(str(shots))
    return piece if piece is not None and piece.get("backbone_sha256") == sha256 else None


def run_piece(runner, shots, config, backbone_sha256):
    """Selection on validation, then the test seeds, for one (backbone, k) on weights with that sha256."""
    from adl_keras.transfer import few_shot

    backbone = runner.backbone
    start = time.perf_counter()
    chosen = few_shot.select_hyperparameters(runner, shots, config, progress=lambda m: print(m, flush=True))
    selected_s = time.perf_counter() - start
    brief = {m: {k: v for k, v in c.items() if k != "grid"} for m, c in chosen.items()}
    print(f"{backbone} k={shots} chosen on val ({selected_s:.0f}s): {brief}", flush=True)
    per_seed = []
    for seed in config.seeds:
        t = time.perf_counter()
        per_seed.append({"seed": seed, **few_shot.evaluate_seed(runner, shots, seed, chosen)})
        print(f"  {backbone} k={shots} seed {seed}: {per_seed[-1]} ({time.perf_counter() - t:.0f}s)", flush=True)
    return {"backbone_sha256": backbone_sha256,
            "selection": chosen, "per_seed": per_seed, "summary": few_shot.summarise(per_seed),
            "seconds": {"selection": selected_s, "total": time.perf_counter() - start}}


def scratch_budget_check(backbone, shots=(5, 10), updates=(160, 320, 640), config=None):
    """Is the anchor starved? (a) trained past the grid's largest update count, on validation only.

    For each k and each of the grid's scratch learning rates, the mean
    validation accuracy over the selection seeds after each of ``updates``
    (one run per seed, validated at every count). Test data is not touched.

    Returns:
        {k: {learning_rate: {updates: val_accuracy}}}
    """
    import numpy as np

    from adl_keras.transfer import few_shot

    config = config or few_shot.CurveConfig()
    runner = few_shot.CurveRunner(backbone, config.batch_size)
    out = {}
    for k in shots:
        for lr in config.scratch_learning_rates:
            curves = [runner.scratch(runner.shots(k, seed), lr, max(updates), seed, "val", list(updates))[1]
                      .history["val_accuracy"] for seed in config.selection_seeds]
            out.setdefault(k, {})[lr] = dict(zip(updates, np.mean(curves, axis=0).round(4).tolist()))
            print(f"{backbone} k={k} scratch lr={lr:g}: {out[k][lr]}", flush=True)
    return out


def plot_curve(results, config, path=None):
    """Accuracy vs k, one panel per backbone: three medians with their bootstrap 95 % bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from adl_keras.zoo.store import atomic_write_bytes

    labels = {"scratch": "(a) from scratch", "probe": "(b) linear probe", "fine_tune": "(c) two-phase fine-tune"}
    backbones = [b for b in config.backbones if b in results]
    fig, axes = plt.subplots(1, len(backbones), figsize=(5.2 * len(backbones), 4), sharey=True, squeeze=False)
    for ax, backbone in zip(axes[0], backbones):
        ks = list(config.shots)
        for method, colour in zip(labels, ("tab:grey", "tab:blue", "tab:red")):
            summary = [results[backbone][str(k)]["summary"][method] for k in ks]
            ax.plot(ks, [s["median"] for s in summary], "o-", color=colour, label=labels[method])
            ax.fill_between(ks, [s["ci95"][0] for s in summary], [s["ci95"][1] for s in summary],
                            color=colour, alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("labelled digits per class (k)")
        ax.set_title(f"pretrained on {backbone.split('.', 1)[1]}")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"digits test accuracy (median of {len(config.seeds)} seeds, 95 % band)")
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    path = path or PLOT
    atomic_write_bytes(path, buffer.getvalue())
    return path


def main(backbones=None, config=None, partial=False):
    from adl_keras.transfer import few_shot

    config = config or few_shot.CurveConfig()
    unknown = [b for b in backbones or () if b not in config.backbones]
    if unknown:
        raise ValueError(f"backbones must be among the curve's {list(config.backbones)}. "
                         f"Received: backbones={unknown}")
    work = _load_work(config)
    todo = backbones or ([] if partial else config.backbones)
    shas = {b: _backbone_sha256(b) for b in config.backbones}
    for backbone in todo:
        runner = None
        for shots in config.shots:
            if _current(work["results"], backbone, shots, shas[backbone]):
                continue
            runner = runner or few_shot.CurveRunner(backbone, config.batch_size)
            work = _save_piece(config, backbone, shots, run_piece(runner, shots, config, shas[backbone]))
    saved = _load_work(config)["results"]
    results = {b: {str(k): _current(saved, b, k, shas[b]) for k in config.shots} for b in config.backbones}
    results = {b: {k: piece for k, piece in pieces.items() if piece} for b, pieces in results.items()}
    missing = [(b, k) for b in config.backbones for k in config.shots if str(k) not in results.get(b, {})]
    if missing and not partial:
        print(f"pieces still to run: {missing}; rerun without --backbones to finish", flush=True)
        return None
    if missing:
        # Write what is complete, and say so in the JSON.
        done = tuple(b for b in config.backbones if all(str(k) in results.get(b, {}) for k in config.shots))
        if not done:
            print("no backbone is complete yet", flush=True)
            return None
        print(f"writing a partial result: {done}; missing {missing}", flush=True)
        config = dataclasses.replace(config, backbones=done)

    # Headline backbone: chosen on validation only, by (c)'s k=1 selection score.
    k1 = str(min(config.shots))
    headline = max(config.backbones, key=lambda b: results[b][k1]["selection"]["fine_tune"]["val_accuracy"])
    curve = results[headline]
    scratch = curve[k1]["summary"]["scratch"]["median"]
    fine = curve[k1]["summary"]["fine_tune"]["median"]
    everywhere = all(curve[str(k)]["summary"]["fine_tune"]["median"] >= curve[str(k)]["summary"]["scratch"]["median"]
                     for k in config.shots)
    plot_curve(results, config)
    table = {b: {k: {m: results[b][k]["summary"][m] for m in (*few_shot.METHODS, "fine_tune_minus_scratch_points")}
                 for k in results[b]} for b in config.backbones}
    result = write_result(
        NAME,
        metric=f"digits test accuracy at 1 label per class, two-phase fine-tuning of {headline} "
               f"(median of {len(config.seeds)} seeds)",
        unit="accuracy", value=fine,
        anchor="the same network trained from scratch on the same shots, hyperparameters chosen on the "
               "same validation split", anchor_value=scratch,
        goal=(scratch + GOAL_POINTS / 100.0) / scratch, higher_is_better=True, repeats=len(config.seeds),
        command="python -m benchmarks.bench_transfer_few_shot",
        extra={
            "goal": f"at k=1 median fine_tune - median scratch >= {GOAL_POINTS:g} points (written as ratio >= "
                    "(scratch + 0.15) / scratch), and median fine_tune >= median scratch at every k",
            "fine_tune_minus_scratch_points_k1": 100.0 * (fine - scratch),
            "fine_tune_at_least_scratch_every_k": everywhere,
            "headline_backbone": headline,
            "headline_backbone_chosen_by": "highest k=1 validation accuracy of (c) on the selection seeds",
            "anchor_config": "the same resnet_small digits network and adapter as the fine-tuned model, random "
                             "init, Adam on the same shots and minibatches, learning rate and update count chosen "
                             f"on validation from config's scratch grid (learning rates "
                             f"{list(config.scratch_learning_rates)}, up to {max(config.scratch_updates)} updates, "
                             f"as many as (c)'s phase 2 at most: {max(config.finetune_updates)})",
            "why_best": "chosen on the same validation split with the same selection seeds as (c), with the same "
                        "largest update budget as (c)'s phase 2 (which starts from a head trained on frozen "
                        "features, not from more whole-network updates); more updates do not help the anchor: "
                        "on validation (glyphs32 architecture, lr 3e-3) it scores 0.926 / 0.916 / 0.919 at "
                        "k=10 and 0.820 / 0.812 / 0.825 at k=5 after 160 / 320 / 640 updates "
                        "(python -m benchmarks.bench_transfer_few_shot --scratch-budget-check)",
            "per_k": table,
            "curves": results,
            "config": dataclasses.asdict(config),
            "selection_split": "digits validation split (359 images); selection seeds disjoint from test seeds",
            "test_split": "digits test split (360 images, stratified 60/20/20, split seed 0)",
            "interval": "percentile bootstrap of the median over seeds, 10,000 resamples, 95 %",
            "plot": f"benchmarks/results/{PLOT.name}",
            "missing_pieces": [list(m) for m in missing],
        },
    )
    if result["meets_goal"] and not everywhere:
        # write_result judges the k=1 ratio only; the goal also needs (c) >= (a) at every k.
        result["meets_goal"] = False
        path = RESULTS / f"{NAME}.json"
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        os.replace(tmp, path)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="*", default=None,
                        help="run only these backbones' pieces now (default: all that are missing)")
    parser.add_argument("--partial", action="store_true",
                        help="run nothing; write the JSON and plot from the complete backbones only")
    parser.add_argument("--scratch-budget-check", action="store_true",
                        help="write nothing; print (a)'s validation accuracy at 160, 320 and 640 updates "
                             "(k=5, 10) for the given backbones' architectures")
    args = parser.parse_args()
    if args.scratch_budget_check:
        for name in args.backbones or ("resnet_small.glyphs32",):
            scratch_budget_check(name)
    else:
        main(args.backbones, partial=args.partial)
