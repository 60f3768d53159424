"""Deletion AUC (Petsiuk et al. 2018) of SHAP (DeepExplainer) and integrated
gradients vs random attributions on lenet5.digits, same examples, same run.

Pixels are set to 0 (the digits' background) in order of decreasing
attribution, one pixel per step; the curve is the probability of the
predicted class and its area over the removed fraction is the deletion AUC
(lower = more faithful). value = SHAP AUC, anchor = random AUC (mean of
REPEATS random orders), ratio = value / anchor (goal <= 1); integrated
gradients and insertion AUCs in details.
"""

import time

import numpy as np

from benchmarks._common import write_result

N_EXAMPLES = 100
BACKGROUND = 100
REPEATS = 10


def main():
    from adl_keras import data, zoo
    from adl_keras.explain import explain, metrics

    ds = data.load("digits")
    model = zoo.load_model("lenet5.digits")
    x = ds.test[0][:N_EXAMPLES]
    rng = np.random.default_rng(0)
    bg = ds.train[0][np.sort(rng.choice(len(ds.train[0]), BACKGROUND, replace=False))]
    start = time.perf_counter()
    shap_e = explain(model, x, "shap-deep", background=bg)
    ig_e = explain(model, x, "integrated-gradients", background=bg)
    targets = shap_e.targets
    res = {}
    for mode in ("deletion", "insertion"):
        res[mode] = {
            "shap-deep": metrics.deletion_insertion(model, x, shap_e.values, targets, mode=mode)["auc"].mean(),
            "integrated-gradients": metrics.deletion_insertion(model, x, ig_e.values, targets, mode=mode)["auc"].mean(),
            "random": metrics.random_baseline_auc(model, x, targets, mode=mode, repeats=REPEATS),
        }
    dele = res["deletion"]
    write_result(
        "xai_deletion_auc", metric="deletion AUC of the predicted class (lower is better)", unit="AUC",
        value=float(dele["shap-deep"]), anchor=f"random attributions (mean of {REPEATS} orders)",
        anchor_value=float(dele["random"]), goal=1.0, higher_is_better=False, repeats=REPEATS,
        extra={
            "model": "lenet5.digits", "examples": f"digits test[:{N_EXAMPLES}]",
            "background": f"{BACKGROUND} train images", "removal": "pixel set to 0, 64 steps",
            "deletion_auc": {k: float(v) for k, v in dele.items()},
            "insertion_auc": {k: float(v) for k, v in res["insertion"].items()},
            "ig_beats_random": bool(dele["integrated-gradients"] < dele["random"]),
            "shap_beats_random": bool(dele["shap-deep"] < dele["random"]),
            "shap_method_used": shap_e.method,
            "max_additivity_error": {"shap-deep": shap_e.additivity_error(),
                                     "integrated-gradients": ig_e.additivity_error()},
            "seconds": round(time.perf_counter() - start, 1),
        },
    )


if __name__ == "__main__":
    main()
