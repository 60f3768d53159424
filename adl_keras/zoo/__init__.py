"""Pretrained zoo: registry, verified weight store, cards, train/evaluate/export.

Example:
    >>> from adl_keras import zoo
    >>> zoo.list_models("*.digits")
    ['lenet5.digits']
    >>> model = zoo.load_model("lenet5.digits")
"""

import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

from adl_keras.zoo import cards, store
from adl_keras.zoo.registry import ZooEntry, entries, get_entry, list_models, register
from adl_keras.zoo.store import OfflineError, WeightsError, WeightsIntegrityError

__all__ = [
    "LoadReport",
    "OfflineError",
    "WeightsError",
    "WeightsIntegrityError",
    "ZooEntry",
    "entries",
    "evaluate",
    "export_model",
    "get_entry",
    "list_models",
    "load_model",
    "model_info",
    "preprocess",
    "register",
    "train",
    "transfer_weights",
    "weights_path",
    "weights_source",
]


SOURCES = ("shipped", "user")


def _check_source(source, name="source"):
    if source is not None and source not in SOURCES:
        raise ValueError(f"{name} must be 'shipped', 'user' or None. Received: {name}={source!r}")
    return source


def _root(source):
    return store.zoo_dir() if source == "shipped" else store.user_zoo_dir()


def _has_weights(name, source):
    try:
        return cards.weights_hashes(cards.read_meta(name, _root(source))) is not None
    except cards.CardError:
        return False


def weights_source(name, prefer="shipped"):
    """Which zoo an entry's weights come from when no ``source`` is given.

    Precedence: ``prefer`` ("shipped" for :func:`load_model`, so code that
    relies on a shipped reference model, such as the GAN metrics' classifier,
    never changes under a user's training; "user" for :func:`evaluate`, which
    checks what ``adl-zoo train`` produced) if it holds weights for
    ``name``, else the other one.

    Returns:
        "shipped" or "user".
    """
    if prefer not in SOURCES:
        raise ValueError(f"prefer must be 'shipped' or 'user'. Received: prefer={prefer!r}")
    other = "user" if prefer == "shipped" else "shipped"
    if not _has_weights(name, prefer) and _has_weights(name, other):
        return other
    return prefer


def model_info(name):
    """Everything known about an entry: its registration and its card.

    The card data (metrics, weights) are the shipped card's, the reference;
    ``user_entry`` summarises a user-zoo entry of the same name, if any, and
    ``weights_source`` says which of the two ``load_model(name)`` uses.

    Returns:
        dict with name, description, topic, task, dataset (name and split),
        input_shape, params, metrics (value, split, command each), weights
        (file, sha256 or a publisher's md5, size, url), licence, recipe,
        ``pretrained``, ``weights_source``, ``user_entry`` and ``preprocessing``
        (what goes in; see :func:`preprocess`).

    Raises:
        cards.CardError: a malformed meta.json (the message names it).
    """
    entry = get_entry(name)
    meta = cards.read_meta(name) or {}
    user = cards.read_meta(name, store.user_zoo_dir())
    info = {
        "name": name,
        "description": entry.description,
        "topic": entry.topic,
        "task": entry.task,
        "dataset": meta.get("dataset", {"name": entry.dataset, "split": None}),
        "input_shape": list(entry.input_shape),
        "build_kwargs": cards._jsonable(entry.build_kwargs),
        "params": meta.get("params"),
        "metrics": meta.get("metrics", {}),
        "goals": meta.get("goals", []),
        "weights": meta.get("weights"),
        "licence": entry.licence,
        "recipe": f"adl-zoo train {name}" if entry.recipe else None,
        "pretrained": cards.weights_hashes(meta) is not None or cards.weights_hashes(user) is not None,
        "card": str(cards.entry_dir(name) / cards.CARD_FILE) if meta else None,
        "weights_source": weights_source(name),
        "user_entry": None if user is None else {
            "card": str(cards.entry_dir(name, store.user_zoo_dir()) / cards.CARD_FILE),
            "metrics": user.get("metrics", {}),
            "weights": user.get("weights"),
        },
        "preprocessing": cards._jsonable(entry.preprocessing),
    }
    return info


def preprocess(name, x):
    """Maps raw inputs (images as [0, 255] pixels, tabular features as
    measured) to what entry ``name`` expects; see
    :func:`adl_keras.zoo.preprocessing.preprocess` and the card's
    preprocessing block.

    Example:
        >>> model = zoo.load_model("resnet_small.shapes32")
        >>> probs = model.predict(zoo.preprocess("resnet_small.shapes32", raw_images))
    """
    from adl_keras.zoo import preprocessing

    return preprocessing.preprocess(name, x)


