"""Explicit backpropagation through time with the delta recursion.

For a loss ``L`` of the hidden states ``h_1..h_T`` the backward pass walks
time in reverse and computes

    delta_t = dL/dh_t + delta_{t+1} * dh_{t+1}/dh_t

(DESIGN.md), then every weight gradient as a sum over time of the
pre-activation gradient times the input that fed it. Two cells are covered:

* the vanilla tanh RNN of ``keras.layers.SimpleRNNCell``:
  ``h_t = tanh(x_t W + h_{t-1} U + b)``;
* :class:`adl_keras.rnn.TextbookLSTMCell` (gates ``i, f, c, o``).

Results agree with ``tf.GradientTape`` to 1e-5 (tests/bptt).

Example:
    >>> import keras, numpy as np
    >>> cell = keras.layers.SimpleRNNCell(8)
    >>> x = np.random.rand(4, 20, 3).astype("float32")
    >>> result = explicit_bptt_loss(cell, x, lambda hs: keras.ops.sum(hs[:, -1] ** 2))
    >>> [g.shape for g in result.grads]
    [TensorShape([3, 8]), TensorShape([8, 8]), TensorShape([8])]
"""

import dataclasses

import keras
from keras import ops

__all__ = ["BPTTResult", "explicit_bptt", "explicit_bptt_loss", "forward_trace"]


@dataclasses.dataclass
class BPTTResult:
    """What the explicit backward pass returns.

    Attributes:
        grads: gradients in the order of ``cell.trainable_weights``
            (kernel, recurrent_kernel[, bias]).
        deltas: ``(batch, T, units)``, the total derivative ``delta_t = dL/dh_t``
            including everything that flows back from later steps.
        dx: ``(batch, T, features)``, gradient with respect to the inputs.
        d_initial_state: gradients for the initial state(s), a list.
        outputs: ``(batch, T, units)`` hidden states from the forward pass.
    """

    grads: list
    deltas: object
    dx: object
    d_initial_state: list
    outputs: object


def _kind(cell):
    from adl_keras.rnn.cells import TextbookLSTMCell

    if isinstance(cell, TextbookLSTMCell):
        return "lstm"
    if isinstance(cell, keras.layers.SimpleRNNCell):
        if keras.activations.serialize(cell.activation) != "tanh":
            raise ValueError("explicit BPTT implements the tanh RNN. Received: cell with "
                             f"activation={keras.activations.serialize(cell.activation)!r}")
        return "tanh_rnn"
    raise ValueError("cell must be a keras.layers.SimpleRNNCell (tanh) or an adl_keras TextbookLSTMCell. "
                     f"Received: cell of type {type(cell).__name__}")


def _check_x(x, dtype="float32"):
    # The cell's compute dtype (float64 cells get float64 traces), not a fixed float32.
    x = ops.convert_to_tensor(x, dtype=dtype)
    if len(x.shape) != 3 or x.shape[1] is None:
        raise ValueError(f"x must be (batch, T, features) with a known T. Received: x.shape={tuple(x.shape)}")
    return x


def forward_trace(cell, x, initial_state=None):
    """Runs ``cell`` over ``x`` and keeps every intermediate the backward pass needs.

    Args:
        cell: ``keras.layers.SimpleRNNCell`` (tanh) or ``TextbookLSTMCell``.
        x: ``(batch, T, features)`` inputs.
        initial_state (list or None, default None): zeros when None.

    Returns:
        dict with ``kind``, ``x``, ``h`` (list of T+1 states from ``h_0``) and,
        for the LSTM, ``c`` and the gates ``i, f, g, o`` per step.
    """
    kind = _kind(cell)
    x = _check_x(x, cell.compute_dtype)
    if not cell.built:
        cell.build(tuple(x.shape[:1]) + tuple(x.shape[2:]))
    batch, T = x.shape[0], x.shape[1]
    n = cell.units
    if initial_state is None:
        initial_state = [ops.zeros((batch, n), x.dtype)] * (2 if kind == "lstm" else 1)
    W, U = cell.kernel, cell.recurrent_kernel
    b = cell.bias if cell.use_bias else None
    xw = ops.einsum("btd,dk->btk", x, W)  # all input projections at once
    if b is not None:
        xw = xw + b
    trace = {"kind": kind, "x": x, "h": [initial_state[0]]}
    if kind == "tanh_rnn":
        for t in range(T):
            trace["h"].append(ops.tanh(xw[:, t] + ops.matmul(trace["h"][-1], U)))  # h_t = tanh(W x + U h + b)
        return trace
    trace.update(c=[initial_state[1]], i=[], f=[], g=[], o=[])
    for t in range(T):
        a = xw[:, t] + ops.matmul(trace["h"][-1], U)
        i = ops.sigmoid(a[:, :n])  # i = s(W_i x + U_i h + b_i)
        f = ops.sigmoid(a[:, n:2 * n])  # f = s(W_f x + U_f h + b_f)
        g = ops.tanh(a[:, 2 * n:3 * n])  # g = tanh(W_c x + U_c h + b_c)
        o = ops.sigmoid(a[:, 3 * n:])  # o = s(W_o x + U_o h + b_o)
        c = f * trace["c"][-1] + i * g  # c = f*c_prev + i*g
        trace["h"].append(o * ops.tanh(c))  # h = o*tanh(c)
        for key, value in zip("ifgoc", (i, f, g, o, c)):
            trace[key].append(value)
    return trace


