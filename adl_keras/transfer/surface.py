"""The transfer-learning surface shared by every zoo image model.

Image builders follow one naming convention (``adl_keras/conv/builders.py``):
the last layer of each stage is called ``stage1`` ... ``stageN``, the pooled
feature vector ``features``, the layers after it ``head_*`` and the classifier
``predictions``. From those names alone, any zoo image model can be split into
a backbone and a head, its head reset to ``k`` classes, and its features read
at named stages — fine-tuning code never special-cases a model (timm's
``forward_features`` / ``reset_classifier`` / ``num_features``).

Example:
    >>> from adl_keras import zoo, transfer
    >>> model = zoo.load_model("lenet5.digits")
    >>> transfer.num_features(model)
    576
    >>> five_way = transfer.reset_head(model, 5)
"""

import re

import numpy as np

_STAGE = re.compile(r"^stage(\d+)$")
FEATURES = "features"
PREDICTIONS = "predictions"
HEAD_PREFIX = "head_"


def _require_functional(model, fn):
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"{fn} needs a keras.Model. Received: model={model!r}")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError) as err:
        raise TypeError(f"{fn} needs a Functional keras.Model (symbolic inputs). "
                        f"Received: model={model.name!r}") from err
    if not inputs:
        raise TypeError(f"{fn} needs a built Functional keras.Model. Received: model={model.name!r}")


def has_layer(model, name):
    """True when ``model`` has a layer called ``name``."""
    return any(layer.name == name for layer in model.layers)


def stage_names(model):
    """Names of the stage layers ``stage1..N`` in order.

    Args:
        model: keras.Model following the builder conventions.

    Returns:
        list of str, e.g. ``["stage1", "stage2"]``.

    Example:
        >>> stage_names(zoo.load_model("lenet5.digits"))
        ['stage1', 'stage2']
    """
    found = sorted((int(m.group(1)), layer.name) for layer in model.layers
                   if (m := _STAGE.match(layer.name)))
    return [name for _, name in found]


def head_layer_names(model):
    """Names of the head: ``head_*`` layers and ``predictions``, in depth order."""
    return [layer.name for layer in model.layers
            if layer.name.startswith(HEAD_PREFIX) or layer.name == PREDICTIONS]


def backbone_layer_names(model):
    """Names of every layer up to and including ``features`` (or the last stage)."""
    names = [layer.name for layer in model.layers]
    end = FEATURES if FEATURES in names else (stage_names(model) or [None])[-1]
    if end is None:
        raise ValueError(
            f"Model {model.name!r} has neither a 'features' layer nor 'stageN' layers, so "
            "its backbone cannot be found. Build it with an adl_keras image builder."
        )
    return names[:names.index(end) + 1]


def check_surface(model):
    """Raises ValueError unless ``model`` follows the transfer-learning conventions.

    Checks: at least one ``stageN`` layer with consecutive numbering; a
    ``features`` layer with a rank-2 output; when ``predictions`` exists, it is
    the model's only output and comes after ``features``.

    Returns:
        dict with ``stages``, ``num_features``, ``head`` and ``num_classes``.
    """
    _require_functional(model, "check_surface")
    stages = stage_names(model)
    if not stages:
        raise ValueError(f"Model {model.name!r} has no 'stage1..N' layers.")
    if stages != [f"stage{i}" for i in range(1, len(stages) + 1)]:
        raise ValueError(f"Model {model.name!r} stage layers are not numbered 1..N. Received: {stages}")
    info = {"stages": stages, "num_features": None, "head": head_layer_names(model), "num_classes": None}
    if has_layer(model, FEATURES):
        info["num_features"] = num_features(model)
    if has_layer(model, PREDICTIONS):
        if not has_layer(model, FEATURES):
            raise ValueError(f"Model {model.name!r} has 'predictions' but no 'features' layer.")
        names = [layer.name for layer in model.layers]
        if names.index(PREDICTIONS) < names.index(FEATURES):
            raise ValueError(f"Model {model.name!r}: 'predictions' comes before 'features'.")
        if len(model.outputs) != 1 or model.outputs[0] is not model.get_layer(PREDICTIONS).output:
            raise ValueError(f"Model {model.name!r}: 'predictions' is not the model's output.")
        info["num_classes"] = int(model.get_layer(PREDICTIONS).output.shape[-1])
    return info


