"""Freeze and unfreeze by layer name, stage or fraction of depth, with
BatchNormalization kept in inference mode.

The pitfall (keras-team/keras#9522): ``trainable`` says whether the optimizer
may change a layer's weights; ``training`` says whether a layer behaves as in
training. A BatchNormalization layer in training mode normalises with the
batch statistics and *updates its moving mean and variance* — even when its
gamma/beta are excluded from the optimizer. Fine-tuning a "frozen" backbone on
a few new images then silently rewrites the statistics every later layer was
trained on. Keras 3 runs a BatchNormalization layer whose ``trainable`` is
False in inference mode (``training and self.trainable``), so here freezing
always sets ``trainable=False`` on the BN layer itself, and unfreezing leaves
BN layers frozen unless asked otherwise (the usual advice for small target
sets). Changing ``trainable`` takes effect at the next ``compile``.

Example:
    >>> freeze(model)                          # the whole backbone
    >>> unfreeze(model, stages=["stage4"])     # the top stage, BN still frozen
    >>> freeze(model, fraction=0.5)            # the bottom half of the depth
"""

import fnmatch

from adl_keras.transfer import surface


def is_batchnorm(layer):
    """True for BatchNormalization (and subclasses such as SyncBatchNorm)."""
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def layer_stages(model):
    """Maps each layer name to its stage: ``"stage1".."stageN"``, ``"features"`` or ``"head"``.

    A layer belongs to the first stage whose ``stageK`` layer is at or after
    it in depth order; the input and preprocessing layers go to ``stage1``.
    """
    stages = surface.stage_names(model)
    names = [layer.name for layer in model.layers]
    ends = [(names.index(s), s) for s in stages]
    backbone = set(surface.backbone_layer_names(model))
    out = {}
    for i, name in enumerate(names):
        if name not in backbone:
            out[name] = "head"
            continue
        out[name] = next((s for end, s in ends if i <= end), surface.FEATURES)
    return out


def select_layers(model, layers=None, stages=None, fraction=None, top=False):
    """The layers chosen by name patterns, stages or a fraction of the depth.

    Exactly one selector may be given; with none, the whole backbone.

    Args:
        model: keras.Model following the builder conventions.
        layers: layer names or glob patterns (``"conv*"``), or None.
        stages: stage names (``"stage2"``, ``"features"``, ``"head"``), or None.
        fraction: float in [0, 1]: that fraction of the backbone's weighted
            layers, counted from the bottom (or from the top with ``top``).
        top: count ``fraction`` from the top of the backbone (default False).

    Returns:
        list of keras layers, in depth order.
    """
    given = [s is not None for s in (layers, stages, fraction)]
    if sum(given) > 1:
        raise ValueError(
            "Give one of layers=, stages=, fraction=. Received: "
            f"layers={layers!r}, stages={stages!r}, fraction={fraction!r}"
        )
    all_layers = list(model.layers)
    if layers is not None:
        patterns = [layers] if isinstance(layers, str) else list(layers)
        chosen = [l for l in all_layers if any(fnmatch.fnmatchcase(l.name, p) for p in patterns)]
        unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(l.name, p) for l in all_layers)]
        if unmatched:
            raise ValueError(f"No layer matches layers={unmatched!r} in model {model.name!r}.")
        return chosen
    if stages is not None:
        wanted = [stages] if isinstance(stages, str) else list(stages)
        of = layer_stages(model)
        known = set(of.values())
        bad = [s for s in wanted if s not in known]
        if bad:
            raise ValueError(f"Unknown stages={bad!r}; model {model.name!r} has {sorted(known)}.")
        return [l for l in all_layers if of[l.name] in wanted]
    backbone = set(surface.backbone_layer_names(model))
    in_backbone = [l for l in all_layers if l.name in backbone]
    if fraction is None:
        return in_backbone
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be a number in [0, 1]. Received: fraction={fraction!r}")
    weighted = [l for l in in_backbone if l.weights]
    count = int(round(fraction * len(weighted)))
    if count == 0:
        return []
    picked = weighted[-count:] if top else weighted[:count]
    # Weightless layers between the picked weighted ones go with them.
    first, last = in_backbone.index(picked[0]), in_backbone.index(picked[-1])
    if top:
        return in_backbone[first:]
    return in_backbone[:last + 1]


