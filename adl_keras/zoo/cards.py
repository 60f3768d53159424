"""Model cards: ``zoo/NAME/meta.json`` (machine-readable), ``zoo/NAME/README.md``
(for people) and ``zoo/index.json`` (all entries), each written atomically.

Two zoos hold cards: the shipped one inside the package (read-only to the
package, the reference) and the user zoo under ``$ADL_KERAS_HOME/zoo``,
where ``adl-zoo train`` writes.
"""

import json
import platform
from pathlib import Path

from adl_keras.zoo import store

WEIGHTS_FILE = "model.weights.h5"  # the name of shipped entries written before content addressing
META_FILE = "meta.json"
CARD_FILE = "README.md"
INDEX_FILE = "index.json"


class CardError(ValueError):
    """A meta.json that cannot be read or parsed (the message names the file)."""


def entry_dir(name, root=None):
    return Path(root or store.zoo_dir()) / name


def read_meta(name, root=None):
    """The entry's meta.json as a dict, or None if it has none.

    Raises:
        CardError: the file exists but is not a JSON object (names the file).
    """
    path = entry_dir(name, root) / META_FILE
    try:
        text = path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        meta = json.loads(text)
    except ValueError as err:
        raise CardError(f"Malformed model card {path}: {err}.") from err
    if not isinstance(meta, dict):
        raise CardError(f"Malformed model card {path}: expected a JSON object, got {type(meta).__name__}.")
    return meta


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
    """Whether a card (shipped, or else the user zoo's) records weights with a
    hash they can be verified against; False for a malformed card."""
    for root in (None, store.user_zoo_dir()):
        try:
            if weights_hashes(read_meta(name, root)) is not None:
                return True
        except CardError:
            continue
    return False


