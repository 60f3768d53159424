"""Convolution zoo entries and their recipes."""

from adl_keras import training
from adl_keras.conv.builders import lenet5, resnet_small, vgg_small
from adl_keras.data.shapes import CLASS_NAMES as SHAPES32_CLASSES
from adl_keras.zoo import preprocessing as prep
from adl_keras.zoo.registry import register

DIGIT_CLASSES = [str(d) for d in range(10)]


def _fit_on(dataset, builder, build_kwargs, config, goal, progress):
    """Builds ``builder(**build_kwargs)``, fits it on ``dataset`` with
    :func:`adl_keras.training.fit_classifier` and records the card's goal."""
    from adl_keras import data

    model = builder(**build_kwargs)
    info = training.fit_summary(training.fit_classifier(model, data.load(dataset), config, progress))
    info["goals"] = [goal]
    return model, info


def train_lenet5_digits(seed=0, progress=None, epochs=60):
    """Recipe of ``lenet5.digits``: Adam 1e-3, batch 32, early stopping on val."""
    import keras

    from adl_keras import data

    keras.utils.set_random_seed(seed)  # seeds the initial weights too
    ds = data.load("digits")
    model = lenet5((8, 8, 1), num_classes=10, resize_to=(32, 32), name="lenet5_digits")
    info = training.fit_summary(training.fit_classifier(
        model, ds, training.ClassifierConfig(epochs=epochs, patience=10, seed=seed), progress
    ))
    info["goals"] = ["test accuracy >= 0.97 on the fixed held-out split"]
    return model, info


register(
    "lenet5.digits",
    lenet5,
    build_kwargs={"input_shape": (8, 8, 1), "num_classes": 10, "resize_to": (32, 32), "name": "lenet5_digits"},
    topic="convolution",
    task="image-classification",
    dataset="digits",
    input_shape=(8, 8, 1),
    recipe=train_lenet5_digits,
    evaluator=training.classification_evaluator("digits"),
    preprocessing=prep.image((8, 8, 1), DIGIT_CLASSES, inside_model="resizes 8x8 to 32x32 (bilinear)"),
    description="LeNet-5 style CNN on scikit-learn's 8x8 digits (resized to 32x32 inside the model).",
    image=True,
)


def train_resnet_small_shapes32(seed=0, progress=None, epochs=25):
    """Recipe of ``resnet_small.shapes32``: Adam 2e-3, batch 64, up to 25
    epochs, early stopping on val accuracy (patience 6, best weights kept)."""
    config = training.ClassifierConfig(epochs=epochs, batch_size=64, learning_rate=2e-3, patience=6, seed=seed)
    return _fit_on("shapes32", resnet_small, RESNET_SMALL_SHAPES32, config,
                   "held-out (test split) accuracy reported in the card; backbone for transfer learning", progress)


RESNET_SMALL_SHAPES32 = {"input_shape": (32, 32, 3), "num_classes": 10, "name": "resnet_small_shapes32"}

register(
    "resnet_small.shapes32",
    resnet_small,
    build_kwargs=RESNET_SMALL_SHAPES32,
    topic="convolution",
    task="image-classification",
    dataset="shapes32",
    input_shape=(32, 32, 3),
    recipe=train_resnet_small_shapes32,
    evaluator=training.classification_evaluator("shapes32"),
    tolerance=1e-6,
    preprocessing=prep.image((32, 32, 3), SHAPES32_CLASSES),
    description="ResNet-8 (BatchNorm, widths 16-32-64) on the procedural 10-class shapes32 images; "
                "the backbone the transfer-learning topic fine-tunes.",
    image=True,
)


VGG_SMALL_SHAPES32 = {"input_shape": (32, 32, 3), "num_classes": 10, "name": "vgg_small_shapes32"}


def train_vgg_small_shapes32(seed=0, progress=None, epochs=45):
    """Recipe of ``vgg_small.shapes32``: Adam 1e-3, batch 64, up to 45 epochs,
    early stopping on val accuracy (patience 8, best weights kept)."""
    config = training.ClassifierConfig(epochs=epochs, batch_size=64, learning_rate=1e-3, patience=8, seed=seed)
    return _fit_on("shapes32", vgg_small, VGG_SMALL_SHAPES32, config,
                   "held-out (test split) accuracy reported in the card", progress)


register(
    "vgg_small.shapes32",
    vgg_small,
    build_kwargs=VGG_SMALL_SHAPES32,
    topic="convolution",
    task="image-classification",
    dataset="shapes32",
    input_shape=(32, 32, 3),
    recipe=train_vgg_small_shapes32,
    evaluator=training.classification_evaluator("shapes32"),
    preprocessing=prep.image((32, 32, 3), SHAPES32_CLASSES),
    description="Small VGG (2 conv3x3 per stage, widths 16-32-64, 128-unit head) on the procedural shapes32 images.",
    image=True,
)


RESNET_SMALL_GLYPHS32 = {"input_shape": (32, 32, 3), "num_classes": 20, "name": "resnet_small_glyphs32"}


def train_resnet_small_glyphs32(seed=0, progress=None, epochs=35):
    """Recipe of ``resnet_small.glyphs32``: Adam 2e-3, batch 64, up to 35
    epochs, early stopping on val accuracy (patience 8, best weights kept)."""
    config = training.ClassifierConfig(epochs=epochs, batch_size=64, learning_rate=2e-3, patience=8, seed=seed)
    return _fit_on("glyphs32", resnet_small, RESNET_SMALL_GLYPHS32, config,
                   "held-out (test split) accuracy reported in the card; stroke-feature backbone for "
                   "few-shot transfer to handwritten digits", progress)


register(
    "resnet_small.glyphs32",
    resnet_small,
    build_kwargs=RESNET_SMALL_GLYPHS32,
    topic="convolution",
    task="image-classification",
    dataset="glyphs32",
    input_shape=(32, 32, 3),
    recipe=train_resnet_small_glyphs32,
    evaluator=training.classification_evaluator("glyphs32"),
    tolerance=1e-6,
    preprocessing=prep.image((32, 32, 3), [f"glyph_{i:02d}" for i in range(20)]),
    description="ResNet-8 (BatchNorm, widths 16-32-64) on the procedural 20-class glyphs32 stroke images; "
                "a backbone for few-shot transfer to handwriting.",
    image=True,
)