def freeze(model, layers=None, stages=None, fraction=None):
    """Freezes layers (``trainable=False``); frozen BatchNorm runs in inference mode.

    Args:
        model: keras.Model following the builder conventions.
        layers: layer names or glob patterns, or None.
        stages: stage names, or None.
        fraction: bottom fraction of the backbone depth, or None.
            With no selector, the whole backbone (up to ``features``) is frozen.

    Returns:
        list of the names of the layers frozen.

    Example:
        >>> freeze(model, stages=["stage1", "stage2"])
    """
    chosen = select_layers(model, layers, stages, fraction, top=False)
    for layer in chosen:
        layer.trainable = False
    return [l.name for l in chosen]


def unfreeze(model, layers=None, stages=None, fraction=None, keep_batchnorm_frozen=True):
    """Unfreezes layers; BatchNorm layers stay frozen (inference mode) by default.

    Args:
        model: keras.Model following the builder conventions.
        layers: layer names or glob patterns, or None.
        stages: stage names, or None.
        fraction: top fraction of the backbone depth, or None. With no
            selector, every layer is unfrozen.
        keep_batchnorm_frozen: leave BatchNormalization layers frozen so
            their moving statistics stay those of the source data (default True).

    Returns:
        list of the names of the layers unfrozen.

    Example:
        >>> unfreeze(model, fraction=0.25)   # the top quarter of the backbone
    """
    if layers is None and stages is None and fraction is None:
        chosen = list(model.layers)
    else:
        chosen = select_layers(model, layers, stages, fraction, top=True)
    if not model.trainable:
        # model.trainable recurses into every layer: switch it on, then put the
        # layers that were not chosen back to frozen.
        before = {l.name: l.trainable for l in model.layers}
        model.trainable = True
        for layer in model.layers:
            layer.trainable = before[layer.name]
    done = []
    for layer in chosen:
        if keep_batchnorm_frozen and is_batchnorm(layer):
            layer.trainable = False
            continue
        layer.trainable = True
        done.append(layer.name)
    return done


def trainable_summary(model):
    """``{layer name: trainable}`` for every layer with weights (for reports and tests)."""
    return {l.name: bool(l.trainable) for l in model.layers if l.weights}


def recompute_batchnorm_statistics(model, x, batch_size=256):
    """Re-estimates every BatchNorm's moving mean and variance on ``x`` (AdaBN).

    Frozen BatchNorm normalises with the source data's statistics; when the
    target images look different (grey digits vs coloured shapes), Li et al.
    2016 ("Revisiting Batch Normalization for Practical Domain Adaptation")
    replace them by the target's. Layers are processed in depth order, each
    with the statistics of its input given the already-updated layers below:

        moving_mean = mean(h),  moving_variance = var(h)   over batch and space

    Only the statistics change; gamma, beta and ``trainable`` are untouched.

    Args:
        model: Functional keras.Model.
        x: target inputs (array).
        batch_size: prediction batch size (default 256).

    Returns:
        list of the BatchNorm layer names updated.
    """
    import keras
    import numpy as np

    done = []
    for layer in model.layers:
        if not is_batchnorm(layer):
            continue
        probe = keras.Model(model.inputs, layer.input)
        h = np.asarray(probe.predict(x, batch_size=batch_size, verbose=0), dtype="float64")
        axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
        axes = tuple(i for i in range(h.ndim) if i != axis % h.ndim)
        layer.moving_mean.assign(h.mean(axis=axes).astype("float32"))
        layer.moving_variance.assign(h.var(axis=axes).astype("float32"))
        done.append(layer.name)
    return done
