"""Native gradient attributions in TensorFlow: saliency, integrated
gradients and Grad-CAM.

All functions take a batch ``x`` ``(n, *input_shape)`` and per-example
``targets`` ``(n,)`` and return NumPy arrays of ``x``'s shape.
"""

import re

import numpy as np

from adl_keras.explain._inputs import GRADIENT_BUDGET, capped_batch


def _target_gradient_fn(model):
    """A traced ``(z, onehot) -> (d sum_j onehot_j f_j(z) / dz, f(z))``."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def grad(z, onehot):
        with tf.GradientTape() as tape:
            tape.watch(z)
            out = model(z, training=False)
            out = tf.reshape(out, (tf.shape(z)[0], -1))
            score = tf.reduce_sum(out * onehot)
        return tape.gradient(score, z), out

    return grad


def _gradient_fn(model):
    fn = getattr(model, "_adl_grad_fn", None)
    if fn is None:
        fn = _target_gradient_fn(model)
        try:
            object.__setattr__(model, "_adl_grad_fn", fn)
        except Exception:  # pragma: no cover
            pass
    return fn


def gradients(model, x, targets, num_outputs, batch_size=256):
    """d f_target(x) / dx for every row of ``x`` (batched)."""
    import tensorflow as tf

    fn = _gradient_fn(model)
    x = np.asarray(x, dtype="float32")
    batch_size = capped_batch(batch_size, x.shape[1:], GRADIENT_BUDGET)
    onehot = np.eye(num_outputs, dtype="float32")[np.asarray(targets)]
    out = np.empty_like(x)
    for s in range(0, len(x), batch_size):
        g, _ = fn(tf.constant(x[s:s + batch_size]), tf.constant(onehot[s:s + batch_size]))
        out[s:s + batch_size] = g.numpy()
    return out


def saliency(model, x, targets, num_outputs, absolute=True, batch_size=256):
    """Vanilla gradient saliency (Simonyan et al. 2014): M = |d f_c / dx|.

    Args:
        model: keras.Model.
        x: ``(n, *input_shape)`` float32.
        targets: ``(n,)`` output index per example.
        num_outputs: number of model outputs.
        absolute: return |gradient| (default True) or the signed gradient.
        batch_size: gradient batch size (default 256).

    Returns:
        ``(n, *input_shape)`` array.
    """
    g = gradients(model, x, targets, num_outputs, batch_size)
    return np.abs(g) if absolute else g  # M_ij = |df_c/dx_ij|


def trapezoid_alphas(steps):
    """Points and weights of the trapezoid rule on [0, 1] with ``steps`` intervals."""
    if int(steps) < 1:
        raise ValueError(f"steps must be a positive int. Received: steps={steps!r}")
    alphas = np.linspace(0.0, 1.0, int(steps) + 1, dtype="float64")
    weights = np.full(int(steps) + 1, 1.0 / steps)
    weights[[0, -1]] *= 0.5
    return alphas, weights


def integrated_gradients(model, x, targets, num_outputs, baselines, steps=64, batch_size=512):
    """Integrated gradients (Sundararajan et al. 2017), averaged over baselines.

    IG_i(x; b) = (x_i - b_i) * integral_0^1 d f(b + a (x - b)) / dx_i da,
    computed with the trapezoid rule; with several baselines (a background
    set) the attributions are their mean, so by completeness
    sum_i phi_i = f(x) - mean_b f(b).

    Args:
        model: keras.Model.
        x: ``(n, *input_shape)``.
        targets: ``(n,)`` output index per example.
        num_outputs: number of model outputs.
        baselines: ``(m, *input_shape)`` (one or more baselines).
        steps: intervals of the path integral (default 64).
        batch_size: points per gradient call (default 512).

    Returns:
        ``(n, *input_shape)`` attributions.
    """
    import tensorflow as tf

    fn = _gradient_fn(model)
    x = np.asarray(x, dtype="float32")
    baselines = np.asarray(baselines, dtype="float32")
    batch_size = capped_batch(batch_size, x.shape[1:], GRADIENT_BUDGET)
    alphas, weights = trapezoid_alphas(steps)
    m, k = len(baselines), len(alphas)
    eye = np.eye(num_outputs, dtype="float32")
    out = np.zeros(x.shape, dtype="float64")
    for i in range(len(x)):
        diff = x[i][None] - baselines                                   # (m, ...)
        # path points b + a (x - b) for every baseline and alpha: (m*k, ...)
        pts = (baselines[:, None] + alphas.astype("float32").reshape((1, k) + (1,) * (x.ndim - 1)) * diff[:, None])
        pts = pts.reshape((m * k,) + x.shape[1:])
        onehot = np.repeat(eye[targets[i]][None], len(pts), axis=0)
        grads = np.empty(pts.shape, dtype="float32")
        for s in range(0, len(pts), batch_size):
            g, _ = fn(tf.constant(pts[s:s + batch_size]), tf.constant(onehot[s:s + batch_size]))
            grads[s:s + batch_size] = g.numpy()
        grads = grads.reshape((m, k) + x.shape[1:]).astype("float64")
        avg_grad = np.tensordot(weights, grads, axes=([0], [1]))       # integral over alpha, (m, ...)
        out[i] = (diff * avg_grad).mean(axis=0)                          # (x - b) * integral, mean over b
    return out.astype("float32")


def find_gradcam_layer(model, layer=None):
    """The layer Grad-CAM reads: ``layer`` if given, else the last ``stageN``
    with a 4-D output (the builder convention), else the last 4-D layer."""
    if layer is not None:
        try:
            return model.get_layer(layer)
        except ValueError as err:
            raise ValueError(f"Grad-CAM layer not found in model {model.name!r}. Received: layer={layer!r}") from err
    import keras

    four_d = [l for l in model.layers
              if not isinstance(l, keras.layers.InputLayer) and len(l.output.shape) == 4]
    stages = [l for l in four_d if re.fullmatch(r"stage\d+", l.name)]
    if stages:
        return max(stages, key=lambda l: int(l.name[5:]))
    if not four_d:
        raise ValueError(f"Grad-CAM needs a layer with 4-D (N, H, W, C) output; model {model.name!r} has none.")
    return four_d[-1]


def _logit_model(model, conv_layer):
    """Model ``x -> (A, scores)``; scores are pre-softmax logits when the last
    layer is a softmax Dense (Grad-CAM uses the class score y^c before softmax)."""
    import keras

    last = model.layers[-1]
    act = getattr(last, "activation", None)
    if isinstance(last, keras.layers.Dense) and getattr(act, "__name__", "") == "softmax":
        return keras.Model(model.inputs, [conv_layer.output, last.input]), last
    return keras.Model(model.inputs, [conv_layer.output, model.outputs[0]]), None


def grad_cam(model, x, targets, layer=None, batch_size=128):
    """Grad-CAM (Selvaraju et al. 2017) upsampled to the input size.

    alpha_k^c = mean_ij d y^c / d A^k_ij,  L^c = ReLU(sum_k alpha_k^c A^k),
    bilinearly resized to (H, W) and spread evenly over the input channels.

    Args:
        model: keras.Model with image input.
        x: ``(n, H, W, C)``.
        targets: ``(n,)``.
        layer: layer name, default the last ``stageN`` (see :func:`find_gradcam_layer`).
        batch_size: default 128.

    Returns:
        (maps ``(n, H, W, C)``, layer name).
    """
    import tensorflow as tf

    conv = find_gradcam_layer(model, layer)
    sub, dense = _logit_model(model, conv)
    x = np.asarray(x, dtype="float32")
    batch_size = capped_batch(batch_size, x.shape[1:], GRADIENT_BUDGET)
    h, w, c = x.shape[1:]
    out = np.empty(x.shape, dtype="float32")
    for s in range(0, len(x), batch_size):
        xb = tf.constant(x[s:s + batch_size])
        tb = np.asarray(targets[s:s + batch_size])
        with tf.GradientTape() as tape:
            maps, pre = sub(xb, training=False)
            tape.watch(maps)
            scores = tf.matmul(pre, dense.kernel) + dense.bias if dense is not None else pre
            score = tf.reduce_sum(tf.gather(scores, tb, axis=1, batch_dims=1))
        grads = tape.gradient(score, maps)
        alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)          # alpha_k^c
        cam = tf.nn.relu(tf.reduce_sum(alpha * maps, axis=-1, keepdims=True))  # ReLU(sum_k alpha_k A^k)
        cam = tf.image.resize(cam, (h, w), method="bilinear").numpy()
        out[s:s + batch_size] = np.repeat(cam / c, c, axis=-1)
    return out, conv.name
