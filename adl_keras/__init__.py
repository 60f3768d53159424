"""adl_keras: a Keras 3 model zoo for advanced deep learning.

Topics live in subpackages that load on first use, so ``import adl_keras``
stays light (it imports neither TensorFlow nor TF-Agents, shap, lime,
tensorflow_datasets or gymnasium):

    conv      convolution math, from-scratch Conv/Pool layers, CNN builders
    rnn       textbook LSTM/GRU cells and their mapping to Keras layers
    bptt      explicit and truncated backpropagation through time
    gan       the minimax game as a keras.Model, GAN losses, DCGAN builders
    rl        tabular Q-learning, a Keras 3 DQN, the TF-Agents DqnAgent path
    transfer  backbone/head surface, freezing, two-phase fine-tuning
    explain   SHAP, LIME and gradient attributions with faithfulness metrics
    zoo       registry and verified weight store of pretrained entries
    data      offline datasets and tfds loaders
    testing   the harness every layer and zoo entry passes
    compat    the Keras 2/3 bridge that lets TF-Agents and shap share a process

Every custom layer and model is registered with Keras on ``import adl_keras``
(lazily: Keras imports the defining module the first time it meets an
``adl_keras>`` name), so a ``.keras`` file exported from any entry loads with
``keras.saving.load_model`` after ``import adl_keras`` and nothing else.

Example:
    >>> import adl_keras
    >>> model = adl_keras.zoo.load_model("lenet5.digits")
"""

import importlib

from adl_keras import _registration

__version__ = "0.1.0"

_registration.install()
register_all = _registration.register_all


def quiet(verbose=None):
    """Hides TensorFlow's start-up lines, its retracing warnings and
    third-party deprecation warnings (call before TensorFlow is imported;
    ``verbose=True`` or ``ADL_KERAS_VERBOSE=1`` keeps everything).

    Returns:
        True if noise is being hidden.
    """
    from adl_keras import _logging

    return _logging.quiet(verbose)

_SUBMODULES = (
    "bptt",
    "cli",
    "compat",
    "conv",
    "data",
    "explain",
    "gan",
    "rl",
    "rnn",
    "testing",
    "transfer",
    "zoo",
)

__all__ = list(_SUBMODULES) + ["__version__", "quiet", "register_all"]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"adl_keras.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'adl_keras' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
