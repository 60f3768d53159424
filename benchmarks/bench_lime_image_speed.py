"""One LIME image explanation (1,000 samples) of lenet5.digits: adl_keras's
vectorised explainer vs stock lime (its batch_size=10 loop), same model
forward function, seed and samples, in one process.

value = vectorised median seconds, anchor = stock lime median seconds,
ratio = anchor / value (speed-up; goal >= 5). details: agreement of the top
superpixels and the largest weight difference.
"""

import numpy as np

from benchmarks._common import median_time, write_result

REPEATS = 7
NUM_SAMPLES = 1000
SEED = 0
TOP_K = 5


def main():
    from adl_keras import data, zoo
    from adl_keras.explain import lime_methods
    from adl_keras.explain._inputs import forward

    ds = data.load("digits")
    model = zoo.load_model("lenet5.digits")
    fwd = forward(model)
    x = ds.test[0][:1]
    targets = fwd(x).argmax(1)

    def run(vectorised):
        return lime_methods.lime_image(fwd, x, targets, seed=SEED, num_samples=NUM_SAMPLES, vectorised=vectorised)

    fast_s, fast_all = median_time(lambda: run(True), repeats=REPEATS)
    stock_s, stock_all = median_time(lambda: run(False), repeats=REPEATS)
    fast, stock = run(True), run(False)
    wf, ws = fast[2]["segment_weights"][0], stock[2]["segment_weights"][0]
    top_f = [int(i) for i in np.argsort(-np.abs(wf))[:TOP_K]]
    top_s = [int(i) for i in np.argsort(-np.abs(ws))[:TOP_K]]
    write_result(
        "lime_image_speed", metric="seconds per LIME image explanation (1,000 samples)", unit="s",
        value=fast_s, anchor="lime 0.2.0.1 LimeImageExplainer (batch_size=10)", anchor_value=stock_s,
        goal=5.0, higher_is_better=True, repeats=REPEATS, ratio=stock_s / fast_s,
        extra={
            "model": "lenet5.digits", "image": "digits test[0]", "num_samples": NUM_SAMPLES, "seed": SEED,
            "superpixels": int(len(wf)), "segmentation": "2x2 grid (8x8 input)",
            f"top{TOP_K}_vectorised": top_f, f"top{TOP_K}_stock": top_s,
            f"top{TOP_K}_same_set": set(top_f) == set(top_s), f"top{TOP_K}_same_order": top_f == top_s,
            "max_abs_weight_diff": float(np.max(np.abs(wf - ws))),
            "vectorised_times": fast_all, "stock_times": stock_all,
        },
    )


if __name__ == "__main__":
    main()