def num_features(model):
    """Width of the ``features`` vector (what a new head receives).

    Args:
        model: keras.Model with a ``features`` layer.

    Returns:
        int.
    """
    if not has_layer(model, FEATURES):
        raise ValueError(
            f"Model {model.name!r} has no 'features' layer; build it with include_top=True "
            "or pooling='avg'/'max'."
        )
    shape = model.get_layer(FEATURES).output.shape
    if len(shape) != 2:
        raise ValueError(f"'features' of {model.name!r} must be (batch, width). Received: shape={shape}")
    return int(shape[-1])


def backbone(model, name=None):
    """The backbone: a keras.Model from the input to ``features`` (layers shared).

    Args:
        model: keras.Model following the conventions.
        name: name of the returned model (default ``<model>_backbone``).

    Returns:
        keras.Model whose output is ``features`` (or the last stage's maps
        when the model has no ``features`` layer). Its layers are the
        model's own, so training one trains the other.
    """
    import keras

    _require_functional(model, "backbone")
    end = backbone_layer_names(model)[-1]
    return keras.Model(model.inputs, model.get_layer(end).output, name=name or f"{model.name}_backbone")


def reset_head(model, num_classes, keep_hidden=True, activation="softmax", seed=None):
    """A new model with a freshly initialised ``predictions`` layer of ``num_classes``.

    The backbone (and, with ``keep_hidden``, the ``head_*`` layers) are the
    original layers: their weights are shared, not copied.

    Args:
        model: keras.Model following the conventions.
        num_classes: int, classes of the new classifier.
        keep_hidden: keep the ``head_*`` layers between ``features`` and the
            classifier (default True); False puts the classifier on ``features``.
        activation: activation of ``predictions`` (default "softmax").
        seed: int seed of the classifier's initializer, or None.

    Returns:
        keras.Model (uncompiled) named like ``model``.

    Example:
        >>> five_way = reset_head(zoo.load_model("lenet5.digits"), 5)
        >>> five_way.output.shape
        (None, 5)
    """
    import keras

    _require_functional(model, "reset_head")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int. Received: num_classes={num_classes!r}")
    if keep_hidden and has_layer(model, PREDICTIONS):
        x = model.get_layer(PREDICTIONS).input
    elif keep_hidden and head_layer_names(model):
        x = model.get_layer(head_layer_names(model)[-1]).output
    else:
        x = model.get_layer(backbone_layer_names(model)[-1]).output
        if len(x.shape) != 2:
            x = keras.layers.GlobalAveragePooling2D(name=FEATURES)(x)
    init = keras.initializers.GlorotUniform(seed=seed)
    out = keras.layers.Dense(int(num_classes), activation=activation, kernel_initializer=init,
                             name=PREDICTIONS)(x)
    return keras.Model(model.inputs, out, name=model.name)


def feature_extractor(model, stages=None):
    """A model returning the activations at named stages, as a dict.

    Args:
        model: keras.Model following the conventions.
        stages: layer names (``"stage2"``, ``"features"``, any layer), a
            single name, or None for every stage plus ``features``.

    Returns:
        keras.Model mapping the input to ``{name: activation}``.

    Example:
        >>> maps = feature_extractor(model, ["stage1", "features"]).predict(x)
        >>> maps["stage1"].shape
    """
    import keras

    _require_functional(model, "feature_extractor")
    if stages is None:
        stages = stage_names(model) + ([FEATURES] if has_layer(model, FEATURES) else [])
    elif isinstance(stages, str):
        stages = [stages]
    names = [layer.name for layer in model.layers]
    for stage in stages:
        if stage not in names:
            raise ValueError(
                f"Unknown stage: stages contains {stage!r}; model {model.name!r} has "
                f"stages {stage_names(model)} and features={FEATURES in names}."
            )
    outputs = {stage: model.get_layer(stage).output for stage in stages}
    return keras.Model(model.inputs, outputs, name=f"{model.name}_features")


def extract_features(model, x, stage=FEATURES, batch_size=256):
    """NumPy activations of ``x`` at one named stage (default ``features``).

    Args:
        model: keras.Model following the conventions.
        x: input array.
        stage: layer name (default "features").
        batch_size: int (default 256).

    Returns:
        np.ndarray.
    """
    extractor = feature_extractor(model, [stage])
    return extractor.predict(x, batch_size=batch_size, verbose=0)[stage]
