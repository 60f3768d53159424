"""Few-shot transfer from digit-free pretraining to scikit-learn digits.

The experiment behind ``benchmarks/bench_transfer_few_shot.py`` (the
learning curve) and the ``resnet_small.digits1shot`` /
``resnet_small.digits10shot`` zoo entries: ``shots`` labelled digits per
class, drawn with a seed from the fixed train split, resized inside the
model to the backbone's input size, three ways:

(a) ``scratch``: the same network, randomly initialised, trained on the shots;
(b) ``probe``: the pretrained backbone frozen (BatchNorm in inference mode),
    a new softmax head trained on its features;
(c) ``fine_tune``: two-phase fine-tuning (:func:`adl_keras.transfer.fine_tune`):
    the head first (that is (b)), then the whole backbone.

Backbones (neither saw a digit): ``resnet_small.glyphs32`` (procedural
Bezier-stroke glyphs, :mod:`adl_keras.data.glyphs`; the digits are resized to
32x32 and repeated to RGB) and ``resnet_small.fashion_mnist`` (real
Fashion-MNIST clothing; the digits are resized to 28x28 and stay grey).

:class:`CurveRunner` trains the three for one backbone with each network
traced once; :func:`select_hyperparameters` chooses learning rates, update
counts and phase 2's BatchNorm mode on the digits *validation* split with
seeds disjoint from the evaluation seeds; :func:`evaluate_seed` scores the
test split once per seed with those choices; :func:`summarise` gives the
medians and bootstrap intervals.

Example:
    >>> from adl_keras.transfer import few_shot
    >>> runner = few_shot.CurveRunner("resnet_small.glyphs32")
    >>> chosen = few_shot.select_hyperparameters(runner, shots=1)
    >>> few_shot.evaluate_seed(runner, 1, seed=0, chosen=chosen)
    {'scratch': ..., 'probe': ..., 'fine_tune': ...}
"""

import dataclasses

import numpy as np

BACKBONE = "resnet_small.glyphs32"


@dataclasses.dataclass
class FewShotConfig:
    """Hyperparameters of one few-shot fine-tuning (the zoo recipes and :func:`run_seed`).

    Attributes:
        shots: labelled examples per class (default 10).
        scratch_epochs: epochs of (a) (default 100).
        scratch_learning_rate: Adam rate of (a) (default 1e-3).
        head_epochs: epochs of the head phase of (b) and (c) (default 60).
        head_learning_rate: Adam rate of the head phase (default 3e-3).
        epochs: epochs of phase 2 of (c) (default 40).
        learning_rate: Adam rate of phase 2 of (c) (default 1e-3, a third of the head's).
        unfreeze_stages: stages unfrozen in phase 2 (default "all").
        keep_batchnorm_frozen: BatchNorm in inference mode in phase 2 (default
            False; phase 1 always runs BN in inference mode). The zoo
            entries' values (:data:`ENTRY_CONFIGS`) are chosen on validation
            by the learning-curve benchmark; these defaults are only a
            starting point for :func:`run_seed`.
        adapt_batchnorm: re-estimate BatchNorm statistics on the shots first (default False).
        batch_size: minibatch size (default 20).
        backbone: zoo entry whose weights (b) and (c) start from (default
            :data:`BACKBONE`).
        cache_features: phase 1 on backbone features computed once
            (default True; see :class:`~adl_keras.transfer.FineTuneConfig`).
    """

    shots: int = 10
    scratch_epochs: int = 100
    scratch_learning_rate: float = 1e-3
    head_epochs: int = 60
    head_learning_rate: float = 3e-3
    epochs: int = 40
    learning_rate: float = 1e-3
    unfreeze_stages: object = "all"
    keep_batchnorm_frozen: bool = False
    adapt_batchnorm: bool = False
    batch_size: int = 20
    backbone: str = BACKBONE
    cache_features: bool = True

    def __post_init__(self):
        if isinstance(self.shots, bool) or not isinstance(self.shots, int) or self.shots < 1:
            raise ValueError(f"shots must be a positive int. Received: shots={self.shots!r}")


# The digits adapter of each backbone (what :func:`digits_architecture` reads
# from the zoo card), written out so entries can be registered without
# reading other entries.
ENTRY_ARCHITECTURES = {
    "resnet_small.glyphs32": {"image_size": 32, "grey_to_rgb": True},
    "resnet_small.fashion_mnist": {"image_size": 28, "grey_to_rgb": False, "widths": (32, 64, 128)},
}

