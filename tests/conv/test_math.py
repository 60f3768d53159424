"""Convolution math against closed forms, scipy.signal and its algebraic properties."""

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from adl_keras.conv import math as cm

METHODS = ["direct", "fft"]
MODES = ["full", "same", "valid"]
FAST = settings(max_examples=40, deadline=None)


def arrays(min_len=1, max_len=12):
    return hnp.arrays(
        np.float64,
        st.integers(min_len, max_len),
        elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False),
    )


# ---------------------------------------------------------------- output size


@pytest.mark.parametrize("n", [1, 5, 8, 13])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("p", [0, 1, 2])
@pytest.mark.parametrize("d", [1, 2])
def test_output_size_formula_matches_computed_output(n, k, s, p, d):
    expected = (n + 2 * p - d * (k - 1) - 1) // s + 1  # textbook formula
    if n + 2 * p < d * (k - 1) + 1:
        assert cm.output_size(n, k, s, p, d) == 0
        return
    assert cm.output_size(n, k, s, p, d) == expected
    x = np.arange(n, dtype=float)
    y = cm.correlate1d(x, np.ones(k), mode=p, stride=s, dilation=d)
    assert y.shape == (expected,)


def test_output_size_modes_and_known_values():
    assert cm.output_size(32, 5, stride=2, padding=2) == 16
    assert cm.output_size(7, 3, stride=2, padding=1) == 4
    assert cm.output_size(10, 3, padding="same", stride=3) == 4  # ceil(10/3)
    assert cm.output_size(10, 4, padding="full") == 13
    assert cm.output_size(10, 3, padding="valid", dilation=2) == 6
    assert cm.padding_amounts("same", 4) == (2, 1)
    assert cm.padding_amounts("same", 3, dilation=2) == (2, 2)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0, "kernel_size": 3}, "n must be a positive int"),
    ({"n": 5, "kernel_size": 3, "stride": 0}, "stride must be a positive int"),
    ({"n": 5, "kernel_size": 3, "dilation": 1.5}, "dilation must be a positive int"),
    ({"n": 5, "kernel_size": 3, "padding": -1}, "padding must be"),
    ({"n": 5, "kernel_size": 3, "padding": "circular"}, "mode must be one of"),
])
def test_output_size_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cm.output_size(**kwargs)


