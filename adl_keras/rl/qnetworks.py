"""Q-network definitions shared by the Keras 3 DQN and the TF-Agents path.

A Q-network is written once as a list of layer specs ``(layer class name,
kwargs)``; :func:`build_keras_layers` turns the specs into Keras 3 layers and
``adl_keras.rl.tf_agents_dqn`` turns the very same specs into ``tf_keras``
layers for TF-Agents, so both paths train identical architectures (same layer
sizes, same weight order, weights copy one-to-one between them).

* :func:`mlp_q_network`: vector observations (CartPole).
* :func:`cnn_q_network`: pixel observations (MinAtar, 10x10xC), the MinAtar
  paper's network (Young & Tian 2019): conv 16 3x3 stride 1, dense 128.
* :func:`q_table_model`: a Q-table as a Keras model (one row per state), so a
  tabular policy goes through the same zoo, save and export machinery.
"""

import keras
import numpy as np
from keras import layers, ops


def _check_units(name, units):
    units = tuple(units)
    if not units or any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in units):
        raise ValueError(f"{name} must be a non-empty sequence of positive ints. Received: {name}={units!r}")
    return units


def mlp_layer_specs(num_actions, hidden_units=(64, 64), activation="relu"):
    """Layer specs of an MLP Q-network: Dense(hidden)... -> Dense(num_actions).

    Returns:
        list of ``(class_name, kwargs)``; names ``hidden_1..N`` and ``q_values``.
    """
    if isinstance(num_actions, bool) or not isinstance(num_actions, int) or num_actions < 1:
        raise ValueError(f"num_actions must be a positive int. Received: num_actions={num_actions!r}")
    hidden_units = _check_units("hidden_units", hidden_units)
    specs = [("Dense", {"units": u, "activation": activation, "name": f"hidden_{i + 1}"})
             for i, u in enumerate(hidden_units)]
    specs.append(("Dense", {"units": num_actions, "activation": None, "name": "q_values"}))
    return specs


def cnn_layer_specs(num_actions, filters=(16,), kernel_size=3, hidden_units=(128,), activation="relu"):
    """Layer specs of a CNN Q-network: Conv2D... -> Flatten -> Dense... -> q_values.

    Returns:
        list of ``(class_name, kwargs)``; names ``conv_1..N``, ``features``,
        ``hidden_1..M``, ``q_values``.
    """
    if isinstance(num_actions, bool) or not isinstance(num_actions, int) or num_actions < 1:
        raise ValueError(f"num_actions must be a positive int. Received: num_actions={num_actions!r}")
    filters = _check_units("filters", filters)
    hidden_units = _check_units("hidden_units", hidden_units)
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
        raise ValueError(f"kernel_size must be a positive int. Received: kernel_size={kernel_size!r}")
    specs = [("Conv2D", {"filters": f, "kernel_size": kernel_size, "strides": 1, "padding": "valid",
                         "activation": activation, "name": f"conv_{i + 1}"}) for i, f in enumerate(filters)]
    specs.append(("Flatten", {"name": "features"}))
    specs += [("Dense", {"units": u, "activation": activation, "name": f"hidden_{i + 1}"})
              for i, u in enumerate(hidden_units)]
    specs.append(("Dense", {"units": num_actions, "activation": None, "name": "q_values"}))
    return specs


def build_keras_layers(specs, layers_module=layers):
    """Instantiates ``specs`` with ``layers_module`` (Keras 3 or tf_keras layers)."""
    return [getattr(layers_module, cls)(**kwargs) for cls, kwargs in specs]


