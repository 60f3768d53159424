"""Explainability zoo entries: small softmax MLPs on scikit-learn's tables,
the tabular models the SHAP/LIME tables explain."""

import keras
from keras import layers

from adl_keras import training
from adl_keras.zoo import preprocessing as prep
from adl_keras.zoo.registry import register


def tabular_mlp(num_features, num_classes, hidden=(32, 16), dropout=0.1, name="tabular_mlp"):
    """A ReLU multilayer perceptron with a softmax head for tabular data.

    x -> Dense(h_1, relu) -> Dropout -> ... -> Dense(k, softmax).
    Layers are named ``dense1..N``, ``dropout1..N`` and ``predictions``.

    Args:
        num_features: input width (int > 0).
        num_classes: classes (int >= 2).
        hidden: widths of the hidden layers (default (32, 16)).
        dropout: dropout rate after each hidden layer, in [0, 1) (default 0.1).
        name: model name.

    Returns:
        keras.Model mapping ``(n, num_features)`` to ``(n, num_classes)`` probabilities.

    Example:
        >>> model = tabular_mlp(30, 2)
        >>> model.output_shape
        (None, 2)
    """
    if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
        raise ValueError(f"num_features must be a positive int. Received: num_features={num_features!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2. Received: num_classes={num_classes!r}")
    hidden = tuple(hidden)
    if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
        raise ValueError(f"hidden must be positive ints. Received: hidden={hidden!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
    inputs = keras.Input((num_features,), name="tabular")
    x = inputs
    for i, width in enumerate(hidden, start=1):
        x = layers.Dense(width, activation="relu", name=f"dense{i}")(x)
        if dropout:
            x = layers.Dropout(float(dropout), name=f"dropout{i}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def _recipe(dataset, build_kwargs, epochs=300, patience=40):
    default_epochs = epochs

    def recipe(seed=0, progress=None, epochs=default_epochs):
        """Adam 1e-3, batch 32, early stopping on validation accuracy (at most ``epochs``)."""
        from adl_keras import data

        ds = data.load(dataset)
        keras.utils.set_random_seed(seed)  # before building, so the initial weights are seeded too
        model = tabular_mlp(**build_kwargs)
        info = training.fit_summary(training.fit_classifier(
            model, ds, training.ClassifierConfig(epochs=epochs, patience=patience, seed=seed), progress))
        info["goals"] = [f"test accuracy >= {GOALS[dataset]} on the fixed held-out split"]
        return model, info

    recipe.__name__ = f"train_mlp_{dataset}"
    return recipe


GOALS = {"breast_cancer": 0.95, "wine": 0.95}
_SPECS = {
    "breast_cancer": {"num_features": 30, "num_classes": 2, "hidden": (32,), "dropout": 0.5,
                      "name": "mlp_breast_cancer"},
    "wine": {"num_features": 13, "num_classes": 3, "hidden": (32, 16), "dropout": 0.1, "name": "mlp_wine"},
}
_DESCRIPTIONS = {
    "breast_cancer": "MLP 30-32-2 (dropout 0.5) on Wisconsin breast cancer (standardised); explained by SHAP/LIME.",
    "wine": "MLP 13-32-16-3 on UCI wine (standardised); explained by SHAP/LIME.",
}


def _preprocessing(dataset):
    """The card's input record: raw features standardised with the training split's mean and std."""
    from adl_keras import data

    info = data.load(dataset).info
    return prep.features(info["feature_names"], info["mean"], info["std"], info["target_names"])


for _dataset, _kwargs in _SPECS.items():
    register(
        f"mlp.{_dataset}",
        tabular_mlp,
        build_kwargs=_kwargs,
        topic="explain",
        task="tabular-classification",
        dataset=_dataset,
        input_shape=(_kwargs["num_features"],),
        recipe=_recipe(_dataset, _kwargs),
        evaluator=training.classification_evaluator(_dataset),
        preprocessing=_preprocessing(_dataset),
        description=_DESCRIPTIONS[_dataset],
    )
