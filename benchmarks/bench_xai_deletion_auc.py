"""Deletion AUC (Petsiuk et al. 2018) of SHAP (DeepExplainer) and integrated
gradients vs random attributions, same examples, same run, on the digits
classifier and on every Fashion-MNIST classifier of the zoo.

    python -m benchmarks.bench_xai_deletion_auc [ENTRY ...]   (default: every case)

Features are set to 0 (the background of both datasets) in order of
decreasing attribution, in equal chunks; the curve is the probability of the
predicted class and its area over the removed fraction is the deletion AUC
(lower = more faithful). One result file per entry: ``xai_deletion_auc``
(``lenet5.digits``, 64 steps of one pixel) and ``xai_deletion_auc_<entry>``
for the Fashion entries (28x28 inputs: 28 steps of 28 pixels, keeping the
ResNet's forward passes within a few minutes; the sequence models read the
28 rows as time steps and lose pixels the same way). value = SHAP AUC,
anchor = random AUC (mean of the given number of random orders), ratio =
value / anchor (goal <= 1); integrated gradients and insertion AUCs in details.
"""

import sys
import time
import warnings

import numpy as np

from benchmarks._common import write_result

N_EXAMPLES = 100

# entry -> (result name, deletion steps, random orders, SHAP background, IG baselines, IG steps).
# Integrated gradients average over every baseline: (baselines x (steps + 1)) gradient passes per
# example, so the ResNet and the recurrent models (whose shap-deep falls back to IG over the SHAP
# background) take 10 baselines and 32 steps ("auto": explain() doubles the steps from 32 until
# completeness holds to 1e-2); 100 baselines took over 20 minutes for the ResNet on the shared
# 2-core CPU.
CASES = {
    "lenet5.digits": ("xai_deletion_auc", 64, 10, 100, 100, "auto"),
    "lenet5.fashion_mnist": ("xai_deletion_auc_lenet5_fashion_mnist", 28, 5, 100, 100, "auto"),
    "resnet_small.fashion_mnist": ("xai_deletion_auc_resnet_small_fashion_mnist", 28, 5, 50, 10, 32),
    "lstm.seq_fashion": ("xai_deletion_auc_lstm_seq_fashion", 28, 5, 10, 10, 32),
    "gru.seq_fashion": ("xai_deletion_auc_gru_seq_fashion", 28, 5, 10, 10, 32),
}


def measure(name, steps, repeats, background, ig_baselines, ig_steps):
    """Deletion and insertion AUCs of SHAP, IG and random orders on ``name``'s test[:N_EXAMPLES]."""
    from adl_keras import zoo
    from adl_keras.explain import ExplainerFallbackWarning, explain, metrics
    from adl_keras.explain.zoo_explain import entry_data

    model = zoo.load_model(name)
    x, _, bg, _, _ = entry_data(name, background_size=background)
    x = x[:N_EXAMPLES]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExplainerFallbackWarning)  # recorded below as shap_method_used
        shap_e = explain(model, x, "shap-deep", background=bg, steps=ig_steps)
    ig_e = explain(model, x, "integrated-gradients", background=bg[:ig_baselines], steps=ig_steps)
    targets = shap_e.targets
    res = {}
    for mode in ("deletion", "insertion"):
        res[mode] = {
            "shap-deep": metrics.deletion_insertion(model, x, shap_e.values, targets, mode=mode,
                                                    steps=steps)["auc"].mean(),
            "integrated-gradients": metrics.deletion_insertion(model, x, ig_e.values, targets, mode=mode,
                                                               steps=steps)["auc"].mean(),
            "random": metrics.random_baseline_auc(model, x, targets, mode=mode, repeats=repeats, steps=steps),
        }
    return res, shap_e, ig_e, time.perf_counter() - start


def main(names=None):
    from adl_keras import zoo

    unknown = sorted(set(names or ()) - set(CASES))
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; cases: {', '.join(CASES)}")
    for name in names or CASES:
        result, steps, repeats, background, ig_baselines, ig_steps = CASES[name]
        res, shap_e, ig_e, seconds = measure(name, steps, repeats, background, ig_baselines, ig_steps)
        dele = res["deletion"]
        features = int(np.prod(zoo.get_entry(name).input_shape))
        # DeepExplainer does not take recurrent layers: explain() falls back to IG and says so
        method = "SHAP" if shap_e.method == "shap-deep" else f"shap-deep's fallback ({shap_e.method})"
        write_result(
            result, metric=f"deletion AUC of the predicted class, {name}, {method} (lower is better)", unit="AUC",
            value=float(dele["shap-deep"]), anchor=f"random attributions (mean of {repeats} orders)",
            anchor_value=float(dele["random"]), goal=1.0, higher_is_better=False, repeats=repeats,
            command="python -m benchmarks.bench_xai_deletion_auc",
            extra={
                "model": name, "model_sha256": zoo.model_info(name)["weights"]["sha256"],
                "dataset": zoo.get_entry(name).dataset,
                "examples": f"test[:{N_EXAMPLES}]", "background": f"{background} train images (seed 0)",
                "integrated_gradients": f"{ig_baselines} baselines (the first of the background), steps={ig_steps}",
                "removal": f"features set to 0, {steps} equal steps of {features // steps} features",
                "anchor_config": f"{repeats} uniformly random feature orders (seeds 0..{repeats - 1}) on the same "
                                 "examples, targets, steps and baseline",
                "why_best": "the random order is Petsiuk et al.'s reference for deletion/insertion; it has no "
                            "settings to tune, and it runs on exactly the same curves as the attributions",
                "deletion_auc": {k: float(v) for k, v in dele.items()},
                "insertion_auc": {k: float(v) for k, v in res["insertion"].items()},
                "ig_beats_random": bool(dele["integrated-gradients"] < dele["random"]),
                "shap_beats_random": bool(dele["shap-deep"] < dele["random"]),
                "shap_method_used": shap_e.method,
                "max_additivity_error": {"shap-deep": shap_e.additivity_error(),
                                         "integrated-gradients": ig_e.additivity_error()},
                "seconds": round(seconds, 1),
            },
        )


if __name__ == "__main__":
    main(sys.argv[1:])