def _functional(input_shape, specs, name):
    inputs = keras.Input(tuple(input_shape), name="observation")
    x = inputs
    for layer in build_keras_layers(specs):
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def mlp_q_network(input_shape=(4,), num_actions=2, hidden_units=(64, 64), activation="relu",
                  name="mlp_q_network"):
    """MLP Q-network Q(s, .; theta) for vector observations.

    Args:
        input_shape: observation shape, 1-D (default (4,), CartPole).
        num_actions: number of discrete actions (default 2).
        hidden_units: widths of the hidden layers (default (64, 64)).
        activation: hidden activation (default "relu").
        name: model name.

    Returns:
        keras.Model mapping (batch, *input_shape) to (batch, num_actions) Q-values.

    Example:
        >>> q = mlp_q_network((4,), 2)
        >>> q(np.zeros((1, 4))).shape
        TensorShape([1, 2])
    """
    if len(tuple(input_shape)) != 1 or int(input_shape[0]) < 1:
        raise ValueError(f"input_shape must be (features,). Received: input_shape={input_shape!r}")
    return _functional(input_shape, mlp_layer_specs(num_actions, hidden_units, activation), name)


def cnn_q_network(input_shape=(10, 10, 4), num_actions=6, filters=(16,), kernel_size=3,
                  hidden_units=(128,), activation="relu", name="cnn_q_network"):
    """CNN Q-network for pixel observations (MinAtar's architecture by default).

    Args:
        input_shape: (height, width, channels) (default (10, 10, 4): Breakout).
        num_actions: number of discrete actions (default 6).
        filters: filters of each 'valid' stride-1 conv layer (default (16,)).
        kernel_size: int (default 3).
        hidden_units: dense widths after flattening (default (128,)).
        activation: default "relu".
        name: model name.

    Returns:
        keras.Model mapping (batch, H, W, C) to (batch, num_actions).

    Example:
        >>> q = cnn_q_network((10, 10, 4), 6)
    """
    if len(tuple(input_shape)) != 3 or any(int(d) < 1 for d in input_shape):
        raise ValueError(f"input_shape must be (height, width, channels). Received: input_shape={input_shape!r}")
    return _functional(input_shape, cnn_layer_specs(num_actions, filters, kernel_size, hidden_units, activation),
                       name)