def _versions():
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("tensorflow", "keras", "numpy", "scikit-learn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            pass
    return out


def _weights_rows(weights):
    if not weights:
        return ["| weights | none shipped yet (see Training; `adl-zoo train` writes them to the user zoo) |"]
    rows = [f"| weights | `{weights['file']}`, {weights['size']:,} bytes |"]
    if weights.get("sha256"):
        rows.append(f"| sha256 | `{weights['sha256']}` |")
    return rows


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
        *_weights_rows(meta.get("weights")),
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
    if meta.get("figures"):
        # Drawn from the held-out data by `adl-zoo evaluate NAME --figures` (adl_keras.zoo.figures).
        lines += ["", "## Pictures", ""]
        for fig in meta["figures"]:
            lines += [f"![{fig['caption']}]({fig['file']})", "", f"*{fig['caption']}.*", ""]
        lines.pop()
    if meta.get("preprocessing"):
        from adl_keras.zoo.preprocessing import render

        lines += [""] + render(meta["name"], meta["preprocessing"])
    if meta.get("explainability"):
        from adl_keras.explain.agents import render_card_section

        lines += [""] + render_card_section(meta["explainability"])
    drawn = {f.get("file") for f in meta.get("figures", ()) if isinstance(f, dict)}
    images = [f for f in meta.get("files", ()) if f.endswith(".png") and f not in drawn]
    if images:
        lines += ["", "## Samples", ""] + [f"![{f}]({f})" for f in images]
    if meta.get("goals"):
        lines += ["", "## Goals", ""]
        lines += [f"- {g}" for g in meta["goals"]]
    if meta.get("training"):
        lines += ["", "## Training", "", "```json", json.dumps(meta["training"], indent=2), "```"]
    lines += ["", "## Load", "", "```python", "import adl_keras",
              f"model = adl_keras.zoo.load_model({meta['name']!r})", "```", ""]
    return "\n".join(lines)


def write_entry(entry, model, metrics, training=None, goals=None, root=None, files=None):
    """Saves weights, meta.json and the card of a freshly trained entry.

    Args:
        entry: the ZooEntry.
        model: the trained keras.Model.
        metrics: dict of metric name to value; ``_split`` names the split of
            every metric (default "test") and ``_splits`` ``{metric: split}``
            that of a metric measured elsewhere (e.g. a GAN's FID against the
            train split), as an evaluator returns them.
        training, goals: recorded in the card.
        root: the zoo folder to write into (default: the user zoo,
            ``$ADL_KERAS_HOME/zoo``; never the installed package unless given).
        files: optional ``{file name: bytes}`` written beside the card before
            meta.json is switched (a recipe returns them as ``info["files"]``,
            e.g. a learning curve), together with the entry's ``card_files``;
            recipes never write into a zoo folder themselves.

    The entry is swapped as a whole: the weights get a content-addressed name
    (``weights-<sha256[:16]>.weights.h5``) beside the old ones, meta.json is
    switched last by an atomic rename (file and folder fsynced), and only then
    are the old weight files removed. A reader sees the old entry or the new
    one, never a card pointing at missing or different weights.
    """
    root = Path(root) if root is not None else store.user_zoo_dir()
    folder = entry_dir(entry.name, root)
    files = {**(files or {}), **(entry.card_files(model) if entry.card_files is not None else {})}
    for file_name in files:  # checked before anything is written
        if not isinstance(file_name, str) or Path(file_name).name != file_name or \
                file_name in (META_FILE, CARD_FILE, INDEX_FILE) or file_name.endswith(".weights.h5"):
            raise ValueError(f"files (a recipe's, or card_files of {entry.name!r}) must be plain file names other "
                             f"than the card's and the weights'. Received: {file_name!r}")
    weights, sha256, size = store.save_weights_content_addressed(model, folder)
    for file_name, content in sorted(files.items()):
        store.atomic_write_bytes(folder / file_name, content)
    metrics = dict(metrics)
    split, splits = pop_splits(metrics)
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
            "file": weights.name,
            "sha256": sha256,
            "size": size,
            "url": entry.weights_url,
        },
        "metrics": {
            key: {"value": float(value), "split": splits.get(key, split), "command": f"adl-zoo evaluate {entry.name}"}
            for key, value in metrics.items()
        },
        "goals": list(goals or []),
        "licence": entry.licence,
        "recipe": f"adl-zoo train {entry.name}",
        "preprocessing": _jsonable(getattr(entry, "preprocessing", None)),
        "training": _jsonable(training or {}),
        "versions": _versions(),
    }
    if files:
        meta["files"] = sorted(files)
    store.atomic_write_bytes(folder / META_FILE, (json.dumps(meta, indent=2) + "\n").encode())  # the switch
    _remove_old_weights(folder, keep=weights.name)
    store.atomic_write_bytes(folder / CARD_FILE, render_card(meta).encode())
    write_index(root)
    return meta


def pop_splits(measured, default="test"):
    """Removes an evaluator's split labels from ``measured``.

    Args:
        measured: an evaluator's dict (changed in place): metric values plus
            ``_split`` (the split of every metric) and, optionally,
            ``_splits`` (``{metric: split}`` for metrics measured on another
            split, e.g. ``{"digits_fid_vs_train_split": "train"}``).
        default: the split when ``_split`` is absent (default "test").

    Returns:
        (split, ``{metric: split}`` overrides).
    """
    split = measured.pop("_split", default)
    splits = dict(measured.pop("_splits", None) or {})
    unknown = sorted(set(splits) - set(measured))
    if unknown:
        raise ValueError(f"_splits names metrics the evaluator did not measure. Received: {unknown}")
    return split, splits


def _remove_old_weights(folder, keep):
    """Deletes weight files the switched meta.json no longer refers to."""
    store._step("remove-old-weights")
    for path in [*folder.glob("weights-*.weights.h5"), folder / WEIGHTS_FILE]:
        if path.name != keep and path.exists():
            try:
                path.unlink()
            except OSError:
                pass  # a leftover file is harmless: no card refers to it


def write_index(root=None):
    """Regenerates ``zoo/index.json`` from every entry's meta.json."""
    root = Path(root or store.zoo_dir())
    index = {}
    for meta_path in sorted(root.glob(f"*/{META_FILE}")):
        try:
            meta = read_meta(meta_path.parent.name, root)
        except CardError:
            continue  # a malformed card is reported by `adl-zoo list`, not indexed
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
