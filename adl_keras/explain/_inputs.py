"""Input checks and the batched forward pass shared by every explainer."""

import numpy as np

KINDS = ("image", "tabular", "sequence")


def model_input_shape(model):
    """Per-example input shape of a single-input Keras model."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        raise ValueError(
            f"Only single-input Keras models can be explained. Received: model={getattr(model, 'name', model)!r} "
            f"with {0 if not inputs else len(inputs)} inputs."
        )
    return tuple(inputs[0].shape[1:])


def infer_kind(input_shape, kind=None):
    """``image`` for (H, W, C), ``sequence`` for (T, F), ``tabular`` for (F,)."""
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}. Received: kind={kind!r}")
        return kind
    rank = len(input_shape)
    if rank == 3:
        return "image"
    if rank == 2:
        return "sequence"
    if rank == 1:
        return "tabular"
    raise ValueError(f"Cannot infer the input kind of input_shape={input_shape}; pass kind=.")


def check_batch(x, input_shape, name="x"):
    """``x`` as a float32 batch ``(n, *input_shape)``; a single example gets a batch axis."""
    try:
        arr = np.asarray(x, dtype="float32")
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array. Received: {name} of type {type(x).__name__}") from err
    shape = tuple(input_shape)
    known = lambda s: all(a is None or a == b for a, b in zip(shape, s)) and len(s) == len(shape)
    if known(arr.shape):
        arr = arr[None]
    if arr.ndim != len(shape) + 1 or not known(arr.shape[1:]):
        raise ValueError(
            f"{name} must have shape (n, {', '.join(str(s) for s in shape)}) or one example's shape. "
            f"Received: {name}.shape={np.shape(x)}"
        )
    if len(arr) == 0:
        raise ValueError(f"{name} is empty. Received: {name}.shape={arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values. Received: {name} with "
                         f"{int(np.sum(~np.isfinite(arr)))} non-finite entries")
    return arr


# Input floats per forward / gradient call: bounds memory for large inputs
# (a 224x224x3 ImageNet backbone gets 26 images per forward, 6 per gradient
# call) while small inputs keep their large batches.
FORWARD_BUDGET = 4 * 2**20
GRADIENT_BUDGET = 2**20


def capped_batch(batch_size, input_shape, budget):
    """``batch_size`` reduced so that one batch holds at most ``budget`` input floats."""
    return int(max(1, min(int(batch_size), budget // max(1, int(np.prod(input_shape))))))


class Forward:
    """``f(x)`` as NumPy, in large batches through one traced ``tf.function``.

    The model is called with ``training=False`` (BatchNorm uses its moving
    statistics, dropout is off), as every explainer must.
    """

    def __init__(self, model, batch_size=1024):
        import tensorflow as tf

        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
        self.model = model
        self.batch_size = int(batch_size)
        self.effective_batch_size = capped_batch(batch_size, model_input_shape(model), FORWARD_BUDGET)
        spec = tf.TensorSpec((None,) + model_input_shape(model), tf.float32)
        self._fn = tf.function(lambda z: model(z, training=False), input_signature=[spec])
        self.calls = 0

    def __call__(self, x):
        x = np.asarray(x, dtype="float32")
        out = []
        step = self.effective_batch_size
        for start in range(0, len(x), step):
            self.calls += 1
            out.append(np.asarray(self._fn(x[start:start + step])))
        y = np.concatenate(out) if out else np.zeros((0,))
        return y.reshape(len(x), -1)


def forward(model, batch_size=1024):
    """The cached :class:`Forward` of ``model``."""
    fwd = getattr(model, "_adl_forward", None)
    if fwd is None or fwd.batch_size != batch_size:
        fwd = Forward(model, batch_size)
        try:
            object.__setattr__(model, "_adl_forward", fwd)
        except Exception:  # pragma: no cover - models that refuse attributes
            pass
    return fwd


def resolve_targets(target, outputs):
    """Index of the output to explain per example.

    Args:
        target: None (the predicted class, argmax), an int for every example,
            or a sequence of ints (one per example).
        outputs: ``(n, k)`` model outputs.

    Returns:
        int array ``(n,)``.
    """
    n, k = outputs.shape
    if target is None:
        return np.argmax(outputs, axis=1).astype(int)
    t = np.asarray(target)
    if t.ndim == 0:
        t = np.full(n, int(t))
    if t.shape != (n,) or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"target must be None, an int or {n} ints. Received: target={target!r}")
    if t.min() < 0 or t.max() >= k:
        raise ValueError(f"target must lie in [0, {k - 1}] (the model has {k} outputs). Received: target={target!r}")
    return t.astype(int)
