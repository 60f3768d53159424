"""Gradient clipping: by value, by norm (per tensor) and by global norm (Pascanu et al. 2013).

The same clipping is available inside Keras optimizers (``clipvalue``,
``clipnorm``, ``global_clipnorm``); these functions make it explicit for
custom loops such as explicit or truncated BPTT.

Example:
    >>> import numpy as np
    >>> clipped, norm = clip_by_global_norm([np.full(4, 3.0)], 1.0)
    >>> float(norm)
    6.0
"""

from keras import ops

__all__ = ["clip_by_value", "clip_by_norm", "clip_by_global_norm", "global_norm"]


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number. Received: {name}={value!r}")
    return float(value)


def global_norm(grads):
    """``sqrt(sum_i ||g_i||^2)`` over a list of tensors (None entries ignored)."""
    return ops.sqrt(sum(ops.sum(ops.square(g)) for g in grads if g is not None))


def clip_by_value(grads, clip_value):
    """Clips every element to ``[-clip_value, clip_value]``.

    Args:
        grads (list of tensors): gradients (None kept).
        clip_value (float): positive bound.

    Returns:
        list of clipped tensors.
    """
    c = _check_positive("clip_value", clip_value)
    return [None if g is None else ops.clip(g, -c, c) for g in grads]


def clip_by_norm(grads, max_norm):
    """Rescales each tensor with ``||g|| > max_norm`` to norm ``max_norm``: ``g * max_norm / ||g||``.

    Args:
        grads (list of tensors): gradients (None kept).
        max_norm (float): positive bound.

    Returns:
        list of clipped tensors.
    """
    m = _check_positive("max_norm", max_norm)
    out = []
    for g in grads:
        if g is None:
            out.append(None)
            continue
        norm = ops.sqrt(ops.sum(ops.square(g)))
        out.append(g * (m / ops.maximum(norm, m)))  # unchanged when ||g|| <= m
    return out


def clip_by_global_norm(grads, max_norm):
    """Rescales all tensors together when their global norm exceeds ``max_norm``.

    ``g_i <- g_i * max_norm / max(global_norm, max_norm)`` keeps the gradient's direction.

    Args:
        grads (list of tensors): gradients (None kept).
        max_norm (float): positive bound.

    Returns:
        ``(clipped list, global norm before clipping)``.
    """
    m = _check_positive("max_norm", max_norm)
    norm = global_norm(grads)
    scale = m / ops.maximum(norm, m)
    return [None if g is None else g * scale for g in grads], norm
