"""Per-timestep gradient norms ||dL/dh_t|| (vanishing / exploding gradients) and their plot.

Example:
    >>> norms = compare_gradient_flow(T=50, units=16)
    >>> ax = plot_gradient_norms(norms)
"""

import numpy as np

__all__ = ["hidden_gradient_norms", "compare_gradient_flow", "plot_gradient_norms", "make_cell"]


def _default_loss(h_last):
    from keras import ops

    return 0.5 * ops.mean(ops.sum(h_last ** 2, axis=-1))


def hidden_gradient_norms(cell, x, loss_fn=None, initial_state=None):
    """``||dL/dh_t||`` for every step t, where the loss sees only the last state.

    The cell is unrolled step by step under ``tf.GradientTape`` and the total
    derivative with respect to each ``h_t`` (``delta_t`` of the BPTT recursion)
    is read off; its norm per example is averaged over the batch. For a loss
    at step T, ``delta_t`` shows how much signal reaches ``T - t`` steps back.

    Args:
        cell: any Keras RNN cell (``SimpleRNNCell``, ``TextbookLSTMCell``, ...).
        x: ``(batch, T, features)`` inputs.
        loss_fn (callable or None, default None): ``fn(h_T) -> scalar``; default
            ``0.5 * mean ||h_T||^2``.
        initial_state (list or None, default None): zeros when None.

    Returns:
        NumPy array of shape ``(T,)``.
    """
    import tensorflow as tf
    from keras import ops

    x = ops.convert_to_tensor(x, dtype="float32")
    if len(x.shape) != 3:
        raise ValueError(f"x must be (batch, T, features). Received: x.shape={tuple(x.shape)}")
    loss_fn = loss_fn or _default_loss
    batch, T = x.shape[0], x.shape[1]
    if not cell.built:
        cell.build((batch, x.shape[2]))
    state = initial_state or cell.get_initial_state(batch_size=batch)
    state = list(state) if isinstance(state, (list, tuple)) else [state]
    hs = []
    with tf.GradientTape() as tape:
        for t in range(T):
            h, state = cell(x[:, t], state)
            state = list(state) if isinstance(state, (list, tuple)) else [state]
            hs.append(h)
        loss = loss_fn(hs[-1])
    grads = tape.gradient(loss, hs)
    return np.array([float(np.mean(np.linalg.norm(np.asarray(g), axis=-1))) for g in grads])


def make_cell(kind, units, seed=0):
    """A freshly initialised cell by name: ``tanh_rnn``, ``lstm`` or ``gru`` (the textbook cells).

    Args:
        kind (str): cell name.
        units (int): hidden size.
        seed (int, default 0): initializer seed.

    Returns:
        the cell.
    """
    import keras

    from adl_keras.rnn.cells import TextbookGRUCell, TextbookLSTMCell

    init = dict(kernel_initializer=keras.initializers.GlorotUniform(seed),
                recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1))
    if kind == "tanh_rnn":
        return keras.layers.SimpleRNNCell(units, **init)
    if kind == "lstm":
        return TextbookLSTMCell(units, **init)
    if kind == "gru":
        return TextbookGRUCell(units, **init)
    raise ValueError(f"kind must be 'tanh_rnn', 'lstm' or 'gru'. Received: kind={kind!r}")


def compare_gradient_flow(T=100, units=32, features=8, batch=16, seed=0, kinds=("tanh_rnn", "lstm", "gru"),
                          recurrent_scale=1.0):
    """Per-timestep gradient norms of freshly initialised cells on the same random input.

    Args:
        T (int, default 100): sequence length.
        units (int, default 32), features (int, default 8), batch (int, default 16).
        seed (int, default 0): seeds the input and the initializers.
        kinds (tuple, default all three): cells to compare.
        recurrent_scale (float, default 1.0): multiplies every recurrent kernel;
            > 1 (e.g. 2.0) shows exploding gradients in the tanh RNN.

    Returns:
        dict kind -> ``(T,)`` array of ``||dL/dh_t||``.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, T, features)).astype("float32")
    out = {}
    for kind in kinds:
        cell = make_cell(kind, units, seed)
        cell.build((batch, features))
        if recurrent_scale != 1.0:
            cell.recurrent_kernel.assign(cell.recurrent_kernel * recurrent_scale)
        out[kind] = hidden_gradient_norms(cell, x)
    return out


def plot_gradient_norms(norms, ax=None, title="||dL/dh_t|| for a loss at the last step"):
    """Plots per-timestep gradient norms on a log scale against the distance to the loss.

    Args:
        norms (dict): label -> ``(T,)`` array (e.g. from :func:`compare_gradient_flow`).
        ax (matplotlib Axes or None, default None): a new figure when None.
        title (str): axes title.

    Returns:
        the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if not norms:
        raise ValueError("norms must map at least one label to an array. Received: norms={}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in norms.items():
        values = np.asarray(values, dtype="float64")
        steps_back = np.arange(len(values))[::-1]  # T - t: how far before the loss
        ax.semilogy(steps_back, np.maximum(values, 1e-300), label=label)
    ax.set_xlabel("steps before the loss (T - t)")
    ax.set_ylabel("||dL/dh_t||")
    ax.set_title(title)
    ax.legend()
    return ax
