"""Two-phase fine-tuning: train a new head on a frozen backbone, then unfreeze
the top of the backbone and train on at a lower learning rate.

Phase 1 protects the pretrained features from the large, random gradients of
a freshly initialised head; phase 2 adapts the top stages once the head is
sensible (Yosinski et al. 2014; the Keras transfer-learning guide). BatchNorm
layers stay in inference mode in both phases (see :mod:`.freezing`).

Example:
    >>> from adl_keras import transfer
    >>> model = transfer.load_model("lenet5.digits", num_classes=10)
    >>> result = transfer.fine_tune(model, (x_train, y_train), (x_val, y_val),
    ...                             transfer.FineTuneConfig(head_epochs=5, epochs=5))
    >>> result.head.history["loss"], result.fine_tune.history["loss"]
"""

import dataclasses
from typing import Optional

from adl_keras.transfer import freezing, layerwise, surface


@dataclasses.dataclass
class FineTuneConfig:
    """Hyperparameters of :func:`fine_tune`.

    The defaults are chosen for a small dataset of a user's own images (a few
    dozen per class): fine-tuning ``resnet_small.glyphs32`` on 30 PNGs per
    class of scikit-learn's digits, loaded with
    ``keras.utils.image_dataset_from_directory`` and ``zoo.preprocess``, they
    reached 0.958 accuracy on the digits validation split, where the earlier
    defaults (head 1e-3, phase 2 at 1e-4 on the top stage only) reached 0.866
    and 100 epochs of the few-shot recipe's values 0.972 (seed 0; chosen on
    validation only).

    Attributes:
        head_epochs: epochs of phase 1, backbone frozen (default 20).
        head_learning_rate: Adam learning rate of phase 1 (default 3e-3).
        epochs: epochs of phase 2 (default 20; 0 skips it).
        learning_rate: Adam learning rate of phase 2 (default 1e-3).
        unfreeze_stages: how many top stages to unfreeze in phase 2
            (default ``"all"``: the whole backbone; an int unfreezes the top N).
        unfreeze_fraction: unfreeze this top fraction of the backbone depth
            instead of ``unfreeze_stages`` (default None).
        layer_decay: if set, phase 2 uses layer-wise learning rates
            ``learning_rate * layer_decay ** k`` for the k-th stage from the
            top (default None: one rate).
        keep_batchnorm_frozen: BatchNorm stays in inference mode in phase 2
            (default True).
        adapt_batchnorm: before phase 1, re-estimate the BatchNorm moving
            statistics on the training inputs (AdaBN, for a domain shift;
            needs ``train`` as arrays; default False).
        batch_size: minibatch size (default 32).
        patience: early stopping on ``val_accuracy`` with best-weight restore,
            per phase, or None (default None).
        seed: seeds Python, NumPy and the backend (default 0).
        verbose: Keras verbosity (default 0).
        jit_compile: passed to ``compile`` (default False: XLA compilation
            costs seconds per phase, more than it saves on few-shot data;
            use "auto" for long runs).
        cache_features: run phase 1 on backbone features computed once
            (default False). With the backbone frozen and BatchNorm in
            inference mode, phase 1 sees the same ``features`` every epoch,
            so training the head layers on them is the same computation
            without a backbone forward pass per step (the "feature
            extraction" route of the Keras transfer-learning guide). Needs
            ``train`` (and ``val``) as ``(x, y)`` arrays and a head that is a
            chain of layers after ``features``.
    """

    head_epochs: int = 20
    head_learning_rate: float = 3e-3
    epochs: int = 20
    learning_rate: float = 1e-3
    unfreeze_stages: object = "all"
    unfreeze_fraction: Optional[float] = None
    layer_decay: Optional[float] = None
    keep_batchnorm_frozen: bool = True
    adapt_batchnorm: bool = False
    batch_size: int = 32
    patience: Optional[int] = None
    seed: int = 0
    verbose: int = 0
    jit_compile: object = False
    cache_features: bool = False

    def __post_init__(self):
        for field in ("head_epochs", "epochs", "batch_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if field == "batch_size" else 0):
                raise ValueError(f"{field} must be a non-negative int. Received: {field}={value!r}")
        for field in ("head_learning_rate", "learning_rate"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{field} must be > 0. Received: {field}={value!r}")
        if self.unfreeze_stages != "all" and (
                isinstance(self.unfreeze_stages, bool) or not isinstance(self.unfreeze_stages, int)
                or self.unfreeze_stages < 0):
            raise ValueError(f"unfreeze_stages must be an int >= 0 or 'all'. "
                             f"Received: unfreeze_stages={self.unfreeze_stages!r}")


@dataclasses.dataclass
class FineTuneResult:
    """The Keras histories of both phases (``fine_tune`` is None when skipped)."""

    head: object
    fine_tune: object
    unfrozen: list

    def __iter__(self):
        return iter((self.head, self.fine_tune))

    @property
    def history(self):
        """Both phases' ``History.history`` joined epoch after epoch (what one
        ``fit`` would have logged), with ``"phase"`` naming each epoch's phase."""
        phases = [("head", self.head)] + ([("fine_tune", self.fine_tune)] if self.fine_tune else [])
        joined = {"phase": []}
        for phase, hist in phases:
            count = len(next(iter(hist.history.values()), []))
            joined["phase"] += [phase] * count
            for key, values in hist.history.items():
                joined.setdefault(key, []).extend(values)
        return joined


def _fit_args(data, config):
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"Data must be (x, y). Received a sequence of length {len(data)}.")
        return {"x": data[0], "y": data[1], "batch_size": config.batch_size}
    from adl_keras.training import stream_fit_kwargs

    return stream_fit_kwargs(data)


def _callbacks(config, has_val, progress, phase, epochs, extra=None):
    import keras

    from adl_keras import distribute
    from adl_keras.training import progress_callback

    # BackupAndRestore inside a resumable zoo.train run, then the caller's callbacks.
    callbacks = distribute.backup_callbacks() + list(extra or [])
    if config.patience is not None and has_val:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=config.patience, restore_best_weights=True))
    if progress:
        # a progress bar (the CLI's) gets the epochs; a plain fn(message) gets labelled lines
        report = progress if hasattr(progress, "epoch") else (lambda m: progress(f"[{phase}] {m}"))
        callbacks.append(progress_callback(report, epochs))
    return callbacks


