"""What goes into each zoo entry, as plain data, and :func:`preprocess`, which
maps a user's raw images or features to it.

Every entry registers a ``preprocessing`` dict (timm's ``pretrained_cfg``,
torchvision's weights ``meta``); the card and ``model_info`` show it. Keys:

    input          "image", "features", "sequence", "latent" or "state"
    shape, dtype   one example as the model takes it
    value_range    the range the model expects ([lo, hi]), or null
    raw_range      the range :func:`preprocess` takes ([0, 255] for images)
    mean, std      per-feature standardisation applied by preprocess, or null
    channel_order  "RGB" or "grayscale" (images)
    interpolation  resize method preprocess uses when the size differs
    inside_model   what the model itself already does (resizing, scaling...)
    class_names    output index -> class (classifiers)
    action_names   output index -> action (Q-networks)
    notes          anything else a user must know

The convention: **raw pixels in [0, 255] go to** ``zoo.preprocess(name, x)``
**and then to the model**. The ``*.imagenet`` entries scale inside the model,
so for them preprocess only resizes and fixes the channels; the small entries
were trained on [0, 1] images, and preprocess divides by 255.

Example:
    >>> from adl_keras import zoo
    >>> ds = keras.utils.image_dataset_from_directory("photos/", image_size=(32, 32))
    >>> ds = ds.map(lambda x, y: (zoo.preprocess("resnet_small.shapes32", x), y))
"""

import json
import warnings

import numpy as np

RAW_PIXELS = [0, 255]
_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, what PIL's convert("L") uses


def image(shape, class_names, value_range=(0.0, 1.0), inside_model=None, interpolation="bilinear",
          notes=None):
    """The preprocessing record of an image classifier.

    Args:
        shape: ``(H, W, C)`` the model takes; C=1 grayscale, C=3 RGB.
        class_names: output index -> name, or None (then ``notes`` says where they are).
        value_range: pixel range the model expects (default [0, 1]).
        inside_model: what the model does itself (str), or None.
        interpolation: resize method when a user's size differs (default "bilinear").
        notes: extra remarks (str), or None.
    """
    return {
        "input": "image",
        "shape": list(shape),
        "dtype": "float32",
        "value_range": [float(v) for v in value_range],
        "raw_range": RAW_PIXELS,
        "mean": None,
        "std": None,
        "channel_order": "grayscale" if shape[-1] == 1 else "RGB",
        "interpolation": interpolation,
        "inside_model": inside_model,
        "class_names": None if class_names is None else [str(c) for c in class_names],
        "notes": notes,
    }


def features(feature_names, mean, std, class_names, notes=None):
    """The preprocessing record of a tabular classifier trained on standardised features."""
    return {
        "input": "features",
        "shape": [len(feature_names)],
        "dtype": "float32",
        "value_range": None,
        "raw_range": None,
        "feature_names": [str(f) for f in feature_names],
        "mean": [float(m) for m in mean],
        "std": [float(s) for s in std],
        "inside_model": None,
        "class_names": [str(c) for c in class_names],
        "notes": notes or "preprocess standardises raw features with the training split's mean and std.",
    }


def passthrough(kind, shape, dtype="float32", value_range=None, class_names=None, action_names=None,
                notes=None):
    """The record of an entry whose input needs no mapping (latents, states, sequences)."""
    record = {
        "input": kind,
        "shape": list(shape),
        "dtype": dtype,
        "value_range": None if value_range is None else [float(v) for v in value_range],
        "raw_range": None if value_range is None else [float(v) for v in value_range],
        "mean": None,
        "std": None,
        "inside_model": None,
        "notes": notes,
    }
    if class_names is not None:
        record["class_names"] = [str(c) for c in class_names]
    if action_names is not None:
        record["action_names"] = [str(a) for a in action_names]
    return record


def spec(name):
    """The registered preprocessing record of entry ``name``."""
    from adl_keras.zoo.registry import get_entry

    record = get_entry(name).preprocessing
    if record is None:
        raise ValueError(f"Zoo entry {name!r} registers no preprocessing record.")
    return record


def preprocess(name, x):
    """Maps raw inputs to what entry ``name`` expects (see its card's preprocessing).

    Images: ``x`` is ``(n, H, W, C)`` or ``(H, W, C)`` pixels in [0, 255] (what
    ``keras.utils.image_dataset_from_directory`` and PIL give), C in 1, 3, 4.
    Channels are converted (RGBA drops alpha, RGB -> grey by BT.601 luma,
    grey -> RGB by repetition), the size is resized with the card's
    interpolation, then the range is mapped to the entry's ``value_range``.
    Works on NumPy arrays and inside ``tf.data`` pipelines (``ds.map``).
    Tabular: raw features are standardised with the card's mean and std.
    Other entries: ``x`` is checked against the card's shape and cast.

    Args:
        name: zoo entry name.
        x: raw inputs.

    Returns:
        float32 inputs for the model: a NumPy array for array input, a
        tensor for tensor input.
    """
    record = spec(name)
    if record["input"] == "image":
        return _image(record, x)
    if record["input"] == "features":
        x_np = _as_array(x, record, min_dims=1)
        return ((x_np - np.asarray(record["mean"], "float32")) / np.asarray(record["std"], "float32")).astype(
            "float32")
    return _as_array(x, record, min_dims=len(record["shape"])).astype(record["dtype"])


