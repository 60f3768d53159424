"""Sample-quality metrics for digit generators: digits-FID and class coverage,
judged by the pretrained zoo classifier ``lenet5.digits``, plus a callback that
warns on mode collapse.

digits-FID (Heusel et al. 2017, with the digits classifier's ``features``
layer in place of Inception): fit a Gaussian to the features of each sample set,

    FD = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)).

FID is measured against the held-out **test** split's statistics (360
images; neither the GANs nor ``lenet5.digits`` trained on it, although the
feature extractor was trained on the train split of the same data). FID is
biased upwards for small sample sets, so a generator is compared with the
*same number* of samples as the real-vs-real reference (the validation split,
359 images, against the test split). FID against the train split's statistics
(the data the GANs were fit to) is available with ``reference="train"``.

Example:
    >>> from adl_keras.gan import metrics
    >>> refs = metrics.reference_fids()          # doctest: +SKIP
    >>> refs["real_vs_real"] < refs["noise_vs_real"]   # doctest: +SKIP
    True
"""

import functools
import warnings

import numpy as np

__all__ = [
    "ModeCollapseMonitor",
    "class_coverage",
    "digits_features",
    "digits_fid",
    "frechet_distance",
    "gaussian_stats",
    "reference_fids",
    "sample_diversity",
    "to_classifier_input",
]

CLASSIFIER = "lenet5.digits"


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1, mu2: 1-D arrays of means.
        sigma1, sigma2: 2-D covariance matrices.

    Returns:
        float ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``.

    Example:
        >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))   # 2 + (1 + 4 - 4) * 2
        4.0
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, "float64")), np.atleast_1d(np.asarray(mu2, "float64"))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, "float64")), np.atleast_2d(np.asarray(sigma2, "float64"))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"means and covariances must agree. Received: mu1.shape={mu1.shape}, "
                         f"mu2.shape={mu2.shape}, sigma1.shape={sigma1.shape}, sigma2.shape={sigma2.shape}")
    diff = mu1 - mu2
    # Tr (S1 S2)^(1/2) = sum sqrt(eig(S1^(1/2) S2 S1^(1/2))): S1 S2 is similar to that symmetric PSD
    # matrix, so a symmetric eigensolver replaces the (slow, complex-valued) general sqrtm.
    vals, vecs = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
    inner = root1 @ sigma2 @ root1
    tr_covmean = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)))
    # FD = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def gaussian_stats(features):
    """Mean and covariance (unbiased, rows = samples) of a feature matrix."""
    features = np.asarray(features, "float64")
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be (num_samples >= 2, dim). Received: shape={features.shape}")
    return features.mean(0), np.cov(features, rowvar=False)


def to_classifier_input(images):
    """Images as the digits classifier takes them: (n, 8, 8, 1) in [0, 1].

    16x16 and 32x32 images are average-pooled to 8x8; a missing channel axis is added.

    Args:
        images: array (n, s, s) or (n, s, s, 1) with s in {8, 16, 32}.

    Returns:
        float32 array (n, 8, 8, 1).
    """
    x = np.asarray(images, "float32")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1 or x.shape[1] != x.shape[2] or x.shape[1] not in (8, 16, 32):
        raise ValueError(f"images must be (n, s, s[, 1]) with s in (8, 16, 32). Received: shape={np.shape(images)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or inf values.")
    factor = x.shape[1] // 8
    if factor > 1:
        n = x.shape[0]
        x = x.reshape(n, 8, factor, 8, factor, 1).mean(axis=(2, 4))
    return x


@functools.lru_cache(maxsize=1)
def _classifier():
    import keras

    from adl_keras import zoo

    model = zoo.load_model(CLASSIFIER)
    return keras.Model(model.inputs, [model.get_layer("features").output, model.output],
                       name="digits_features")


def digits_features(images, batch_size=512):
    """``features`` and class probabilities of ``lenet5.digits`` on ``images``.

    Returns:
        (features (n, 576), probabilities (n, 10)) as float64 arrays.
    """
    x = to_classifier_input(images)
    feats, probs = _classifier().predict(x, batch_size=batch_size, verbose=0)
    return np.asarray(feats, "float64"), np.asarray(probs, "float64")


REFERENCES = ("test", "train")


@functools.lru_cache(maxsize=2)
def _split_stats(split):
    from adl_keras import data

    feats, _ = digits_features(data.load("digits").split(split)[0])
    return gaussian_stats(feats)


def digits_fid(images, reference="test"):
    """digits-FID of ``images`` against a digits split's feature statistics.

    Args:
        images: (n, s, s[, 1]) in [0, 1], s in {8, 16, 32}; compare sets of equal n.
        reference: ``"test"`` (the held-out split, default) or ``"train"``
            (the split the GANs were trained on).

    Returns:
        float.
    """
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}. Received: reference={reference!r}")
    feats, _ = digits_features(images)
    return frechet_distance(*gaussian_stats(feats), *_split_stats(reference))


