"""One LIME image explanation (1,000 samples): adl_keras's vectorised explainer
vs stock lime at its best, same model forward function, seed, samples,
prediction batch and ridge fits, in one process.

    python -m benchmarks.bench_lime_image_speed

Three workloads, one result file each:

* ``lime_image_speed``: ``lenet5.digits`` on digits test[0] (8x8, 16 grid
  superpixels).
* ``lime_image_speed_28x28``: ``lenet5.fashion_mnist`` on Fashion-MNIST
  test[0] (28x28, 49 grid superpixels).
* ``lime_image_speed_resnet_fashion``: ``resnet_small.fashion_mnist`` on the
  same image: the model's 1,000 forward passes dominate both sides.

Anchor: lime 0.2.0.1's ``LimeImageExplainer.explain_instance`` with
``batch_size`` = num_samples (one prediction call, instead of lime's default
10) and ``feature_selection="none"`` (one ridge fit, as our side: with every
superpixel kept, lime's default "auto" makes a second ridge fit only to rank
features it then keeps all of), with its tqdm progress bar switched off
(``TQDM_DISABLE=1``; lime 0.2.0.1 has no argument for it). Ours: the same explainer class with
``data_labels`` vectorised (perturbed images built by indexing), the same
prediction batch. The explanations are checked equal.

value = our median seconds, anchor_value = stock median seconds, ratio =
anchor / value (speed-up; goal >= 2). The two sides run alternately. The
details also give the median time of the model's forward pass on the 1,000
perturbed images (the same call on both sides) and the ratio of the rest
(LIME's own work: sampling, building images, distances, the ridge fit).
"""

import os

os.environ.setdefault("TQDM_DISABLE", "1")  # stock lime's per-sample progress bar: off for the anchor's best

import numpy as np

from benchmarks._common import write_result

REPEATS = 9
NUM_SAMPLES = 1000
SEED = 0
TOP_K = 5


def _time(fn):
    import time

    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(fwd, x):
    from adl_keras.explain import lime_methods

    targets = fwd(x).argmax(1)

    def run(vectorised):
        return lime_methods.lime_image(fwd, x, targets, seed=SEED, num_samples=NUM_SAMPLES, vectorised=vectorised,
                                       batch_size=NUM_SAMPLES)

    fast, stock = run(True), run(False)  # warm-up, and the equality check
    fwd(np.repeat(x, NUM_SAMPLES, axis=0))  # warm-up of the forward-only timing
    wf, ws = fast[2]["segment_weights"][0], stock[2]["segment_weights"][0]
    np.testing.assert_allclose(wf, ws, rtol=1e-9, atol=1e-12)
    times = {"vectorised": [], "stock": [], "forward": []}
    for r in range(REPEATS):
        order = ("vectorised", "stock") if r % 2 == 0 else ("stock", "vectorised")
        for key in order:
            times[key].append(_time(lambda: run(key == "vectorised")))
        # the model's share: the same forward call on NUM_SAMPLES images of x's size
        times["forward"].append(_time(lambda: fwd(np.repeat(x, NUM_SAMPLES, axis=0))))
    med = {k: float(np.median(v)) for k, v in times.items()}
    return med, times, {"superpixels": int(len(wf)), "max_abs_weight_diff": float(np.max(np.abs(wf - ws))),
                        f"top{TOP_K}": [int(i) for i in np.argsort(-np.abs(wf))[:TOP_K]]}


def main():
    from adl_keras import data, zoo
    from adl_keras.explain._inputs import forward

    load = os.getloadavg()
    digit = data.load("digits").test[0][:1]
    fashion = data.load("fashion_mnist").test[0][:1]
    workloads = {
        "lime_image_speed": ("lenet5.digits", digit, {"image": "digits test[0], 8x8", "segmentation": "2x2 grid"}),
        "lime_image_speed_28x28": ("lenet5.fashion_mnist", fashion,
                                   {"image": "fashion_mnist test[0], 28x28", "segmentation": "4x4 grid"}),
        "lime_image_speed_resnet_fashion": ("resnet_small.fashion_mnist", fashion,
                                            {"image": "fashion_mnist test[0], 28x28", "segmentation": "4x4 grid"}),
    }
    anchor = "lime 0.2.0.1 LimeImageExplainer (batch_size=num_samples, feature_selection='none')"
    for name, (entry, x, info) in workloads.items():
        fwd = forward(zoo.load_model(entry))
        med, times, check = measure(fwd, x)
        print(name, med, flush=True)
        rest = {k: med[k] - med["forward"] for k in ("vectorised", "stock")}
        write_result(
            name, metric=f"seconds per LIME image explanation ({NUM_SAMPLES:,} samples), {entry}", unit="s",
            value=med["vectorised"], anchor=anchor, anchor_value=med["stock"],
            goal=2.0, higher_is_better=True, repeats=REPEATS, ratio=med["stock"] / med["vectorised"],
            command="python -m benchmarks.bench_lime_image_speed",
            extra={"model": entry, **info, "num_samples": NUM_SAMPLES, "seed": SEED, **check,
                   "anchor_config": f"LimeImageExplainer(kernel_width=0.25, random_state={SEED}, "
                                    f"feature_selection='none').explain_instance(..., num_samples={NUM_SAMPLES}, "
                                    f"batch_size={NUM_SAMPLES}, segmentation_fn=<same grid>), tqdm disabled",
                   "why_best": "batch_size = num_samples predicts all perturbations in one call (lime's default "
                               "10 makes 100 calls); feature_selection='none' drops the ranking ridge fit that "
                               "'auto' makes and discards when every superpixel is kept, so both sides make one "
                               "ridge fit; its progress bar is switched off",
                   "ours_config": f"VectorisedLimeImageExplainer, predict batch {NUM_SAMPLES}, same fit",
                   "forward_seconds": med["forward"],
                   "forward_share_of_stock": med["forward"] / med["stock"],
                   "ratio_without_forward": rest["stock"] / rest["vectorised"] if rest["vectorised"] > 0 else None,
                   "load_average_at_start": [round(v, 2) for v in load],
                   "vectorised_times": [round(t, 5) for t in times["vectorised"]],
                   "stock_times": [round(t, 5) for t in times["stock"]],
                   "forward_times": [round(t, 5) for t in times["forward"]]},
        )


if __name__ == "__main__":
    main()
