"""``shapes32``: a procedural 32x32 RGB image dataset with 10 classes.

Each image shows one coloured object on a coloured background with a small
distractor blob, a linear illumination gradient and Gaussian pixel noise. Five classes are shapes
(disk, square, triangle, ring, plus), two are rotated/outlined variants
(diamond, x-cross) and three are textured patches (horizontal stripes,
vertical stripes, checkerboard). Position, size, colours, stripe period and
phase, noise level and gradient are random per image, so the task needs
translation- and colour-invariant features (the CIFAR-10 stand-in that works
offline; ``adl_keras.data.load_tfds("cifar10")`` is the online one).

Everything is generated with vectorised NumPy from a fixed seed, so every
call returns the same arrays, and the splits come from
:func:`adl_keras.data.split_indices` (stratified 60/20/20).

Example:
    >>> from adl_keras import data
    >>> ds = data.load("shapes32")
    >>> ds.train[0].shape, ds.num_classes
    ((3000, 32, 32, 3), 10)
"""

import numpy as np

from adl_keras.data import Dataset, register_dataset, split_indices

CLASS_NAMES = (
    "disk",
    "square",
    "triangle",
    "ring",
    "plus",
    "diamond",
    "x_cross",
    "h_stripes",
    "v_stripes",
    "checkerboard",
)
IMAGE_SIZE = 32


def _masks(label, dy, dx, r, rng):
    """Boolean masks (m, H, W) of the object of class ``label``.

    ``dy, dx`` are pixel offsets from the object centre (m, H, W), ``r`` the
    half-size (m, 1, 1).
    """
    m = dy.shape[0]
    dist = np.sqrt(dy ** 2 + dx ** 2)
    bar = np.maximum(1.0, 0.28 * r)  # half-thickness of plus/cross arms

    def patch():
        return np.maximum(np.abs(dy), np.abs(dx)) <= 0.9 * r

    def waves(coord):
        period = rng.uniform(3.0, 6.0, size=(m, 1, 1))
        phase = rng.uniform(0.0, 2 * np.pi, size=(m, 1, 1))
        return np.sin(2 * np.pi * coord / period + phase)

    name = CLASS_NAMES[label]
    if name == "disk":
        return dist <= r
    if name == "square":
        return patch()
    if name == "triangle":
        # Apex up or down (random flip); half-width grows linearly to r at the base.
        flip = np.where(rng.random((m, 1, 1)) < 0.5, 1.0, -1.0)
        v = dy * flip
        return (np.abs(v) <= r) & (np.abs(dx) <= 0.5 * (v + r))
    if name == "ring":
        return (dist <= r) & (dist >= 0.55 * r)
    if name == "plus":
        return ((np.abs(dx) <= bar) & (np.abs(dy) <= r)) | ((np.abs(dy) <= bar) & (np.abs(dx) <= r))
    if name == "diamond":
        return np.abs(dy) + np.abs(dx) <= 1.2 * r
    if name == "x_cross":
        u, v = (dx + dy) / np.sqrt(2.0), (dx - dy) / np.sqrt(2.0)
        return ((np.abs(u) <= bar) & (np.abs(v) <= r)) | ((np.abs(v) <= bar) & (np.abs(u) <= r))
    if name == "h_stripes":
        return patch() & (waves(dy) > 0)
    if name == "v_stripes":
        return patch() & (waves(dx) > 0)
    if name == "checkerboard":
        return patch() & (waves(dy) * waves(dx) > 0)
    raise ValueError(f"label must be in [0, {len(CLASS_NAMES)}). Received: label={label}")


