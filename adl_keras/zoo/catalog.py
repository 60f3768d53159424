"""The shipped zoo as data: list and describe entries from ``zoo/index.json``
and ``zoo/NAME/meta.json`` without importing Keras or TensorFlow.

This is what ``adl-zoo list`` and ``adl-zoo info`` read, so they answer in a
fraction of a second. It covers the entries that have a card in the zoo folder
(every shipped entry; a test checks that the index and the registry agree);
:func:`adl_keras.zoo.model_info` gives the same dict from the registry.

Example:
    >>> from adl_keras.zoo import catalog
    >>> catalog.list_names("*.digits")
    ['dcgan.digits', 'lenet5.digits', 'wgan_gp.digits']
"""

import difflib
import fnmatch
import json
from pathlib import Path

from adl_keras.zoo import cards, store


def _root(root=None):
    return Path(root or store.zoo_dir())


def read_index(root=None):
    """``zoo/index.json`` as a dict of name to summary.

    A zoo folder without an index (e.g. one assembled by hand) is listed from
    its entries' meta.json files; an entry whose card cannot be read is
    listed with ``None`` so that :func:`describe` can name the broken file.
    """
    path = _root(root) / cards.INDEX_FILE
    if path.exists():
        return json.loads(path.read_text())
    rows = {}
    folder = _root(root)
    for meta_path in sorted(folder.glob(f"*/{cards.META_FILE}")) if folder.is_dir() else []:
        name = meta_path.parent.name
        try:
            rows[name] = cards.read_meta(name, root)
        except cards.CardError:
            rows[name] = None
    return rows


def _unknown(name, known):
    close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.4)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return KeyError(f"Unknown zoo entry: name={name!r}.{hint} `adl-zoo list` shows all entries.")


def list_names(pattern=None, topic=None, task=None, pretrained=None, root=None):
    """Names of indexed entries matching every filter (as :func:`adl_keras.zoo.list_models`).

    Args:
        pattern: glob on the name, or None.
        topic: glob on the topic, or None.
        task: glob on the task, or None.
        pretrained: True/False keeps only entries with/without verifiable weights.
        root: zoo folder (default: the shipped zoo or ``$ADL_KERAS_ZOO``).

    Returns:
        Sorted list of names.
    """
    names = []
    for name, row in sorted(read_index(root).items()):
        if pattern and not fnmatch.fnmatch(name, pattern):
            continue
        if row is None:  # unreadable card: listed (describe names the file) unless a filter needs it
            if not (topic or task or pretrained is not None):
                names.append(name)
            continue
        if topic and not fnmatch.fnmatch(row["topic"], topic):
            continue
        if task and not fnmatch.fnmatch(row["task"], task):
            continue
        if pretrained is not None and (cards.weights_hashes(row) is not None) != bool(pretrained):
            continue
        names.append(name)
    return names


def describe(name, root=None):
    """The :func:`adl_keras.zoo.model_info` dict of an indexed entry, from its meta.json.

    Raises:
        KeyError: ``name`` has no card, with close names suggested.
    """
    meta = cards.read_meta(name, root) if isinstance(name, str) and name else None
    if meta is None:
        raise _unknown(name, read_index(root))
    info = {
        "name": name,
        "description": meta.get("description", ""),
        "topic": meta["topic"],
        "task": meta["task"],
        "dataset": meta["dataset"],
        "input_shape": list(meta["input_shape"]),
        "build_kwargs": meta.get("build_kwargs", {}),
        "params": meta.get("params"),
        "metrics": meta.get("metrics", {}),
        "goals": meta.get("goals", []),
        "weights": meta.get("weights"),
        "licence": meta.get("licence"),
        "recipe": meta.get("recipe"),
        "pretrained": cards.weights_hashes(meta) is not None,
        "card": str(cards.entry_dir(name, root) / cards.CARD_FILE),
        "preprocessing": meta.get("preprocessing"),
    }
    if root is None:  # the installed zoo: also say what `adl-zoo train` wrote to the user zoo
        from adl_keras import zoo

        user = cards.read_meta(name, store.user_zoo_dir())
        info["pretrained"] = info["pretrained"] or cards.weights_hashes(user) is not None
        info["weights_source"] = zoo.weights_source(name)
        info["user_entry"] = None if user is None else {
            "card": str(cards.entry_dir(name, store.user_zoo_dir()) / cards.CARD_FILE),
            "metrics": user.get("metrics", {}),
            "weights": user.get("weights"),
        }
    return info
