"""Convolution zoo entries and their recipes."""

from adl_keras import training
from adl_keras.conv.builders import lenet5
from adl_keras.zoo.registry import register


def train_lenet5_digits(seed=0, progress=None, epochs=60):
    """Recipe of ``lenet5.digits``: Adam 1e-3, batch 32, early stopping on val."""
    from adl_keras import data

    ds = data.load("digits")
    model = lenet5((8, 8, 1), num_classes=10, resize_to=(32, 32), name="lenet5_digits")
    info = training.fit_classifier(
        model, ds, training.ClassifierConfig(epochs=epochs, patience=10, seed=seed), progress
    )
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
    description="LeNet-5 style CNN on scikit-learn's 8x8 digits (resized to 32x32 inside the model).",
    image=True,
)
