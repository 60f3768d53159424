"""Shared fixtures: a private ADL_KERAS_HOME and a copy of a shipped entry."""

import shutil

import pytest

from adl_keras.zoo import cards, store


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """ADL_KERAS_HOME in a temporary folder (the user zoo and the cache live there)."""
    path = tmp_path / "home"
    monkeypatch.setenv("ADL_KERAS_HOME", str(path))
    monkeypatch.delenv("ADL_KERAS_OFFLINE", raising=False)
    return path


@pytest.fixture()
def shipped_copy(tmp_path, monkeypatch):
    """A copy of the shipped zoo holding lenet5.digits, as ADL_KERAS_ZOO."""
    root = tmp_path / "shipped"
    shutil.copytree(cards.entry_dir("lenet5.digits"), root / "lenet5.digits")
    monkeypatch.setenv("ADL_KERAS_ZOO", str(root))
    return root


@pytest.fixture()
def lenet_weights():
    """(bytes, sha256) of the shipped lenet5.digits weights."""
    import hashlib

    meta = cards.read_meta("lenet5.digits")
    data = (cards.entry_dir("lenet5.digits") / meta["weights"]["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta["weights"]["sha256"]
    return data, meta["weights"]["sha256"]
