"""Small training helpers shared by zoo recipes: seeded classifier fitting and
held-out evaluation. Training loops take a config dataclass (STYLE.md)."""

import dataclasses

import numpy as np


@dataclasses.dataclass
class ClassifierConfig:
    """Hyperparameters of :func:`fit_classifier`.

    Attributes:
        epochs: maximum epochs (default 40).
        batch_size: minibatch size (default 32).
        learning_rate: Adam learning rate (default 1e-3).
        patience: early-stopping patience on validation accuracy (default 8).
        seed: seeds Python, NumPy and TensorFlow (default 0).
        verbose: Keras ``fit`` verbosity (default 0).
    """

    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 8
    seed: int = 0
    verbose: int = 0


def progress_callback(progress, total_epochs):
    """A Keras callback reporting each finished epoch to ``progress``.

    ``progress`` is a ``fn(message)``; if it also has an
    ``epoch(epoch, total, logs)`` method (the CLI's Keras Progbar), that is
    called instead, so long runs show a bar with an ETA.
    """
    import keras

    class _Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if progress and hasattr(progress, "epoch"):
                progress.epoch(epoch + 1, total_epochs, logs)
            elif progress:
                shown = ", ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items())
                progress(f"epoch {epoch + 1}/{total_epochs}: {shown}")

    return _Progress()


def fit_classifier(model, dataset, config=None, progress=None):
    """Compiles and fits a softmax classifier on ``dataset.train``, early
    stopping on ``dataset.val`` accuracy and restoring the best weights.

    Returns:
        dict with the epochs run and the best validation accuracy.
    """
    import keras

    config = config or ClassifierConfig()
    keras.utils.set_random_seed(config.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    stop = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=config.patience, restore_best_weights=True
    )
    history = model.fit(
        dataset.train[0], dataset.train[1],
        validation_data=dataset.val,
        epochs=config.epochs,
        batch_size=config.batch_size,
        callbacks=[stop, progress_callback(progress, config.epochs)],
        verbose=config.verbose,
    )
    return {
        "epochs_run": len(history.history["loss"]),
        "best_val_accuracy": float(max(history.history["val_accuracy"])),
        "config": dataclasses.asdict(config),
    }


def accuracy(model, x, y, batch_size=256):
    """Top-1 accuracy of ``model`` on ``(x, y)``."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probs, axis=-1) == np.asarray(y)))


def classification_evaluator(dataset_name, split="test", **load_kwargs):
    """An evaluator ``model -> {"accuracy": ..., "_split": split}`` for the zoo."""

    def evaluate(model):
        from adl_keras import data

        ds = data.load(dataset_name, **load_kwargs)
        x, y = ds.split(split)
        return {"accuracy": accuracy(model, x, y), "_split": split}

    return evaluate