def _compile(model, make_optimizer, config):
    import keras

    # Optimizer slots and metrics must live in the strategy the model was built
    # in (MirroredStrategy, MultiWorkerMirroredStrategy), even when fine_tune is
    # called outside that strategy's scope.
    with model.distribute_strategy.scope():
        model.compile(optimizer=make_optimizer(), loss="sparse_categorical_crossentropy",
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                      jit_compile=config.jit_compile)


def _head_model(model):
    """The part of ``model`` after ``features``, as a model on feature vectors.

    Keras builds it from the functional graph, so its layers are ``model``'s
    own objects: training it trains ``model``'s head in place.
    """
    import keras

    if len(model.outputs) != 1:
        raise ValueError(f"cache_features=True needs a single-output model. Received: model={model.name!r}")
    return keras.Model(model.get_layer(surface.FEATURES).output, model.outputs[0], name=f"{model.name}_head")


def _fit_head_on_features(model, train, val_data, config, fit, callbacks, verbose):
    """Phase 1 on features computed once; the head layers are shared, so ``model`` is trained in place."""
    import keras

    if not isinstance(train, (tuple, list)) or (val_data is not None and not isinstance(val_data, tuple)):
        raise ValueError("cache_features=True needs train and val as (x, y) arrays. "
                         f"Received: train={type(train).__name__}")
    if not surface.has_layer(model, surface.FEATURES):
        raise ValueError(f"cache_features=True needs a 'features' layer. Received: model={model.name!r}")
    # Built in the model's strategy (MirroredStrategy, MultiWorkerMirroredStrategy), like its optimizer.
    with model.distribute_strategy.scope():
        extractor = keras.Model(model.inputs, model.get_layer(surface.FEATURES).output)
        head_model = _head_model(model)
    _compile(head_model, lambda: keras.optimizers.Adam(config.head_learning_rate), config)
    fit = dict(fit, x=extractor.predict(train[0], batch_size=256, verbose=0))
    if val_data is not None:
        val_data = (extractor.predict(val_data[0], batch_size=256, verbose=0),) + tuple(val_data[1:])
    return head_model.fit(**fit, validation_data=val_data, epochs=config.head_epochs, verbose=verbose,
                          callbacks=callbacks)


