"""Layer-wise (discriminative) learning rates that work inside ``model.fit``.

Keras optimizers take one learning rate (keras-team/keras#21741 asks for
more). Here each built-in optimizer gets a ``Layerwise<Name>`` subclass that
multiplies the learning rate handed to ``update_step`` by a per-variable
factor, so every step of ``fit`` updates variable ``v`` with

    lr_v = lr * m_v          (m_v from ``lr_multipliers``, default 1)

e.g. SGD: ``v <- v - lr * m_v * g_v``; Adam: ``v <- v - lr * m_v * mhat / (sqrt(vhat) + eps)``.
Discriminative fine-tuning (Howard & Ruder 2018, ULMFiT) uses
``m = decay ** (distance from the top stage)``: :func:`stage_multipliers`.
Decoupled weight decay (AdamW's ``weight_decay``) still uses the base rate.

Example:
    >>> mult = stage_multipliers(model, decay=0.5)          # top stage 0.5, next 0.25, ...
    >>> model.compile(layerwise_optimizer(keras.optimizers.Adam(1e-3), mult), "sparse_categorical_crossentropy")
"""

import fnmatch

import keras

from adl_keras.transfer import freezing, surface


class _LayerwiseMixin:
    """Scales the learning rate of each variable by its multiplier."""

    def __init__(self, *args, lr_multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        multipliers = dict(lr_multipliers or {})
        for key, value in multipliers.items():
            if not isinstance(key, str):
                raise ValueError(f"lr_multipliers keys must be variable paths or globs. Received: key={key!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"lr_multipliers values must be numbers >= 0. Received: lr_multipliers[{key!r}]={value!r}"
                )
        self.lr_multipliers = {k: float(v) for k, v in multipliers.items()}
        self._multiplier_by_key = {}

    def multiplier_of(self, path):
        """The multiplier of the variable at ``path``: exact key, else first glob, else 1."""
        if path in self.lr_multipliers:
            return self.lr_multipliers[path]
        for pattern, value in self.lr_multipliers.items():
            if fnmatch.fnmatchcase(path, pattern):
                return value
        return 1.0

    def build(self, variables):
        super().build(variables)
        # update_step receives the backend variable (tf.Variable on TF), whose
        # identity the optimizer already tracks with _var_key.
        self._multiplier_by_key = {self._var_key(v): self.multiplier_of(v.path) for v in variables}

    def update_step(self, gradient, variable, learning_rate):
        m = self._multiplier_by_key.get(self._var_key(variable), 1.0)
        if m != 1.0:
            learning_rate = keras.ops.multiply(learning_rate, m)  # lr_v = lr * m_v
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "lr_multipliers": dict(self.lr_multipliers)}


_BASES = ("SGD", "Adam", "AdamW", "RMSprop", "Nadam", "Adamax", "Adagrad", "Adadelta", "Lion", "Lamb", "Ftrl")
LAYERWISE_CLASSES = {}
for _name in _BASES:
    _base = getattr(keras.optimizers, _name, None)
    if _base is None:  # pragma: no cover - older Keras
        continue
    _cls = type(f"Layerwise{_name}", (_LayerwiseMixin, _base), {
        "__module__": __name__,
        "__doc__": f"``keras.optimizers.{_name}`` with per-variable learning-rate multipliers "
                   "(``lr_multipliers``: variable path or glob -> factor).",
    })
    _cls = keras.saving.register_keras_serializable(package="adl_keras", name=f"Layerwise{_name}")(_cls)
    LAYERWISE_CLASSES[_base] = _cls
    globals()[f"Layerwise{_name}"] = _cls


def layerwise_optimizer(optimizer, lr_multipliers):
    """The same optimizer (same config) with per-variable learning-rate multipliers.

    Args:
        optimizer: a built-in keras optimizer instance (SGD, Adam, AdamW, ...),
            or its name (``"adam"``).
        lr_multipliers: dict ``{variable path or glob: factor}``; variables
            matching nothing keep factor 1 (e.g. ``{"conv1/*": 0.1}``).

    Returns:
        a ``Layerwise<Name>`` optimizer, serializable with the model.

    Example:
        >>> opt = layerwise_optimizer(keras.optimizers.SGD(0.1), {"conv1/*": 0.1})
        >>> model.compile(opt, "mse"); model.fit(x, y)   # conv1 moves 10x slower
    """
    optimizer = keras.optimizers.get(optimizer)
    cls = LAYERWISE_CLASSES.get(type(optimizer))
    if cls is None:
        if isinstance(optimizer, _LayerwiseMixin):
            cls = type(optimizer)
        else:
            raise ValueError(
                f"layerwise_optimizer supports {sorted(c.__name__ for c in LAYERWISE_CLASSES)}. "
                f"Received: optimizer={type(optimizer).__name__}"
            )
    if not isinstance(lr_multipliers, dict):
        raise ValueError(f"lr_multipliers must be a dict. Received: lr_multipliers={lr_multipliers!r}")
    config = optimizer.get_config()
    config.pop("lr_multipliers", None)
    return cls.from_config({**config, "lr_multipliers": lr_multipliers})


def stage_multipliers(model, decay=0.5, head=1.0, features=None):
    """Discriminative multipliers per variable: ``head`` for the head,
    ``decay ** k`` for the k-th stage counted from the top (k = 1 for stageN).

    Args:
        model: keras.Model following the builder conventions.
        decay: float in (0, 1] (default 0.5; ULMFiT used 1/2.6).
        head: multiplier of the head layers (default 1.0).
        features: multiplier of layers between the last stage and
            ``features`` (default: ``head``).

    Returns:
        dict ``{variable path: multiplier}`` for every variable of the model.

    Example:
        >>> stage_multipliers(lenet, decay=0.1)
        {'conv1/kernel': 0.01, 'conv1/bias': 0.01, 'conv2/kernel': 0.1, ..., 'predictions/bias': 1.0}
    """
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise ValueError(f"decay must be in (0, 1]. Received: decay={decay!r}")
    stages = surface.stage_names(model)
    of = freezing.layer_stages(model)
    features = head if features is None else features
    out = {}
    for layer in model.layers:
        stage = of[layer.name]
        if stage == "head":
            m = head
        elif stage == surface.FEATURES:
            m = features
        else:
            m = float(decay) ** (len(stages) - stages.index(stage))  # m_k = decay^(N - k + 1)
        for variable in layer.weights:
            out[variable.path] = m
    return out
