"""Few-shot transfer from a procedural-data backbone to scikit-learn digits.

The experiment behind ``benchmarks/bench_transfer_few_shot.py`` and the
``resnet_small.digits10shot`` zoo entry: ``shots`` labelled digits per class
(drawn with a seed from the fixed train split), resized 8x8 -> 32x32 and
grey -> RGB inside the model, three ways:

(a) ``scratch``: the same network, randomly initialised, trained on the shots;
(b) ``frozen``: the pretrained backbone (``FewShotConfig.backbone``, default
    :data:`BACKBONE`) frozen, a new softmax head trained on its features;
(c) ``fine_tune``: two-phase fine-tuning (:func:`adl_keras.transfer.fine_tune`):
    the head first (backbone and BatchNorm frozen), then the whole backbone
    at a 3x lower learning rate with BatchNorm allowed to adapt.

Accuracy is measured on the fixed digits test split (360 images). The
backbone and hyperparameters were chosen on the digits validation split
(``run_seed(..., split="val")``), never on test; no validation labels are
used for training.

The default backbone is ``resnet_small.glyphs32``, pretrained on procedural
stroke glyphs (:mod:`adl_keras.data.glyphs`: generic Bezier-stroke classes, no
digits or fonts). ``resnet_small.shapes32`` (coloured geometric shapes) is the
alternative, and ``resnet_small.fashion_mnist`` (real 28x28 clothing images,
no digits; the digits are resized to 28x28 and stay grey) a third; on the
validation split (seeds 0-2) shapes32's frozen features reached
0.50-0.53 and its fine-tuning 0.87-0.91, below training from scratch
(0.88-0.91), while glyphs32 gave 0.79-0.81 frozen and 0.93-0.94 fine-tuned.
resnet_small.fashion_mnist, measured on seed 0 only (val), gave 0.81 frozen and
0.96 fine-tuned (one seed: not enough evidence to change the default).

Example:
    >>> from adl_keras.transfer import few_shot
    >>> few_shot.run_seed(0)
    {'scratch': ..., 'frozen': ..., 'fine_tune': ...}
"""

import dataclasses

import numpy as np

BACKBONE = "resnet_small.glyphs32"


@dataclasses.dataclass
class FewShotConfig:
    """Hyperparameters of the few-shot comparison.

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
            False: grey digits are far from the coloured shapes the statistics
            come from, and letting BN adapt in phase 2 measured better on seed
            0, 0.914 vs 0.800; phase 1 always runs BN in inference mode).
        adapt_batchnorm: re-estimate BatchNorm statistics on the shots first (default False).
        batch_size: minibatch size (default 20).
        backbone: zoo entry whose weights (b) and (c) start from (default
            :data:`BACKBONE`).
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

    def __post_init__(self):
        if isinstance(self.shots, bool) or not isinstance(self.shots, int) or self.shots < 1:
            raise ValueError(f"shots must be a positive int. Received: shots={self.shots!r}")


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
    # The adapter follows the backbone: its image size, its channels (grey
    # Fashion-MNIST or RGB procedural images) and its architecture arguments.
    entry = zoo.get_entry(backbone)
    arch = {k: v for k, v in entry.build_kwargs.items() if k in ("widths", "blocks_per_stage", "bn_momentum")}
    model = resnet_small_digits(num_classes=source.output.shape[-1], image_size=entry.input_shape[0],
                                grey_to_rgb=entry.input_shape[-1] == 3, **arch)
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
                         adapt_batchnorm=config.adapt_batchnorm, batch_size=config.batch_size, seed=seed)
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
