"""Finding 1: a DQN checkpoint cannot run code; exact resume still holds (tests/rl)."""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from adl_keras.rl import dqn, envs


class _Payload:
    """Unpickling this creates a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _small_agent():
    return dqn.DQN(dqn.DQNConfig(total_steps=60, learning_starts=20, batch_size=8, buffer_size=100,
                                 train_every=2, gradient_steps=1, eval_every=0, hidden_units=(8,),
                                 jit_compile=False))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    agent = _small_agent()
    agent.train(steps=40)
    path = agent.save_checkpoint(tmp_path_factory.mktemp("ckpt") / "agent.ckpt")
    return agent, path


def test_pickle_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"version": 1, "config": {}, "x": _Payload(str(marker))}))
    with pytest.raises(ValueError, match="not an adl_keras DQN checkpoint"):
        dqn.DQN.load_checkpoint(path)
    assert not marker.exists()


def test_npz_with_pickled_object_array_is_refused_and_runs_nothing(tmp_path, saved):
    """A real checkpoint with one member replaced by a pickled object array."""
    marker = tmp_path / "pwned"
    _, good = saved
    evil = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            if item.filename != "a0.npy":
                dst.writestr(item, src.read(item))
        buf = io.BytesIO()
        np.save(buf, np.array([_Payload(str(marker))], dtype=object), allow_pickle=True)
        dst.writestr("a0.npy", buf.getvalue())
    path = tmp_path / "evil.ckpt"
    path.write_bytes(evil.getvalue())
    with pytest.raises(ValueError, match="not a valid adl_keras DQN checkpoint"):
        dqn.DQN.load_checkpoint(path)
    assert not marker.exists()


def test_checkpoint_is_plain_data(saved):
    """No member of the archive needs pickle, and the env state is values only."""
    agent, path = saved
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            assert archive[key].dtype != object
    state = dqn.decode_checkpoint(path.read_bytes())
    assert state["counters"]["env_steps"] == agent.env_steps
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~_umask())


def test_checkpoint_for_another_env_is_refused(saved):
    _, path = saved
    state = dqn.decode_checkpoint(path.read_bytes())
    env, _, _ = envs.make_env("CartPole-v1")
    env.reset(seed=1)
    bad = {**state["env"], "no_such_attribute": {"kind": "value", "value": 1}}
    with pytest.raises(ValueError, match="no_such_attribute"):
        dqn.restore_env_state(env, bad)


def test_minatar_env_state_round_trip():
    """The MinAtar env (sticky actions, its RandomState) resumes exactly from plain values."""
    pytest.importorskip("minatar")
    env, _, _ = envs.make_env("MinAtar/Breakout")
    env.reset(seed=3)
    for a in [1, 2, 0, 1, 1, 2]:
        env.step(a)
    blob = dqn.encode_checkpoint({"env": dqn.env_state(env)})
    copy, _, _ = envs.make_env("MinAtar/Breakout")
    copy.reset(seed=99)
    dqn.restore_env_state(copy, dqn.decode_checkpoint(blob)["env"])
    rng = np.random.default_rng(0)
    for a in rng.integers(0, env.num_actions, 200):
        a_out, b_out = env.step(int(a)), copy.step(int(a))
        np.testing.assert_array_equal(a_out[0], b_out[0])
        assert a_out[1:4] == b_out[1:4]
        if a_out[2]:
            env.reset()
            copy.reset()


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_no_unpickling_reads_in_the_package():
    """No pickle/cloudpickle load and no allow_pickle=True anywhere in adl_keras."""
    import adl_keras

    root = os.path.dirname(adl_keras.__file__)
    offenders = []
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                text = open(os.path.join(folder, name)).read()
                for needle in ("pickle.load", "pickle.loads", "cloudpickle", "allow_pickle=True", "dill.load",
                               "joblib.load"):
                    if needle in text:
                        offenders.append(f"{name}: {needle}")
    assert offenders == []
