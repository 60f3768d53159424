"""Loading a zoo image model for transfer: head rebuilt, load report checked."""

from adl_keras.transfer import surface


class PartialLoadError(RuntimeError):
    """Backbone weights were skipped or mismatched while loading an entry."""


def load_model(name, num_classes=None, pretrained=True, strict=True, weights=None, sha256=None, **overrides):
    """A zoo image model with its head rebuilt for ``num_classes``.

    Builds on :func:`adl_keras.zoo.load_model`, which rebuilds the entry with
    the overrides and copies weights by layer name, attaching
    ``model.load_report`` (loaded / skipped / mismatched). Here the report is
    checked: only head layers (``head_*``, ``predictions``) may be skipped or
    mismatched; anything else is a partial load and raises (``strict``).

    Args:
        name: zoo entry name (its ``image`` flag must be set).
        num_classes: classes of the new head, or None to keep the entry's.
        pretrained: load the entry's verified weights (default True).
        strict: raise PartialLoadError when a backbone layer was not loaded
            (default True); with False the report is only attached.
        weights: a local path or URL of weights to load instead of the
            card's (default None); needs ``sha256``.
        sha256: expected sha256 of ``weights`` (default None).
        **overrides: other builder arguments (e.g. ``include_top=False``).

    Returns:
        keras.Model (uncompiled) with ``load_report`` and
        ``load_report.reinitialised`` (head layers left freshly initialised).

    Example:
        >>> model = load_model("lenet5.digits", num_classes=5)
        >>> print(model.load_report)
        loaded 4 layers, skipped 0 (-), mismatched 1 (predictions)
    """
    from adl_keras import zoo

    entry = zoo.get_entry(name)
    if not entry.image:
        raise ValueError(f"transfer.load_model needs an image entry. Received: name={name!r} "
                         f"(task {entry.task!r})")
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int. Received: num_classes={num_classes!r}")
        if num_classes != entry.build_kwargs.get("num_classes"):
            overrides["num_classes"] = num_classes
    if pretrained and weights is None and entry.weights_url and not zoo.cards.has_weights(name):
        raise zoo.WeightsError(
            f"Zoo entry {name!r} records no sha256 for {entry.weights_url}, so its weights cannot be "
            "verified and are not loaded. Compute the file's sha256 on a trusted machine and pass "
            f"weights={entry.weights_url!r}, sha256=..., or use pretrained=False."
        )
    model = zoo.load_model(name, pretrained=pretrained, weights=weights, sha256=sha256, **overrides)
    report = model.load_report
    head = set(surface.head_layer_names(model))
    not_loaded = list(report.skipped) + [m[0] for m in report.mismatched]
    report.reinitialised = [n for n in not_loaded if n in head]
    partial = [n for n in not_loaded if n not in head]
    if pretrained and strict and partial:
        raise PartialLoadError(
            f"Loading {name!r} with overrides {overrides} left backbone layers {partial} "
            f"without pretrained weights ({report}). Pass strict=False to accept a partial load."
        )
    return model
