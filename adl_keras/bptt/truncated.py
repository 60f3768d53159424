"""Truncated BPTT(k1, k2) inside ``model.fit``.

TBPTT(k1, k2) (Williams & Peng 1990; Sutskever 2013, sec. 2.8.6) cuts a
sequence of length T into chunks of ``k1`` steps. The loss of each chunk is
backpropagated through at most ``k2 >= k1`` steps: from the chunk end ``e``
back to ``e - k2``, where the state is treated as a constant. With
``k2 >= T`` nothing is cut and the summed chunk gradients are exactly the
full-BPTT gradient of the mean per-timestep loss.

:class:`TruncatedBPTTModel` is a sequence-to-sequence ``keras.Model`` (an RNN
cell plus a per-timestep head) whose ``train_step`` does this, so it trains
with ``model.fit`` like any Keras model. Two update modes:

* ``apply_per_chunk=False`` (default): the truncated gradients of all chunks
  (computed with the same weights) are summed and applied once per batch;
* ``apply_per_chunk=True``: the optimizer steps after every chunk (classic
  online TBPTT: ``ceil(T/k1)`` updates per batch). The states at the window
  starts come from one forward pass at the start of the batch.

Example:
    >>> import keras, numpy as np
    >>> from adl_keras.rnn import TextbookLSTMCell
    >>> model = TruncatedBPTTModel(TextbookLSTMCell(16), keras.layers.Dense(1), k1=10, k2=20)
    >>> model.compile("adam", "mse")
    >>> x, y = np.random.rand(8, 50, 3), np.random.rand(8, 50, 1)
    >>> _ = model.fit(x, y, epochs=1, verbose=0)
"""

import keras
from keras import ops

__all__ = ["TruncatedBPTTModel", "chunk_bounds"]


def chunk_bounds(T, k1, k2):
    """The (window_start, chunk_start, chunk_end) triples of TBPTT(k1, k2) over T steps.

    The loss of steps ``[chunk_start, chunk_end)`` is backpropagated to ``window_start``.

    Example:
        >>> chunk_bounds(10, 4, 6)
        [(0, 0, 4), (2, 4, 8), (4, 8, 10)]
    """
    out = []
    for start in range(0, T, k1):
        end = min(start + k1, T)
        out.append((max(0, end - k2), start, end))
    return out


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return value