def generate_shapes32(n_per_class=500, seed=0, noise=(0.05, 0.2)):
    """Generates the shapes32 images and labels (no splitting).

    Args:
        n_per_class: images per class (int, default 500).
        seed: NumPy generator seed (int, default 0).
        noise: (low, high) range of the per-image Gaussian noise std
            (default (0.05, 0.2)).

    Returns:
        ``(x, y)``: float32 images (N, 32, 32, 3) in [0, 1] and int32 labels
        (N,), ordered by class.

    Example:
        >>> x, y = generate_shapes32(n_per_class=10)
        >>> x.shape, y[:3]
        ((100, 32, 32, 3), array([0, 0, 0], dtype=int32))
    """
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive int. Received: n_per_class={n_per_class!r}")
    if len(noise) != 2 or not 0 <= noise[0] <= noise[1]:
        raise ValueError(f"noise must be (low, high) with 0 <= low <= high. Received: noise={noise!r}")
    rng = np.random.default_rng(seed)
    size = IMAGE_SIZE
    grid = np.arange(size, dtype="float32") + 0.5
    yy, xx = grid[None, :, None], grid[None, None, :]
    images, labels = [], []
    for label in range(len(CLASS_NAMES)):
        m = int(n_per_class)
        r = rng.uniform(5.0, 11.0, size=(m, 1, 1)).astype("float32")
        # Centre anywhere that keeps at least half of the object inside the image.
        cy = rng.uniform(r[:, 0, 0] * 0.6, size - r[:, 0, 0] * 0.6)[:, None, None]
        cx = rng.uniform(r[:, 0, 0] * 0.6, size - r[:, 0, 0] * 0.6)[:, None, None]
        mask = _masks(label, yy - cy, xx - cx, r, rng)

        # Background colour, and an object colour at least 0.2 away per channel
        # before clipping, so the label stays visible through the noise.
        bg = rng.uniform(0.0, 1.0, size=(m, 1, 1, 3))
        delta = rng.uniform(0.2, 0.6, size=(m, 1, 1, 3)) * rng.choice([-1.0, 1.0], size=(m, 1, 1, 3))
        fg = bg + delta
        fg = np.where((fg < 0) | (fg > 1), bg - delta, fg)
        fg = np.clip(fg, 0.0, 1.0)
        # Linear illumination gradient over the whole image.
        gy, gx = rng.uniform(-0.25, 0.25, size=(2, m, 1, 1, 1))
        shade = gy * (yy[..., None] / size - 0.5) + gx * (xx[..., None] / size - 0.5)
        img = np.where(mask[..., None], fg, bg)
        # A small distractor blob (radius 1.5-3 px) of a third colour anywhere,
        # which may overlap the object.
        by, bx = rng.uniform(0.0, size, size=(2, m, 1, 1))
        blob = (yy - by) ** 2 + (xx - bx) ** 2 <= rng.uniform(1.5, 3.0, size=(m, 1, 1)) ** 2
        img = np.where(blob[..., None], rng.uniform(0.0, 1.0, size=(m, 1, 1, 3)), img) + shade
        sigma = rng.uniform(noise[0], noise[1], size=(m, 1, 1, 1))
        img = img + sigma * rng.standard_normal((m, size, size, 3), dtype=np.float32)
        images.append(np.clip(img, 0.0, 1.0).astype("float32"))
        labels.append(np.full(m, label, dtype="int32"))
    return np.concatenate(images), np.concatenate(labels)


@register_dataset("shapes32")
def shapes32(n_per_class=500, seed=0, split_seed=0):
    """The procedural ``shapes32`` dataset with fixed stratified 60/20/20 splits.

    Args:
        n_per_class: images per class (int, default 500: 5,000 images).
        seed: generator seed (int, default 0).
        split_seed: seed of :func:`adl_keras.data.split_indices` (default 0).

    Returns:
        Dataset with x float32 (N, 32, 32, 3) in [0, 1], y int32 in [0, 10).
    """
    x, y = generate_shapes32(n_per_class=n_per_class, seed=seed)
    tr, va, te = split_indices(y, seed=split_seed)
    return Dataset(
        "shapes32",
        (x[tr], y[tr]),
        (x[va], y[va]),
        (x[te], y[te]),
        num_classes=len(CLASS_NAMES),
        info={
            "source": "procedural (adl_keras.data.shapes.generate_shapes32)",
            "licence": "Apache-2.0 (generated)",
            "class_names": list(CLASS_NAMES),
            "n_per_class": int(n_per_class),
            "seed": seed,
            "split_seed": split_seed,
            "split": "stratified 60/20/20",
            "image_range": [0.0, 1.0],
        },
    )
