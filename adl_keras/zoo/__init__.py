"""Pretrained zoo: registry, verified weight store, cards, train/evaluate/export.

Example:
    >>> from adl_keras import zoo
    >>> zoo.list_models("*.digits")
    ['lenet5.digits']
    >>> model = zoo.load_model("lenet5.digits")
"""

import dataclasses
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
]


def model_info(name):
    """Everything known about an entry: its registration and its card.

    Returns:
        dict with name, description, topic, task, dataset (name and split),
        input_shape, params, metrics (value, split, command each), weights
        (file, sha256 or a publisher's md5, size, url), licence, recipe,
        ``pretrained`` and ``preprocessing`` (what goes in; see :func:`preprocess`).
    """
    entry = get_entry(name)
    meta = cards.read_meta(name) or {}
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
        "pretrained": cards.weights_hashes(meta) is not None,
        "card": str(cards.entry_dir(name) / cards.CARD_FILE) if meta else None,
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


def weights_path(name):
    """A verified local path to the entry's weights (zoo folder, cache or URL)."""
    meta = cards.read_meta(name)
    hashes = cards.weights_hashes(meta)
    if meta and meta.get("weights", {}).get("url") and not hashes:
        raise WeightsError(
            f"Zoo entry {name!r} has weights at {meta['weights']['url']} but no recorded sha256, so "
            "they cannot be verified; pass weights=PATH_OR_URL and sha256=HEX to load_model."
        )
    if not hashes:
        raise WeightsError(
            f"Zoo entry {name!r} has no pretrained weights; train them with "
            f"`adl-zoo train {name}` or load it with pretrained=False."
        )
    w = meta["weights"]
    local = cards.entry_dir(name) / w["file"]
    if local.exists():
        return store.verify_file(local, size=w.get("size"), **hashes)
    if w.get("url"):
        return store.fetch(w["url"], size=w.get("size"), **hashes)
    raise WeightsError(
        f"Weights of {name!r} are missing: {local} does not exist and the card has no URL."
    )


@dataclasses.dataclass
class LoadReport:
    """Which weights a load assigned, skipped (absent) or refused (mismatched)."""

    loaded: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    mismatched: list = dataclasses.field(default_factory=list)

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


def load_model(name, pretrained=True, weights=None, sha256=None, **overrides):
    """Builds a zoo entry and loads its verified weights.

    Args:
        name: entry name (``adl-zoo list``).
        pretrained: load the entry's weights (bool, default True).
        weights: a local path or URL to load instead of the card's file;
            needs ``sha256``.
        sha256: expected hash of ``weights``.
        **overrides: builder arguments to change (e.g. ``num_classes=5``).
            Weights are then copied layer by layer by name; the returned
            model's ``load_report`` lists what was loaded, skipped and
            mismatched, so nothing is partially loaded in silence.

    Returns:
        keras.Model (uncompiled), with a ``load_report`` attribute.
    """
    entry = get_entry(name)
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be a bool. Received: pretrained={pretrained!r}")
    if weights is not None:
        if sha256 is None:
            raise ValueError(
                f"Loading weights={weights!r} needs its sha256= so it can be verified."
            )
        path = store.fetch(weights, sha256)
    elif pretrained:
        path = weights_path(name)
    else:
        path = None
    model = entry.build(**overrides)
    if path is None:
        model.load_report = LoadReport(skipped=[l.name for l in model.layers if l.weights])
        return model
    if not overrides:
        model.load_weights(str(path))
        model.load_report = LoadReport(loaded=[l.name for l in model.layers if l.weights])
        return model
    base = entry.build()
    base.load_weights(str(path))
    model.load_report = transfer_weights(base, model)
    return model


def train(name, seed=0, progress=None, root=None, **recipe_kwargs):
    """Runs the entry's recipe, measures it and writes weights, meta and card.

    Returns:
        The written meta dict.
    """
    entry = get_entry(name)
    if entry.recipe is None:
        raise ValueError(f"Zoo entry {name!r} has no recipe (its weights come from {entry.weights_url}).")
    start = time.perf_counter()
    result = entry.recipe(seed=seed, progress=progress, **recipe_kwargs)
    model, training = result if isinstance(result, tuple) else (result, {})
    training = {"seed": seed, "seconds": round(time.perf_counter() - start, 1), **training}
    metrics = entry.evaluator(model)
    return cards.write_entry(entry, model, metrics, training=training,
                             goals=training.pop("goals", None), root=root)


def evaluate(name, model=None):
    """Re-measures the card's metrics on the entry's held-out data.

    Returns:
        dict: ``{"name", "metrics": {key: {"card", "measured", "diff", "match"}}, "match"}``.
    """
    entry = get_entry(name)
    if entry.evaluator is None:
        raise ValueError(f"Zoo entry {name!r} has no evaluator.")
    meta = cards.read_meta(name) or {"metrics": {}}
    model = model if model is not None else load_model(name)
    measured = entry.evaluator(model)
    split = measured.pop("_split", None)
    out = {}
    for key, value in measured.items():
        card = meta["metrics"].get(key, {}).get("value")
        diff = None if card is None else abs(float(value) - card)
        out[key] = {"card": card, "measured": float(value), "diff": diff,
                    "match": diff is not None and diff <= entry.tolerance}
    return {"name": name, "split": split, "tolerance": entry.tolerance, "metrics": out,
            "match": bool(out) and all(m["match"] for m in out.values())}


def export_model(name, out, fmt="savedmodel"):
    """Exports a pretrained entry as a SavedModel folder or a ``.keras`` file.

    Both formats are written at ``out`` itself: the SavedModel folder is
    ``out``, the Keras file is ``out`` (``.keras`` appended if missing).

    Returns:
        Path of what was written.
    """
    if fmt not in ("savedmodel", "keras"):
        raise ValueError(f"fmt must be 'savedmodel' or 'keras'. Received: fmt={fmt!r}")
    model = load_model(name)
    out = Path(out)
    if fmt == "keras":
        path = out if out.suffix == ".keras" else out.with_name(out.name + ".keras")
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        return path
    model.export(str(out), format="tf_saved_model", verbose=False)
    return out
