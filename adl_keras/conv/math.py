"""Convolution mathematics in NumPy: continuous and discrete, 1D and 2D.

Definitions (the code below computes exactly these):

* continuous convolution   (f * g)(t) = ∫ f(τ) g(t − τ) dτ
* discrete convolution     (x * w)[n] = Σ_m x[m] w[n − m]
* cross-correlation        (x ⋆ w)[n] = Σ_m x[n + m] w[m]
* kernel-flip relation     x * w = x ⋆ flip(w)   (and x ⋆ w = x * flip(w))

Deep-learning "convolution" layers (``keras.layers.Conv2D``) compute the
cross-correlation; the kernel-flip relation converts between the two.

Strides, dilation and padding are defined on the cross-correlation of the
zero-padded input ``x_pad`` (``p_before`` zeros in front, ``p_after`` behind):

    y[i] = Σ_j x_pad[s·i + d·j] · w[j],   i = 0 .. out − 1
    out  = floor((n + p_before + p_after − d(k − 1) − 1) / s) + 1

which for symmetric padding p is the textbook
``out = floor((n + 2p − d(k−1) − 1)/s) + 1`` (:func:`output_size`). Dilation
is the same as correlating with the kernel after inserting d − 1 zeros
between its taps (:func:`dilate_kernel`); a stride subsamples the stride-1
result, y_s[i] = y_1[s·i].

Modes follow ``scipy.signal``: ``valid`` pads nothing, ``full`` pads
d(k − 1) on both sides, ``same`` pads d(k − 1) in total with the extra zero
in front (``p_before = ceil(d(k−1)/2)``), so its stride-1 output has the
input's size and equals ``scipy.signal.convolve(..., mode="same")``. (Keras'
``padding="same"`` puts the extra zero behind instead; the from-scratch
layers in :mod:`adl_keras.conv.layers` follow Keras.)

Multi-channel inputs follow the deep-learning layout: ``x`` is
``(..., *spatial, C_in)`` and ``w`` is ``(*kernel, C_in, C_out)``; the
output channel o is Σ_c x[..., c] ⋆ w[..., c, o]. Single-channel inputs are
``(..., *spatial)`` with a kernel of the spatial rank only.

Example:
    >>> import numpy as np
    >>> from adl_keras.conv import math as cm
    >>> cm.convolve1d(np.array([1., 2., 3.]), np.array([0., 1., 0.5]), mode="full")
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> cm.output_size(32, 5, stride=2, padding=2, dilation=1)
    16
"""

import numpy as np

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft")


# ---------------------------------------------------------------------------
# Sizes and padding
# ---------------------------------------------------------------------------


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
    return int(value)


