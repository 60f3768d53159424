"""Convolution topic: convolution math, from-scratch layers, CNN builders.

Submodules:
    math       continuous/discrete convolution and cross-correlation in NumPy
    layers     Conv1D, Conv2D, MaxPool2D, AveragePool2D from keras.ops primitives
    builders   lenet5, vgg_small, resnet_small (keras.applications-style surface)

The builders and layers load Keras on first use; ``adl_keras.conv.math`` is
NumPy only.
"""

import importlib

_LAZY = {
    "lenet5": "adl_keras.conv.builders",
    "resnet_small": "adl_keras.conv.builders",
    "vgg_small": "adl_keras.conv.builders",
    "apply_basic_block": "adl_keras.conv.builders",
    "Conv1D": "adl_keras.conv.layers",
    "Conv2D": "adl_keras.conv.layers",
    "MaxPool2D": "adl_keras.conv.layers",
    "AveragePool2D": "adl_keras.conv.layers",
}
_SUBMODULES = ("math", "layers", "builders", "zoo_entries")

__all__ = sorted(_LAZY) + list(_SUBMODULES)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"adl_keras.conv.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'adl_keras.conv' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
