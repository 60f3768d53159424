"""Greedy policies of Q-networks, exported as SavedModels.

Example:
    >>> from adl_keras import zoo
    >>> from adl_keras.rl.policies import export_greedy_policy
    >>> export_greedy_policy(zoo.load_model("dqn.cartpole"), "/tmp/cartpole_policy")
    >>> policy = tf.saved_model.load("/tmp/cartpole_policy")
    >>> policy.action(tf.zeros((1, 4)))
"""

from pathlib import Path

import keras


def export_greedy_policy(model, path):
    """Writes a SavedModel with two endpoints: ``q_values(obs)`` -> Q(s, .)
    and ``action(obs)`` -> argmax_a Q(s, a) (int64).

    Args:
        model: a Q-network keras.Model (any builder of ``adl_keras.rl.qnetworks``).
        path: output folder.

    Returns:
        pathlib.Path of the folder.
    """
    import tensorflow as tf

    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model. Received: model={type(model).__name__}")
    spec = tf.TensorSpec((None,) + tuple(model.input_shape[1:]), model.inputs[0].dtype, name="observation")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("q_values", lambda x: model(x, training=False), input_signature=[spec])
    archive.add_endpoint("action", lambda x: keras.ops.argmax(model(x, training=False), axis=-1),
                         input_signature=[spec])
    archive.write_out(str(path), verbose=False)
    return Path(path)
