"""2D discrete convolution: ``adl_keras.conv.math.convolve2d`` vs
``scipy.signal.convolve2d`` on the same float64 inputs (same run).

    python -m benchmarks.bench_conv_math_vs_scipy

Cases: square images of 128, 256 and 512 pixels times square kernels of 3,
5, 7, 11 and 15 taps, mode "same", stride 1. Each case is timed as the
median over repeats (the two sides interleaved); the outputs are checked
equal first. value = geometric-mean speedup over the cases (scipy seconds /
ours), anchor_value = 1 (scipy against itself), goal ratio >= 1.0 (not
slower). Per-case times and speedups are in ``details``.
"""

import argparse

import numpy as np

from benchmarks._common import median_time, write_result

IMAGES = (128, 256, 512)
KERNELS = (3, 5, 7, 11, 15)


def main(repeats=7):
    import scipy.signal

    from adl_keras.conv import math as cm

    rng = np.random.default_rng(0)
    cases = []
    for n in IMAGES:
        x = rng.standard_normal((n, n))
        for k in KERNELS:
            w = rng.standard_normal((k, k))
            ours = cm.convolve2d(x, w, mode="same")
            ref = scipy.signal.convolve2d(x, w, mode="same")
            np.testing.assert_allclose(ours, ref, atol=1e-9 * np.abs(ref).max())
            t_ours, t_scipy = [], []
            for _ in range(repeats):
                t_ours.append(median_time(lambda: cm.convolve2d(x, w, mode="same"), repeats=1, warmup=0)[0])
                t_scipy.append(median_time(lambda: scipy.signal.convolve2d(x, w, mode="same"), repeats=1,
                                           warmup=0)[0])
            ours_s, scipy_s = float(np.median(t_ours)), float(np.median(t_scipy))
            method = "fft" if k * k >= 30 else "direct"
            cases.append({"image": n, "kernel": k, "method": method, "ours_s": round(ours_s, 6),
                          "scipy_s": round(scipy_s, 6), "speedup": round(scipy_s / ours_s, 3)})
            print(cases[-1], flush=True)
    speedup = float(np.exp(np.mean([np.log(c["scipy_s"] / c["ours_s"]) for c in cases])))
    write_result(
        "conv_math_vs_scipy",
        metric="speedup of convolve2d over scipy.signal.convolve2d (geometric mean over image x kernel sizes)",
        unit="x",
        value=speedup,
        anchor="scipy.signal.convolve2d",
        anchor_value=1.0,
        goal=1.0,
        higher_is_better=True,
        repeats=repeats,
        command="python -m benchmarks.bench_conv_math_vs_scipy",
        extra={"mode": "same", "dtype": "float64", "cases": cases,
               "slower_cases": [f"{c['image']}px k={c['kernel']}" for c in cases if c["speedup"] < 1.0]},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    main(repeats=parser.parse_args().repeats)