# ---------------------------------------------------------------- scipy equality


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n, k", [(10, 3), (10, 4), (7, 7), (31, 12), (5, 1)])
def test_1d_equals_scipy(method, mode, n, k):
    rng = np.random.default_rng(n * 100 + k)
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    np.testing.assert_allclose(cm.convolve1d(x, w, mode, method=method), ss.convolve(x, w, mode), atol=1e-10)
    np.testing.assert_allclose(cm.correlate1d(x, w, mode, method=method), ss.correlate(x, w, mode), atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape, kshape", [((9, 11), (3, 3)), ((9, 11), (3, 4)), ((20, 17), (6, 5)), ((8, 8), (1, 1))])
def test_2d_equals_scipy(method, mode, shape, kshape):
    rng = np.random.default_rng(sum(shape) + sum(kshape))
    x, w = rng.standard_normal(shape), rng.standard_normal(kshape)
    np.testing.assert_allclose(cm.convolve2d(x, w, mode, method=method), ss.convolve2d(x, w, mode), atol=1e-10)
    np.testing.assert_allclose(cm.correlate2d(x, w, mode, method=method), ss.correlate(x, w, mode), atol=1e-10)
    if all(k % 2 == 1 for k in kshape):
        # correlate2d centres "same" differently for even kernels; for odd ones all agree.
        np.testing.assert_allclose(cm.correlate2d(x, w, mode, method=method), ss.correlate2d(x, w, mode), atol=1e-10)


@FAST
@given(x=arrays(1, 16), w=arrays(1, 6), mode=st.sampled_from(MODES), method=st.sampled_from(METHODS))
def test_random_1d_equals_scipy(x, w, mode, method):
    if mode == "valid" and len(w) > len(x):
        with pytest.raises(ValueError, match="output would be empty"):
            cm.convolve1d(x, w, mode)
        return
    np.testing.assert_allclose(cm.convolve1d(x, w, mode, method=method), ss.convolve(x, w, mode), atol=1e-8)
    np.testing.assert_allclose(cm.correlate1d(x, w, mode, method=method), ss.correlate(x, w, mode), atol=1e-8)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("strides, dilation, mode", [
    (1, 1, "same"), (2, 1, "valid"), ((2, 3), 1, "same"), (1, 2, "valid"), (1, (2, 3), "full"), (3, 2, "same"),
])
def test_stride_and_dilation_equal_subsampled_dilated_kernel(method, strides, dilation, mode):
    """Dilation = correlating with the zero-inserted kernel; stride = subsampling the stride-1 output."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((15, 14)), rng.standard_normal((3, 2))
    got = cm.correlate2d(x, w, mode, strides=strides, dilation=dilation, method=method)
    s = (strides, strides) if isinstance(strides, int) else strides
    wd = cm.dilate_kernel(w, dilation)
    pads = [cm.padding_amounts(mode, k, d) for k, d in zip(w.shape, (dilation, dilation) if isinstance(dilation, int) else dilation)]
    xp = np.pad(x, pads)
    ref = ss.correlate(xp, wd, "valid")[::s[0], ::s[1]]
    np.testing.assert_allclose(got, ref, atol=1e-10)
    for ax in range(2):
        d = dilation if isinstance(dilation, int) else dilation[ax]
        assert got.shape[ax] == cm.output_size(x.shape[ax], w.shape[ax], s[ax], mode, d)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_multichannel_is_sum_of_per_channel_correlations(method, mode):
    """y[..., o] = Σ_c x[..., c] ⋆ w[..., c, o], with leading batch axes."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 10, 3))
    w = rng.standard_normal((3, 4, 3, 5))
    got = cm.correlate2d(x, w, mode, method=method)
    ref = np.stack([
        np.stack([sum(ss.correlate(x[b, :, :, c], w[:, :, c, o], mode) for c in range(3)) for o in range(5)], -1)
        for b in range(2)
    ])
    np.testing.assert_allclose(got, ref, atol=1e-10)
    conv = cm.convolve2d(x, w, mode, method=method)
    ref_conv = np.stack([
        np.stack([sum(ss.convolve(x[b, :, :, c], w[:, :, c, o], mode) for c in range(3)) for o in range(5)], -1)
        for b in range(2)
    ])
    np.testing.assert_allclose(conv, ref_conv, atol=1e-10)


def test_multichannel_1d_matches_scipy():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((12, 2)), rng.standard_normal((4, 2, 3))
    got = cm.convolve1d(x, w, "full")
    ref = np.stack([sum(ss.convolve(x[:, c], w[:, c, o]) for c in range(2)) for o in range(3)], -1)
    np.testing.assert_allclose(got, ref, atol=1e-10)


# ---------------------------------------------------------------- kernel flip


@FAST
@given(x=arrays(3, 16), w=arrays(1, 3), mode=st.sampled_from(MODES))
def test_kernel_flip_relation(x, w, mode):
    """x * w = x ⋆ flip(w) and x ⋆ w = x * flip(w)."""
    np.testing.assert_allclose(cm.convolve1d(x, w, mode), cm.correlate1d(x, w[::-1], mode), atol=1e-9)
    np.testing.assert_allclose(cm.correlate1d(x, w, mode), cm.convolve1d(x, cm.flip_kernel(w), mode), atol=1e-9)


def test_convolution_and_correlation_differ_for_asymmetric_kernel():
    x = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(cm.convolve1d(x, w, "same"), [0, 1, 2, 3, 0])  # impulse response = w
    np.testing.assert_array_equal(cm.correlate1d(x, w, "same"), [0, 3, 2, 1, 0])  # = flip(w)


# ---------------------------------------------------------------- properties


@FAST
@given(x=arrays(), y=arrays(), w=arrays(1, 5), a=st.floats(-3, 3), b=st.floats(-3, 3))
def test_linearity(x, y, w, a, b):
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    lhs = cm.convolve1d(a * x + b * y, w, "full")
    rhs = a * cm.convolve1d(x, w, "full") + b * cm.convolve1d(y, w, "full")
    np.testing.assert_allclose(lhs, rhs, atol=1e-7)


@FAST
@given(x=arrays(), w=arrays(), method=st.sampled_from(METHODS))
def test_commutativity_full_mode(x, w, method):
    np.testing.assert_allclose(cm.convolve1d(x, w, "full", method=method),
                               cm.convolve1d(w, x, "full", method=method), atol=1e-7)


@FAST
@given(x=arrays(1, 8), v=arrays(1, 5), w=arrays(1, 5))
def test_associativity_full_mode(x, v, w):
    lhs = cm.convolve1d(cm.convolve1d(x, v, "full"), w, "full")
    rhs = cm.convolve1d(x, cm.convolve1d(v, w, "full"), "full")
    np.testing.assert_allclose(lhs, rhs, atol=1e-6 * (1 + np.abs(lhs).max()))


@FAST
@given(x=arrays(), w=arrays(1, 5), shift=st.integers(0, 6))
def test_shift_equivariance(x, w, shift):
    """Delaying the input delays the output: (S_k x) * w = S_k (x * w)."""
    shifted = np.concatenate([np.zeros(shift), x])
    np.testing.assert_allclose(cm.convolve1d(shifted, w, "full"),
                               np.concatenate([np.zeros(shift), cm.convolve1d(x, w, "full")]), atol=1e-8)


@FAST
@given(x=hnp.arrays(np.float64, st.tuples(st.integers(3, 8), st.integers(3, 8)),
                    elements=st.floats(-5, 5, allow_nan=False)),
       w=hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3)),
                    elements=st.floats(-5, 5, allow_nan=False)),
       dy=st.integers(0, 3), dx=st.integers(0, 3))