def _entry_weights(name, source=None):
    """The verified bytes of an entry's weights: (data, suffix, source).

    The bytes are read once and hashed; the caller loads exactly them. A card
    switched by a concurrent ``train`` between reading meta.json and reading
    the weights is re-read (the old weight file is removed only after the
    switch), so a reader gets the old entry or the new one.
    """
    source = source or weights_source(name)
    root = _root(source)
    for _ in range(5):
        meta = cards.read_meta(name, root)
        hashes = cards.weights_hashes(meta)
        if meta and meta.get("weights", {}).get("url") and not hashes:
            raise WeightsError(
                f"Zoo entry {name!r} has weights at {meta['weights']['url']} but no recorded sha256, so "
                "they cannot be verified; pass weights=PATH_OR_URL and sha256=HEX to load_model."
            )
        if not hashes:
            where = "" if source == "shipped" else f" in the user zoo {root}"
            raise WeightsError(
                f"Zoo entry {name!r} has no pretrained weights{where}; train them with "
                f"`adl-zoo train {name}` or load it with pretrained=False."
            )
        w = meta["weights"]
        local = cards.entry_dir(name, root) / w["file"]
        suffix = store.weights_suffix(w["file"])
        try:
            if local.exists() or not w.get("url"):
                return store.read_verified(local, size=w.get("size"), **hashes), suffix, source
            data, _ = store.fetch_bytes(w["url"], size=w.get("size"), **hashes)
            return data, suffix, source
        except (FileNotFoundError, WeightsIntegrityError) as err:
            if cards.read_meta(name, root) != meta:
                continue  # the entry was swapped while we read it: read the new one
            if isinstance(err, FileNotFoundError):
                raise WeightsError(
                    f"Weights of {name!r} are missing: {local} does not exist and the card has no URL."
                ) from err
            raise
    raise WeightsError(f"Zoo entry {name!r} kept changing while it was read ({root}); try again.")


def weights_path(name, source=None):
    """A local path to the entry's weights (zoo folder, cache or URL), verified when returned.

    To load them, prefer :func:`load_model`, which loads the very bytes it
    verified; a path can be changed by someone else after this check.
    """
    source = source or weights_source(name)
    meta = cards.read_meta(name, _root(source))
    _entry_weights(name, source)
    w = meta["weights"]
    local = cards.entry_dir(name, _root(source)) / w["file"]
    if local.exists():
        return local
    return store.cached_path(w["url"], **cards.weights_hashes(meta))


@dataclasses.dataclass
class LoadReport:
    """Which weights a load assigned, skipped (absent) or refused (mismatched)."""

    loaded: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    mismatched: list = dataclasses.field(default_factory=list)
    source: str = None  # "shipped", "user", "file" (weights=) or None (no weights)

    def __str__(self):
        return (
            f"loaded {len(self.loaded)} layers, skipped {len(self.skipped)} "
            f"({', '.join(self.skipped) or '-'}), mismatched {len(self.mismatched)} "
            f"({', '.join(m[0] for m in self.mismatched) or '-'})"
        )


def transfer_weights(source, target):
    """Copies weights from ``source`` to ``target`` layer by layer, by name.

    Layers whose name is absent from ``source`` or whose weight count differs
    are skipped; layers whose shapes differ are mismatched; neither is touched.

    Returns:
        LoadReport listing loaded, skipped and mismatched layers.
    """
    report = LoadReport()
    by_name = {layer.name: layer for layer in source.layers}
    for layer in target.layers:
        if not layer.weights:
            continue
        src = by_name.get(layer.name)
        if src is None or len(src.weights) != len(layer.weights):
            report.skipped.append(layer.name)
            continue
        shapes_src = [tuple(w.shape) for w in src.weights]
        shapes_dst = [tuple(w.shape) for w in layer.weights]
        if shapes_src != shapes_dst:
            report.mismatched.append((layer.name, shapes_src, shapes_dst))
            continue
        layer.set_weights(src.get_weights())
        report.loaded.append(layer.name)
    return report