# The zoo entries resnet_small.digits{k}shot: backbone and hyperparameters
# chosen on the digits validation split by benchmarks/bench_transfer_few_shot.py
# (details.curves[backbone][k].selection in its JSON), update counts turned
# into epochs at batch size 20 (k=10: 5 updates per epoch; k=1: 1). Validation
# picks resnet_small.glyphs32 at both ends: k=1 fine-tune 0.591 vs
# resnet_small.fashion_mnist 0.584, k=10 0.942 vs 0.936 (its 28-epoch weights).
ENTRY_CONFIGS = {
    10: FewShotConfig(shots=10, head_epochs=80, head_learning_rate=0.01, epochs=32,
                      learning_rate=0.003, keep_batchnorm_frozen=False, backbone='resnet_small.glyphs32'),
    1: FewShotConfig(shots=1, head_epochs=400, head_learning_rate=0.01, epochs=20,
                     learning_rate=0.0003, keep_batchnorm_frozen=True, backbone='resnet_small.glyphs32'),
}


def resnet_small_digits(num_classes=10, input_shape=(8, 8, 1), image_size=32, grey_to_rgb=True,
                        name="resnet_small_digits", **backbone_kwargs):
    """``resnet_small`` for grey digits: resize to ``image_size`` and grey -> RGB inside the model.

    The layers after the adapter are ``resnet_small``'s, with the same names,
    so ``resnet_small.glyphs32`` / ``resnet_small.shapes32`` weights load into it by name.

    Args:
        num_classes: classes of ``predictions`` (default 10).
        input_shape: (H, W, 1) grey input in [0, 1] (default (8, 8, 1)).
        image_size: side the backbone sees (default 32, the pretraining images').
        grey_to_rgb: repeat the grey channel 3 times for an RGB backbone
            (default True; False for a grey backbone such as
            ``resnet_small.fashion_mnist``).
        name: model name.
        **backbone_kwargs: other ``resnet_small`` arguments.

    Returns:
        keras.Model with ``resize``, ``grey_to_rgb``, then ``resnet_small``'s layers.
    """
    from adl_keras.conv.builders import resnet_small

    if len(tuple(input_shape)) != 3 or input_shape[-1] != 1:
        raise ValueError(f"input_shape must be (H, W, 1). Received: input_shape={input_shape}")
    return resnet_small(input_shape=tuple(input_shape), num_classes=num_classes, name=name,
                        resize_to=(image_size, image_size), grey_to_rgb=grey_to_rgb, **backbone_kwargs)


def digits_architecture(backbone=None):
    """``resnet_small_digits`` arguments that match a backbone entry.

    The adapter follows the backbone: its image size, its channels (grey
    Fashion-MNIST or RGB procedural images) and its architecture arguments,
    so the backbone's weights load by name and the from-scratch baseline is
    the same network.

    Args:
        backbone: zoo entry name (default None: :data:`BACKBONE`).

    Returns:
        dict of keyword arguments for :func:`resnet_small_digits`.
    """
    from adl_keras import zoo

    entry = zoo.get_entry(backbone or BACKBONE)
    arch = {k: v for k, v in entry.build_kwargs.items() if k in ("widths", "blocks_per_stage", "bn_momentum")}
    return {"image_size": entry.input_shape[0], "grey_to_rgb": entry.input_shape[-1] == 3, **arch}


def pretrained_digits_model(num_classes=10, seed=0, backbone=None):
    """``resnet_small_digits`` with a verified pretrained ``resnet_small`` backbone and a new head.

    Args:
        num_classes: classes of the new head (default 10).
        seed: seed of the new head's initialiser (default 0).
        backbone: zoo entry to load (default None: :data:`BACKBONE`).

    Returns:
        keras.Model (uncompiled); its ``load_report`` lists the layers loaded.
    """
    from adl_keras import zoo
    from adl_keras.transfer import surface

    backbone = backbone or BACKBONE
    source = zoo.load_model(backbone)  # sha256-verified
    model = resnet_small_digits(num_classes=source.output.shape[-1], **digits_architecture(backbone))
    # The foundation's by-name copy (the adapter layers have no weights).
    report = zoo.transfer_weights(source, model)
    if report.skipped or report.mismatched:
        raise RuntimeError(f"{backbone} did not load fully into resnet_small_digits: {report}")
    new = surface.reset_head(model, num_classes, seed=seed)
    new.load_report = zoo.LoadReport(loaded=[n for n in report.loaded if n != surface.PREDICTIONS],
                                     skipped=[surface.PREDICTIONS])
    return new


