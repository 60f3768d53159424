"""Test harness every layer, model and zoo entry passes.

Example:
    >>> from adl_keras.testing import check_layer, check_model
    >>> check_layer(MyConv2D, {"filters": 4, "kernel_size": 3}, input_shape=(2, 8, 8, 3))
"""

from adl_keras.testing.harness import check_layer, check_model

__all__ = ["check_layer", "check_model"]
