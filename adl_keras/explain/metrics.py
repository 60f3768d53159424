"""Faithfulness metrics of attributions.

* additivity / completeness: |sum_i phi_i - (f(x) - base)|;
* deletion and insertion curves and their AUC (Petsiuk et al. 2018, RISE):
  features are removed (set to a baseline) or inserted in order of
  decreasing attribution and the target output is recorded; a faithful
  attribution gives a low deletion AUC and a high insertion AUC, compared
  with random attributions (:func:`random_attributions`);
* the model-randomisation sanity check (Adebayo et al. 2018): explanations
  of a model whose weights are re-initialised from the top layer down should
  stop resembling the original ones (Spearman rank correlation drops).
"""

import numpy as np

from adl_keras.explain import _inputs


def additivity_error(explanation):
    """Largest |sum phi - (f(x) - base)| of an additive :class:`Explanation`."""
    return explanation.additivity_error()


def _feature_scores(values, kind):
    """Per-feature importance used to order removals: pixels sum their channels."""
    values = np.asarray(values, dtype="float64")
    if kind == "image":
        return values.sum(axis=-1).reshape(len(values), -1)
    return values.reshape(len(values), -1)


def _expand(mask, shape, kind):
    """A per-feature mask ``(b, F)`` as a mask of the input's shape."""
    if kind == "image":
        return np.broadcast_to(mask.reshape((len(mask),) + shape[:-1] + (1,)), (len(mask),) + shape)
    return mask.reshape((len(mask),) + shape)


def tie_broken_orders(scores, tie_breaks=0, rng=None):
    """Orders of decreasing ``scores`` ``(F,)``: ``(r, F)`` feature indices.

    Tied scores say nothing about which feature comes first. ``tie_breaks=0``
    keeps the index order (one order, ``np.argsort(kind="stable")``); with
    ``tie_breaks=r`` and any tie, ``r`` orders break the ties uniformly at
    random (features of distinct scores keep their order). An index order is
    itself a ranking (a raster scan of an image, top-left first), so it
    would credit the method with an order it never gave.
    """
    scores = np.asarray(scores, dtype="float64")
    if not tie_breaks or len(np.unique(scores)) == len(scores):
        return np.argsort(-scores, kind="stable")[None]
    rng = rng if rng is not None else np.random.default_rng(0)
    return np.stack([np.lexsort((rng.random(len(scores)), -scores)) for _ in range(int(tie_breaks))])


