"""Few-shot transfer: glyphs32-pretrained ResNet fine-tuned to sklearn digits, 10 labels per class.

Three ways, same network, same shots, 5 seeds (the shots and every init
depend on the seed), test accuracy on the fixed digits test split (360):

(a) from scratch (anchor), (b) frozen pretrained features + new head,
(c) two-phase fine-tuning (value). See :mod:`adl_keras.transfer.few_shot`.

Goal: (c) beats (a) by >= 15 accuracy points (medians). ``write_result``
states goals as ratio bounds, so the goal is written as
ratio >= (a + 0.15) / a, which holds exactly when (c) - (a) >= 0.15; the
point difference itself is in ``details``.

Run: ``python -m benchmarks.bench_transfer_few_shot``
"""

import statistics
import time

from benchmarks._common import write_result

SEEDS = (0, 1, 2, 3, 4)
GOAL_POINTS = 15.0


def main(seeds=SEEDS):
    import dataclasses

    from adl_keras.transfer import few_shot

    config = few_shot.FewShotConfig()
    runs = []
    for seed in seeds:
        start = time.perf_counter()
        result = few_shot.run_seed(seed, config)
        runs.append(result)
        print(f"seed {seed}: {result} ({time.perf_counter() - start:.0f}s)", flush=True)
    med = {key: statistics.median(r[key] for r in runs) for key in ("scratch", "frozen", "fine_tune")}
    points = 100.0 * (med["fine_tune"] - med["scratch"])
    return write_result(
        "transfer_few_shot",
        metric=f"digits test accuracy, 10 labels per class, two-phase fine-tuning of {config.backbone} "
               "(median of 5 seeds)",
        unit="accuracy", value=med["fine_tune"],
        anchor="same network trained from scratch on the same shots", anchor_value=med["scratch"],
        goal=(med["scratch"] + GOAL_POINTS / 100.0) / med["scratch"], higher_is_better=True,
        repeats=len(seeds),
        extra={
            "scratch_median": med["scratch"], "frozen_features_median": med["frozen"],
            "fine_tune_median": med["fine_tune"],
            "fine_tune_minus_scratch_points": points,
            "goal": f"fine_tune beats scratch by >= {GOAL_POINTS:g} points "
                    "(written as ratio >= (scratch + 0.15) / scratch)",
            "per_seed": [{"seed": s, **r} for s, r in zip(seeds, runs)],
            "config": dataclasses.asdict(config),
            "test_split": "digits test split (360 images, stratified 60/20/20, split seed 0)",
        },
    )


if __name__ == "__main__":
    main()