def fine_tune(model, train, val=None, config=None, progress=None, *, validation_data=None, callbacks=None,
              verbose=None, **fit_kwargs):
    """Two-phase fine-tuning of a model following the builder conventions.

    Phase 1: the backbone is frozen and only the head trains
    (``head_learning_rate``). Phase 2: the top ``unfreeze_stages`` stages (or
    ``unfreeze_fraction`` of the depth) are unfrozen, BatchNorm kept in
    inference mode, and everything trainable continues at ``learning_rate``
    (optionally with layer-wise decay). The model is left compiled for phase 2.

    Args:
        model: keras.Model with ``stageN``/``features``/``predictions`` layers
            and a softmax output (e.g. from :func:`load_model`).
        train: ``(x, y)`` with integer labels, or a batched ``tf.data.Dataset``.
        val: same form, or None (``validation_data=`` is the same, as in ``fit``).
        config: FineTuneConfig (default FineTuneConfig()).
        progress: optional ``fn(str)`` called once per epoch.
        callbacks: extra Keras callbacks for both phases (TensorBoard,
            EarlyStopping, ...); stateful ones see each phase as a new ``fit``.
        verbose: ``fit`` verbosity (default ``config.verbose``).
        **fit_kwargs: passed to both ``fit`` calls (``class_weight``, ``steps_per_epoch``, ...).

    Returns:
        FineTuneResult with ``.head`` and ``.fine_tune`` (keras History
        objects), ``.history`` (both joined, like one ``fit``'s
        ``History.history``) and ``.unfrozen`` (layer names trained in phase 2).

    Example:
        >>> head_hist, tune_hist = fine_tune(model, (x, y), (xv, yv), FineTuneConfig(head_epochs=3, epochs=3))
    """
    import keras

    config = config or FineTuneConfig()
    if not isinstance(config, FineTuneConfig):
        raise ValueError(f"config must be a FineTuneConfig. Received: config={config!r}")
    surface.check_surface(model)
    if not surface.has_layer(model, surface.PREDICTIONS):
        raise ValueError(f"fine_tune needs a model with a 'predictions' layer. Received: model={model.name!r}")
    if val is not None and validation_data is not None:
        raise ValueError("Pass the validation data once, as val= or validation_data=.")
    val = validation_data if val is None else val
    keras.utils.set_random_seed(config.seed)
    fit = {**_fit_args(train, config), **fit_kwargs}
    verbose = config.verbose if verbose is None else verbose
    val_data = None if val is None else (tuple(val) if isinstance(val, (tuple, list)) else val)

    if config.adapt_batchnorm:
        if not isinstance(train, (tuple, list)):
            raise ValueError("adapt_batchnorm=True needs train as (x, y) arrays. "
                             f"Received: train={type(train).__name__}")
        freezing.recompute_batchnorm_statistics(model, train[0])

    # Phase 1: head only.
    model.trainable = True
    freezing.freeze(model)
    head_callbacks = _callbacks(config, val is not None, progress, "head", config.head_epochs, callbacks)
    if config.cache_features:
        head = _fit_head_on_features(model, train, val_data, config, fit, head_callbacks, verbose)
    else:
        _compile(model, lambda: keras.optimizers.Adam(config.head_learning_rate), config)
        head = model.fit(**fit, validation_data=val_data, epochs=config.head_epochs, verbose=verbose,
                         callbacks=head_callbacks)
    if config.epochs == 0:
        return FineTuneResult(head, None, [])

    # Phase 2: top of the backbone at a lower rate.
    if config.unfreeze_fraction is not None:
        unfrozen = freezing.unfreeze(model, fraction=config.unfreeze_fraction,
                                     keep_batchnorm_frozen=config.keep_batchnorm_frozen)
    else:
        stages = surface.stage_names(model)
        count = len(stages) if config.unfreeze_stages == "all" else min(config.unfreeze_stages, len(stages))
        chosen = stages[len(stages) - count:] + [surface.FEATURES] if count else [surface.FEATURES]
        known = set(freezing.layer_stages(model).values())
        unfrozen = freezing.unfreeze(model, stages=[s for s in chosen if s in known],
                                     keep_batchnorm_frozen=config.keep_batchnorm_frozen)
    def phase2_optimizer():
        optimizer = keras.optimizers.Adam(config.learning_rate)
        if config.layer_decay is not None:
            optimizer = layerwise.layerwise_optimizer(
                optimizer, layerwise.stage_multipliers(model, decay=config.layer_decay))
        return optimizer

    _compile(model, phase2_optimizer, config)
    tuned = model.fit(**fit, validation_data=val_data, epochs=config.epochs, verbose=verbose,
                      callbacks=_callbacks(config, val is not None, progress, "fine-tune", config.epochs,
                                           callbacks))
    return FineTuneResult(head, tuned, unfrozen)
