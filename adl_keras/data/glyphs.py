"""``glyphs32``: a procedural 32x32 RGB dataset of stroke glyphs, 50 classes.

Each class is a fixed stroke template: one to three cubic Bezier curves whose
control points are drawn from a class generator (seeded by ``seed``), kept
only if the template is far enough (symmetric chamfer distance) from every
earlier one. Every image renders its class template with per-image control
point jitter, a random affine map (scale, rotation, shear, translation), a
random stroke width, stroke and background colours (half of the images grey
with a light stroke on a dark ground, the rest coloured, some inverted) and
Gaussian noise; half of the images are block-averaged to 8x8 and bilinearly
upsampled back, so low-resolution blurry strokes are part of the task.

The templates are generic stroke structure: no fonts, no digit shapes. The
dataset exists so a backbone pretrained on it learns stroke features that
suit handwriting-like inputs (see :mod:`adl_keras.transfer.few_shot`).

Everything is generated with NumPy from a fixed seed, so every call returns the
same arrays, and the splits come from :func:`adl_keras.data.split_indices`
(stratified 60/20/20). :func:`glyphs32` keeps the last generated set in memory
(read-only; each call returns fresh split arrays), so loading it again in the
same process costs no regeneration.

Example:
    >>> from adl_keras import data
    >>> ds = data.load("glyphs32")
    >>> ds.train[0].shape, ds.num_classes
    ((7200, 32, 32, 3), 50)
"""

import functools

import numpy as np

from adl_keras.data import Dataset, register_dataset, split_indices

IMAGE_SIZE = 32
# 50 classes of 240 images: the pretraining that transfers best to one-shot
# digits, chosen on the digits *validation* split (mean of 8 selection seeds,
# 200-207, of two-phase fine-tuning at k=1 with hyperparameters chosen as in
# the learning curve): 20 classes x 300 images 0.533, 50 x 120 0.624,
# 80 x 75 0.622, 50 x 240 0.646. More distinct templates matter more than
# more images of each; beyond about 90 no further template is distinct enough.
NUM_CLASSES = 50
_POINTS_PER_STROKE = 32
_MIN_TEMPLATE_DISTANCE = 0.22  # symmetric chamfer distance, in units of the half-size


def _bezier(ctrl, t):
    """Cubic Bezier points B(t) = (1-t)^3 P0 + 3(1-t)^2 t P1 + 3(1-t) t^2 P2 + t^3 P3.

    ``ctrl`` (..., 4, 2), ``t`` (T,) -> (..., T, 2).
    """
    u = 1.0 - t
    basis = np.stack([u ** 3, 3 * u ** 2 * t, 3 * u * t ** 2, t ** 3], axis=-1)  # (T, 4)
    return np.einsum("tk,...kd->...td", basis, ctrl)


def _chamfer(a, b):
    """Symmetric chamfer distance between point sets a (N, 2) and b (M, 2)."""
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    return 0.5 * (d.min(1).mean() + d.min(0).mean())


def glyph_templates(num_classes=NUM_CLASSES, seed=0):
    """Class templates: a list of (strokes, 4, 2) control-point arrays in [-1, 1].

    Args:
        num_classes: number of templates (int, default 50).
        seed: generator seed (int, default 0).

    Returns:
        list of ``num_classes`` float32 arrays (n_strokes, 4, 2), n_strokes in 1..3.
    """
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2. Received: num_classes={num_classes!r}")
    rng = np.random.default_rng([seed, 7919])
    t = np.linspace(0.0, 1.0, _POINTS_PER_STROKE)
    templates, clouds = [], []
    for _ in range(1000 * num_classes):
        n_strokes = int(rng.integers(1, 4))
        # A stroke starts anywhere; its later control points wander from the
        # previous one, so strokes are curves rather than zig-zags across the box.
        start = rng.uniform(-0.8, 0.8, size=(n_strokes, 1, 2))
        steps = rng.normal(0.0, 0.55, size=(n_strokes, 3, 2))
        ctrl = np.clip(start + np.concatenate([np.zeros((n_strokes, 1, 2)), np.cumsum(steps, 1)], 1), -0.9, 0.9)
        cloud = _bezier(ctrl, t).reshape(-1, 2)
        lo, hi = cloud.min(0), cloud.max(0)
        if (hi - lo).max() < 0.9:  # a dot or a short tick, not a glyph
            continue
        # Centre the glyph's bounding box and stretch its longer side to [-1, 1].
        centre, half = (lo + hi) / 2, (hi - lo).max() / 2
        ctrl, cloud = (ctrl - centre) / half, (cloud - centre) / half
        if all(_chamfer(cloud, c) > _MIN_TEMPLATE_DISTANCE for c in clouds):
            templates.append(ctrl.astype("float32"))
            clouds.append(cloud)
            if len(templates) == num_classes:
                return templates
    raise RuntimeError(f"could not draw {num_classes} distinct templates")  # pragma: no cover