def _tuple(name, value, rank):
    """``value`` as a tuple of ``rank`` positive ints (an int is repeated)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * rank
    if not isinstance(value, (tuple, list)) or len(value) != rank:
        raise ValueError(f"{name} must be an int or a sequence of {rank} ints. Received: {name}={value!r}")
    return tuple(_positive_int(name, v) for v in value)


def padding_amounts(mode, kernel_size, dilation=1):
    """Zeros ``(p_before, p_after)`` that a scipy-style mode adds on one axis.

    valid: (0, 0); full: (d(k−1), d(k−1)); same: d(k−1) in total with
    ``p_before = ceil(d(k−1)/2)`` (scipy.signal's convention).

    Args:
        mode: "full", "same" or "valid".
        kernel_size: taps k of the (undilated) kernel (int).
        dilation: dilation d (int, default 1).

    Returns:
        tuple (p_before, p_after).

    Example:
        >>> padding_amounts("same", 4)
        (2, 1)
    """
    k = _positive_int("kernel_size", kernel_size)
    d = _positive_int("dilation", dilation)
    span = d * (k - 1)  # extent of the dilated kernel minus one
    if mode == "valid":
        return (0, 0)
    if mode == "full":
        return (span, span)
    if mode == "same":
        return (span - span // 2, span // 2)
    raise ValueError(f"mode must be one of {MODES}. Received: mode={mode!r}")


def _pads(padding, n, k, d):
    if isinstance(padding, str):
        return padding_amounts(padding, k, d)
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        padding = (padding, padding)
    if (not isinstance(padding, (tuple, list)) or len(padding) != 2
            or any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0 for p in padding)):
        raise ValueError(
            "padding must be 'full', 'same', 'valid', a non-negative int or a pair (before, after). "
            f"Received: padding={padding!r}"
        )
    return int(padding[0]), int(padding[1])


def output_size(n, kernel_size, stride=1, padding=0, dilation=1):
    """Output length of a strided, dilated, padded convolution on one axis.

        out = floor((n + 2p − d(k − 1) − 1) / s) + 1

    (with ``p_before + p_after`` in place of 2p for asymmetric padding).

    Args:
        n: input length (int).
        kernel_size: kernel taps k (int).
        stride: stride s (int, default 1).
        padding: p zeros on each side (int, default 0), a pair
            (before, after), or a mode "full"/"same"/"valid".
        dilation: dilation d (int, default 1).

    Returns:
        int, at least 0 (0 when the dilated kernel does not fit).

    Example:
        >>> output_size(7, 3, stride=2, padding=1)
        4
        >>> output_size(10, 3, padding="same", stride=3)
        4
    """
    n = _positive_int("n", n)
    k = _positive_int("kernel_size", kernel_size)
    s = _positive_int("stride", stride)
    d = _positive_int("dilation", dilation)
    before, after = _pads(padding, n, k, d)
    span = n + before + after - d * (k - 1) - 1
    return span // s + 1 if span >= 0 else 0  # floor((n + 2p − d(k−1) − 1)/s) + 1


def dilate_kernel(kernel, dilation, axes=None):
    """Inserts ``dilation − 1`` zeros between the taps of ``kernel``.

    Correlating with the dilated kernel equals the dilated correlation
    y[i] = Σ_j x[i + d·j] w[j].

    Args:
        kernel: array.
        dilation: int or one int per axis in ``axes``.
        axes: axes to dilate (default all axes of ``kernel``).

    Returns:
        ndarray with each dilated axis of length d(k − 1) + 1.

    Example:
        >>> dilate_kernel(np.array([1., 2., 3.]), 2)
        array([1., 0., 2., 0., 3.])
    """
    kernel = np.asarray(kernel)
    axes = tuple(range(kernel.ndim)) if axes is None else tuple(axes)
    dil = _tuple("dilation", dilation, len(axes))
    shape = list(kernel.shape)
    index = [slice(None)] * kernel.ndim
    for ax, d in zip(axes, dil):
        shape[ax] = d * (kernel.shape[ax] - 1) + 1
        index[ax] = slice(None, None, d)
    out = np.zeros(shape, dtype=kernel.dtype)
    out[tuple(index)] = kernel
    return out


def flip_kernel(kernel, rank=None):
    """Reverses the first ``rank`` (spatial) axes: the kernel-flip relation
    x * w = x ⋆ flip(w).

    Args:
        kernel: array ``(*kernel, ...)``.
        rank: number of spatial axes (default all axes).

    Returns:
        ndarray view with the spatial axes reversed.
    """
    kernel = np.asarray(kernel)
    rank = kernel.ndim if rank is None else rank
    return kernel[(slice(None, None, -1),) * rank]


# ---------------------------------------------------------------------------
# Discrete cross-correlation and convolution
# ---------------------------------------------------------------------------


def _prepare(x, w, rank):
    x = np.asarray(x)
    w = np.asarray(w)
    for name, arr in (("x", x), ("kernel", w)):
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
            raise ValueError(f"{name} must be a real numeric array. Received: {name}.dtype={arr.dtype}")
    dtype = np.result_type(x.dtype, w.dtype, np.float32)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    if w.ndim == rank:
        multichannel = False
        if x.ndim < rank:
            raise ValueError(
                f"x must have at least {rank} (spatial) dimensions for a {rank}D kernel. Received: x.shape={x.shape}"
            )
    elif w.ndim == rank + 2:
        multichannel = True
        if x.ndim < rank + 1 or x.shape[-1] != w.shape[-2]:
            raise ValueError(
                f"A multi-channel kernel (*kernel, C_in, C_out) needs x of shape (..., *spatial, C_in) with "
                f"C_in={w.shape[-2]}. Received: x.shape={x.shape}, kernel.shape={w.shape}"
            )
    else:
        raise ValueError(
            f"kernel must have {rank} (single channel) or {rank + 2} (k, C_in, C_out) dimensions. "
            f"Received: kernel.shape={w.shape}"
        )
    if any(k < 1 for k in w.shape[:rank]):
        raise ValueError(f"kernel must not be empty. Received: kernel.shape={w.shape}")
    return x, w, multichannel


def _spatial_axes(x, rank, multichannel):
    end = x.ndim - 1 if multichannel else x.ndim
    return tuple(range(end - rank, end))


def _correlate_direct(xp, w, axes, out_shape, strides, dilations, multichannel):
    """Shift-and-add: y = Σ_j w[j] · x_pad[s·i + d·j] (one vectorised pass per tap)."""
    rank = len(axes)
    lead = xp.shape[:axes[0]]
    tail = (w.shape[-1],) if multichannel else ()
    y = np.zeros(lead + tuple(out_shape) + tail, dtype=np.result_type(xp, w))
    scratch = np.empty_like(y)
    for tap in np.ndindex(*w.shape[:rank]):
        index = [slice(None)] * xp.ndim
        for ax, j, o, s, d in zip(axes, tap, out_shape, strides, dilations):
            index[ax] = slice(d * j, d * j + s * (o - 1) + 1, s)  # x_pad[s·i + d·j]
        patch = xp[tuple(index)]
        if multichannel:
            np.matmul(patch, w[tap], out=scratch)  # Σ_c x[.., c] w[j, c, o]
        else:
            np.multiply(patch, w[tap], out=scratch)  # w[j] · x_pad[s·i + d·j]
        y += scratch
    return y


def _correlate_fft(x, pads, w, axes, out_shape, strides, dilations, multichannel):
    """Convolution theorem: F{x * v} = F{x}·F{v} with v = flip(dilated w).

    The zero padding is never materialised: with x_pad[m] = x[m − p_before],
    the valid cross-correlation of x_pad with w_d is
    y[i] = (x * v)[s·i + k_d − 1 − p_before], read from the full convolution
    of the unpadded x (length n + k_d − 1, computed at scipy's
    ``next_fast_len``), with zeros outside it.
    """
    from scipy import fft as sp_fft

    rank = len(axes)
    wd = dilate_kernel(w, dilations, axes=range(rank))
    v = flip_kernel(wd, rank)
    lengths = [x.shape[ax] + wd.shape[i] - 1 for i, ax in enumerate(axes)]
    fft_len = [sp_fft.next_fast_len(n, True) for n in lengths]
    real = np.result_type(x, w)
    kx = sp_fft.rfftn(x, s=fft_len, axes=axes)
    kv = sp_fft.rfftn(v, s=fft_len, axes=tuple(range(rank)))
    if multichannel:
        spec = np.einsum("...c,...co->...o", kx, kv)  # Σ_c over input channels
    else:
        spec = np.multiply(kx, kv, out=kx)
    full = sp_fft.irfftn(spec, s=fft_len, axes=axes)
    crop = [slice(None)] * full.ndim
    index = [slice(None)] * full.ndim
    extend = [(0, 0)] * full.ndim
    for i, (ax, o, s, (before, _)) in enumerate(zip(axes, out_shape, strides, pads)):
        start = wd.shape[i] - 1 - before      # s·i + k_d − 1 − p_before at i = 0
        stop = start + s * (o - 1) + 1
        crop[ax] = slice(0, lengths[i])       # the linear (not circular) full convolution
        # padding wider than the dilated kernel reads zeros beyond the full convolution
        extend[ax] = (max(0, -start), max(0, stop - lengths[i]))
        index[ax] = slice(start + extend[ax][0], stop + extend[ax][0], s)
    if any(sum(e) for e in extend):
        full = np.pad(full[tuple(crop)], extend)
    return np.ascontiguousarray(full[tuple(index)]).astype(real, copy=False)


def correlate(x, kernel, rank, mode="valid", strides=1, dilations=1, method="auto"):
    """N-dimensional cross-correlation (x ⋆ w)[i] = Σ_j x_pad[s·i + d·j] w[j].

    Args:
        x: input ``(..., *spatial)`` (single channel) or
            ``(..., *spatial, C_in)`` (multi-channel).
        kernel: ``(*kernel)`` or ``(*kernel, C_in, C_out)``.
        rank: number of spatial dimensions (1 or 2; any n >= 1 works).
        mode: "full", "same", "valid" (scipy.signal's conventions), an int
            p (symmetric zero padding), or one (before, after) pair per axis
            (default "valid").
        strides: int or one per axis (default 1).
        dilations: int or one per axis (default 1).
        method: "direct" (one vectorised shift-and-add per tap), "fft"
            (convolution theorem at ``scipy.fft.next_fast_len`` sizes, no
            materialised padding) or "auto" (fft from 20 taps with stride 1;
            default).

    Returns:
        ndarray ``(..., *out)`` or ``(..., *out, C_out)`` with
        out = floor((n + p_before + p_after − d(k−1) − 1)/s) + 1.

    Example:
        >>> correlate(np.arange(5.), np.array([1., -1.]), rank=1)
        array([-1., -1., -1., -1.])
    """
    rank = _positive_int("rank", rank)
    x, w, multichannel = _prepare(x, kernel, rank)
    strides = _tuple("strides", strides, rank)
    dilations = _tuple("dilations", dilations, rank)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}. Received: method={method!r}")
    axes = _spatial_axes(x, rank, multichannel)
    if isinstance(mode, str) or isinstance(mode, (int, np.integer)):
        if isinstance(mode, str) and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, an int or (before, after) pairs. Received: mode={mode!r}")
        per_axis = [mode] * rank
    elif rank == 1 and isinstance(mode, (tuple, list)) and len(mode) == 2 and not isinstance(mode[0], (tuple, list)):
        per_axis = [tuple(mode)]
    elif isinstance(mode, (tuple, list)) and len(mode) == rank:
        per_axis = list(mode)
    else:
        raise ValueError(f"mode must be one of {MODES}, an int or {rank} (before, after) pairs. Received: mode={mode!r}")
    pads, out_shape = [], []
    for ax, p, k, s, d in zip(axes, per_axis, w.shape[:rank], strides, dilations):
        pads.append(_pads(p, x.shape[ax], k, d))
        out_shape.append(output_size(x.shape[ax], k, s, pads[-1], d) if x.shape[ax] > 0 else 0)
    if min(out_shape) < 1:
        raise ValueError(
            f"The dilated kernel is larger than the padded input, the output would be empty. Received: "
            f"x.shape={x.shape}, kernel.shape={w.shape}, mode={mode!r}, dilations={dilations}"
        )
    if method == "auto":
        # Measured on float64 images of 128-512 pixels a side: one shift-and-add
        # pass costs ~1.5-2 ns per tap and output pixel, an FFT product ~25-36 ns
        # per pixel, so the direct method wins below ~20 taps (and with strides,
        # where it computes only the kept outputs).
        taps = int(np.prod(w.shape[:rank]))
        method = "fft" if taps >= 20 and max(strides) == 1 else "direct"
    if method == "fft":
        return _correlate_fft(x, pads, w, axes, out_shape, strides, dilations, multichannel)
    pad_width = [(0, 0)] * x.ndim
    for ax, p in zip(axes, pads):
        pad_width[ax] = p
    xp = np.pad(x, pad_width) if any(sum(p) for p in pads) else x
    return _correlate_direct(xp, w, axes, out_shape, strides, dilations, multichannel)


def convolve(x, kernel, rank, mode="valid", strides=1, dilations=1, method="auto"):
    """N-dimensional convolution (x * w)[n] = Σ_m x[m] w[n − m].

    Computed through the kernel-flip relation x * w = x ⋆ flip(w) (with
    dilation, the dilated kernel is flipped, which equals dilating the
    flipped kernel). Arguments as :func:`correlate`.
    """
    kernel = np.asarray(kernel)
    rank = _positive_int("rank", rank)
    if kernel.ndim not in (rank, rank + 2):
        raise ValueError(
            f"kernel must have {rank} or {rank + 2} dimensions. Received: kernel.shape={kernel.shape}"
        )
    return correlate(x, flip_kernel(kernel, rank), rank, mode, strides, dilations, method)  # x * w = x ⋆ flip(w)


def convolve1d(x, kernel, mode="valid", stride=1, dilation=1, method="auto"):
    """1D discrete convolution (x * w)[n] = Σ_m x[m] w[n − m].

    Args:
        x: ``(..., n)`` or multi-channel ``(..., n, C_in)``.
        kernel: ``(k,)`` or ``(k, C_in, C_out)``.
        mode: "full", "same", "valid" or explicit padding (default "valid").
        stride: int (default 1).
        dilation: int (default 1).
        method: "auto", "direct" or "fft" (default "auto").

    Returns:
        ndarray; equals ``scipy.signal.convolve(x, kernel, mode)`` for 1D
        single-channel input with stride 1 and dilation 1.

    Example:
        >>> convolve1d(np.ones(3), np.ones(2), mode="full")
        array([1., 2., 2., 1.])
    """
    return convolve(x, kernel, 1, mode, stride, dilation, method)


def correlate1d(x, kernel, mode="valid", stride=1, dilation=1, method="auto"):
    """1D cross-correlation (x ⋆ w)[n] = Σ_m x[n + m] w[m]; see :func:`convolve1d`.

    Example:
        >>> correlate1d(np.arange(4.), np.array([1., 2.]))
        array([2., 5., 8.])
    """
    return correlate(x, kernel, 1, mode, stride, dilation, method)


def convolve2d(x, kernel, mode="valid", strides=1, dilation=1, method="auto"):
    """2D discrete convolution (x * w)[a, b] = Σ_{m, n} x[m, n] w[a − m, b − n].

    Args:
        x: ``(..., H, W)`` or multi-channel ``(..., H, W, C_in)``.
        kernel: ``(kh, kw)`` or ``(kh, kw, C_in, C_out)``.
        mode: "full", "same", "valid" or explicit padding (default "valid").
        strides: int or (sh, sw) (default 1).
        dilation: int or (dh, dw) (default 1).
        method: "auto", "direct" or "fft" (default "auto").

    Returns:
        ndarray; equals ``scipy.signal.convolve2d(x, kernel, mode)`` for
        single-channel 2D input with stride 1 and dilation 1.

    Example:
        >>> convolve2d(np.ones((3, 3)), np.ones((2, 2)), mode="valid")
        array([[4., 4.],
               [4., 4.]])
    """
    return convolve(x, kernel, 2, mode, strides, dilation, method)


def correlate2d(x, kernel, mode="valid", strides=1, dilation=1, method="auto"):
    """2D cross-correlation (x ⋆ w)[a, b] = Σ_{m, n} x[a + m, b + n] w[m, n]
    (what ``keras.layers.Conv2D`` computes); see :func:`convolve2d`."""
    return correlate(x, kernel, 2, mode, strides, dilation, method)


# ---------------------------------------------------------------------------
# Continuous convolution
# ---------------------------------------------------------------------------


def continuous_convolve(f, g, t, support, num=4001):
    """Continuous convolution (f * g)(t) = ∫ f(τ) g(t − τ) dτ by the trapezoid rule.

    Args:
        f, g: vectorised callables of a float array.
        t: points (float or array) where the convolution is evaluated.
        support: (low, high) interval containing the support of ``f`` (the
            integral over τ runs over it).
        num: quadrature points on ``support`` (int, default 4001).

    Returns:
        ndarray of the shape of ``t``.

    Example:
        >>> box = lambda u: ((u >= -0.5) & (u <= 0.5)).astype(float)
        >>> float(np.round(continuous_convolve(box, box, 0.0, (-0.5, 0.5)), 6))
        1.0
    """
    low, high = support
    if not np.isfinite(low) or not np.isfinite(high) or not low < high:
        raise ValueError(f"support must be a finite (low, high) with low < high. Received: support={support!r}")
    num = _positive_int("num", num)
    if num < 2:
        raise ValueError(f"num must be at least 2. Received: num={num}")
    t = np.asarray(t, dtype=float)
    tau = np.linspace(low, high, num)
    integrand = f(tau)[None, :] * g(t.reshape(-1, 1) - tau[None, :])  # f(τ) g(t − τ)
    return np.trapezoid(integrand, tau, axis=1).reshape(t.shape)


def sampled_convolve(f_samples, g_samples, dt, t0_f=0.0, t0_g=0.0):
    """Continuous convolution of two functions sampled on grids of spacing ``dt``.

    Riemann sum (f * g)(t_n) ≈ Σ_m f(τ_m) g(t_n − τ_m) dt = dt · (f * g)[n],
    i.e. the full discrete convolution scaled by dt, on the grid
    t_n = t0_f + t0_g + n·dt.

    Args:
        f_samples, g_samples: 1D sample arrays.
        dt: grid spacing (float > 0).
        t0_f, t0_g: time of the first sample of each (default 0).

    Returns:
        ``(t, values)`` arrays of length len(f) + len(g) − 1.
    """
    if not dt > 0:
        raise ValueError(f"dt must be positive. Received: dt={dt!r}")
    f = np.asarray(f_samples, dtype=float)
    g = np.asarray(g_samples, dtype=float)
    if f.ndim != 1 or g.ndim != 1:
        raise ValueError(f"samples must be 1D. Received: f.shape={f.shape}, g.shape={g.shape}")
    values = dt * convolve1d(f, g, mode="full")
    t = t0_f + t0_g + dt * np.arange(len(values))
    return t, values
