"""Quiet by default: TensorFlow's start-up lines and third-party warnings are
hidden in the CLI, the demo and the notebooks unless the user asks for them.

TensorFlow writes its oneDNN/CUDA start-up block from C++ before absl logging
is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not hide it (TF 2.21); the
only way to keep it off the terminal is to point file descriptor 2 elsewhere
while ``import tensorflow`` runs. What it wrote is replayed if the import
fails, so a broken install still explains itself.

``--verbose`` on ``adl-zoo`` or ``ADL_KERAS_VERBOSE=1`` turns all of it back on.

Example:
    >>> from adl_keras import _logging
    >>> _logging.quiet()          # before the first TensorFlow import
"""

import contextlib
import logging
import os
import sys
import tempfile
import warnings

VERBOSE_ENV = "ADL_KERAS_VERBOSE"
_HIDING = False  # set by quiet(): noise is being hidden in this process

# Libraries whose UserWarnings are noise to a zoo user (gym's and TF-Agents'
# deprecation notices, PolicySaver's and Keras' tracing remarks); adl_keras'
# own warnings stay visible.
_NOISY_MODULES = r"(gym|gymnasium|tf_agents|tensorflow|tensorflow_probability|tf_keras|keras|absl|shap|lime|" \
                 r"sklearn|tensorflow_datasets|numba|matplotlib)(\.|$)"


def is_verbose(verbose=None):
    """Whether noise should be shown: ``verbose`` if given, else ``$ADL_KERAS_VERBOSE``."""
    if verbose is not None:
        return bool(verbose)
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Sends file descriptor 2 to a temporary file; replays it on an exception."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded interpreters)
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            os.write(2, sink.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def is_quiet():
    """Whether :func:`quiet` is hiding noise in this process."""
    return _HIDING


@contextlib.contextmanager
def python_stderr_hidden():
    """While :func:`quiet` is on, hides what Python code prints to ``sys.stderr``
    (e.g. gym's import-time notice); replayed if the block raises."""
    if not _HIDING:
        yield
        return
    import io

    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    except BaseException:
        sys.stderr.write(buffer.getvalue())
        raise


def quiet(verbose=None):
    """Hides TensorFlow start-up lines, its Python logging below ERROR (e.g.
    tf.function retracing warnings) and third-party deprecation warnings.

    Call it before TensorFlow is first imported; it imports TensorFlow itself
    with the start-up block hidden. Safe to call more than once.

    Args:
        verbose: True shows everything (nothing is changed); None (default)
            reads ``$ADL_KERAS_VERBOSE``.

    Returns:
        True if noise is being hidden.
    """
    global _HIDING
    if is_verbose(verbose):
        return False
    _HIDING = True
    # Level 3 also hides the C++ errors printed after start-up (e.g. "failed
    # call to cuInit" on machines without a GPU), which are not failures here.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", category=UserWarning, module=_NOISY_MODULES)
    if "tensorflow" not in sys.modules:
        with _stderr_fd_silenced():
            import tensorflow  # noqa: F401
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl ships with TensorFlow
        pass
    return True