def few_shot_split(shots=10, seed=0, split="test"):
    """``shots`` examples per class from the digits train split, and an evaluation split.

    Args:
        shots: examples per class (default 10).
        seed: seed of the draw (default 0).
        split: evaluation split, "test" (default) or "val" (for model selection).

    Returns:
        ((x_train, y_train), (x_eval, y_eval)).
    """
    from adl_keras import data

    ds = data.load("digits")
    x, y = ds.train
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in range(10)])
    idx = rng.permutation(idx)
    return (x[idx], y[idx]), ds.split(split)


def _accuracy(model, data):
    from adl_keras.training import accuracy

    return accuracy(model, *data)


def train_scratch(train, config, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = resnet_small_digits()
    model.compile(keras.optimizers.Adam(config.scratch_learning_rate), "sparse_categorical_crossentropy",
                  jit_compile=False)
    model.fit(*train, epochs=config.scratch_epochs, batch_size=config.batch_size, verbose=0)
    return model


def train_transfer(train, config, seed, two_phase=True, progress=None):
    """(b) with ``two_phase=False``, (c) with True. Returns (model, FineTuneResult)."""
    from adl_keras.transfer.finetune import FineTuneConfig, fine_tune

    model = pretrained_digits_model(seed=seed, backbone=config.backbone)
    cfg = FineTuneConfig(head_epochs=config.head_epochs, head_learning_rate=config.head_learning_rate,
                         epochs=config.epochs if two_phase else 0, learning_rate=config.learning_rate,
                         unfreeze_stages=config.unfreeze_stages,
                         keep_batchnorm_frozen=config.keep_batchnorm_frozen,
                         adapt_batchnorm=config.adapt_batchnorm, batch_size=config.batch_size, seed=seed,
                         cache_features=config.cache_features)
    result = fine_tune(model, train, None, cfg, progress)
    return model, result


def run_seed(seed=0, config=None, which=("scratch", "frozen", "fine_tune"), split="test"):
    """Accuracy of each variant on ``split`` for one seed (the shots and all inits depend on it).

    Hyperparameters are chosen with ``split="val"``; test numbers are reported for the final choice.
    """
    config = config or FewShotConfig()
    train, test = few_shot_split(config.shots, seed, split)
    out = {}
    if "scratch" in which:
        out["scratch"] = _accuracy(train_scratch(train, config, seed), test)
    if "frozen" in which:
        out["frozen"] = _accuracy(train_transfer(train, config, seed, two_phase=False)[0], test)
    if "fine_tune" in which:
        out["fine_tune"] = _accuracy(train_transfer(train, config, seed, two_phase=True)[0], test)
    return out


# ---------------------------------------------------------------------------
# The learning curve: k labels per class, three methods, selection on val.

CURVE_BACKBONES = ("resnet_small.glyphs32", "resnet_small.fashion_mnist")
METHODS = ("scratch", "probe", "fine_tune")


@dataclasses.dataclass
class CurveConfig:
    """The few-shot learning curve and its (small) hyperparameter grid.

    Every fit is full-network training on at most 100 digits, so the cost
    is the number of minibatch updates; the grids are therefore given in
    *updates* (on a reshuffled stream of the shots), and each candidate's
    number of updates is read off one run validated at each checkpoint
    (``validation_freq``), instead of one run per value.

    Attributes:
        shots: labels per class on the curve (default (1, 2, 5, 10)).
        seeds: evaluation seeds; seed s draws the same shots for every
            method (default 0-9).
        selection_seeds: seeds of the validation runs that choose the
            hyperparameters, disjoint from ``seeds`` (default (100, 101)).
        backbones: pretrained zoo entries compared (default
            :data:`CURVE_BACKBONES`).
        batch_size: minibatch size (default 20; at k=1 the 10 images).
        scratch_learning_rates: Adam rates tried for (a) (default (1e-3, 3e-3)).
        scratch_updates: update counts tried for (a) (default (40, 80, 160)).
        probe_learning_rates: Adam rates of the linear probe (b), which is
            also phase 1 of (c) (default (3e-3, 1e-2)).
        probe_updates: update counts tried for (b) (default (50, 100, 200, 400)).
        finetune_learning_rates: phase-2 Adam rates of (c) (default (3e-4, 1e-3, 3e-3)).
        finetune_batchnorm_frozen: ``keep_batchnorm_frozen`` values tried in
            phase 2 (default (True, False)).
        finetune_updates: phase-2 update counts tried (default (20, 40, 80, 160),
            the same largest budget as ``scratch_updates``).
    """

    shots: tuple = (1, 2, 5, 10)
    seeds: tuple = tuple(range(10))
    selection_seeds: tuple = (100, 101)
    backbones: tuple = CURVE_BACKBONES
    batch_size: int = 20
    scratch_learning_rates: tuple = (1e-3, 3e-3)
    scratch_updates: tuple = (40, 80, 160)
    probe_learning_rates: tuple = (3e-3, 1e-2)
    probe_updates: tuple = (50, 100, 200, 400)
    finetune_learning_rates: tuple = (3e-4, 1e-3, 3e-3)
    finetune_batchnorm_frozen: tuple = (True, False)
    finetune_updates: tuple = (20, 40, 80, 160)

    def __post_init__(self):
        for field in ("shots", "seeds", "selection_seeds", "scratch_updates", "probe_updates", "finetune_updates"):
            values = tuple(getattr(self, field))
            if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < (0 if "seeds" in field else 1)
                                 for v in values):
                raise ValueError(f"{field} must be a non-empty tuple of positive ints. Received: {field}={values!r}")
            setattr(self, field, values)
        overlap = set(self.seeds) & set(self.selection_seeds)
        if overlap:
            raise ValueError("selection_seeds must differ from seeds (the shots chosen with them are then "
                             f"scored on test). Received: both contain {sorted(overlap)}")


