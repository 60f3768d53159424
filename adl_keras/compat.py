"""The Keras 2/3 bridge: TF-Agents and shap next to Keras 3 in one process.

Facts this module works around (tensorflow 2.21, keras 3.15, tf-agents 0.19,
tensorflow-probability 0.23, shap 0.51):

* TF-Agents and TensorFlow Probability need ``tf.keras`` to be Keras 2
  (the ``tf_keras`` package); with Keras 3 behind ``tf.keras`` they fail on
  ``tf.keras.__internal__`` or build broken layers.
* ``TF_USE_LEGACY_KERAS=1`` routes ``tf.keras`` to ``tf_keras``. ``import
  keras`` is still Keras 3 then, and Keras 3 ``fit`` and ``export`` keep
  working, because Keras 3 never goes through ``tf.keras``.
* shap's TensorFlow explainers accept a model only if it is a ``tf.keras.Model``;
  once ``tf.keras`` is Keras 2 they refuse every Keras 3 model.

So: :func:`use_legacy_tf_keras` routes ``tf.keras`` (and ``tf.losses``,
``tf.metrics``, ``tf.optimizers``, ``tf.initializers``, ``tf.compat.v1/v2.keras``)
to ``tf_keras``, whether TensorFlow was imported already or not;
:func:`import_tf_agents` calls it before importing TF-Agents; and
:func:`import_shap` teaches shap's model-type check to accept Keras 3 models,
which is the only thing shap's TensorFlow explainers need to work on them.
Both work in any import order; see ``tests/test_compat.py``.
"""

import importlib
import os
import sys
import warnings

_LEGACY_ENV = "TF_USE_LEGACY_KERAS"
_TF_KERAS_ALIASES = ("losses", "metrics", "optimizers", "initializers")


def tf_keras_is_legacy():
    """Whether ``tf.keras`` resolves (or will resolve) to Keras 2 (tf_keras)."""
    if "tensorflow" not in sys.modules:
        return os.environ.get(_LEGACY_ENV) in ("1", "true", "True")
    import tensorflow as tf

    return tf.keras.Model.__module__.startswith("tf_keras")


def use_legacy_tf_keras():
    """Routes ``tf.keras`` to ``tf_keras`` (Keras 2) for TF-Agents and TFP.

    Keras 3 (``import keras``) is unaffected. If TensorFlow was imported before
    and something already resolved ``tf.keras`` to Keras 3, the ``tf`` module's
    Keras aliases are re-pointed and a warning says so, since objects a user
    made through ``tf.keras`` before this call stay Keras 3 objects.

    Returns:
        The ``tf_keras`` Keras API module now behind ``tf.keras``.
    """
    os.environ[_LEGACY_ENV] = "1"
    try:
        legacy = importlib.import_module("tf_keras.api._v2.keras")
        legacy_v1 = importlib.import_module("tf_keras.api._v1.keras")
    except ImportError as err:  # pragma: no cover - tf_keras is a dependency
        raise ImportError(
            "TF-Agents needs the tf_keras package (Keras 2). Install it with "
            "`pip install tf_keras==2.21.0`."
        ) from err
    if "tensorflow" not in sys.modules:
        return legacy
    import tensorflow as tf

    current = tf.__dict__.get("keras")
    resolved = type(current).__name__ != "KerasLazyLoader" or current._tfll_initialized
    if resolved and not tf.keras.Model.__module__.startswith("tf_keras"):
        warnings.warn(
            "adl_keras: tf.keras was already Keras 3 in this process; it now "
            "points to tf_keras (Keras 2) so that TF-Agents can run. Keras 3 "
            "code that uses `import keras` is unaffected. To avoid this "
            "switch, import adl_keras.rl (or set TF_USE_LEGACY_KERAS=1) before "
            "using tf.keras.",
            stacklevel=2,
        )
    tf.keras = legacy
    for alias in _TF_KERAS_ALIASES:
        setattr(tf, alias, getattr(legacy, alias))
    tf.compat.v2.keras = legacy
    tf.compat.v1.keras = legacy_v1
    sys.modules["tensorflow.keras"] = legacy
    return legacy


def import_tf_agents():
    """Imports ``tf_agents`` so that it works beside Keras 3, in any order.

    Returns:
        The ``tf_agents`` module.

    Raises:
        ImportError: if tf_agents was already imported while ``tf.keras`` was
            Keras 3 (it is then broken inside); the message says what to do.
    """
    if "tf_agents" in sys.modules and not tf_keras_is_legacy():
        raise ImportError(
            "tf_agents was imported while tf.keras was Keras 3, which leaves it "
            "broken. Start a new process and either `import adl_keras.rl` "
            "before tf_agents, or set the environment variable "
            "TF_USE_LEGACY_KERAS=1 before importing tensorflow."
        )
    use_legacy_tf_keras()
    from adl_keras import _logging

    # TF-Agents imports the legacy gym, which prints a notice to stderr on import
    # (adl_keras uses gymnasium); hidden while adl_keras.quiet() is on.
    with _logging.python_stderr_hidden():
        return importlib.import_module("tf_agents")


def _is_keras3_model(model):
    try:
        import keras
    except ImportError:  # pragma: no cover
        return False
    return isinstance(model, keras.Model) and keras.__version__.startswith("3.")


def _accepting_keras3(original, getter):
    """Wraps shap's model-type check so a Keras 3 model passes it."""
    if getattr(original, "_adl_keras_accepts_keras3", False):
        return original

    def patched(model):
        if _is_keras3_model(model):
            return getter(model)
        return original(model)

    patched._adl_keras_accepts_keras3 = True
    patched.__wrapped__ = original
    return patched


def _keras3_output(model):
    if len(model.outputs) > 1:
        warnings.warn("shap explains only the first output of the model.")
    return model.outputs[0]


def import_shap():
    """Imports ``shap`` with its TensorFlow explainers accepting Keras 3 models.

    shap's ``GradientExplainer`` and ``DeepExplainer`` check
    ``isinstance(model, tf.keras.Model)``, which is false for every Keras 3
    model once ``tf.keras`` is Keras 2 (needed by TF-Agents). Everything after
    that check uses only ``model.inputs``, ``model.outputs`` and ``model(x)``,
    which Keras 3 models provide, so the check is widened to accept them;
    nothing else in shap is changed.

    Returns:
        The ``shap`` module.
    """
    shap = importlib.import_module("shap")
    tf_utils = importlib.import_module("shap.explainers.tf_utils")
    modules = [tf_utils]
    for name in ("shap.explainers._gradient", "shap.explainers._deep.deep_tf"):
        modules.append(importlib.import_module(name))
    getters = {"_get_model_inputs": lambda m: m.inputs, "_get_model_output": _keras3_output}
    for module in modules:
        for name, getter in getters.items():
            if hasattr(module, name):
                setattr(module, name, _accepting_keras3(getattr(module, name), getter))
    return shap