def explicit_bptt(cell, x, dl_dh, initial_state=None, trace=None):
    """Explicit BPTT: the delta recursion backwards in time, then all weight gradients.

    Args:
        cell: ``keras.layers.SimpleRNNCell`` (tanh) or ``TextbookLSTMCell``.
        x: ``(batch, T, features)`` inputs.
        dl_dh: ``(batch, T, units)``, the direct (local) derivative ``dL/dh_t`` of
            the loss with respect to each hidden state, i.e. without the paths
            through later states.
        initial_state (list or None, default None): zeros when None.
        trace (dict or None, default None): a :func:`forward_trace` to reuse.

    Returns:
        :class:`BPTTResult`.
    """
    trace = trace or forward_trace(cell, x, initial_state)
    x = trace["x"]
    kind = trace["kind"]
    dl_dh = ops.convert_to_tensor(dl_dh, dtype=x.dtype)
    batch, T = x.shape[0], x.shape[1]
    n = cell.units
    if tuple(dl_dh.shape) != (batch, T, n):
        raise ValueError(f"dl_dh must have shape (batch, T, units) = {(batch, T, n)}. "
                         f"Received: dl_dh.shape={tuple(dl_dh.shape)}")
    U = cell.recurrent_kernel
    hs = trace["h"]
    recurrent = ops.zeros((batch, n), x.dtype)  # delta_{t+1} * dh_{t+1}/dh_t through h
    dc_next = ops.zeros((batch, n), x.dtype)  # dL/dc_t flowing back from c_{t+1} = f_{t+1} c_t + ...
    deltas, das = [None] * T, [None] * T
    for t in reversed(range(T)):
        delta = dl_dh[:, t] + recurrent  # delta_t = dL/dh_t + delta_{t+1} dh_{t+1}/dh_t
        deltas[t] = delta
        if kind == "tanh_rnn":
            da = delta * (1.0 - hs[t + 1] ** 2)  # dh/da = 1 - tanh(a)^2
        else:
            i, f, g, o = (trace[k][t] for k in "ifgo")
            c, c_prev = trace["c"][t + 1], trace["c"][t]  # trace["c"][0] is the initial state
            tanh_c = ops.tanh(c)
            dc = delta * o * (1.0 - tanh_c ** 2) + dc_next  # h = o tanh(c)  and  c_{t+1} = f_{t+1} c + ...
            da = ops.concatenate([
                dc * g * i * (1.0 - i),  # dL/da_i (s' = s(1-s))
                dc * c_prev * f * (1.0 - f),  # dL/da_f
                dc * i * (1.0 - g ** 2),  # dL/da_c (tanh' = 1 - tanh^2)
                delta * tanh_c * o * (1.0 - o),  # dL/da_o
            ], axis=-1)
            dc_next = dc * f
        das[t] = da
        recurrent = ops.matmul(da, ops.transpose(U))  # dh_t/dh_{t-1} = U^T diag(da/dh...)
    da_seq = ops.stack(das, axis=1)
    h_prev = ops.stack(hs[:-1], axis=1)
    grads = [ops.einsum("btd,btk->dk", x, da_seq),  # dL/dW = sum_t x_t^T da_t
             ops.einsum("btn,btk->nk", h_prev, da_seq)]  # dL/dU = sum_t h_{t-1}^T da_t
    if cell.use_bias:
        grads.append(ops.sum(da_seq, axis=(0, 1)))  # dL/db = sum_t da_t
    dx = ops.einsum("btk,dk->btd", da_seq, cell.kernel)
    d_init = [recurrent] + ([dc_next] if kind == "lstm" else [])
    return BPTTResult(grads=grads, deltas=ops.stack(deltas, axis=1), dx=dx, d_initial_state=d_init,
                      outputs=ops.stack(hs[1:], axis=1))


def explicit_bptt_loss(cell, x, loss_fn, initial_state=None):
    """Explicit BPTT for ``loss_fn(hidden_states)``.

    Only the local derivative ``dL/dh_t`` of ``loss_fn`` (which sees the states
    as independent inputs, no recurrence) is taken with autodiff; everything
    through time is the explicit recursion of :func:`explicit_bptt`.

    Args:
        cell: ``keras.layers.SimpleRNNCell`` (tanh) or ``TextbookLSTMCell``.
        x: ``(batch, T, features)``.
        loss_fn: ``fn(hs) -> scalar`` with ``hs`` of shape ``(batch, T, units)``.
        initial_state (list or None, default None).

    Returns:
        :class:`BPTTResult` with an extra ``loss`` attribute.
    """
    import tensorflow as tf

    trace = forward_trace(cell, x, initial_state)
    hs = tf.stop_gradient(ops.stack(trace["h"][1:], axis=1))
    with tf.GradientTape() as tape:
        tape.watch(hs)
        loss = loss_fn(hs)
    dl_dh = tape.gradient(loss, hs)
    result = explicit_bptt(cell, x, dl_dh, trace=trace)
    result.loss = loss
    return result