def load_model(name, pretrained=True, weights=None, sha256=None, source=None, **overrides):
    """Builds a zoo entry and loads its verified weights.

    Args:
        name: entry name (``adl-zoo list``).
        pretrained: load the entry's weights (bool, default True).
        weights: a local path or URL to load instead of the card's file;
            needs ``sha256`` (and ``pretrained`` left True).
        sha256: expected hash of ``weights``.
        source: "shipped" (the installed entry), "user" (``$ADL_KERAS_HOME/zoo``,
            what ``adl-zoo train`` wrote) or None (default: the shipped
            weights, or the user zoo's for an entry that ships none; see
            :func:`weights_source`).
        **overrides: builder arguments to change (e.g. ``num_classes=5``).
            Weights are then copied layer by layer by name; the returned
            model's ``load_report`` lists what was loaded, skipped and
            mismatched, so nothing is partially loaded in silence.

    Returns:
        keras.Model (uncompiled), with a ``load_report`` attribute.

    The weights file is read once, its size and hash are checked on those
    bytes, and the model is loaded from them (never by reopening the path).
    """
    entry = get_entry(name)
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be a bool. Received: pretrained={pretrained!r}")
    _check_source(source)
    if weights is not None:
        if not pretrained:
            raise ValueError(f"weights= loads pretrained weights, so it cannot go with pretrained=False. "
                             f"Received: pretrained=False, weights={weights!r}")
        if sha256 is None:
            raise ValueError(
                f"Loading weights={weights!r} needs its sha256= so it can be verified."
            )
        data, path = store.fetch_bytes(weights, sha256)
        suffix, origin = store.weights_suffix(path.name), "file"
    elif sha256 is not None:
        raise ValueError(f"sha256= verifies weights=, which is not given. Received: sha256={sha256!r}")
    elif pretrained:
        data, suffix, origin = _entry_weights(name, source)
    else:
        data = None
    model = entry.build(**overrides)
    if data is None:
        model.load_report = LoadReport(skipped=[l.name for l in model.layers if l.weights])
        return model
    if not overrides:
        store.load_weights_from_bytes(model, data, suffix)
        model.load_report = LoadReport(loaded=[l.name for l in model.layers if l.weights], source=origin)
        return model
    base = entry.build()
    store.load_weights_from_bytes(base, data, suffix)
    model.load_report = transfer_weights(base, model)
    model.load_report.source = origin
    return model


def train(name, seed=0, progress=None, root=None, strategy=None, backup_dir=None, **recipe_kwargs):
    """Runs the entry's recipe, measures it and writes weights, meta and card.

    Args:
        name: entry name.
        seed: recipe seed, an int (default 0).
        progress: optional ``fn(str)`` called as training advances.
        root: the zoo folder to write into (default: the user zoo,
            ``$ADL_KERAS_HOME/zoo``; the installed package is never written
            unless it is passed here explicitly).
        strategy: a ``tf.distribute.Strategy`` to train under (default None:
            no distribution), e.g. ``adl_keras.distribute.get_strategy()``.
            Under a multi-worker strategy every worker runs this function with
            the same arguments; only the chief writes.
        backup_dir: folder for ``keras.callbacks.BackupAndRestore`` state
            (default None: no backups). A run killed part-way and started
            again with the same arguments resumes from its last epoch; the
            folder is removed once the entry is written.
        **recipe_kwargs: passed to the recipe (e.g. ``epochs=``).

    Returns:
        The written meta dict (other workers of a cluster return the metrics
        with ``"written": False``).
    """
    import shutil

    from adl_keras import distribute
    from adl_keras.training import hardware_record

    entry = get_entry(name)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int. Received: seed={seed!r}")
    if entry.recipe is None:
        raise ValueError(f"Zoo entry {name!r} has no recipe (its weights come from {entry.weights_url}).")
    workers = distribute.worker_count(strategy) if strategy is not None else 1
    replicas = getattr(strategy, "num_replicas_in_sync", 1)
    if entry.topic == "rl" and (workers > 1 or replicas > 1):
        raise ValueError(
            f"Zoo entry {name!r} is a reinforcement-learning recipe; its environment loop runs in one process, "
            f"so it trains without a distribution strategy. Received: a strategy with {replicas} replicas "
            f"over {workers} workers. Drop --workers/--strategy (or strategy=) for this entry.")
    chief = distribute.is_chief()  # other workers of a cluster write nothing
    if chief and root is None:
        home = os.environ.get("ADL_KERAS_HOME")
        what = f"ADL_KERAS_HOME={home}" if home else "the user zoo (set ADL_KERAS_HOME to move it)"
        root = store.writable_dir(store.user_zoo_dir(), what)
    elif chief:
        root = store.writable_dir(root, f"root={str(root)!r}")
    import keras

    # Seeds Python, NumPy and the backend before the recipe runs, so whatever the
    # recipe creates first (a model, a shuffle) is seeded even if it forgets to.
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    with distribute.recipe_run(strategy, backup_dir) as run:
        result = entry.recipe(seed=seed, progress=progress if chief else None, **recipe_kwargs)
        model, training = result if isinstance(result, tuple) else (result, {})
        training = {"seed": seed, "seconds": round(time.perf_counter() - start, 1),
                    "trained_on": hardware_record(), **training}
        if any(run.resumed_epochs):
            training["resumed_from_epochs"] = run.resumed_epochs  # per fit call, from BackupAndRestore
        if replicas > 1:
            training["distribution"] = {"strategy": distribute.strategy_name(strategy), "workers": workers,
                                        "replicas": replicas}
        metrics = entry.evaluator(model)
    goals = training.pop("goals", None)
    files = training.pop("files", None)  # e.g. a learning curve, written beside the card
    if not chief:
        # Other workers computed the same model; only the chief writes anything lasting.
        return {"metrics": {k: {"value": v} for k, v in metrics.items() if not k.startswith("_")},
                "written": False}
    meta = cards.write_entry(entry, model, metrics, training=training, goals=goals, root=root, files=files)
    if backup_dir is not None:
        shutil.rmtree(backup_dir, ignore_errors=True)
    return meta