def test_shift_equivariance_2d_and_commutativity(x, w, dy, dx):
    shifted = np.pad(x, ((dy, 0), (dx, 0)))
    out = cm.convolve2d(x, w, "full")
    np.testing.assert_allclose(cm.convolve2d(shifted, w, "full"), np.pad(out, ((dy, 0), (dx, 0))), atol=1e-8)
    np.testing.assert_allclose(out, cm.convolve2d(w, x, "full"), atol=1e-8)


@FAST
@given(x=arrays(4, 16), w=arrays(1, 4))
def test_direct_and_fft_agree(x, w):
    np.testing.assert_allclose(cm.convolve1d(x, w, "same", method="direct"),
                               cm.convolve1d(x, w, "same", method="fft"), atol=1e-8)


# ---------------------------------------------------------------- continuous


def box(u):
    return ((u >= -0.5) & (u <= 0.5)).astype(float)


def gaussian(sigma, mu=0.0):
    return lambda u: np.exp(-((u - mu) ** 2) / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi))


def test_box_conv_box_is_triangle():
    t = np.linspace(-1.5, 1.5, 61)
    got = cm.continuous_convolve(box, box, t, support=(-0.5, 0.5), num=20001)
    triangle = np.maximum(0.0, 1.0 - np.abs(t))  # closed form: (Π * Π)(t) = max(0, 1 − |t|)
    np.testing.assert_allclose(got, triangle, atol=2e-4)


@pytest.mark.parametrize("s1, s2, m1, m2", [(0.5, 1.0, 0.0, 0.0), (0.3, 0.4, 1.0, -2.0)])
def test_gaussian_conv_gaussian_adds_means_and_variances(s1, s2, m1, m2):
    t = np.linspace(-6, 6, 49)
    got = cm.continuous_convolve(gaussian(s1, m1), gaussian(s2, m2), t, support=(m1 - 8 * s1, m1 + 8 * s1))
    closed = gaussian(np.sqrt(s1**2 + s2**2), m1 + m2)(t)  # N(m1, s1²) * N(m2, s2²) = N(m1+m2, s1²+s2²)
    np.testing.assert_allclose(got, closed, atol=1e-6)


def test_sampled_convolution_approximates_closed_form():
    dt = 1e-3
    t_f = np.arange(-0.5, 0.5 + dt / 2, dt)
    t, vals = cm.sampled_convolve(box(t_f), box(t_f), dt, t0_f=t_f[0], t0_g=t_f[0])
    np.testing.assert_allclose(vals, np.maximum(0.0, 1.0 - np.abs(t)), atol=3e-3)
    # Exponential decay e^{-t} (t >= 0) with a unit box [0, 1]: closed form
    # (1 − e^{-t}) for t < 1 and (e − 1) e^{-t} after.
    tg = np.arange(0, 10, dt)
    t2, v2 = cm.sampled_convolve(np.exp(-tg), ((tg >= 0) & (tg < 1)).astype(float), dt)
    closed = np.where(t2 < 1, 1 - np.exp(-t2), (np.e - 1) * np.exp(-t2))
    mask = t2 < 9
    np.testing.assert_allclose(v2[mask], closed[mask], atol=3e-3)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("call, match", [
    (lambda: cm.convolve1d(np.ones(3), np.ones(5)), "output would be empty"),
    (lambda: cm.convolve1d(np.ones(3), np.ones(2), mode="circular"), "mode must be one of"),
    (lambda: cm.convolve2d(np.ones((4, 4)), np.ones(3)), "kernel must have 2 or 4 dimensions"),
    (lambda: cm.convolve2d(np.ones((4, 4, 2)), np.ones((2, 2, 3, 1))), "C_in=3"),
    (lambda: cm.convolve2d(np.ones((4, 4)), np.ones((2, 2)), strides=0), "strides must be a positive int"),
    (lambda: cm.convolve2d(np.ones((4, 4)), np.ones((2, 2)), method="winograd"), "method must be one of"),
    (lambda: cm.convolve1d(np.ones(4) + 1j, np.ones(2)), "x must be a real numeric array"),
    (lambda: cm.continuous_convolve(box, box, 0.0, support=(1, 0)), "support must be"),
    (lambda: cm.sampled_convolve(np.ones(3), np.ones(3), dt=0), "dt must be positive"),
])
def test_bad_input_raises_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_integer_inputs_and_dtype():
    out = cm.convolve1d(np.array([1, 2, 3]), np.array([1, 1]), mode="full")
    np.testing.assert_array_equal(out, [1, 3, 5, 3])
    assert cm.convolve1d(np.ones(4, np.float32), np.ones(2, np.float32)).dtype == np.float32


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(cm, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0
