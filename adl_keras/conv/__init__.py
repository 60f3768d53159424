"""Convolution topic: convolution math, from-scratch layers, CNN builders."""

from adl_keras.conv.builders import lenet5, resnet_small, vgg_small

__all__ = ["lenet5", "resnet_small", "vgg_small"]
