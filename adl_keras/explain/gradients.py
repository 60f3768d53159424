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


# Layers that keep the spatial grid: a cell stays where it was.
_GRID_PRESERVING = ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "BatchNormalization",
                    "LayerNormalization", "Dropout", "SpatialDropout2D", "GaussianNoise", "Rescaling")


def _cell_positions(model, conv_layer):
    """Where the cells of ``conv_layer``'s map sit in the input: per spatial axis
    ``(offset, stride)`` with cell i centred on input pixel ``offset + stride * i``.

    Receptive-field arithmetic over a chain of Conv2D / pooling layers (and
    layers that keep the grid) from the input to ``conv_layer``: a k-wide
    window with stride s and ``pad`` pixels of padding before puts cell u on
    ``s * u - pad + (k - 1) / 2`` of its input. Returns None when the path
    is not such a chain (branches, resizing, unknown layers).
    """
    import keras

    offset, stride = np.zeros(2), np.ones(2)
    previous = model.inputs[0]
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            if layer.input is not previous:             # not a chain: positions unknown
                return None
        except (AttributeError, ValueError):            # a layer called several times has no single input
            return None
        n_in = np.array(layer.input.shape[1:3], dtype=float)
        name = type(layer).__name__
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            if getattr(layer, "data_format", "channels_last") != "channels_last":
                return None
            k = np.array(layer.kernel_size if hasattr(layer, "kernel_size") else layer.pool_size, dtype=float)
            s = np.array(layer.strides, dtype=float)
            k = (k - 1) * np.array(getattr(layer, "dilation_rate", (1, 1)), dtype=float) + 1
            n_out = np.array(layer.output.shape[1:3], dtype=float)
            pad = (np.maximum((n_out - 1) * s + k - n_in, 0) // 2 if layer.padding == "same" else np.zeros(2))
            offset, stride = offset + stride * (-pad + (k - 1) / 2), stride * s
        elif name not in _GRID_PRESERVING:
            return None
        if layer is conv_layer:
            return offset, stride
        previous = layer.output
    return None


def _interpolation_matrix(n_in, n_cells, offset, stride):
    """``(n_in, n_cells)`` linear interpolation of cell values at input pixels
    p, the cells sitting at ``offset + stride * i`` (clamped at the edges)."""
    u = np.clip((np.arange(n_in) - offset) / stride, 0, n_cells - 1)
    lo = np.floor(u).astype(int)
    hi = np.minimum(lo + 1, n_cells - 1)
    m = np.zeros((n_in, n_cells))
    np.add.at(m, (np.arange(n_in), lo), 1 - (u - lo))
    np.add.at(m, (np.arange(n_in), hi), u - lo)
    return m


def upsample_cam(cam, model, conv_layer, size):
    """Bilinear upsampling of Grad-CAM maps ``(n, h, w)`` to the input ``size``.

    tf.image.resize stretches the map over the whole image (cell i of h on
    input pixel (i + 0.5) H / h - 0.5): right for "same" padding and pooling,
    wrong for "valid" convolutions, whose cells sit on the centres of their
    receptive fields (a 3x3 "valid" map of a 10x10 input: cell i on pixel
    i + 1, not 1.125 i + 0.06). Where :func:`_cell_positions` knows the
    centres and they differ from the stretch, the map is interpolated
    through them; otherwise tf.image.resize is used.
    """
    import tensorflow as tf

    (h, w), (H, W) = cam.shape[1:3], size
    positions = _cell_positions(model, conv_layer)
    stretch = (np.array([(H / h - 1) / 2, (W / w - 1) / 2]), np.array([H / h, W / w]))
    if positions is None or (np.allclose(positions[0], stretch[0]) and np.allclose(positions[1], stretch[1])):
        return tf.image.resize(cam[..., None], (H, W), method="bilinear").numpy()[..., 0]
    rows = _interpolation_matrix(H, h, positions[0][0], positions[1][0])
    cols = _interpolation_matrix(W, w, positions[0][1], positions[1][1])
    return np.einsum("ph,nhw,qw->npq", rows, cam, cols).astype("float32")


def grad_cam(model, x, targets, layer=None, batch_size=128):
    """Grad-CAM (Selvaraju et al. 2017) upsampled to the input size.

    alpha_k^c = mean_ij d y^c / d A^k_ij,  L^c = ReLU(sum_k alpha_k^c A^k),
    bilinearly upsampled to (H, W) with each cell on the centre of its
    receptive field (:func:`upsample_cam`) and spread evenly over the input
    channels (Grad-CAM has no channel resolution).

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
        cam = tf.nn.relu(tf.reduce_sum(alpha * maps, axis=-1))                 # ReLU(sum_k alpha_k A^k)
        cam = upsample_cam(cam.numpy(), model, conv, (h, w))[..., None]
        out[s:s + batch_size] = np.repeat(cam / c, c, axis=-1)
    return out, conv.name