def _upsample_matrix(n_in, n_out):
    """(n_out, n_in) bilinear interpolation with half-pixel centres (edge clamped)."""
    pos = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    pos = np.clip(pos, 0.0, n_in - 1.0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    mat = np.zeros((n_out, n_in))
    mat[np.arange(n_out), lo] += 1.0 - frac
    mat[np.arange(n_out), hi] += frac
    return mat


def _render(ctrl, rng):
    """Stroke intensities (m, 32, 32) in [0, 1] of m jittered copies of one template."""
    m = ctrl.shape[0]
    size = IMAGE_SIZE
    t = np.linspace(0.0, 1.0, _POINTS_PER_STROKE)
    pts = _bezier(ctrl, t).reshape(m, -1, 2)  # (m, P, 2), template units
    # Affine map x' = s * R(theta) * Shear(k) x + c, in pixels.
    scale = rng.uniform(9.0, 13.0, size=(m, 1, 1))
    theta = rng.uniform(-0.35, 0.35, size=m)
    shear = rng.uniform(-0.25, 0.25, size=m)
    cos, sin = np.cos(theta), np.sin(theta)
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # (m, 2, 2)
    shr = np.zeros((m, 2, 2))
    shr[:, 0, 0] = shr[:, 1, 1] = 1.0
    shr[:, 0, 1] = shear
    centre = size / 2 + rng.uniform(-2.5, 2.5, size=(m, 1, 2))
    pts = np.einsum("mij,mpj->mpi", rot @ shr, pts) * scale + centre
    grid = np.arange(size, dtype="float32") + 0.5
    pix_y, pix_x = (g.reshape(1, -1, 1) for g in np.meshgrid(grid, grid, indexing="ij"))  # (1, H*W, 1)
    pts = pts.astype("float32")
    dy, dx = pix_y - pts[:, None, :, 0], pix_x - pts[:, None, :, 1]  # (m, H*W, P)
    # Distance to the nearest stroke point; sqrt after the min (monotone, one sqrt per pixel).
    dist = np.sqrt((dy * dy + dx * dx).min(-1))  # (m, H*W)
    half_width = rng.uniform(1.0, 2.6, size=(m, 1))
    ink = np.clip(half_width + 0.5 - dist, 0.0, 1.0)  # antialiased edge, one pixel wide
    return ink.reshape(m, size, size)


def generate_glyphs32(n_per_class=200, num_classes=NUM_CLASSES, seed=0, noise=(0.0, 0.12)):
    """Generates the glyphs32 images and labels (no splitting).

    Args:
        n_per_class: images per class (int, default 200).
        num_classes: number of glyph classes (int, default 50).
        seed: NumPy generator seed (int, default 0).
        noise: (low, high) range of the per-image Gaussian noise std
            (default (0.0, 0.12)).

    Returns:
        ``(x, y)``: float32 images (N, 32, 32, 3) in [0, 1] and int32 labels
        (N,), ordered by class.

    Example:
        >>> x, y = generate_glyphs32(n_per_class=4, num_classes=3)
        >>> x.shape, y.tolist()
        ((12, 32, 32, 3), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    """
    if not isinstance(n_per_class, (int, np.integer)) or isinstance(n_per_class, bool) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive int. Received: n_per_class={n_per_class!r}")
    if len(noise) != 2 or not 0 <= noise[0] <= noise[1]:
        raise ValueError(f"noise must be (low, high) with 0 <= low <= high. Received: noise={noise!r}")
    templates = glyph_templates(num_classes, seed)
    rng = np.random.default_rng([seed, 1])
    size = IMAGE_SIZE
    up = _upsample_matrix(size // 4, size)
    m = int(n_per_class)
    images, labels = [], []
    for label, template in enumerate(templates):
        ctrl = template[None] + rng.normal(0.0, 0.08, size=(m,) + template.shape)
        ink = _render(ctrl, rng)
        # Half of the images lose their detail: 4x4 block mean to 8x8, then
        # bilinear upsampling back to 32x32 (how 8x8 inputs reach a 32x32 model).
        low = np.einsum("ai,mij,bj->mab", up, ink.reshape(m, size // 4, 4, size // 4, 4).mean((2, 4)), up)
        ink = np.where(rng.random((m, 1, 1)) < 0.5, low, ink)[..., None]
        # Grey light-on-dark for half, random colours (stroke >= 0.3 from the
        # ground per channel before clipping) for the rest.
        grey = rng.random((m, 1, 1, 1)) < 0.5
        bg = np.where(grey, rng.uniform(0.0, 0.2, (m, 1, 1, 1)), rng.uniform(0.0, 1.0, (m, 1, 1, 3)))
        delta = rng.uniform(0.3, 0.8, size=(m, 1, 1, 3)) * rng.choice([-1.0, 1.0], size=(m, 1, 1, 3))
        fg = np.where(grey, rng.uniform(0.7, 1.0, (m, 1, 1, 1)), np.clip(bg + delta, 0.0, 1.0))
        fg = np.where(~grey & (np.abs(fg - bg).max(-1, keepdims=True) < 0.3), 1.0 - bg, fg)
        img = bg + ink * (fg - bg)
        sigma = rng.uniform(noise[0], noise[1], size=(m, 1, 1, 1))
        img = img + sigma * rng.standard_normal((m, size, size, 3))
        images.append(np.clip(img, 0.0, 1.0).astype("float32"))
        labels.append(np.full(m, label, dtype="int32"))
    return np.concatenate(images), np.concatenate(labels)


@functools.lru_cache(maxsize=1)
def _generated(n_per_class, num_classes, seed):
    """:func:`generate_glyphs32`'s arrays, read-only; the last set is kept (~150 MB at the default size)."""
    x, y = generate_glyphs32(n_per_class=n_per_class, num_classes=num_classes, seed=seed)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@register_dataset("glyphs32")
def glyphs32(n_per_class=240, num_classes=NUM_CLASSES, seed=0, split_seed=0):
    """The procedural ``glyphs32`` dataset with fixed stratified 60/20/20 splits.

    Args:
        n_per_class: images per class (int, default 240: 12,000 images).
        num_classes: glyph classes (int, default 50).
        seed: generator seed (int, default 0).
        split_seed: seed of :func:`adl_keras.data.split_indices` (default 0).

    Returns:
        Dataset with x float32 (N, 32, 32, 3) in [0, 1], y int32 in [0, num_classes).
    """
    x, y = _generated(n_per_class, num_classes, seed)
    tr, va, te = split_indices(y, seed=split_seed)   # fancy indexing: the splits are fresh arrays
    return Dataset(
        "glyphs32",
        (x[tr], y[tr]),
        (x[va], y[va]),
        (x[te], y[te]),
        num_classes=int(num_classes),
        info={
            "source": "procedural (adl_keras.data.glyphs.generate_glyphs32)",
            "licence": "Apache-2.0 (generated)",
            "class_names": [f"glyph_{i:02d}" for i in range(num_classes)],
            "n_per_class": int(n_per_class),
            "seed": seed,
            "split_seed": split_seed,
            "split": "stratified 60/20/20",
            "image_range": [0.0, 1.0],
        },
    )
