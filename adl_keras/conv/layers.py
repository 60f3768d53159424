"""Convolution and pooling layers written from ``keras.ops`` primitives.

No library convolution or pooling is called: inputs are zero-padded
(``keras.ops.pad``) and, for each kernel tap j, the values that every output
position i sees through it, x_pad[s·i + d·j], are cut out with contiguous
slices and reshapes (:func:`window_taps`; :func:`extract_patches` stacks
them into the "im2col" patch tensor). Then

* convolution is one matrix product of the (N·out, k·C_in) im2col matrix
  with the kernel reshaped to (k·C_in, C_out):
  y[i, o] = b[o] + Σ_j Σ_c x_pad[s·i + d·j, c] · w[j, c, o]
  (the cross-correlation that ``keras.layers.Conv1D/Conv2D`` compute); at
  stride 1 its gradients are written out as im2col products too
  (:func:`_conv_stride1`), strided convolutions use automatic differentiation;
* max pooling is the maximum over the taps, y[i, c] = max_j x_pad[s·i + j, c]
  (padding with −∞ so that it never wins);
* average pooling is the sum over the taps divided by the number of real
  (non-padding) inputs in the window, like Keras' ``padding="same"``.

Layout is channels-last. "same" padding follows Keras/TensorFlow:
out = ceil(n / s), total padding max((out − 1)·s + d(k − 1) + 1 − n, 0),
with the extra zero after the input (``p_before = total // 2``). The
sizes come from :func:`adl_keras.conv.math.output_size`.

Example:
    >>> import numpy as np
    >>> from adl_keras.conv.layers import Conv2D
    >>> layer = Conv2D(4, 3, strides=2, padding="same")
    >>> layer(np.zeros((1, 9, 9, 3), "float32")).shape
    TensorShape([1, 5, 5, 4])
"""

import itertools

import keras
import numpy as np
from keras import ops

from adl_keras.conv.math import output_size

__all__ = ["AveragePool2D", "Conv1D", "Conv2D", "MaxPool2D", "extract_patches", "padding_pairs", "window_taps"]


# ---------------------------------------------------------------------------
# Argument normalisation
# ---------------------------------------------------------------------------


def _int_tuple(name, value, rank):
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * rank
    if (not isinstance(value, (tuple, list)) or len(value) != rank
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)):
        raise ValueError(f"{name} must be a positive int or a tuple of {rank} positive ints. Received: {name}={value!r}")
    return tuple(int(v) for v in value)


def _padding(value, allowed):
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"padding must be one of {allowed}. Received: padding={value!r}")
    return value.lower()