@keras.saving.register_keras_serializable(package="adl_keras")
class TruncatedBPTTModel(keras.Model):
    """A recurrent sequence-to-sequence model trained with truncated BPTT(k1, k2).

    ``call(x)`` runs the whole sequence (``keras.layers.RNN(cell)`` then
    ``head`` at every step) and returns ``(batch, T, outputs)``; only training
    is truncated.

    Args:
        cell (keras layer): any Keras RNN cell (e.g. ``TextbookLSTMCell``).
        head (keras layer): applied to every hidden state (e.g. ``Dense``).
        k1 (int): steps per chunk (loss steps between updates).
        k2 (int or None, default None -> k1): steps backpropagated from each
            chunk end; must be >= k1.
        apply_per_chunk (bool, default False): step the optimizer after every chunk.
        **kwargs: ``keras.Model`` arguments (``name``).

    Returns (call):
        per-timestep predictions.

    Example:
        >>> model = TruncatedBPTTModel(keras.layers.SimpleRNNCell(8), keras.layers.Dense(2), k1=5)
    """

    def __init__(self, cell, head, k1, k2=None, apply_per_chunk=False, **kwargs):
        super().__init__(**kwargs)
        self.k1 = _positive_int("k1", k1)
        self.k2 = self.k1 if k2 is None else _positive_int("k2", k2)
        if self.k2 < self.k1:
            raise ValueError(f"k2 must be >= k1 (every step of a chunk needs its gradient). "
                             f"Received: k1={k1}, k2={k2}")
        if not isinstance(apply_per_chunk, bool):
            raise ValueError(f"apply_per_chunk must be a bool. Received: apply_per_chunk={apply_per_chunk!r}")
        self.apply_per_chunk = apply_per_chunk
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        if isinstance(head, dict):
            head = keras.saving.deserialize_keras_object(head)
        if not hasattr(cell, "state_size"):
            raise ValueError(f"cell must be a Keras RNN cell (with state_size). Received: cell={cell!r}")
        self.rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True, name="rnn")
        self.head = head

    def build(self, input_shape):
        self._build_input_shape = tuple(input_shape)
        # Deserialised sub-layers may arrive built already (their own build_config).
        if not self.rnn.built:
            self.rnn.build(input_shape)
        if not self.head.built:
            self.head.build(tuple(input_shape[:-1]) + (self.rnn.cell.output_size,))
        self.built = True

    def get_build_config(self):
        shape = getattr(self, "_build_input_shape", None)
        return {"input_shape": list(shape)} if shape is not None else None

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None:
            self.build(tuple(config["input_shape"]))

    def call(self, inputs, initial_state=None):
        outputs = self.rnn(inputs, initial_state=initial_state)
        return self.head(outputs[0])

    # -- truncated gradients --------------------------------------------------
    def _states_at(self, x, positions):
        """Hidden states (gradients stopped) at each position, from one forward pass."""
        batch = ops.shape(x)[0]
        state = self.rnn.cell.get_initial_state(batch_size=batch)
        state = list(state) if isinstance(state, (list, tuple)) else [state]
        states, pos = {0: state}, 0
        for p in sorted(set(positions)):
            if p > pos:
                state = self.rnn(x[:, pos:p], initial_state=state)[1:]
                pos = p
            states[p] = [ops.stop_gradient(s) for s in state]
        return states

    def _chunk_loss(self, x, y, sample_weight, state, window, start, end, T):
        outputs = self.rnn(x[:, window:end], initial_state=state, training=True)[0]
        y_pred = self.head(outputs[:, start - window:], training=True)
        sw = sample_weight
        if sw is not None and len(sw.shape) >= 2:
            sw = sw[:, start:end]
        loss = self._compute_loss(x=x, y=y[:, start:end], y_pred=y_pred, sample_weight=sw, training=True)
        # Chunk means weighted by their share of T sum to the mean over all T steps.
        return loss * ((end - start) / T), y_pred

    def truncated_gradients(self, x, y, sample_weight=None):
        """TBPTT(k1, k2) gradients of the mean per-timestep loss, with the current weights.

        Args:
            x: ``(batch, T, features)``; y: ``(batch, T, ...)`` per-timestep targets.
            sample_weight: optional ``(batch,)`` or ``(batch, T)``.

        Returns:
            ``(loss, gradients aligned with trainable_weights, y_pred)``. With
            ``k2 >= T`` the gradients equal full BPTT's.
        """
        import tensorflow as tf

        x = ops.convert_to_tensor(x)
        y = ops.convert_to_tensor(y)
        if sample_weight is not None:
            sample_weight = ops.convert_to_tensor(sample_weight)
        T = self._static_T(x)
        bounds = chunk_bounds(T, self.k1, self.k2)
        states = self._states_at(x, [w for w, _, _ in bounds])
        total, grads, preds = 0.0, None, []
        for window, start, end in bounds:
            with tf.GradientTape() as tape:
                loss, y_pred = self._chunk_loss(x, y, sample_weight, states[window], window, start, end, T)
            g = tape.gradient(loss, self.trainable_weights)
            g = [ops.zeros_like(w) if gi is None else gi for gi, w in zip(g, self.trainable_weights)]
            grads = g if grads is None else [a + b for a, b in zip(grads, g)]
            total = total + loss
            preds.append(y_pred)
        return total, grads, ops.concatenate(preds, axis=1)

    @staticmethod
    def _static_T(x):
        T = x.shape[1]
        if T is None:
            raise ValueError(f"TruncatedBPTTModel needs a known sequence length. Received: x.shape={x.shape}")
        return int(T)

    def train_step(self, data):
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if not self.apply_per_chunk:
            loss, grads, y_pred = self.truncated_gradients(x, y, sample_weight)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        else:
            T = self._static_T(x)
            bounds = chunk_bounds(T, self.k1, self.k2)
            states = self._states_at(x, [w for w, _, _ in bounds])
            loss, preds = 0.0, []
            for window, start, end in bounds:
                with tf.GradientTape() as tape:
                    chunk_loss, y_pred = self._chunk_loss(x, y, sample_weight, states[window],
                                                          window, start, end, T)
                grads = tape.gradient(chunk_loss, self.trainable_weights)
                self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
                loss = loss + chunk_loss
                preds.append(y_pred)
            y_pred = ops.concatenate(preds, axis=1)
        # Same bookkeeping as Keras' own TensorFlow train_step: _compute_loss divided the
        # loss by the number of replicas (for the all-reduce sum); the tracker logs it unscaled.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self._loss_tracker.update_state(loss * replicas, sample_weight=ops.shape(x)[0])
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "cell": keras.saving.serialize_keras_object(self.rnn.cell),
            "head": keras.saving.serialize_keras_object(self.head),
            "k1": self.k1,
            "k2": self.k2,
            "apply_per_chunk": self.apply_per_chunk,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
