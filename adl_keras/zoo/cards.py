"""Model cards: ``zoo/NAME/meta.json`` (machine-readable), ``zoo/NAME/README.md``
(for people) and ``zoo/index.json`` (all entries), each written atomically."""

import json
import platform
from pathlib import Path

from adl_keras.zoo import store

WEIGHTS_FILE = "model.weights.h5"
META_FILE = "meta.json"
CARD_FILE = "README.md"
INDEX_FILE = "index.json"


def entry_dir(name, root=None):
    return Path(root or store.zoo_dir()) / name


def read_meta(name, root=None):
    """The entry's meta.json as a dict, or None if it has none."""
    path = entry_dir(name, root) / META_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def weights_hashes(meta):
    """The card's expected hash as store keyword arguments: ``{"sha256": ...}``,
    or ``{"md5": ...}`` where the publisher lists only an md5; None if neither."""
    weights = (meta or {}).get("weights") or {}
    if weights.get("sha256"):
        return {"sha256": weights["sha256"]}
    if weights.get("md5"):
        return {"md5": weights["md5"]}
    return None


def weights_shipped(name, root=None):
    """Whether the entry's weights file lies in the zoo folder (no download)."""
    meta = read_meta(name, root)
    return bool(weights_hashes(meta) and (entry_dir(name, root) / meta["weights"]["file"]).exists())


def has_weights(name):
    """Whether the card records weights with a hash they can be verified against."""
    return weights_hashes(read_meta(name)) is not None


def _versions():
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("tensorflow", "keras", "numpy", "scikit-learn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            pass
    return out


def render_card(meta):
    """The Markdown model card of ``meta``."""
    lines = [f"# {meta['name']}", "", meta.get("description", ""), ""]
    lines += [
        "| field | value |",
        "| --- | --- |",
        f"| topic | {meta['topic']} |",
        f"| task | {meta['task']} |",
        f"| dataset | {meta['dataset']['name']} (metrics on the `{meta['dataset']['split']}` split) |",
        f"| input shape | {tuple(meta['input_shape'])} |",
        f"| parameters | {meta['params']:,} |",
        f"| weights | `{meta['weights']['file']}`, {meta['weights']['size']:,} bytes |",
        f"| sha256 | `{meta['weights']['sha256']}` |",
        f"| licence | {meta['licence']} |",
        f"| recipe | `{meta['recipe']}` |",
        "",
        "## Metrics",
        "",
        "| metric | value | split | command |",
        "| --- | --- | --- | --- |",
    ]
    for key, m in meta["metrics"].items():
        lines.append(f"| {key} | {m['value']:.4f} | {m['split']} | `{m['command']}` |")
    if meta.get("preprocessing"):
        from adl_keras.zoo.preprocessing import render

        lines += [""] + render(meta["name"], meta["preprocessing"])
    if meta.get("goals"):
        lines += ["", "## Goals", ""]
        lines += [f"- {g}" for g in meta["goals"]]
    if meta.get("training"):
        lines += ["", "## Training", "", "```json", json.dumps(meta["training"], indent=2), "```"]
    lines += ["", "## Load", "", "```python", "import adl_keras",
              f"model = adl_keras.zoo.load_model({meta['name']!r})", "```", ""]
    return "\n".join(lines)


def write_entry(entry, model, metrics, training=None, goals=None, root=None):
    """Saves weights, meta.json and the card of a freshly trained entry.

    Weights go to a temporary file renamed into place; meta.json is written
    after the weights and refers to their hash, so a reader never sees a card
    that points at missing or different weights.
    """
    folder = entry_dir(entry.name, root)
    weights = store.atomic_save_weights(model, folder / WEIGHTS_FILE)
    split = metrics.pop("_split", "test")
    meta = {
        "name": entry.name,
        "description": entry.description,
        "topic": entry.topic,
        "task": entry.task,
        "dataset": {"name": entry.dataset, "split": split},
        "input_shape": list(entry.input_shape),
        "build_kwargs": _jsonable(entry.build_kwargs),
        "params": int(model.count_params()),
        "weights": {
            "file": WEIGHTS_FILE,
            "sha256": store.sha256_of(weights),
            "size": weights.stat().st_size,
            "url": entry.weights_url,
        },
        "metrics": {
            key: {"value": float(value), "split": split, "command": f"adl-zoo evaluate {entry.name}"}
            for key, value in metrics.items()
        },
        "goals": list(goals or []),
        "licence": entry.licence,
        "recipe": f"adl-zoo train {entry.name}",
        "preprocessing": _jsonable(getattr(entry, "preprocessing", None)),
        "training": _jsonable(training or {}),
        "versions": _versions(),
    }
    store.atomic_write_bytes(folder / META_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    store.atomic_write_bytes(folder / CARD_FILE, render_card(meta).encode())
    write_index(root)
    return meta


def write_index(root=None):
    """Regenerates ``zoo/index.json`` from every entry's meta.json."""
    root = Path(root or store.zoo_dir())
    index = {}
    for meta_path in sorted(root.glob(f"*/{META_FILE}")):
        meta = json.loads(meta_path.read_text())
        index[meta["name"]] = {
            "topic": meta["topic"],
            "task": meta["task"],
            "dataset": meta["dataset"],
            "input_shape": meta["input_shape"],
            "params": meta["params"],
            "weights": meta["weights"],
            "metrics": {k: v["value"] for k, v in meta["metrics"].items()},
            "card": f"{meta['name']}/{CARD_FILE}",
        }
    store.atomic_write_bytes(root / INDEX_FILE, (json.dumps(index, indent=2) + "\n").encode())
    return index


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value
