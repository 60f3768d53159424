"""Datasets with fixed train/val/test splits.

Offline (always available, nothing downloads): real data shipped by
scikit-learn (``digits``, ``breast_cancer``, ``wine``, ``sample_images``) and
procedural data generated with a fixed seed (topics add theirs with
:func:`register_dataset`). Online: :func:`load_tfds` for MNIST,
Fashion-MNIST, CIFAR-10 and IMDB, which fails within seconds when offline.

Example:
    >>> from adl_keras import data
    >>> ds = data.load("digits")
    >>> ds.train[0].shape, ds.test[0].shape
    ((1078, 8, 8, 1), (360, 8, 8, 1))
"""

import dataclasses
import difflib
from typing import Callable

import numpy as np

from adl_keras.data.tfds_loaders import DatasetUnavailableError, load_tfds

__all__ = [
    "Dataset",
    "DatasetUnavailableError",
    "available",
    "load",
    "load_tfds",
    "register_dataset",
    "split_indices",
]


@dataclasses.dataclass
class Dataset:
    """Arrays for the three fixed splits plus descriptive metadata.

    Attributes:
        name: dataset name.
        train, val, test: ``(x, y)`` tuples of NumPy arrays.
        num_classes: number of classes, or None for regression/generation.
        info: free-form facts (source, licence, preprocessing, seed).
    """

    name: str
    train: tuple
    val: tuple
    test: tuple
    num_classes: int = None
    info: dict = dataclasses.field(default_factory=dict)

    def split(self, name):
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test'. Received: split={name!r}")
        return getattr(self, name)


_LOADERS: dict = {}
# Modules whose import registers datasets (offline ones, then procedural ones).
DATASET_MODULES = (
    "adl_keras.data.offline",
    "adl_keras.data.fashion_mnist",
    "adl_keras.data.shapes",
    "adl_keras.data.glyphs",
    "adl_keras.data.sequences",
)


def register_dataset(name):
    """Decorator registering ``loader(**kwargs) -> Dataset`` under ``name``."""

    def add(fn: Callable):
        _LOADERS[name] = fn
        return fn

    return add


def _ensure_loaders():
    # Modules that register datasets on import.
    import importlib

    for module in DATASET_MODULES:
        importlib.import_module(module)


def available():
    """Names of all offline datasets."""
    _ensure_loaders()
    return sorted(_LOADERS)


def load(name, **kwargs):
    """Loads an offline dataset by name with its fixed splits.

    Args:
        name: one of :func:`available`.
        **kwargs: loader options (e.g. ``n`` or ``seq_len`` for procedural data).

    Returns:
        Dataset.
    """
    _ensure_loaders()
    if name not in _LOADERS:
        close = difflib.get_close_matches(str(name), list(_LOADERS), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"Unknown dataset: name={name!r}.{hint} Available: {', '.join(sorted(_LOADERS))}")
    return _LOADERS[name](**kwargs)


def split_indices(labels_or_n, seed=0, fractions=(0.6, 0.2, 0.2)):
    """Fixed, stratified (when labels are given) train/val/test index arrays."""
    if abs(sum(fractions) - 1.0) > 1e-9 or len(fractions) != 3:
        raise ValueError(f"fractions must be three numbers summing to 1. Received: fractions={fractions}")
    rng = np.random.default_rng(seed)
    if np.isscalar(labels_or_n):
        groups = [np.arange(int(labels_or_n))]
    else:
        labels = np.asarray(labels_or_n)
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    parts = ([], [], [])
    for idx in groups:
        idx = rng.permutation(idx)
        n_train = int(round(fractions[0] * len(idx)))
        n_val = int(round(fractions[1] * len(idx)))
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train:n_train + n_val])
        parts[2].append(idx[n_train + n_val:])
    return tuple(np.sort(np.concatenate(p)) for p in parts)