def _as_array(x, record, min_dims):
    x = np.asarray(x, dtype="float64")
    shape = tuple(record["shape"])
    if x.shape[-len(shape):] != shape or x.ndim not in (len(shape), len(shape) + 1) or x.ndim < min_dims:
        raise ValueError(f"x must have shape (n, {', '.join(map(str, shape))}) or "
                         f"({', '.join(map(str, shape))}). Received: x.shape={x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x contains NaN or inf values ({int(np.sum(~np.isfinite(x)))} entries).")
    return x


def _image(record, x):
    from keras import ops

    is_tensor = not isinstance(x, (np.ndarray, list, tuple, int, float))
    if not is_tensor:
        arr = np.asarray(x)
        if arr.ndim not in (3, 4) or arr.shape[-1] not in (1, 3, 4):
            raise ValueError("x must be images (n, H, W, C) or (H, W, C) with C in 1, 3, 4. "
                             f"Received: x.shape={arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError("x must hold raw pixels in [0, 255]. "
                             f"Received: values in [{arr.min():.4g}, {arr.max():.4g}]")
        if arr.size and arr.dtype.kind == "f" and arr.max() <= 1.0 and arr.max() > 0:
            warnings.warn(f"x looks already scaled to [0, 1] (max {arr.max():.3g}); zoo.preprocess expects "
                          "raw pixels in [0, 255] and divides by 255 itself.", stacklevel=2)
    x = ops.cast(ops.convert_to_tensor(x), "float32")
    single = len(x.shape) == 3
    if single:
        x = x[None]
    height, width, channels = record["shape"]
    if x.shape[-1] == 4:
        x = x[..., :3]
    if channels == 1 and x.shape[-1] == 3:
        x = ops.sum(x * ops.convert_to_tensor(_LUMA, "float32"), axis=-1, keepdims=True)
    elif channels == 3 and x.shape[-1] == 1:
        x = ops.repeat(x, 3, axis=-1)
    if tuple(x.shape[1:3]) != (height, width):
        x = ops.image.resize(x, (height, width), interpolation=record["interpolation"])
    lo, hi = record["value_range"]
    x = lo + x * ((hi - lo) / 255.0)
    if single:
        x = x[0]
    return x if is_tensor else ops.convert_to_numpy(x)


def refresh_cards(root=None):
    """Writes every registered entry's preprocessing record into its meta.json
    and card (no retraining; the weights and their hash are untouched) and
    regenerates ``zoo/index.json``.

    Returns:
        Names of the entries whose card was rewritten.
    """
    from adl_keras.zoo import cards, store
    from adl_keras.zoo.registry import entries

    written = []
    for name, entry in sorted(entries().items()):
        meta = cards.read_meta(name, root)
        if meta is None or entry.preprocessing is None:
            continue
        if entry.recipe is None and entry.name.endswith(".imagenet"):  # external weights: their own card
            from adl_keras.transfer.zoo_entries import write_imagenet_card

            write_imagenet_card(entry.build_kwargs["arch"], root or store.zoo_dir())
            written.append(name)
            continue
        meta["preprocessing"] = cards._jsonable(entry.preprocessing)
        folder = cards.entry_dir(name, root)
        store.atomic_write_bytes(folder / cards.META_FILE, (json.dumps(meta, indent=2) + "\n").encode())
        store.atomic_write_bytes(folder / cards.CARD_FILE, cards.render_card(meta).encode())
        written.append(name)
    cards.write_index(root)
    return written


def render(name, record):
    """The card's Markdown lines for entry ``name``'s preprocessing record."""
    lines = ["## Preprocessing", "", "| field | value |", "| --- | --- |"]
    for key in ("input", "shape", "dtype", "value_range", "raw_range", "channel_order", "interpolation",
                "mean", "std", "inside_model"):
        if key in record and record[key] is not None:
            lines.append(f"| {key} | {record[key]} |")
    for key in ("class_names", "action_names", "feature_names"):
        if record.get(key):
            lines.append(f"| {key} | {', '.join(record[key])} |")
    if record.get("notes"):
        lines.append(f"| notes | {record['notes']} |")
    if record["input"] in ("image", "features"):
        lines += ["", "Raw inputs go through `adl_keras.zoo.preprocess(name, x)` first:", "",
                  "```python", f"x = adl_keras.zoo.preprocess({name!r}, raw)", "```"]
    return lines
