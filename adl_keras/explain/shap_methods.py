"""shap's explainers on Keras 3 models (through ``adl_keras.compat.import_shap``).

* ``shap-deep``: DeepExplainer (DeepLIFT rescale rule, Lundberg & Lee 2017).
  Before running it, the model's traced graph is scanned: every op that
  depends on the input must have a shap gradient handler. shap has none for
  TensorFlow's while loops and tensor lists (Keras LSTM/GRU), so such models
  are not handed to it; :func:`unsupported_ops` names the ops and
  ``adl_keras.explain.explain`` falls back to integrated gradients over the
  same background (same base value E[f(background)], same completeness
  property) with a warning. A few ops that are *linear* in their input
  (bilinear/nearest resize, depthwise conv, space-to-batch of dilated conv,
  negation) and elementwise nonlinearities (ReLU6, leaky ReLU, erf, softsign)
  are registered with shap's own linear / rescale handlers, which is exact
  for them; no nonlinear op is ever passed through as linear.
* ``shap-gradient``: GradientExplainer (expected gradients); additive only in
  expectation over its samples.
* ``shap-kernel``: KernelExplainer on flattened features. Every feature gets
  its value: shap's default ``l1_reg="num_features(10)"`` keeps at most 10
  features nonzero (additivity still holds, so it goes unnoticed); here
  ``l1_reg`` defaults to False and is an option. With enough samples
  (``nsamples >= 2**n_features``, which "auto" reaches for up to 11
  features) the values equal the exact interventional Shapley values over
  the background.
* ``shap-partition``: PartitionExplainer (Owen values); tabular and sequence
  inputs are masked with the background (base = E[f(background)]), images
  with the background's mean image (base = f(mean image)).
"""

import contextlib
import warnings

import numpy as np

# Ops linear in input 0 (their other inputs are constants in a Keras graph).
LINEAR_OPS = ("ResizeBilinear", "ResizeNearestNeighbor", "DepthwiseConv2dNative", "Neg",
              "SpaceToBatchND", "BatchToSpaceND", "AvgPool3D", "Conv3D", "MirrorPad", "Conv2DBackpropInput")
# Elementwise nonlinearities: shap's rescale rule applies unchanged.
ELEMENTWISE_OPS = ("Relu6", "LeakyRelu", "Erf", "Softsign", "Log1p", "Sin", "Cos")
# Ops that never carry input dependence to the output's value or have no outputs.
_INERT_OPS = ("NoOp", "Const", "Placeholder", "ReadVariableOp", "VarHandleOp")

MAX_KERNEL_FEATURES = 1024