def reference_fids(seed=0):
    """The two references of digits-FID (against the test split), each with
    about as many images as the test split.

    Returns:
        dict: ``real_vs_real`` (the held-out validation split, 359 images,
        vs the test split), ``noise_vs_real`` (U[0, 1] pixel noise, 360
        images, vs the test split), plus ``num_samples`` (360, the size of
        the test split, the number of generated samples to compare).
    """
    from adl_keras import data

    ds = data.load("digits")
    test = ds.test[0]
    noise = np.random.default_rng(seed).uniform(0.0, 1.0, test.shape).astype("float32")
    return {"real_vs_real": digits_fid(ds.val[0]), "noise_vs_real": digits_fid(noise), "num_samples": len(test)}


def class_coverage(images, num_classes=10):
    """Share of each digit class among ``images``, judged by the classifier's argmax.

    Returns:
        float array (num_classes,) summing to 1.
    """
    _, probs = digits_features(images)
    counts = np.bincount(np.argmax(probs, axis=-1), minlength=num_classes)
    return counts / counts.sum()


def sample_diversity(images, max_pairs=2000, seed=0):
    """Mean pairwise L2 distance between images (a classifier-free collapse signal)."""
    x = np.asarray(images, "float64").reshape(len(images), -1)
    if len(x) < 2:
        raise ValueError(f"sample_diversity needs at least 2 images. Received: {len(x)}")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(x), max_pairs)
    j = (i + rng.integers(1, len(x), max_pairs)) % len(x)
    return float(np.mean(np.linalg.norm(x[i] - x[j], axis=1)))


def _callback_base():
    import keras

    return keras.callbacks.Callback


class ModeCollapseMonitor(_callback_base()):
    """Warns when a generator's samples collapse onto few modes.

    At the end of every ``every``-th epoch it generates ``num_samples`` images
    from a fixed z and measures (a) the pairwise-distance diversity relative
    to ``reference`` images and (b), when ``use_classifier``, the share of the
    rarest digit class. It writes both into ``logs`` (``sample_diversity``,
    ``min_class_share``), keeps them in ``history`` and calls
    ``warnings.warn`` when diversity falls below ``min_diversity_ratio`` of the
    reference's or a class falls below ``min_class_share``.

    Args:
        reference: real images (array) for the diversity ratio, or None.
        num_samples: int images per check (default 500).
        min_diversity_ratio: float warning threshold of the ratio (default 0.5).
        min_class_share: float warning threshold of the rarest class (default 0.02).
        use_classifier: bool, judge classes with ``lenet5.digits`` (default True).
        every: int check every n epochs (default 1).
        seed: int seed of the fixed z (default 0).

    Example:
        >>> monitor = ModeCollapseMonitor(reference=ds.train[0])     # doctest: +SKIP
        >>> gan.fit(ds.train[0], epochs=50, callbacks=[monitor])     # doctest: +SKIP
    """

    def __init__(self, reference=None, num_samples=500, min_diversity_ratio=0.5, min_class_share=0.02,
                 use_classifier=True, every=1, seed=0):
        super().__init__()
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 2:
            raise ValueError(f"num_samples must be an int >= 2. Received: num_samples={num_samples!r}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int. Received: every={every!r}")
        if not 0 <= min_class_share < 1:
            raise ValueError(f"min_class_share must be in [0, 1). Received: min_class_share={min_class_share}")
        if min_diversity_ratio < 0:
            raise ValueError(f"min_diversity_ratio must be >= 0. Received: min_diversity_ratio={min_diversity_ratio}")
        self.reference_diversity = None if reference is None else sample_diversity(reference)
        self.num_samples = num_samples
        self.min_diversity_ratio = float(min_diversity_ratio)
        self.min_class_share = float(min_class_share)
        self.use_classifier = bool(use_classifier)
        self.every = every
        self.seed = seed
        self.history = []

    def _generator(self):
        return getattr(self.model, "generator", self.model)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        gen = self._generator()
        latent = int(gen.inputs[0].shape[-1])
        z = np.random.default_rng(self.seed).standard_normal((self.num_samples, latent)).astype("float32")
        images = np.asarray(gen(z, training=False))
        record = {"epoch": epoch + 1, "sample_diversity": sample_diversity(images)}
        problems = []
        if self.reference_diversity:
            ratio = record["sample_diversity"] / self.reference_diversity
            record["diversity_ratio"] = ratio
            if ratio < self.min_diversity_ratio:
                problems.append(f"sample diversity is {ratio:.2f} of the real data's "
                                f"(threshold {self.min_diversity_ratio})")
        if self.use_classifier:
            shares = class_coverage(images)
            record["min_class_share"] = float(shares.min())
            record["class_shares"] = shares.tolist()
            if shares.min() < self.min_class_share:
                missing = [int(c) for c in np.flatnonzero(shares < self.min_class_share)]
                problems.append(f"classes {missing} have < {self.min_class_share:.0%} of the samples")
        record["collapsed"] = bool(problems)
        self.history.append(record)
        if logs is not None:
            logs.update({k: v for k, v in record.items() if k in ("sample_diversity", "min_class_share")})
        if problems:
            warnings.warn(f"Possible mode collapse at epoch {epoch + 1}: " + "; ".join(problems),
                          RuntimeWarning, stacklevel=2)