def padding_pairs(spatial_shape, kernel_size, strides, dilation_rate, padding):
    """Keras-convention ``(p_before, p_after)`` per spatial axis.

    Args:
        spatial_shape: input sizes per spatial axis.
        kernel_size, strides, dilation_rate: tuples, one int per axis.
        padding: "valid", "same" or "causal" (1D: d(k − 1) zeros in front).

    Returns:
        list of (before, after) pairs.

    Example:
        >>> padding_pairs((5,), (4,), (1,), (1,), "same")
        [(1, 2)]
    """
    pairs = []
    for n, k, s, d in zip(spatial_shape, kernel_size, strides, dilation_rate):
        span = d * (k - 1) + 1  # extent of the dilated kernel
        if padding == "valid":
            pairs.append((0, 0))
        elif padding == "causal":
            pairs.append((span - 1, 0))
        else:
            out = -(-n // s)  # ceil(n / s)
            total = max((out - 1) * s + span - n, 0)
            pairs.append((total // 2, total - total // 2))
    return pairs


def window_taps(x, kernel_size, strides, dilation_rate, pads, pad_value=0.0):
    """Yields ``(tap, view)``: for each kernel tap j the input values every
    output position i sees through it, view[i] = x_pad[s·i + d·j].

    Built from ``keras.ops.pad``, ``keras.ops.slice`` and ``keras.ops.reshape``
    only: a stride s is taken by slicing s·out values and keeping the first of
    every s (reshape to (out, s), slice index 0). Contiguous slices (not
    strided ``x[a:b:s]`` indexing) keep the gradient a cheap pad.

    Args:
        x: tensor ``(N, *spatial, C)`` with static spatial sizes.
        kernel_size, strides, dilation_rate: tuples, one int per axis.
        pads: (before, after) pairs per spatial axis.
        pad_value: constant used for padding (default 0).

    Yields:
        ``(tap_index_tuple, tensor (N, *out, C))``.
    """
    rank = len(kernel_size)
    spatial = tuple(x.shape[1:1 + rank])
    channels = x.shape[-1]
    out_shape = _out_shape(spatial, kernel_size, strides, dilation_rate, pads)
    # Pad so that every tap's slice of s·out values fits (the extra zeros at
    # the end are never kept: only the first of every s values is).
    widths = []
    for n, (before, after), k, s, d, o in zip(spatial, pads, kernel_size, strides, dilation_rate, out_shape):
        need = d * (k - 1) + s * o
        widths.append((before, max(after, need - n - before)))
    if any(sum(w) for w in widths):
        x = ops.pad(x, [(0, 0)] + widths + [(0, 0)], constant_values=pad_value)
    batch = ops.shape(x)[0]
    for tap in itertools.product(*(range(k) for k in kernel_size)):
        start = [0] + [d * j for j, d in zip(tap, dilation_rate)] + [0]
        size = [batch] + [s * o for s, o in zip(strides, out_shape)] + [channels]
        view = ops.slice(x, start, size)  # x_pad[d·j : d·j + s·out]
        if any(s > 1 for s in strides):
            split = [-1]
            for s, o in zip(strides, out_shape):
                split += [o, s]
            view = ops.reshape(view, split + [channels])
            view = ops.slice(view, [0] * (2 * rank + 2), [batch] + [n for o in out_shape for n in (o, 1)] + [channels])
            view = ops.reshape(view, (-1,) + out_shape + (channels,))  # x_pad[s·i + d·j]
        yield tap, view


def _out_shape(spatial, kernel_size, strides, dilation_rate, pads):
    out_shape = tuple(
        output_size(n, k, s, p, d) for n, k, s, p, d in zip(spatial, kernel_size, strides, pads, dilation_rate)
    )
    if min(out_shape) < 1:
        raise ValueError(
            f"Input spatial shape {spatial} is smaller than the dilated kernel {kernel_size} "
            f"(dilation {dilation_rate}, padding {pads}); the output would be empty."
        )
    return out_shape


def extract_patches(x, kernel_size, strides, dilation_rate, pads, pad_value=0.0):
    """Gathers every window's taps ("im2col"): ``(N, *out, prod(kernel_size), C)``.

    Tap j of output position i is x_pad[s·i + d·j], stacked on axis −2 in
    row-major tap order, which matches
    ``kernel.reshape(prod(kernel_size) * C_in, C_out)``.

    Args:
        x: tensor ``(N, *spatial, C)`` with static spatial sizes.
        kernel_size, strides, dilation_rate: tuples, one int per axis.
        pads: (before, after) pairs per spatial axis.
        pad_value: constant used for padding (default 0).

    Returns:
        tuple ``(patches, out_shape)``.

    Example:
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> patches, out = extract_patches(x, (2, 2), (2, 2), (1, 1), [(0, 0), (0, 0)])
        >>> out, np.asarray(patches)[0, 0, 0, :, 0]
        ((2, 2), array([0., 1., 4., 5.], dtype=float32))
    """
    rank = len(kernel_size)
    out_shape = _out_shape(tuple(x.shape[1:1 + rank]), kernel_size, strides, dilation_rate, pads)
    views = [view for _, view in window_taps(x, kernel_size, strides, dilation_rate, pads, pad_value)]
    return ops.stack(views, axis=-2), out_shape



def _im2col(x, kernel_size, strides, dilation_rate, pads):
    """The (N·out, k·C) im2col matrix: row i holds x_pad[s·i + d·j, c] for
    every tap j and channel c, in ``kernel.reshape(k·C, C_out)`` order.

    (Concatenating the taps on the channel axis measured faster than
    :func:`extract_patches`' stack + reshape, which gives the same matrix.)
    """
    columns = ops.concatenate(
        [view for _, view in window_taps(x, kernel_size, strides, dilation_rate, pads)], axis=-1)
    return ops.reshape(columns, (-1, int(np.prod(kernel_size)) * x.shape[-1]))


def _im2col_matmul(x, kernel, strides, dilation_rate, pads):
    """im2col by slicing, then one matmul.

    y = [x_pad[s·i + d·j]]_j @ reshape(w, (k·C_in, C_out)), i.e.
    y[i, o] = Σ_{j,c} x_pad[s·i + d·j, c] w[j, c, o] as an (N·out, C_out) matrix.
    (Summing one (C_in, C_out) matmul per tap avoids the k-times larger
    matrix but measured slower in training on CPU.)

    Returns:
        ``(columns, outputs)``: the (N·out, k·C_in) im2col matrix and the product.
    """
    columns = _im2col(x, tuple(kernel.shape[:-2]), strides, dilation_rate, pads)
    return columns, ops.matmul(columns, ops.reshape(kernel, (columns.shape[-1], kernel.shape[-1])))


def _conv_stride1(x, kernel, dilation_rate, pads):
    """Stride-1 convolution (im2col + matmul) with its backward pass written out.

    Automatic differentiation of the k slices would scatter k padded,
    input-sized gradients and add them. The analytic gradients are again
    one im2col product each: with Y = X_col W (W = w reshaped to (k·C_in, C_out))

    * dL/dW = X_colᵀ dL/dY (the forward pass' columns are reused);
    * dL/dx[p] = Σ_j dL/dy[p + p_before − d·j] w[j]ᵀ, a stride-1
      cross-correlation of the zero-padded dL/dy with the flipped kernel,
      input and output channels swapped, padded by d(k − 1) − p_before in
      front and d(k − 1) − p_after behind (both >= 0 at stride 1).

    Returns:
        the (N·out, C_out) product.
    """
    kernel_size = tuple(kernel.shape[:-2])
    rank = len(kernel_size)
    spatial = tuple(x.shape[1:1 + rank])
    channels_in, filters = kernel.shape[-2], kernel.shape[-1]
    out_shape = _out_shape(spatial, kernel_size, (1,) * rank, dilation_rate, pads)
    back_pads = [(d * (k - 1) - before, d * (k - 1) - after)
                 for (before, after), k, d in zip(pads, kernel_size, dilation_rate)]

    @ops.custom_gradient
    def conv(x, kernel):
        columns, outputs = _im2col_matmul(x, kernel, (1,) * rank, dilation_rate, pads)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            upstream = ops.reshape(upstream, (-1, filters))
            d_kernel = ops.reshape(ops.matmul(ops.transpose(columns), upstream), kernel.shape)
            flipped = ops.swapaxes(ops.flip(kernel, axis=tuple(range(rank))), -1, -2)  # w[k-1-j]ᵀ
            upstream = ops.reshape(upstream, (-1,) + out_shape + (filters,))
            _, d_x = _im2col_matmul(upstream, flipped, (1,) * rank, dilation_rate, back_pads)
            return ops.reshape(d_x, (-1,) + spatial + (channels_in,)), d_kernel

        return outputs, grad

    return conv(x, kernel)


def _static_spatial(layer, input_shape, rank):
    shape = tuple(input_shape)
    if len(shape) != rank + 2:
        raise ValueError(
            f"{layer.__class__.__name__} expects inputs of rank {rank + 2} (batch, *spatial, channels). "
            f"Received: input_shape={shape}"
        )
    if any(d is None for d in shape[1:]):
        raise ValueError(
            f"{layer.__class__.__name__} gathers windows by static slicing and needs known spatial sizes "
            f"and channels. Received: input_shape={shape}"
        )
    return shape[1:1 + rank], shape[-1]


# ---------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------


class _Conv(keras.layers.Layer):
    """Shared N-D convolution: im2col by slicing, then one matmul."""

    rank = None
    paddings = ("valid", "same")

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise ValueError(f"filters must be a positive int. Received: filters={filters!r}")
        self.filters = filters
        self.kernel_size = _int_tuple("kernel_size", kernel_size, self.rank)
        self.strides = _int_tuple("strides", strides, self.rank)
        self.padding = _padding(padding, self.paddings)
        self.dilation_rate = _int_tuple("dilation_rate", dilation_rate, self.rank)
        self.activation = keras.activations.get(activation)
        if not isinstance(use_bias, bool):
            raise ValueError(f"use_bias must be a bool. Received: use_bias={use_bias!r}")
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2)

    def build(self, input_shape):
        _, channels = _static_spatial(self, input_shape, self.rank)
        self.kernel = self.add_weight(
            name="kernel",
            shape=self.kernel_size + (channels, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

    def call(self, inputs):
        spatial, _ = _static_spatial(self, inputs.shape, self.rank)
        pads = padding_pairs(spatial, self.kernel_size, self.strides, self.dilation_rate, self.padding)
        out_shape = _out_shape(spatial, self.kernel_size, self.strides, self.dilation_rate, pads)
        kernel = ops.cast(self.kernel, inputs.dtype)
        if all(s == 1 for s in self.strides):
            outputs = _conv_stride1(inputs, kernel, self.dilation_rate, pads)
        else:
            _, outputs = _im2col_matmul(inputs, kernel, self.strides, self.dilation_rate, pads)
        # Bias and activation on the 2D product (same values; lets the graph
        # optimiser fuse them like a Dense layer's).
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return ops.reshape(outputs, (-1,) + out_shape + (self.filters,))

    def compute_output_shape(self, input_shape):
        spatial, _ = _static_spatial(self, input_shape, self.rank)
        pads = padding_pairs(spatial, self.kernel_size, self.strides, self.dilation_rate, self.padding)
        out = tuple(
            output_size(n, k, s, p, d)
            for n, k, s, p, d in zip(spatial, self.kernel_size, self.strides, pads, self.dilation_rate)
        )
        return (input_shape[0],) + out + (self.filters,)

    def get_config(self):
        config = {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="adl_keras")
class Conv1D(_Conv):
    """1D convolution (cross-correlation) from slicing and a matmul.

    y[i, o] = b[o] + Σ_{j, c} x_pad[s·i + d·j, c] · w[j, c, o]; equal to
    ``keras.layers.Conv1D`` with the same weights.

    Args:
        filters: output channels (int).
        kernel_size: taps k (int or 1-tuple).
        strides: stride s (default 1).
        padding: "valid", "same" or "causal" (default "valid").
        dilation_rate: dilation d (default 1).
        activation: activation name or callable (default None).
        use_bias: add a bias (default True).
        kernel_initializer, bias_initializer: defaults "glorot_uniform", "zeros".
        kernel_regularizer, bias_regularizer: default None.

    Example:
        >>> Conv1D(8, 3, padding="causal")(np.zeros((2, 10, 4), "float32")).shape
        TensorShape([2, 10, 8])
    """

    rank = 1
    paddings = ("valid", "same", "causal")


@keras.saving.register_keras_serializable(package="adl_keras")
class Conv2D(_Conv):
    """2D convolution (cross-correlation) from slicing and a matmul.

    y[a, b, o] = bias[o] + Σ_{m, n, c} x_pad[s_h·a + d_h·m, s_w·b + d_w·n, c] · w[m, n, c, o];
    equal to ``keras.layers.Conv2D`` with the same weights. Unlike Keras,
    strides > 1 together with dilation > 1 are supported.

    Args:
        filters: output channels (int).
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw) (default 1).
        padding: "valid" or "same" (default "valid").
        dilation_rate: int or (dh, dw) (default 1).
        activation: activation name or callable (default None).
        use_bias: add a bias (default True).
        kernel_initializer, bias_initializer: defaults "glorot_uniform", "zeros".
        kernel_regularizer, bias_regularizer: default None.

    Example:
        >>> Conv2D(4, 3, padding="same")(np.zeros((1, 8, 8, 3), "float32")).shape
        TensorShape([1, 8, 8, 4])
    """

    rank = 2


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------


class _Pool2D(keras.layers.Layer):
    """Shared 2D pooling over the taps gathered by :func:`extract_patches`."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _int_tuple("pool_size", pool_size, 2)
        self.strides = self.pool_size if strides is None else _int_tuple("strides", strides, 2)
        self.padding = _padding(padding, ("valid", "same"))
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def _pads(self, spatial):
        return padding_pairs(spatial, self.pool_size, self.strides, (1, 1), self.padding)

    def compute_output_shape(self, input_shape):
        spatial, channels = _static_spatial(self, input_shape, 2)
        out = tuple(
            output_size(n, k, s, p) for n, k, s, p in zip(spatial, self.pool_size, self.strides, self._pads(spatial))
        )
        return (input_shape[0],) + out + (channels,)

    def get_config(self):
        config = {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding}
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="adl_keras")
class MaxPool2D(_Pool2D):
    """2D max pooling: y[a, b, c] = max_{m, n} x_pad[s_h·a + m, s_w·b + n, c].

    Padding uses −∞ so that only real inputs win; equal to
    ``keras.layers.MaxPooling2D``.

    Args:
        pool_size: int or (ph, pw) (default (2, 2)).
        strides: int, (sh, sw) or None for ``pool_size`` (default None).
        padding: "valid" or "same" (default "valid").

    Example:
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> np.asarray(MaxPool2D(2)(x))[0, :, :, 0]
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """

    def call(self, inputs):
        spatial, _ = _static_spatial(self, inputs.shape, 2)
        outputs = None
        for _, view in window_taps(inputs, self.pool_size, self.strides, (1, 1), self._pads(spatial),
                                   pad_value=float("-inf")):
            outputs = view if outputs is None else ops.maximum(outputs, view)  # max over the window's taps
        return outputs


@keras.saving.register_keras_serializable(package="adl_keras")
class AveragePool2D(_Pool2D):
    """2D average pooling: y[a, b, c] = Σ_{m, n} x_pad[s_h·a + m, s_w·b + n, c] / count[a, b].

    ``count`` is the number of real inputs in the window (padding excluded),
    as in ``keras.layers.AveragePooling2D``.

    Args:
        pool_size: int or (ph, pw) (default (2, 2)).
        strides: int, (sh, sw) or None for ``pool_size`` (default None).
        padding: "valid" or "same" (default "valid").

    Example:
        >>> AveragePool2D(2)(np.ones((1, 4, 4, 1), "float32")).shape
        TensorShape([1, 2, 2, 1])
    """

    def call(self, inputs):
        spatial, _ = _static_spatial(self, inputs.shape, 2)
        pads = self._pads(spatial)
        total = None
        for _, view in window_taps(inputs, self.pool_size, self.strides, (1, 1), pads):
            total = view if total is None else total + view  # Σ over the window's taps
        if not any(sum(p) for p in pads):
            return total / float(self.pool_size[0] * self.pool_size[1])
        # Number of real inputs per window (a constant of the shapes): the same
        # sum over taps applied to ones, computed once in NumPy.
        count = np.zeros(tuple(total.shape[1:3]), dtype="float32")
        ones = np.pad(np.ones(spatial, dtype="float32"), pads)
        out = count.shape
        for i in range(self.pool_size[0]):
            for j in range(self.pool_size[1]):
                count += ones[i:i + self.strides[0] * (out[0] - 1) + 1:self.strides[0],
                              j:j + self.strides[1] * (out[1] - 1) + 1:self.strides[1]]
        return total / ops.convert_to_tensor(count[None, :, :, None], dtype=total.dtype)
