"""Perturbation saliency (Greydanus et al. 2018, "Visualizing and
Understanding Atari Agents"), over batched model calls.

Images: for every location (i, j) a Gaussian mask M_ij (centre (i, j),
width ``sigma``) blends the input with a perturbed copy,

    x~_ij = x * (1 - M_ij) + A(x) * M_ij,

where A(x) is the input blurred with a Gaussian of width ``blur_sigma``
(``mode="blur"``, the paper's choice) or the per-channel mean of the
background, else of the input itself (``mode="mean"``). With
``per_channel=True`` each channel is perturbed on its own (MinAtar's
channels are separate object maps), so every input element gets a score.
Vectors (CartPole's state): feature j is replaced by A(x)_j, the
background's mean (else the batch's mean, or ``baseline``), one feature at
a time.

The score of a perturbation is the drop of the explained output,
S = f_c(x) - f_c(x~) (``score="target"``: positive where the region
supports the output), or the paper's 0.5 * ||f(x) - f(x~)||^2 over all
outputs (``score="l2"``, unsigned). All perturbed copies of a chunk of
examples go through the model in large batches (one
:class:`adl_keras.explain._inputs.Forward` call per chunk): no Python loop
runs single forward passes.
"""

import numpy as np

MODES = ("blur", "mean")
SCORES = ("target", "l2")
# Perturbed copies held in memory at once (each is one input): bounds memory on large inputs.
MAX_COPIES = 65_536


def gaussian_masks(height, width, sigma):
    """``(H * W, H, W)`` masks M_ij = exp(-((y - i)^2 + (x - j)^2) / (2 sigma^2)), peak 1 at (i, j)."""
    yy, xx = np.mgrid[:height, :width]
    centres = np.stack([yy.ravel(), xx.ravel()], axis=1).astype("float64")        # (P, 2)
    d2 = (yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2
    return np.exp(-d2 / (2.0 * float(sigma) ** 2)).astype("float32")


def _check(name, value, low=0.0):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not value > low:
        raise ValueError(f"{name} must be a number > {low}. Received: {name}={value!r}")
    return float(value)


def perturbed_reference(x, mode, kind, blur_sigma=2.0, background=None, baseline=None):
    """A(x): what a perturbation blends in, one per example, ``x``'s shape."""
    if baseline is not None:
        return np.broadcast_to(np.asarray(baseline, dtype="float32"), x.shape)
    if mode == "mean":
        source = background if background is not None else x
        if kind != "image" and len(source) < 2:
            raise ValueError("mode='mean' on vector inputs replaces a feature by its mean over background= "
                             "(or over the batch): pass background= or baseline=. Received: background=None "
                             f"and x.shape={x.shape}")
        axes = tuple(range(source.ndim - 1)) if kind == "image" else (0,)
        mean = source.mean(axis=axes, keepdims=kind == "image")
        if kind == "image" and background is None:  # each frame's own channel means
            mean = x.mean(axis=(1, 2), keepdims=True)
        return np.broadcast_to(mean.astype("float32"), x.shape)
    if kind != "image":
        raise ValueError(f"mode='blur' needs image inputs (H, W, C); for vectors use mode='mean' or a baseline. "
                         f"Received: input shape {x.shape[1:]}")
    from scipy.ndimage import gaussian_filter

    # one call blurs every example and channel over the two spatial axes only
    return gaussian_filter(x, sigma=(0, blur_sigma, blur_sigma, 0), mode="constant").astype("float32")


def perturbation_saliency(fwd, x, targets, kind, mode="blur", sigma=1.0, blur_sigma=2.0, per_channel=True,
                          score="target", background=None, baseline=None):
    """Greydanus-style perturbation saliency of ``fwd``'s outputs ``targets``.

    Args:
        fwd: batched forward ``(m, *shape) -> (m, k)`` (an ``_inputs.Forward``).
        x: ``(n, *shape)`` float32.
        targets: ``(n,)`` output index per example.
        kind: ``"image"`` (masks over H, W) or another kind (one feature at a time).
        mode: ``"blur"`` (default, images only) or ``"mean"``.
        sigma: mask width in pixels (default 1.0).
        blur_sigma: width of the blur A(x) (default 2.0).
        per_channel: images: perturb each channel separately (default True);
            False perturbs all channels of a location together and spreads
            its score evenly over the channels.
        score: ``"target"`` (default) or ``"l2"``.
        background: ``(m, *shape)`` data for ``mode="mean"``.
        baseline: a number or one example's array; overrides ``mode``.

    Returns:
        ``(n, *shape)`` float32 saliency.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}. Received: mode={mode!r}")
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}. Received: score={score!r}")
    sigma = _check("sigma", sigma)
    blur_sigma = _check("blur_sigma", blur_sigma)
    x = np.asarray(x, dtype="float32")
    n, shape = len(x), x.shape[1:]
    reference = perturbed_reference(x, mode, kind, blur_sigma, background, baseline)
    if kind == "image":
        h, w, c = shape
        masks = gaussian_masks(h, w, sigma)                                          # (H*W, H, W)
        if per_channel:
            # (H*W*C, H, W, C): mask ij in channel ch only
            masks = (masks[:, None, :, :, None] * np.eye(c, dtype="float32")[None, :, None, None, :])
            masks = masks.reshape((h * w * c, h, w, c))
        else:
            masks = np.repeat(masks[..., None], c, axis=-1)
    else:
        features = int(np.prod(shape))
        masks = np.eye(features, dtype="float32").reshape((features,) + shape)   # feature j fully replaced
    copies = len(masks)
    base_out = fwd(x)
    values = np.empty((n, copies), dtype="float64")
    chunk = max(1, MAX_COPIES // copies)
    for s in range(0, n, chunk):
        xs, refs = x[s:s + chunk], reference[s:s + chunk]
        # x~ = x (1 - M) + A(x) M for every example of the chunk and every mask, as one batch
        pert = xs[:, None] * (1.0 - masks[None]) + refs[:, None] * masks[None]
        out = fwd(pert.reshape((-1,) + shape)).reshape(len(xs), copies, -1)
        ref_out = base_out[s:s + chunk]
        if score == "target":
            idx = np.asarray(targets[s:s + chunk])
            values[s:s + chunk] = ref_out[np.arange(len(xs)), idx][:, None] - out[np.arange(len(xs)), :, idx]
        else:
            values[s:s + chunk] = 0.5 * ((ref_out[:, None, :] - out) ** 2).sum(-1)   # 0.5 ||f(x) - f(x~)||^2
    if kind == "image" and not per_channel:
        h, w, c = shape
        return np.repeat(values.reshape(n, h, w, 1) / c, c, axis=-1).astype("float32")
    return values.reshape(x.shape).astype("float32")