def deletion_insertion(model, x, values, targets, mode="deletion", baseline=0.0, steps=None, kind=None,
                       batch_size=1024, tie_breaks=0, seed=0):
    """Deletion or insertion curves and their areas (Petsiuk et al. 2018).

    Deletion starts at ``x`` and replaces the most important features by
    ``baseline`` first; insertion starts at ``baseline`` and restores them.
    The curve is the target output after k of F features changed, for
    k = 0..F (in ``steps`` equal chunks), and AUC = integral over k/F in
    [0, 1] (trapezoid rule).

    Args:
        model: keras.Model.
        x: ``(n, *input_shape)``.
        values: attributions of ``x``'s shape (or an :class:`Explanation`'s values).
        targets: ``(n,)`` outputs to follow.
        mode: ``"deletion"`` (default) or ``"insertion"``.
        baseline: a number or an array of one example's shape (default 0.0).
        steps: number of chunks (default: one per feature, at most 100).
        kind: input kind (default from the rank).
        batch_size: forward batch (default 1024).
        tie_breaks: 0 (default) orders tied features by index; r > 0
            averages the curve over r uniformly random orders of the tied
            features (examples without ties: one order), see
            :func:`tie_broken_orders`.
        seed: seeds the tie-breaking orders (default 0).

    Returns:
        dict with ``auc`` ``(n,)``, ``curves`` ``(n, steps + 1)``, ``fractions``.

    Example:
        >>> r = deletion_insertion(model, e.data, e.values, e.targets)
        >>> r["auc"].mean()
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion'. Received: mode={mode!r}")
    x = np.asarray(x, dtype="float32")
    values = np.asarray(values)
    if values.shape != x.shape:
        raise ValueError(f"values must have x's shape {x.shape}. Received: values.shape={values.shape}")
    shape = x.shape[1:]
    kind = _inputs.infer_kind(shape, kind)
    scores = _feature_scores(values, kind)
    n_feat = scores.shape[1]
    steps = int(steps or min(n_feat, 100))
    if not 1 <= steps <= n_feat:
        raise ValueError(f"steps must be in [1, {n_feat}]. Received: steps={steps}")
    base = np.broadcast_to(np.asarray(baseline, dtype="float32"), shape)
    counts = np.round(np.linspace(0, n_feat, steps + 1)).astype(int)
    fwd = _inputs.forward(model, batch_size)
    if isinstance(tie_breaks, bool) or not isinstance(tie_breaks, (int, np.integer)) or tie_breaks < 0:
        raise ValueError(f"tie_breaks must be an int >= 0. Received: tie_breaks={tie_breaks!r}")
    rng = np.random.default_rng(seed)
    curves = np.zeros((len(x), steps + 1))
    for i in range(len(x)):
        orders = tie_broken_orders(scores[i], tie_breaks, rng)           # (r, F)
        rank = np.empty(orders.shape, dtype=int)
        np.put_along_axis(rank, orders, np.arange(n_feat)[None], axis=1)
        changed = rank[:, None, :] < counts[None, :, None]               # (r, steps+1, F): first k features
        changed = _expand(changed.reshape(-1, n_feat), shape, kind)
        if mode == "deletion":
            batch = np.where(changed, base[None], x[i][None])
        else:
            batch = np.where(changed, x[i][None], base[None])
        curves[i] = fwd(batch)[:, targets[i]].reshape(len(orders), steps + 1).mean(axis=0)
    fractions = counts / n_feat
    auc = np.trapezoid(curves, fractions, axis=1)                       # AUC = integral of p(k/F) d(k/F)
    return {"auc": auc, "curves": curves, "fractions": fractions}


def deletion_auc(model, x, values, targets, **kwargs):
    """Mean deletion AUC over the batch (lower is more faithful)."""
    return float(deletion_insertion(model, x, values, targets, mode="deletion", **kwargs)["auc"].mean())


def insertion_auc(model, x, values, targets, **kwargs):
    """Mean insertion AUC over the batch (higher is more faithful)."""
    return float(deletion_insertion(model, x, values, targets, mode="insertion", **kwargs)["auc"].mean())


def random_attributions(shape, seed=0):
    """Uniform random attributions: the baseline a faithful method must beat."""
    return np.random.default_rng(seed).random(shape).astype("float32")


def random_baseline_auc(model, x, targets, mode="deletion", repeats=5, seed=0, **kwargs):
    """Mean AUC of ``repeats`` random attribution orders (Petsiuk's random baseline)."""
    aucs = [deletion_insertion(model, x, random_attributions(np.shape(x), seed + r), targets, mode=mode,
                               **kwargs)["auc"].mean() for r in range(int(repeats))]
    return float(np.mean(aucs))


def _randomise_layer(layer, rng):
    """Re-draws a layer's trainable weights: kernels Glorot-uniform, others N(0, 0.1^2)."""
    for var in layer.trainable_weights:
        shape = tuple(var.shape)
        if len(shape) >= 2:
            fan_in, fan_out = int(np.prod(shape[:-1])), shape[-1]
            if len(shape) > 2:
                fan_out = int(np.prod(shape[:-2])) * shape[-1]
            limit = np.sqrt(6.0 / (fan_in + fan_out))                    # Glorot uniform
            var.assign(rng.uniform(-limit, limit, shape).astype(var.dtype))
        else:
            var.assign(rng.normal(0.0, 0.1, shape).astype(var.dtype))


def model_randomisation_check(model, x, method="integrated-gradients", background=None, seed=0,
                              absolute=True, **options):
    """Cascading model-parameter randomisation (Adebayo et al. 2018).

    Layers with weights are re-initialised one by one from the output down;
    after each step the explanation is recomputed (for the same targets as
    the original) and compared with the original by Spearman rank correlation
    of |values|, averaged over the batch.

    Args:
        model: keras.Model (left unchanged; a clone is randomised).
        x: inputs.
        method: explanation method (default ``"integrated-gradients"``).
        background: passed to :func:`adl_keras.explain.explain`.
        seed: randomisation seed (default 0).
        absolute: compare |values| (default True, as in the paper's figures).
        **options: further explain() options.

    Returns:
        list of ``{"layer": name, "spearman": rho}``, first entry the
        unrandomised clone compared with the model (rho = 1 when the clone
        and the explainer are faithful).
    """
    import keras
    from scipy.stats import spearmanr

    from adl_keras.explain.api import explain

    original = explain(model, x, method, background=background, seed=seed, **options)
    targets = original.targets
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)

    def rho(e):
        a, b = original.values, e.values
        if absolute:
            a, b = np.abs(a), np.abs(b)
        out = []
        for u, v in zip(a.reshape(len(a), -1), b.reshape(len(b), -1)):
            r = spearmanr(u, v).statistic
            out.append(0.0 if not np.isfinite(r) else r)
        return float(np.mean(out))

    # Measured, not assumed: the unrandomised clone must explain like the model
    # (rho = 1 up to ties); anything less means the clone or the explainer drifted.
    results = [{"layer": "(original)",
                "spearman": rho(explain(clone, x, method, background=background, seed=seed,
                                        **{**options, "target": targets}))}]
    for layer in reversed([l for l in clone.layers if l.trainable_weights]):
        _randomise_layer(layer, rng)
        e = explain(clone, x, method, background=background, seed=seed, **{**options, "target": targets})
        results.append({"layer": layer.name, "spearman": rho(e)})
    return results
