"""LIME (Ribeiro et al. 2016) for images, tables and sequences.

Images: :class:`VectorisedLimeImageExplainer` is lime's own
``LimeImageExplainer`` with one method replaced, ``data_labels``: instead of
building perturbed images one at a time and predicting ten at a time, it
draws the same random on/off matrix from the same ``random_state`` (so the
same seed gives the same samples), builds all perturbed images at once by
indexing (``keep = z[:, segments]``) and predicts in large batches. The
segmentation, the fudged image, the distances and the weighted ridge fit are
lime's own code, so the explanation is lime's for the same seed and samples.
(Both modes skip lime's feature-ranking ridge fit, whose ranking is
discarded when every superpixel is kept, as here.)

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


def _lime_image_classes():
    from lime import lime_image

    class VectorisedLimeImageExplainer(lime_image.LimeImageExplainer):
        """lime's image explainer with all perturbations built and predicted in
        large batches (same random draws, same explanation)."""

        predict_batch_size = 512

        def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples, batch_size=10):
            n_features = np.unique(segments).shape[0]
            # the same draw as lime: z ~ Bernoulli(1/2) per sample and superpixel, z_0 = 1
            data = self.random_state.randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
            data[0, :] = 1
            labels = []
            step = max(int(self.predict_batch_size), 1)
            for s in range(0, num_samples, step):
                keep = data[s:s + step][:, segments].astype(bool)[..., None]   # (b, H, W, 1)
                labels.append(classifier_fn(np.where(keep, image[None], fudged_image[None])))
            return data, np.concatenate(labels)

    return lime_image, VectorisedLimeImageExplainer


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
        vectorised: use :class:`VectorisedLimeImageExplainer` (default True)
            or stock lime's ``LimeImageExplainer`` (its per-sample loop).
        batch_size: prediction batch of either mode (default 512; stock
            lime's own default is 10).

    Returns:
        (values, intercepts, extras dict with ``segments``, ``segment_weights``,
        ``local_pred``, ``score``).
    """
    lime_mod, Vectorised = _lime_image_classes()
    seg_fn = segmentation if callable(segmentation) else Segmenter(segmentation, seed=seed)
    channels = x.shape[-1]
    if channels not in (1, 3):
        raise ValueError(f"LIME images need 1 or 3 channels. Received: x.shape={x.shape}")
    classifier = (lambda imgs: fwd(imgs[..., :1])) if channels == 1 else fwd
    values = np.zeros(x.shape, dtype="float32")
    base = np.zeros(len(x))
    extras = {"segments": [], "segment_weights": [], "local_pred": np.zeros(len(x)), "score": np.zeros(len(x))}
    for i in range(len(x)):
        image = x[i, ..., 0] if channels == 1 else x[i]
        # lime's "auto" selection with num_features >= superpixels fits a ridge model
        # only to rank features it then keeps all of; "none" skips that fit and
        # gives the same final ridge fit on the same features (both modes).
        if vectorised:
            explainer = Vectorised(kernel_width=kernel_width, random_state=seed, feature_selection="none")
            explainer.predict_batch_size = batch_size
        else:
            explainer = lime_mod.LimeImageExplainer(kernel_width=kernel_width, random_state=seed,
                                                    feature_selection="none")
        exp = explainer.explain_instance(
            image.astype("float32"), classifier, labels=(int(targets[i]),), hide_color=hide_color,
            top_labels=None, num_features=100000, num_samples=num_samples, batch_size=int(batch_size),
            segmentation_fn=seg_fn, random_seed=seed)
        segments = exp.segments
        weights = np.zeros(int(segments.max()) + 1)
        for feature, weight in exp.local_exp[int(targets[i])]:
            weights[feature] = weight
        sizes = np.bincount(segments.ravel(), minlength=len(weights))
        values[i] = (weights / np.maximum(sizes, 1))[segments][..., None] / channels
        base[i] = exp.intercept[int(targets[i])]
        extras["segments"].append(segments)
        extras["segment_weights"].append(weights)
        extras["local_pred"][i] = float(np.ravel(exp.local_pred)[0])
        extras["score"][i] = float(exp.score)
    extras["segments"] = np.stack(extras["segments"])
    return values, base, extras


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
