"""Small training helpers shared by zoo recipes: seeded classifier fitting and
held-out evaluation. Training loops take a config dataclass (STYLE.md)."""

import dataclasses

import numpy as np

from adl_keras import distribute


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


def stream_fit_kwargs(x):
    """``fit`` arguments for input ``x``: ``{"x": x}``, plus ``shuffle=False``
    when ``x`` is a ``tf.data.Dataset``, which orders itself (Keras ignores
    ``shuffle`` there, but warns "shuffle=True ... will be ignored" unless it
    is False)."""
    return {"x": x, **({"shuffle": False} if hasattr(x, "element_spec") else {})}


def hardware_record():
    """Where a recipe ran, for its card: the accelerators TensorFlow sees
    (``device`` is the first, or ``"CPU"``), the CPU model and the cores this
    process may use."""
    import os
    import platform

    import tensorflow as tf

    accelerators = [tf.config.experimental.get_device_details(d).get("device_name", d.name)
                    for d in tf.config.list_physical_devices("GPU")]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"device": accelerators[0] if accelerators else "CPU", "accelerators": accelerators,
            "cpu": cpu, "cpu_cores": cores}


def progress_callback(progress, total_epochs):
    """A Keras callback reporting each finished epoch to ``progress``.

    ``progress`` is a ``fn(message)``; if it also has an
    ``epoch(epoch, total, logs)`` method (the CLI's Keras Progbar), that is
    called instead, so long runs show a bar with an ETA, and its ``done()``
    when training ends (early stopping may end it before ``total``).
    """
    import keras

    class _Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if progress and hasattr(progress, "epoch"):
                progress.epoch(0, total_epochs)  # starts the bar's clock with the first epoch

        def on_epoch_end(self, epoch, logs=None):
            if progress and hasattr(progress, "epoch"):
                progress.epoch(epoch + 1, total_epochs, logs)
            elif progress:
                shown = ", ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items())
                progress(f"epoch {epoch + 1}/{total_epochs}: {shown}")

        def on_train_end(self, logs=None):
            if progress and hasattr(progress, "done"):
                progress.done()

    return _Progress()


def fit_classifier(model, data, config=None, progress=None, *, validation_data=None, callbacks=None,
                   verbose=None, **fit_kwargs):
    """Compiles and fits a softmax classifier, like ``model.fit`` with a seeded
    Adam, sparse cross-entropy and accuracy, and early stopping on validation
    accuracy that restores the best weights.

    Args:
        model: keras.Model with a softmax output.
        data: an ``adl_keras.data.Dataset`` (fits ``train``, validates on
            ``val``), an ``(x, y)`` tuple of arrays, or a batched
            ``tf.data.Dataset`` of ``(x, y)`` (anything ``fit`` takes as ``x``).
        config: ClassifierConfig (default ClassifierConfig()).
        progress: optional ``fn(message)`` called once per epoch.
        validation_data: as in ``fit``; overrides ``data.val``. Early stopping
            runs only when there is validation data.
        callbacks: extra Keras callbacks (TensorBoard, CSVLogger, ...).
        verbose: ``fit`` verbosity (default ``config.verbose``).
        **fit_kwargs: passed to ``fit`` (``class_weight``, ``steps_per_epoch``, ...).

    Returns:
        The Keras ``History`` (:func:`fit_summary` gives the card's dict).

    Example:
        >>> history = fit_classifier(model, (x, y), validation_data=(xv, yv),
        ...                          callbacks=[keras.callbacks.TensorBoard("logs")])
    """
    import keras

    config = config or ClassifierConfig()
    keras.utils.set_random_seed(config.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    if hasattr(data, "train") and hasattr(data, "val"):  # adl_keras.data.Dataset
        validation_data = data.val if validation_data is None else validation_data
        data = data.train
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"data must be (x, y). Received a sequence of length {len(data)}.")
        fit_kwargs = {"x": data[0], "y": data[1], "batch_size": config.batch_size, **fit_kwargs}
    else:
        fit_kwargs = {**stream_fit_kwargs(data), **fit_kwargs}
    epochs = fit_kwargs.pop("epochs", config.epochs)
    early = None
    if validation_data is not None:
        early = {"monitor": "val_accuracy", "patience": config.patience, "restore_best_weights": True}
    run = distribute.current_run()
    backup_dir = run.fit_backup_dir() if run is not None else None
    if backup_dir is None:
        stop = [] if early is None else [keras.callbacks.EarlyStopping(**early)]
        resume = []
    else:
        # Inside a resumable zoo.train run: the model, the epoch, early stopping's
        # state and (for arrays) the data order of every later epoch continue
        # exactly where a killed run stopped.
        callbacks_ = distribute.resumable_callbacks(backup_dir, early_stopping=early)
        stop, resume = callbacks_[:-1], callbacks_[-1:]
        if "y" in fit_kwargs and "steps_per_epoch" not in fit_kwargs:
            ds, steps = distribute.epoch_ordered_dataset(
                fit_kwargs.pop("x"), fit_kwargs.pop("y"), fit_kwargs.pop("batch_size"), config.seed, epochs,
                distribute.backup_epoch(backup_dir + "/keras"))
            fit_kwargs.update(x=ds, steps_per_epoch=steps, shuffle=False)  # the dataset orders each epoch
    history = model.fit(
        validation_data=validation_data,
        epochs=epochs,
        callbacks=[*stop, *resume, progress_callback(progress, epochs), *(callbacks or [])],
        verbose=config.verbose if verbose is None else verbose,
        **fit_kwargs,
    )
    history.config = config
    history.early_stopping = stop[0] if stop else None
    history.total_epochs = epochs
    return history


def fit_summary(history, config=None):
    """What a zoo card records of a :func:`fit_classifier` run: epochs run,
    best validation accuracy (if validated) and the config.

    A run resumed from a backup has only its later epochs in ``history``; the
    early-stopping state (restored with it) then gives the whole run's figures.
    """
    config = config or getattr(history, "config", None)
    stop = getattr(history, "early_stopping", None)
    if stop is not None:
        total = getattr(history, "total_epochs", len(history.history["loss"]))
        out = {"epochs_run": stop.stopped_epoch + 1 if stop.stopped_epoch else total,
               "best_val_accuracy": float(stop.best)}
    else:
        out = {"epochs_run": len(history.history["loss"])}
        if "val_accuracy" in history.history:
            out["best_val_accuracy"] = float(max(history.history["val_accuracy"]))
    if config is not None:
        out["config"] = dataclasses.asdict(config)
    return out


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