@keras.saving.register_keras_serializable(package="adl_keras")
class QTable(layers.Layer):
    """A Q-table Q(s, a) as a layer: integer states in, a row of Q-values out.

    Args:
        num_states: int >= 1.
        num_actions: int >= 1.
        initial_value: float, initial entries (default 0.0).

    Call:
        states: int tensor (batch,) or (batch, 1) of state indices.

    Returns:
        (batch, num_actions) float Q-values.

    Example:
        >>> table = QTable(16, 4)
        >>> table(np.array([[0], [5]])).shape
        TensorShape([2, 4])
    """

    def __init__(self, num_states, num_actions, initial_value=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("num_states", num_states), ("num_actions", num_actions)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{arg} must be a positive int. Received: {arg}={value!r}")
        self.num_states = num_states
        self.num_actions = num_actions
        self.initial_value = float(initial_value)

    def build(self, input_shape):
        self.q = self.add_weight(name="q", shape=(self.num_states, self.num_actions),
                                 initializer=keras.initializers.Constant(self.initial_value))

    def call(self, states):
        states = ops.cast(states, "int32")
        if len(states.shape) == 2:
            states = ops.squeeze(states, axis=-1)
        return ops.take(self.q, states, axis=0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_actions)

    def get_config(self):
        return {**super().get_config(), "num_states": self.num_states, "num_actions": self.num_actions,
                "initial_value": self.initial_value}


def q_table_model(num_states=16, num_actions=4, name="q_table"):
    """A Keras model holding a Q-table: (batch, 1) int states -> (batch, A).

    Args:
        num_states: int (default 16, FrozenLake 4x4).
        num_actions: int (default 4).
        name: model name.

    Returns:
        keras.Model whose single weight ``q`` is the (S, A) table.

    Example:
        >>> model = q_table_model(16, 4)
        >>> set_q_table(model, np.ones((16, 4)))
    """
    inputs = keras.Input((1,), dtype="int32", name="state")
    return keras.Model(inputs, QTable(num_states, num_actions, name="q_table")(inputs), name=name)


def set_q_table(model, q):
    """Writes an (S, A) array into a :func:`q_table_model`."""
    layer = model.get_layer("q_table")
    if tuple(q.shape) != (layer.num_states, layer.num_actions):
        raise ValueError(f"q must have shape {(layer.num_states, layer.num_actions)}. Received: q.shape={q.shape}")
    layer.q.assign(q)


def get_q_table(model):
    """The (S, A) numpy Q-table of a :func:`q_table_model`."""
    return keras.ops.convert_to_numpy(model.get_layer("q_table").q)


class NumpyQNetwork:
    """A NumPy mirror of a Dense/Conv2D/Flatten Q-network, for acting.

    Acting calls the network once per environment step on one observation;
    a NumPy forward pass of these small networks costs microseconds, where a
    framework call costs a dispatch overhead far larger than the arithmetic.
    The learner hands over its weights as one flat vector after each
    (batched) update (see ``adl_keras.rl.dqn``); tests check that outputs
    equal the Keras model's.

    Args:
        model: a keras.Model built from :func:`mlp_layer_specs` or
            :func:`cnn_layer_specs` ("valid", stride-1 convolutions).

    Example:
        >>> mirror = NumpyQNetwork(model)
        >>> mirror.set_flat_weights(flat_weights(model))
        >>> q = mirror(observations)
    """

    def __init__(self, model):
        self._plan = []
        self._shapes = []
        for layer in model.layers:
            kind = type(layer).__name__
            if kind == "InputLayer":
                continue
            if kind == "Flatten":
                self._plan.append(("flatten", None))
                continue
            if kind not in ("Dense", "Conv2D"):
                raise ValueError(f"NumpyQNetwork supports Dense, Conv2D and Flatten layers. Received: {kind} "
                                 f"({layer.name})")
            if kind == "Conv2D" and (tuple(layer.strides) != (1, 1) or layer.padding != "valid"
                                     or tuple(layer.dilation_rate) != (1, 1)):
                raise ValueError(f"NumpyQNetwork supports stride-1 'valid' convolutions. Received: {layer.name}")
            activation = layer.activation.__name__
            if activation not in ("relu", "linear"):
                raise ValueError(f"NumpyQNetwork supports relu/linear. Received: activation={activation!r}")
            self._plan.append((kind, activation))
            self._shapes.append([tuple(w.shape) for w in layer.trainable_weights])
        self.weights = None

    def set_flat_weights(self, flat):
        """Unpacks a vector of all trainable weights (layer order, kernel then bias)."""
        flat = np.asarray(flat, dtype="float32")
        expected = sum(int(np.prod(shape)) for shapes in self._shapes for shape in shapes)
        if flat.shape != (expected,):
            raise ValueError(f"Expected a vector of {expected} weights. Received: flat.size={flat.size}")
        weights, offset = [], 0
        for shapes in self._shapes:
            layer = []
            for shape in shapes:
                size = int(np.prod(shape))
                layer.append(flat[offset: offset + size].reshape(shape))
                offset += size
            weights.append(layer)
        self.weights = weights

    def __call__(self, x):
        x = np.asarray(x, dtype="float32")
        params = iter(self.weights)
        for kind, activation in self._plan:
            if kind == "flatten":
                x = x.reshape(x.shape[0], -1)
                continue
            kernel, bias = next(params)
            if kind == "Dense":
                x = x @ kernel + bias
            else:  # y[n,i,j,f] = sum_{u,v,c} x[n,i+u,j+v,c] k[u,v,c,f] + b[f]
                kh, kw = kernel.shape[:2]
                windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
                x = np.einsum("nijcuv,uvcf->nijf", windows, kernel, optimize=True) + bias
            if activation == "relu":
                x = np.maximum(x, 0.0)
        return x


def flat_weights(model):
    """All trainable weights of ``model`` as one float32 vector (layer order)."""
    return np.concatenate([keras.ops.convert_to_numpy(w).ravel() for w in model.trainable_weights])
