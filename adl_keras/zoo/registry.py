"""The zoo registry: named entries, their builders, recipes and evaluators.

Names follow ``arch.tag`` (timm's convention): the architecture, then the
weight variant, e.g. ``lenet5.digits``. Code-side facts (builder, topic,
dataset, recipe) are registered here; measured facts (metrics, weights hash,
size) live in ``zoo/NAME/meta.json`` beside the weights.
"""

import dataclasses
import difflib
import fnmatch
import importlib
from typing import Any, Callable, Optional

# Modules whose import registers entries. Kept explicit so that importing the
# registry never walks the package (and ``import adl_keras`` stays light).
ENTRY_MODULES = [
    "adl_keras.conv.zoo_entries",
    "adl_keras.rnn.zoo_entries",
    "adl_keras.gan.zoo_entries",
    "adl_keras.rl.zoo_entries",
    "adl_keras.transfer.zoo_entries",
    "adl_keras.explain.zoo_entries",
]

_REGISTRY = {}
_LOADED = False


@dataclasses.dataclass(frozen=True)
class ZooEntry:
    """One zoo entry.

    Attributes:
        name: ``arch.tag``.
        builder: callable returning an uncompiled keras.Model.
        build_kwargs: keyword arguments for ``builder`` that define the entry.
        topic: one of the seven topics (``convolution``, ``rnn``, ``gan``,
            ``rl``, ``bptt``, ``transfer``, ``explain``).
        task: e.g. ``image-classification``, ``regression``, ``generation``,
            ``q-network``.
        dataset: dataset name in ``adl_keras.data`` (or an environment id).
        input_shape: per-example input shape.
        recipe: ``recipe(seed=0, progress=None) -> keras.Model`` that trains
            the entry from scratch, or None for entries with external weights.
        evaluator: ``evaluator(model) -> dict`` of metric name to value on
            the entry's held-out data, or None.
        tolerance: largest absolute difference between a re-measured metric
            and the card's for ``adl-zoo evaluate`` to report a match.
        licence: licence of the weights.
        description: one line for listings.
        image: whether the entry takes images (the transfer-learning surface).
        weights_url: where the weights come from when not shipped in zoo/.
        preprocessing: what goes in, as plain data (shape, dtype, value range,
            mean/std, channel order, interpolation, class or action names;
            :mod:`adl_keras.zoo.preprocessing`), or None.
        card_files: ``card_files(model) -> {file name: bytes}`` written beside
            the card when the entry is trained (e.g. a generator's sample
            grid; PNG files are shown in the card), or None.
    """

    name: str
    builder: Callable[..., Any]
    build_kwargs: dict
    topic: str
    task: str
    dataset: str
    input_shape: tuple
    recipe: Optional[Callable[..., Any]] = None
    evaluator: Optional[Callable[..., dict]] = None
    tolerance: float = 1e-6
    licence: str = "Apache-2.0 (weights trained by adl_keras recipes)"
    description: str = ""
    image: bool = False
    weights_url: Optional[str] = None
    preprocessing: Optional[dict] = None
    card_files: Optional[Callable[..., dict]] = None

    def build(self, **overrides):
        return self.builder(**{**self.build_kwargs, **overrides})


def register(name, builder=None, **fields):
    """Registers a zoo entry; usable as a decorator on its builder.

    Args:
        name: ``arch.tag``; must be new.
        builder: the builder, or None when used as a decorator.
        **fields: the other ``ZooEntry`` fields.

    Returns:
        The builder (so it can be stacked to register several entries).

    Example:
        >>> @register("tiny.demo", topic="convolution", task="image-classification",
        ...           dataset="digits", input_shape=(8, 8, 1), build_kwargs={})
        ... def tiny(): ...
    """
    if not isinstance(name, str) or "." not in name:
        raise ValueError(f"Zoo names are 'arch.tag' strings. Received: name={name!r}")

    def add(fn):
        if name in _REGISTRY:
            raise ValueError(f"Zoo entry {name!r} is already registered.")
        fields.setdefault("build_kwargs", {})
        fields["input_shape"] = tuple(fields["input_shape"])
        _REGISTRY[name] = ZooEntry(name=name, builder=fn, **fields)
        return fn

    return add if builder is None else add(builder)


def _ensure_loaded():
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for module in ENTRY_MODULES:
            importlib.import_module(module)


def entries():
    """All registered entries, by name."""
    _ensure_loaded()
    return dict(_REGISTRY)


def get_entry(name):
    """The entry called ``name``; unknown names raise with close suggestions."""
    _ensure_loaded()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(
            f"Unknown zoo entry: name={name!r}.{hint} `adl-zoo list` shows all entries."
        )
    return _REGISTRY[name]


def list_models(pattern=None, topic=None, task=None, pretrained=None):
    """Names of entries matching every given filter.

    Args:
        pattern: glob on the name (``"lenet*"``, ``"*.digits"``), or None.
        topic: glob on the topic, or None.
        task: glob on the task, or None.
        pretrained: True/False keeps only entries with/without weights.

    Returns:
        Sorted list of names.
    """
    from adl_keras.zoo import cards

    rows = _index_rows() if not _LOADED else None
    if rows is None:
        rows = {name: (entry.topic, entry.task) for name, entry in entries().items()}
    else:  # plus entries registered by the user's own code so far
        rows.update({name: (entry.topic, entry.task) for name, entry in _REGISTRY.items()})
    names = []
    for name, (entry_topic, entry_task) in sorted(rows.items()):
        if pattern and not fnmatch.fnmatch(name, pattern):
            continue
        if topic and not fnmatch.fnmatch(entry_topic, topic):
            continue
        if task and not fnmatch.fnmatch(entry_task, task):
            continue
        if pretrained is not None and cards.has_weights(name) != bool(pretrained):
            continue
        names.append(name)
    return names


def _index_rows():
    """``{name: (topic, task)}`` of the shipped zoo's ``index.json``, or None.

    Listing from the index spares importing the entry modules (and with them
    Keras and TensorFlow, seconds) when only names are asked for; the index
    lists exactly the entries ``ENTRY_MODULES`` register (tested), and any
    other source of doubt (no index, unreadable) falls back to the registry.
    """
    import json

    from adl_keras.zoo import cards, store

    try:
        index = json.loads((store.zoo_dir() / cards.INDEX_FILE).read_text())
        return {name: (row["topic"], row["task"]) for name, row in index.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