class CurveRunner:
    """Trains (a), (b) and (c) for one backbone, tracing each network once.

    Building and compiling a ResNet and tracing its train step costs seconds,
    more than a few-shot fit itself; the curve needs hundreds of fits. So the
    runner compiles one model per role and, before each fit, resets it:
    fresh weights (a seeded random init, or the pretrained backbone plus the
    probe's head), zeroed optimizer slots and step count, and the learning
    rate. Keras then reuses the traced step. The roles:

    * (a) ``scratch``: :func:`resnet_small_digits` with the backbone's
      architecture, randomly initialised (seeded);
    * (b) ``probe``: a softmax layer on the backbone's ``features``,
      computed once for the whole digits dataset (the backbone is frozen
      with BatchNorm in inference mode, so they never change);
    * (c) two-phase fine-tuning: phase 1 is the probe (the head trained on
      the frozen backbone, as in :func:`~adl_keras.transfer.fine_tune` with
      ``cache_features=True``), phase 2 unfreezes the whole backbone
      (:func:`~adl_keras.transfer.unfreeze`, BatchNorm frozen or not) and
      trains on with Adam.

    Args:
        backbone: pretrained zoo entry (default :data:`BACKBONE`).
        batch_size: minibatch size (default 20).
    """

    def __init__(self, backbone=None, batch_size=20):
        import keras

        from adl_keras import data

        self.backbone = backbone or BACKBONE
        self.batch_size = batch_size
        self.architecture = digits_architecture(self.backbone)
        self.pretrained = pretrained_digits_model(seed=0, backbone=self.backbone)
        self._pretrained_weights = self.pretrained.get_weights()
        self.digits = data.load("digits")
        extractor = keras.Model(self.pretrained.inputs, self.pretrained.get_layer("features").output)
        self.features = {name: extractor.predict(self.digits.split(name)[0], batch_size=256, verbose=0)
                         for name in ("train", "val", "test")}
        self._models = {}

    # -- the compiled models, one per role --------------------------------
    def _compiled(self, role):
        import keras

        from adl_keras.transfer import freezing

        if role in self._models:
            return self._models[role]
        if role == "scratch":
            model = resnet_small_digits(**self.architecture)
        elif role == "probe":
            inputs = keras.Input(self.features["train"].shape[1:])
            model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="predictions")(inputs))
        else:  # ("fine_tune", keep_batchnorm_frozen)
            model = pretrained_digits_model(seed=0, backbone=self.backbone)
            freezing.freeze(model)
            freezing.unfreeze(model, stages=[n for n in model_stage_names(model)], keep_batchnorm_frozen=role[1])
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")], jit_compile=False)
        self._models[role] = model
        return model

    @staticmethod
    def _reset(model, weights, learning_rate):
        import keras

        model.set_weights(weights)
        if model.optimizer.built:
            for variable in model.optimizer.variables:
                variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
        model.optimizer.learning_rate = learning_rate

    def _fit(self, model, x, y, updates, seed, val=None, checkpoints=None):
        """``updates`` Adam steps on minibatches of a seeded, reshuffled, repeating stream of (x, y).

        One epoch per checkpoint interval (not per pass over 10 images),
        so Keras' per-epoch cost is paid a few times, not hundreds; with
        ``val`` (x, y) the model is validated after each of ``checkpoints``
        updates.
        """
        import math

        import keras
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        checkpoints = sorted(checkpoints) if checkpoints else [updates]
        interval = math.gcd(*checkpoints)
        stream = (tf.data.Dataset.from_tensor_slices((x, y))
                  .shuffle(len(y), seed=seed, reshuffle_each_iteration=True).repeat()  # shuffled here
                  .batch(min(self.batch_size, len(y))))
        return model.fit(stream, epochs=updates // interval, steps_per_epoch=interval, verbose=0,
                         shuffle=False, validation_data=val, validation_batch_size=512,
                         validation_freq=[c // interval for c in checkpoints])

    # -- the three methods -------------------------------------------------
    def shots(self, shots, seed):
        """Indices into the digits train split: the same draw as :func:`few_shot_split`."""
        y = self.digits.train[1]
        rng = np.random.default_rng(seed)
        idx = np.concatenate([rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in range(10)])
        return rng.permutation(idx)

    def scratch(self, idx, learning_rate, updates, seed, val=None, checkpoints=None):
        """(a); returns (model, History). ``val`` is a split name or None."""
        import keras

        keras.utils.set_random_seed(seed)
        init = resnet_small_digits(**self.architecture).get_weights()
        model = self._compiled("scratch")
        self._reset(model, init, learning_rate)
        x, y = self.digits.train
        return model, self._fit(model, x[idx], y[idx], updates, seed,
                                self.digits.split(val) if val else None, checkpoints)

    def probe(self, idx, learning_rate, updates, seed, val=None, checkpoints=None):
        """(b) on cached features; returns (model on features, History)."""
        import keras

        keras.utils.set_random_seed(seed)
        init = keras.layers.Dense(10, activation="softmax")
        init.build(self.features["train"].shape[1:])
        model = self._compiled("probe")
        self._reset(model, [w.numpy() for w in init.weights], learning_rate)
        y = self.digits.train[1]
        val_data = (self.features[val], self.digits.split(val)[1]) if val else None
        return model, self._fit(model, self.features["train"][idx], y[idx], updates, seed, val_data, checkpoints)

    def fine_tune(self, idx, probe, learning_rate, updates, keep_batchnorm_frozen, seed, val=None,
                  checkpoints=None):
        """(c): the probe's head (phase 1) then the whole backbone (phase 2); returns (model, History of phase 2).

        Args:
            probe: dict with the probe's ``learning_rate`` and ``updates``.
        """
        head, _ = self.probe(idx, probe["learning_rate"], probe["updates"], seed)
        model = self._compiled(("fine_tune", bool(keep_batchnorm_frozen)))
        self._reset(model, self._pretrained_weights, learning_rate)
        model.get_layer("predictions").set_weights(head.get_layer("predictions").get_weights())
        x, y = self.digits.train
        return model, self._fit(model, x[idx], y[idx], updates, seed,
                                self.digits.split(val) if val else None, checkpoints)

    def accuracy(self, model, split, features=False):
        """Accuracy of a fitted model on a digits split (``features=True`` for the probe)."""
        x = self.features[split] if features else self.digits.split(split)[0]
        probs = model.predict(x, batch_size=512, verbose=0)
        return float(np.mean(np.argmax(probs, axis=-1) == self.digits.split(split)[1]))


def model_stage_names(model):
    """``stageN`` names plus ``features``: everything phase 2 unfreezes with ``unfreeze_stages="all"``."""
    from adl_keras.transfer import freezing, surface

    known = set(freezing.layer_stages(model).values())
    return [s for s in surface.stage_names(model) + [surface.FEATURES] if s in known]


def _best(candidates):
    """The candidate with the highest mean validation accuracy (ties: the first, i.e. the cheapest)."""
    return max(candidates, key=lambda c: c["val_accuracy"])


def select_hyperparameters(runner, shots, config=None, progress=print):
    """Chooses (a), (b) and (c)'s hyperparameters for one k on the digits validation split.

    Each grid point trains once per selection seed, validated at every
    candidate update count; the score is the mean over the selection seeds.
    (c)'s phase 1 is (b)'s chosen probe. Test data is never touched.

    Args:
        runner: a :class:`CurveRunner`.
        shots: labels per class.
        config: CurveConfig (default CurveConfig()).
        progress: fn(str) for one line per grid point, or None.

    Returns:
        {"scratch": {...}, "probe": {...}, "fine_tune": {...}}, each with the
        chosen values, its ``val_accuracy`` and the whole ``grid`` scored.
    """
    config = config or CurveConfig()
    draws = {seed: runner.shots(shots, seed) for seed in config.selection_seeds}
    say = progress or (lambda message: None)

    def scored(fit, updates, extra):
        updates = sorted(updates)
        curves = [fit(idx, max(updates), seed, updates).history["val_accuracy"] for seed, idx in draws.items()]
        rows = [{**extra, "updates": u, "val_accuracy": float(np.mean([c[i] for c in curves]))}
                for i, u in enumerate(updates)]
        say(f"  {runner.backbone} k={shots} {extra}: "
            + ", ".join(f"{r['updates']}:{r['val_accuracy']:.3f}" for r in rows))
        return rows

    grid = {"scratch": [], "probe": [], "fine_tune": []}
    for lr in config.scratch_learning_rates:
        grid["scratch"] += scored(lambda idx, u, s, c, lr=lr: runner.scratch(idx, lr, u, s, "val", c)[1],
                                  config.scratch_updates, {"learning_rate": lr})
    for lr in config.probe_learning_rates:
        grid["probe"] += scored(lambda idx, u, s, c, lr=lr: runner.probe(idx, lr, u, s, "val", c)[1],
                                config.probe_updates, {"learning_rate": lr})
    best_probe = _best(grid["probe"])
    probe = {"learning_rate": best_probe["learning_rate"], "updates": best_probe["updates"]}
    for lr in config.finetune_learning_rates:
        for frozen in config.finetune_batchnorm_frozen:
            grid["fine_tune"] += scored(
                lambda idx, u, s, c, lr=lr, frozen=frozen: runner.fine_tune(idx, probe, lr, u, frozen, s, "val", c)[1],
                config.finetune_updates, {"learning_rate": lr, "keep_batchnorm_frozen": frozen})
    return {method: {**_best(rows), "grid": rows} for method, rows in grid.items()}


def evaluate_seed(runner, shots, seed, chosen, split="test"):
    """Accuracy of (a), (b), (c) with the chosen hyperparameters on one seed's shots.

    Returns:
        {"scratch": acc, "probe": acc, "fine_tune": acc} on ``split``.
    """
    idx = runner.shots(shots, seed)
    a, b, c = chosen["scratch"], chosen["probe"], chosen["fine_tune"]
    probe = {"learning_rate": b["learning_rate"], "updates": b["updates"]}
    out = {"scratch": runner.accuracy(runner.scratch(idx, a["learning_rate"], a["updates"], seed)[0], split)}
    out["probe"] = runner.accuracy(runner.probe(idx, probe["learning_rate"], probe["updates"], seed)[0], split,
                                   features=True)
    model, _ = runner.fine_tune(idx, probe, c["learning_rate"], c["updates"], c["keep_batchnorm_frozen"], seed)
    out["fine_tune"] = runner.accuracy(model, split)
    return out


def bootstrap_median_ci(values, level=0.95, resamples=10000, seed=0):
    """Percentile-bootstrap interval of the median of ``values`` (resampling the seeds).

    Returns:
        (low, high).
    """
    values = np.asarray(values, dtype="float64")
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence. Received: shape {values.shape}")
    rng = np.random.default_rng(seed)
    medians = np.median(values[rng.integers(0, len(values), (resamples, len(values)))], axis=1)
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(medians, alpha)), float(np.quantile(medians, 1.0 - alpha))


def summarise(per_seed):
    """Medians and bootstrap 95 % intervals of each method and of the paired gain (c) - (a).

    Args:
        per_seed: list of ``evaluate_seed`` dicts.

    Returns:
        {method: {"median", "ci95"}, "fine_tune_minus_scratch_points": {"median", "ci95"}}.
    """
    out = {}
    for method in METHODS:
        values = [r[method] for r in per_seed]
        out[method] = {"median": float(np.median(values)), "ci95": list(bootstrap_median_ci(values))}
    gain = [100.0 * (r["fine_tune"] - r["scratch"]) for r in per_seed]
    out["fine_tune_minus_scratch_points"] = {"median": float(np.median(gain)), "ci95": list(bootstrap_median_ci(gain))}
    return out
