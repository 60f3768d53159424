"""Convolution topic: convolution math, from-scratch layers, CNN builders."""

from adl_keras.conv.builders import lenet5

__all__ = ["lenet5"]