def import_shap_with_handlers():
    """shap (via the compat bridge) with the extra exact handlers registered."""
    from adl_keras.compat import import_shap

    shap = import_shap()
    from shap.explainers._deep import deep_tf

    for op in LINEAR_OPS:
        deep_tf.op_handlers.setdefault(op, deep_tf.linearity_1d(0))
    for op in ELEMENTWISE_OPS:
        deep_tf.op_handlers.setdefault(op, deep_tf.nonlinearity_1d(0))
    return shap


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*structure of `inputs`.*")
        warnings.filterwarnings("ignore", message=".*TensorFlow version is newer.*")
        warnings.filterwarnings("ignore", message=".*keras is no longer supported.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        yield


def input_dependent_op_types(model, input_shape):
    """Types of the ops of ``model``'s traced graph that depend on its input."""
    import tensorflow as tf

    fn = tf.function(lambda z: model(z, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec((None,) + tuple(input_shape), tf.float32)).graph
    reached = {graph.inputs[0].ref()}
    types = set()
    for op in graph.get_operations():
        if any(t.ref() in reached for t in op.inputs):
            types.add(op.type)
            reached.update(t.ref() for t in op.outputs)
    return types


def unsupported_ops(model, input_shape):
    """Input-dependent op types that shap's DeepExplainer cannot handle (sorted)."""
    import_shap_with_handlers()
    from shap.explainers._deep import deep_tf

    cache = model.__dict__.setdefault("_adl_op_types", {})
    key = tuple(input_shape)
    if key not in cache:  # tracing the graph costs a second or two; the ops never change
        cache[key] = input_dependent_op_types(model, input_shape)
    return sorted(t for t in cache[key] if t not in deep_tf.op_handlers and t not in _INERT_OPS)


@contextlib.contextmanager
def inference_only(model):
    """Freezes every layer of ``model`` while shap runs it, restoring the flags after.

    shap's explainers call ``model(data)`` without ``training=False``; for a
    Keras 3 model that call can run BatchNormalization in training mode and
    overwrite its moving statistics (seen on the ResNet zoo entries: the
    explained model's outputs changed by 1e-2). Keras 3 BatchNormalization
    uses its moving statistics whenever the layer is not trainable.
    """
    layers = [l for l in model._flatten_layers(include_self=True, recursive=True)]
    flags = [l.trainable for l in layers]
    try:
        for layer in layers:
            layer.trainable = False
        yield model
    finally:
        for layer, flag in zip(layers, flags):
            layer.trainable = flag


def _single_output(model, index):
    import keras

    return keras.Model(model.inputs, model.outputs[0][:, int(index)], name=f"{model.name}_out{index}")


def deep(model, x, targets, background):
    """DeepExplainer attributions of output ``targets[i]`` for each ``x[i]``.

    Returns:
        (values, base_values) with base = E[f_c(background)].

    Raises:
        NotImplementedError: naming the ops shap cannot handle.
    """
    missing = unsupported_ops(model, x.shape[1:])
    if missing:
        raise NotImplementedError(f"shap's DeepExplainer has no gradient handler for op(s) {missing}")
    shap = import_shap_with_handlers()
    values = np.zeros(x.shape, dtype="float32")
    base = np.zeros(len(x))
    for c in np.unique(targets):
        idx = np.flatnonzero(targets == c)
        with _quiet(), inference_only(model):
            ex = shap.DeepExplainer(_single_output(model, c), background)
            sv = ex.shap_values(x[idx], check_additivity=False)
        values[idx] = np.asarray(sv).reshape(x[idx].shape)
        base[idx] = float(np.asarray(ex.expected_value).ravel()[0])
    return values, base


def gradient(model, x, targets, background, nsamples=200, seed=0, batch_size=50):
    """GradientExplainer (expected gradients) attributions and E[f_c(background)]."""
    shap = import_shap_with_handlers()
    values = np.zeros(x.shape, dtype="float32")
    base = np.zeros(len(x))
    for c in np.unique(targets):
        idx = np.flatnonzero(targets == c)
        sub = _single_output(model, c)
        with _quiet(), inference_only(model):
            ex = shap.GradientExplainer(sub, background, batch_size=batch_size)
            sv = ex.shap_values(x[idx], nsamples=nsamples, rseed=seed)
        values[idx] = np.asarray(sv).reshape(x[idx].shape)
        with _quiet():
            base[idx] = float(np.mean(np.asarray(sub(background, training=False))))
    return values, base


def kernel(fwd, x, targets, background, nsamples="auto", seed=0, l1_reg=False):
    """KernelExplainer on the flattened features; base = E[f_c(background)].

    Args:
        fwd: callable (n, *shape) -> (n, outputs).
        x, targets, background: as in ``explain``.
        nsamples: coalitions evaluated per example (default "auto": 2 * F + 2048).
        seed: seeds shap's coalition sampling (default 0).
        l1_reg: shap's feature selection before the regression: False
            (default: all features computed), "num_features(k)", "aic", "bic"
            or an alpha. shap's own default, "num_features(10)", silently
            zeroes all but 10 features.

    Returns:
        (values, base_values).
    """
    if not (l1_reg is False or isinstance(l1_reg, str) or (
            isinstance(l1_reg, (int, float)) and not isinstance(l1_reg, bool) and l1_reg > 0)):
        raise ValueError(f"l1_reg must be False, 'num_features(k)', 'aic', 'bic' or an alpha > 0. "
                         f"Received: l1_reg={l1_reg!r}")
    shap = import_shap_with_handlers()
    shape = x.shape[1:]
    n_features = int(np.prod(shape))
    if n_features > MAX_KERNEL_FEATURES:
        raise ValueError(
            f"shap-kernel on {n_features} features would need millions of model calls; use "
            f"method='shap-partition' or 'shap-deep' for inputs this large. Received: input shape {shape}"
        )
    fn = lambda z: fwd(np.asarray(z, dtype="float32").reshape((-1,) + shape))
    with _quiet():
        np.random.seed(seed)  # KernelExplainer samples coalitions with np.random
        ex = shap.KernelExplainer(fn, background.reshape(len(background), -1))
        sv = np.asarray(ex.shap_values(x.reshape(len(x), -1), nsamples=nsamples, l1_reg=l1_reg, silent=True))
    sv = sv.reshape((len(x), n_features, -1))
    values = sv[np.arange(len(x)), :, targets].reshape(x.shape)
    base = np.asarray(ex.expected_value).ravel()[targets]
    return values.astype("float32"), base


def partition(fwd, x, targets, background, kind, max_evals=500, batch_size=256):
    """PartitionExplainer (Owen values).

    Returns:
        (values, base_values, masker description).
    """
    shap = import_shap_with_handlers()
    shape = x.shape[1:]
    fn = lambda z: fwd(np.asarray(z, dtype="float32").reshape((-1,) + shape))
    with _quiet():
        if kind == "image":
            masker = shap.maskers.Image(background.mean(axis=0).astype("float32"))
            data, how = x, "image masker, hidden pixels set to the background's mean image"
        else:
            flat = background.reshape(len(background), -1)
            masker = shap.maskers.Partition(flat, max_samples=len(flat), clustering="correlation")
            data, how = x.reshape(len(x), -1), "background masker with correlation clustering"
        ex = shap.PartitionExplainer(fn, masker)
        res = ex(data, max_evals=max_evals, batch_size=batch_size, silent=True)
    vals = np.asarray(res.values).reshape((len(x), int(np.prod(shape)), -1))
    values = vals[np.arange(len(x)), :, targets].reshape(x.shape)
    base = np.asarray(res.base_values).reshape(len(x), -1)[np.arange(len(x)), targets]
    return values.astype("float32"), base, how
