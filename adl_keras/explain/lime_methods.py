"""LIME (Ribeiro et al. 2016) for images, tables and sequences.

Images: :func:`lime_image` runs lime 0.2.0.1's ``LimeImageExplainer``
algorithm (``feature_selection="none"``) as whole-array steps instead of
lime's per-sample loop: the same on/off matrix from the same
``RandomState`` (so the same seed gives the same samples), all perturbed
images built at once by indexing (``keep = z[:, segments]``, only the
channels the model takes), predicted in large batches, then lime's cosine
distances, kernel and weighted ridge fit computed with the same floating
point operations as scikit-learn's, without its per-call input validation.
The explanation is lime's for the same seed and samples (equal inputs to
the ridge fit give equal weights; measured differences are below 1e-15);
``vectorised=False`` runs stock lime itself. (Both modes skip lime's
feature-ranking ridge fit, whose ranking is discarded when every superpixel
is kept, as here.)

Seeding: lime forwards ``random_seed`` to scikit-image's quickshift through
``SegmentationAlgorithm``, which silently drops arguments the function does
not take. scikit-image >= 0.21 renamed it to ``rng``, so with 0.26 lime's
seed never reaches quickshift (see :func:`lime_quickshift_seed_forwarded`).
:class:`Segmenter` passes the seed under the name the installed
scikit-image uses. Superpixels: at 8x8 digits size quickshift and SLIC return
one to three regions, which explain nothing; ``"grid"`` (square cells of 2
pixels for inputs under 16 pixels a side, 4 below 64) is the default there.

Tables use ``lime_tabular.LimeTabularExplainer`` and sequences
``RecurrentTabularExplainer``; both already predict all samples in one call
(our forward pass batches them), so no vectorised variant is needed.
"""

import inspect

import numpy as np

SEGMENTATIONS = ("auto", "grid", "quickshift", "slic", "felzenszwalb")


def lime_quickshift_seed_forwarded(seed=3):
    """Whether lime's quickshift wrapper passes a seed on to scikit-image.

    Returns:
        False with scikit-image >= 0.21 (``random_seed`` became ``rng`` and
        lime's wrapper drops the unknown name), True with older versions.
    """
    from lime.wrappers.scikit_image import SegmentationAlgorithm

    params = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2,
                                   random_seed=seed).target_params
    return "random_seed" in params or "rng" in params