def evaluate(name, model=None, against="shipped", source=None):
    """Re-measures an entry's metrics and compares them with a card.

    Args:
        name: entry name.
        model: the model to measure (default ``load_model(name, source=source)``).
        against: the card compared with: "shipped" (default, the reference)
            or "user" (the card ``adl-zoo train`` wrote).
        source: the weights measured: "shipped", "user", or None (default:
            the user zoo's if ``adl-zoo train`` wrote some, else the shipped
            ones, so ``adl-zoo train NAME && adl-zoo evaluate NAME`` checks
            that the recipe reproduces the shipped card).

    Returns:
        dict: ``{"name", "weights", "against", "card", "metrics": {key: {"card",
        "measured", "diff", "match"}}, "match"}``.
    """
    entry = get_entry(name)
    if against not in SOURCES:
        raise ValueError(f"against must be 'shipped' or 'user'. Received: against={against!r}")
    _check_source(source)
    if entry.evaluator is None:
        raise ValueError(f"Zoo entry {name!r} has no evaluator.")
    meta = cards.read_meta(name, _root(against))
    if meta is None and against == "user":
        raise ValueError(f"Zoo entry {name!r} has no card in the user zoo {store.user_zoo_dir()}; "
                         f"run `adl-zoo train {name}` first or use against='shipped'.")
    meta = meta or {"metrics": {}}
    model = model if model is not None else load_model(name, source=source or weights_source(name, "user"))
    report = getattr(model, "load_report", None)
    measured = entry.evaluator(model)
    split, splits = cards.pop_splits(measured, default=None)
    out = {}
    for key, value in measured.items():
        card = meta["metrics"].get(key, {}).get("value")
        diff = None if card is None else abs(float(value) - card)
        out[key] = {"card": card, "measured": float(value), "diff": diff,
                    "match": diff is not None and diff <= entry.tolerance, "split": splits.get(key, split)}
    return {"name": name, "split": split, "tolerance": entry.tolerance, "metrics": out,
            "weights": getattr(report, "source", None), "against": against,
            "card": str(cards.entry_dir(name, _root(against)) / cards.META_FILE),
            "match": bool(out) and all(m["match"] for m in out.values())}


def export_model(name, out, fmt="savedmodel", overwrite=False, source=None):
    """Exports a pretrained entry as a SavedModel folder or a ``.keras`` file.

    Args:
        name: entry name.
        out: where the export goes, in both formats: the SavedModel folder is
            ``out``; the Keras file is ``out`` (``.keras`` appended if missing).
        fmt: "savedmodel" (default) or "keras".
        overwrite: replace an existing file or non-empty folder (default False:
            refuse). The new export is written beside it and renamed into place.
        source: as for :func:`load_model`.

    Returns:
        pathlib.Path written.
    """
    if fmt not in ("savedmodel", "keras"):
        raise ValueError(f"fmt must be 'savedmodel' or 'keras'. Received: fmt={fmt!r}")
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be a bool. Received: overwrite={overwrite!r}")
    out = Path(out)
    path = out if fmt == "savedmodel" or out.suffix == ".keras" else out.with_name(out.name + ".keras")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"out: {parent} is a file, not a folder. Received: out={str(out)!r}")
            break
    if fmt == "keras" and path.is_dir():
        raise IsADirectoryError(f"out: {path} is a folder; give a .keras file name.")
    if fmt == "savedmodel" and path.exists() and not path.is_dir():
        raise FileExistsError(f"out: {path} is a file; a SavedModel is a folder.")
    exists = path.is_file() or (path.is_dir() and any(path.iterdir()))
    if exists and not overwrite:
        raise FileExistsError(f"out: {path} already exists{' and is not empty' if path.is_dir() else ''}; "
                              "pass overwrite=True (--overwrite) to replace it.")
    model = load_model(name, source=source)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        staged = tmp / path.name
        if fmt == "keras":
            model.save(staged)
        else:
            model.export(str(staged), format="tf_saved_model", verbose=False)
        if path.is_dir():
            # Swap folders: the old export moves aside, the new one in, then the old one goes.
            old = tmp / ".old"
            os.replace(path, old)
        os.replace(staged, path)
        store.fsync_dir(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
