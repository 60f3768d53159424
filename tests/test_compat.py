"""One process trains a TF-Agents DQN and computes SHAP values of a Keras 3
model, in every import order a user might use; each order in its own process."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import os, sys
    for name in sys.argv[1].split(","):
        __import__({"tf": "tensorflow", "adl": "adl_keras", "tfa": "tf_agents"}.get(name, name))
    import numpy as np
    from adl_keras import compat
    compat.import_tf_agents()
    import keras, tensorflow as tf
    from tf_agents.agents.dqn import dqn_agent
    from tf_agents.networks import q_network
    from tf_agents.specs import tensor_spec
    from tf_agents.trajectories import time_step as ts, trajectory

    obs = tensor_spec.BoundedTensorSpec((4,), tf.float32, -10, 10)
    act = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
    agent = dqn_agent.DqnAgent(ts.time_step_spec(obs), act,
        q_network=q_network.QNetwork(obs, act, fc_layer_params=(16,)),
        optimizer=tf.keras.optimizers.Adam(1e-2), train_step_counter=tf.Variable(0, dtype=tf.int64))
    agent.initialize()
    rng = np.random.default_rng(0)
    batch = trajectory.Trajectory(
        step_type=tf.zeros((8, 2), tf.int32), observation=tf.constant(rng.normal(size=(8, 2, 4)), tf.float32),
        action=tf.constant(rng.integers(0, 2, (8, 2))), policy_info=(), next_step_type=tf.ones((8, 2), tf.int32),
        reward=tf.ones((8, 2)), discount=tf.zeros((8, 2)))
    losses = [float(agent.train(batch).loss) for _ in range(20)]
    assert losses[-1] < losses[0], losses

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    data = rng.random((32, 8, 8, 1)).astype("float32")
    model.compile("adam", "mse")
    model.fit(data, rng.random((32, 3)), epochs=1, verbose=0)
    shap = compat.import_shap()
    background, sample = data[:16], data[16:19]
    values = np.asarray(shap.DeepExplainer(model, background).shap_values(sample))
    gap = np.abs(values.sum(axis=(1, 2, 3)) - (model(sample).numpy() - model(background).numpy().mean(0))).max()
    assert gap < 1e-4, gap
    grads = np.asarray(shap.GradientExplainer(model, background).shap_values(sample))
    assert grads.shape == values.shape
    print("OK", losses[0], losses[-1], gap)
    """
)


def run_order(order, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(env_extra or {}, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-c", SCRIPT, order], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


# Three orders stay in the default run (all three libraries, tf-agents after adl_keras, the
# documented env var below); the single-library orders run in the slow run (17 s each).
_SLOW = pytest.mark.slow


@pytest.mark.parametrize("order", [pytest.param("tf", marks=_SLOW), pytest.param("keras", marks=_SLOW),
                                   pytest.param("shap", marks=_SLOW), "adl", "tf,keras,shap"])
def test_tf_agents_and_shap_in_one_process(order):
    res = run_order(order)
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr[-3000:]


def test_tf_agents_first_with_its_documented_env_var():
    res = run_order("tfa", {"TF_USE_LEGACY_KERAS": "1"})
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr[-3000:]


def test_broken_tf_agents_import_gets_actionable_error():
    # tf_agents imported with Keras 3 behind tf.keras fails inside TFP (upstream);
    # afterwards, adl_keras explains what to do instead of failing obscurely.
    code = textwrap.dedent(
        """
        import sys, tensorflow as tf
        tf.keras.Model  # a user resolved tf.keras to Keras 3
        try:
            import tf_agents.agents  # noqa: F401
        except Exception:
            pass
        sys.modules.setdefault("tf_agents", type(sys)("tf_agents"))
        from adl_keras import compat
        try:
            compat.import_tf_agents()
        except ImportError as err:
            print("ERR", err)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=300)
    assert "ERR" in res.stdout and "TF_USE_LEGACY_KERAS=1" in res.stdout, res.stdout + res.stderr[-2000:]


def test_keras3_unaffected_by_legacy_routing(tmp_path):
    code = textwrap.dedent(
        f"""
        import numpy as np, keras, tensorflow as tf
        from adl_keras import compat
        compat.use_legacy_tf_keras()
        assert tf.keras.Model.__module__.startswith("tf_keras")
        assert keras.__version__.startswith("3.")
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        m.compile("adam", "mse"); m.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
        m.export(r"{tmp_path / 'sm'}", verbose=False)
        r = tf.saved_model.load(r"{tmp_path / 'sm'}")
        np.testing.assert_allclose(r.serve(tf.ones((2, 3))).numpy(), m(np.ones((2, 3))).numpy(), atol=1e-6)
        print("OK")
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=300)
    assert "OK" in res.stdout, res.stderr[-3000:]