def grid_segments(height, width, cell):
    """Square superpixels of ``cell`` pixels: labels 0..k-1 in row-major order."""
    if int(cell) < 1:
        raise ValueError(f"cell must be a positive int. Received: cell={cell!r}")
    cols = -(-width // cell)
    rows, columns = np.meshgrid(np.arange(height) // cell, np.arange(width) // cell, indexing="ij")
    return (rows * cols + columns).astype(int)


class Segmenter:
    """A seeded superpixel function ``image (H, W, 3) -> labels (H, W)``.

    Args:
        algorithm: ``"auto"`` (grid below 64 pixels a side, else quickshift),
            ``"grid"``, ``"quickshift"``, ``"slic"`` or ``"felzenszwalb"``.
        seed: seed of quickshift's tie-breaking (default 0).
        cell: grid cell size; default 2 below 16 pixels a side, else 4.
        **params: extra scikit-image arguments.

    Example:
        >>> Segmenter("grid")(np.zeros((8, 8, 3))).max()
        15
    """

    def __init__(self, algorithm="auto", seed=0, cell=None, **params):
        if algorithm not in SEGMENTATIONS:
            raise ValueError(f"segmentation must be one of {SEGMENTATIONS}. Received: segmentation={algorithm!r}")
        self.algorithm, self.seed, self.cell, self.params = algorithm, int(seed), cell, params

    def resolved(self, image):
        if self.algorithm != "auto":
            return self.algorithm
        return "grid" if min(image.shape[:2]) < 64 else "quickshift"

    def __call__(self, image):
        from skimage import segmentation as seg

        algo = self.resolved(image)
        h, w = image.shape[:2]
        if algo == "grid":
            cell = self.cell or (2 if min(h, w) < 16 else 4)
            return grid_segments(h, w, cell)
        if algo == "quickshift":
            params = {"kernel_size": 4, "max_dist": 200, "ratio": 0.2, **self.params}
            seed_name = "rng" if "rng" in inspect.signature(seg.quickshift).parameters else "random_seed"
            params[seed_name] = self.seed
            return seg.quickshift(image.astype("float64"), **params)
        if algo == "slic":
            params = {"n_segments": 50, "compactness": 10.0, "start_label": 0, **self.params}
            return seg.slic(image.astype("float64"), **params)
        return seg.felzenszwalb(image.astype("float64"), **{"scale": 50, **self.params})


# --- LIME for images: lime's algorithm, vectorised ---------------------------
# Each step below is one step of lime 0.2.0.1's ``LimeImageExplainer.explain_instance``
# with ``feature_selection="none"``, written with whole-array NumPy so that it
# gives lime's numbers (tests/explain/test_lime.py checks rtol=1e-12):
# the same draws from the same RandomState, the same cosine distances as
# ``sklearn.metrics.pairwise_distances``, and the same weighted ridge solve as
# ``sklearn.linear_model.Ridge(alpha=1)`` (centre by the weighted means, rescale
# by sqrt(weights), Cholesky solve of (X'X + alpha I) w = X'y).


def hidden_image(image, segments, hide_color=None):
    """The image a hidden superpixel shows: its per-channel mean (lime's default) or ``hide_color``.

    Args:
        image: ``(H, W, C)`` float32 image.
        segments: ``(H, W)`` superpixel labels 0..S-1.
        hide_color: None (superpixel mean) or a value for every hidden pixel.

    Returns:
        ``(H, W, C)`` array of ``image``'s dtype.
    """
    fudged = image.copy()
    if hide_color is not None:
        fudged[:] = hide_color
        return fudged
    for label in np.unique(segments):
        inside = segments == label
        # np.mean over the same values in the same order as lime, so the same float32 rounding
        fudged[inside] = [np.mean(image[inside][:, c]) for c in range(image.shape[-1])]
    return fudged


def perturbation_draws(random_state, num_samples, n_segments):
    """lime's on/off matrix z: ``(num_samples, n_segments)`` ints, z_ij ~ Bernoulli(1/2), z_0 = 1."""
    data = random_state.randint(0, 2, num_samples * n_segments).reshape((num_samples, n_segments))
    data[0, :] = 1
    return data


def perturbed_images(image, hidden, segments, draws):
    """Every perturbed image at once: pixel of superpixel s from ``image`` where z_s = 1, else from ``hidden``.

    Returns:
        ``(len(draws), H, W, C)`` contiguous array of ``image``'s dtype.
    """
    labels = int(segments.max()) + 1
    if labels > draws.shape[1]:
        # lime's column j hides the pixels labelled j: with labels that skip numbers
        # (a custom segmentation), the pixels labelled >= the column count always show
        draws = np.concatenate([draws, np.ones((len(draws), labels - draws.shape[1]), draws.dtype)], axis=1)
    keep = draws[:, segments].astype(bool)[..., None]   # (n, H, W, 1)
    return np.where(keep, image[None], hidden[None])


def cosine_distances_to_first(draws):
    """1 - cos(z_i, z_0), clipped to [0, 2]: ``sklearn.metrics.pairwise_distances(z, z[:1], "cosine")``."""
    x = draws.astype("float64")
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    norms[norms == 0.0] = 1.0   # an all-off row has similarity 0, as in scikit-learn's normalize
    x /= norms[:, None]
    return np.clip(1.0 - x @ x[:1].T, 0.0, 2.0).ravel()


def weighted_ridge(x, y, sample_weight, alpha=1.0):
    """Weighted ridge regression with an intercept, as ``Ridge(alpha).fit(x, y, sample_weight)``.

    minimises sum_i w_i (y_i - b - x_i . c)^2 + alpha |c|^2: centre x and y by
    their weighted means, rescale rows by sqrt(w_i), solve (X'X + alpha I) c = X'y
    (Cholesky), b = mean_w(y) - mean_w(x) . c.

    Args:
        x: ``(n, d)`` design matrix.
        y: ``(n,)`` targets.
        sample_weight: ``(n,)`` weights w_i >= 0.
        alpha: L2 penalty (default 1.0, lime's).

    Returns:
        (coef ``(d,)``, intercept, weighted R^2 on ``(x, y)``, prediction at ``x[0]``).
    """
    import scipy.linalg

    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    x_offset = np.average(x, axis=0, weights=sample_weight)
    y_offset = np.average(y, axis=0, weights=sample_weight)
    sqrt_w = np.sqrt(sample_weight)
    xc = (x - x_offset) * sqrt_w[:, None]
    yc = ((y - y_offset) * sqrt_w)[:, None]
    gram = xc.T @ xc
    gram.flat[:: x.shape[1] + 1] += alpha
    coef = scipy.linalg.solve(gram, xc.T @ yc, assume_a="pos", overwrite_a=True).T.ravel()
    intercept = float(y_offset - x_offset @ coef)
    pred = x @ coef + intercept
    # R^2 with the same weights (lime's explanation "score")
    score = 1.0 - np.sum(sample_weight * (y - pred) ** 2) / np.sum(sample_weight * (y - y_offset) ** 2)
    return coef, intercept, float(score), float(pred[0])


def _lime_image_one(classifier, image, label, seg_fn, seed, num_samples, hide_color, kernel_width, batch_size):
    """One LIME image explanation, lime's steps vectorised (see the comment above)."""
    from skimage.color import gray2rgb

    # lime segments the RGB image (gray2rgb of a 1-channel one); the classifier
    # only ever sees the image's own channels, so only those are built below
    segments = seg_fn(gray2rgb(image[..., 0]) if image.shape[-1] == 1 else image)
    hidden = hidden_image(image, segments, hide_color)
    draws = perturbation_draws(np.random.RandomState(seed), num_samples, np.unique(segments).shape[0])
    labels = np.concatenate([
        np.asarray(classifier(perturbed_images(image, hidden, segments, draws[s:s + batch_size])))[:, label]
        for s in range(0, num_samples, batch_size)])
    distances = cosine_distances_to_first(draws)
    weights = np.sqrt(np.exp(-(distances ** 2) / float(kernel_width) ** 2))   # lime's exponential kernel
    coef, intercept, score, local_pred = weighted_ridge(draws, labels, weights, alpha=1.0)
    return segments, coef, intercept, score, local_pred


def lime_image(fwd, x, targets, seed=0, num_samples=1000, segmentation="auto", hide_color=None,
               kernel_width=0.25, vectorised=True, batch_size=512):
    """LIME image explanations, spread back onto pixels.

    Each superpixel's weight w_s is divided evenly over its pixels (and
    channels), so the pixel values sum to sum_s w_s.

    Args:
        fwd: ``f(images) -> (n, k)`` probabilities.
        x: ``(n, H, W, C)`` images (C = 1 or 3).
        targets: ``(n,)`` class per image.
        seed: seeds lime's sampling and the segmentation (default 0).
        num_samples: perturbations per image (default 1000).
        segmentation: a :class:`Segmenter` or its algorithm name (default "auto").
        hide_color: value of hidden superpixels; None = superpixel mean (lime's default).
        kernel_width: lime's kernel width (default 0.25).
        vectorised: lime's algorithm with whole-array NumPy steps (default
            True, the same numbers) or stock lime's ``LimeImageExplainer``
            (its per-sample loop, sklearn's ridge).
        batch_size: prediction batch of either mode (default 512; stock
            lime's own default is 10).

    Returns:
        (values, intercepts, extras dict with ``segments``, ``segment_weights``,
        ``local_pred``, ``score``).
    """
    seg_fn = segmentation if callable(segmentation) else Segmenter(segmentation, seed=seed)
    channels = x.shape[-1]
    if channels not in (1, 3):
        raise ValueError(f"LIME images need 1 or 3 channels. Received: x.shape={x.shape}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
    values = np.zeros(x.shape, dtype="float32")
    base = np.zeros(len(x))
    extras = {"segments": [], "segment_weights": [], "local_pred": np.zeros(len(x)), "score": np.zeros(len(x))}
    for i in range(len(x)):
        label = int(targets[i])
        if vectorised:
            segments, coef, intercept, score, local_pred = _lime_image_one(
                fwd, x[i].astype("float32"), label, seg_fn, seed, num_samples, hide_color, kernel_width,
                int(batch_size))
            weights = np.zeros(int(segments.max()) + 1)
            weights[:len(coef)] = coef
        else:
            segments, weights, intercept, score, local_pred = _stock_lime_image_one(
                fwd, x[i], label, seg_fn, seed, num_samples, hide_color, kernel_width, int(batch_size))
        sizes = np.bincount(segments.ravel(), minlength=len(weights))
        values[i] = (weights / np.maximum(sizes, 1))[segments][..., None] / channels
        base[i] = intercept
        extras["segments"].append(segments)
        extras["segment_weights"].append(weights)
        extras["local_pred"][i] = local_pred
        extras["score"][i] = score
    extras["segments"] = np.stack(extras["segments"])
    return values, base, extras


def _stock_lime_image_one(fwd, image, label, seg_fn, seed, num_samples, hide_color, kernel_width, batch_size):
    """One explanation by stock lime's ``LimeImageExplainer`` (the reference of the vectorised steps)."""
    from lime import lime_image as lime_mod

    channels = image.shape[-1]
    classifier = (lambda imgs: fwd(imgs[..., :1])) if channels == 1 else fwd
    # lime's "auto" selection with num_features >= superpixels fits a ridge model
    # only to rank features it then keeps all of; "none" skips that fit and
    # gives the same final ridge fit on the same features.
    explainer = lime_mod.LimeImageExplainer(kernel_width=kernel_width, random_state=seed, feature_selection="none")
    exp = explainer.explain_instance(
        (image[..., 0] if channels == 1 else image).astype("float32"), classifier, labels=(label,),
        hide_color=hide_color, top_labels=None, num_features=100000, num_samples=num_samples,
        batch_size=batch_size, segmentation_fn=seg_fn, random_seed=seed)
    segments = exp.segments
    weights = np.zeros(int(segments.max()) + 1)
    for feature, weight in exp.local_exp[label]:
        weights[feature] = weight
    return (segments, weights, float(exp.intercept[label]), float(exp.score),
            float(np.ravel(exp.local_pred)[0]))


def lime_tabular(fwd, x, targets, background, seed=0, num_samples=5000, feature_names=None,
                 class_names=None, discretize_continuous=True, kind="tabular"):
    """LIME for tabular ``(n, F)`` or sequence ``(n, T, F)`` inputs.

    Args:
        fwd: ``f(x) -> (n, k)``.
        x: inputs.
        targets: ``(n,)``.
        background: training-like data for lime's feature statistics.
        seed: seed of lime's random stream, restarted for every example, so
            an example gets the same explanation alone or anywhere in a batch
            (default 0; None draws fresh entropy per example).
        num_samples: perturbations (default 5000, lime's default).
        feature_names: names of the last axis.
        class_names: output names.
        discretize_continuous: lime's quartile discretisation (default True).
        kind: ``"tabular"`` or ``"sequence"``.

    Returns:
        (values, intercepts, extras with ``local_pred``, ``score``).
    """
    from lime import lime_tabular as lt

    n_feat = x.shape[-1]
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(n_feat)]
    values = np.zeros(x.shape, dtype="float32")
    base = np.zeros(len(x))
    extras = {"local_pred": np.zeros(len(x)), "score": np.zeros(len(x))}
    if kind == "sequence":
        steps = x.shape[1]
        explainer = lt.RecurrentTabularExplainer(
            background, feature_names=names, class_names=class_names,
            discretize_continuous=discretize_continuous, random_state=seed)
    else:
        explainer = lt.LimeTabularExplainer(
            background, feature_names=names, class_names=class_names,
            discretize_continuous=discretize_continuous, random_state=seed)
    for i in range(len(x)):
        c = int(targets[i])
        # Each example gets its own stream, seeded alike: the explainer, its
        # discretizer and its LimeBase share this one RandomState, so reseeding
        # it makes an example's explanation independent of its batch position.
        explainer.random_state.seed(seed)
        exp = explainer.explain_instance(x[i], fwd, labels=(c,), num_features=int(np.prod(x.shape[1:])),
                                         num_samples=num_samples)
        flat = np.zeros(int(np.prod(x.shape[1:])))
        for feature, weight in exp.local_exp[c]:
            flat[feature] = weight
        if kind == "sequence":
            values[i] = flat.reshape(n_feat, steps).T   # lime's flat index is feature * T + t
        else:
            values[i] = flat
        base[i] = exp.intercept[c]
        extras["local_pred"][i] = float(np.ravel(exp.local_pred)[0])
        extras["score"][i] = float(exp.score)
    return values, base, extras
