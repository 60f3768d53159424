"""A ``.keras`` export of every zoo entry loads in a fresh process after
``import adl_keras`` alone, and ``import adl_keras`` still imports no Keras."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from adl_keras import _registration, zoo
from adl_keras.zoo import cards

ROOT = Path(__file__).resolve().parent.parent
# The default run loads one entry per custom object the zoo's models contain
# (ResizeImages, TextbookLSTM, TextbookGRU, QTable; the other entries are
# built from Keras layers only, or ImageNetPreprocessing in the large
# keras.applications exports); the slow run loads every entry.
DEFAULT = ("gru.seq_digits", "lenet5.digits", "lstm.seq_digits", "qtable.frozenlake4x4")

LOADER = """
import json, sys
import adl_keras
import keras
import numpy as np
assert "adl_keras.conv.layers" not in sys.modules  # nothing was registered eagerly
worst = {}
for name, path in json.loads(sys.argv[1]).items():
    model = keras.saving.load_model(path + ".keras")
    x, expected = np.load(path + ".x.npy"), np.load(path + ".y.npy")
    worst[name] = float(np.max(np.abs(np.asarray(model(x)) - expected)))
print(json.dumps(worst))
"""


def _export(names, folder):
    paths = {}
    for name in names:
        model = zoo.load_model(name, pretrained=cards.weights_shipped(name))
        spec = model.inputs[0]
        x = (np.random.default_rng(0).random((2, *spec.shape[1:])) * 2).astype(spec.dtype)
        path = str(folder / name)
        model.save(path + ".keras")
        np.save(path + ".x.npy", x)
        np.save(path + ".y.npy", np.asarray(model(x)))
        paths[name] = path
    return paths


def _load_in_fresh_process(paths):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    res = subprocess.run([sys.executable, "-c", LOADER, json.dumps(paths)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_entry_exports_load_after_import_adl_keras_only(tmp_path):
    worst = _load_in_fresh_process(_export(DEFAULT, tmp_path))
    assert sorted(worst) == sorted(DEFAULT)
    assert all(v <= 1e-5 for v in worst.values()), worst


@pytest.mark.slow
def test_every_entry_export_loads_after_import_adl_keras_only(tmp_path):
    names = zoo.list_models()
    worst = _load_in_fresh_process(_export(names, tmp_path))
    assert sorted(worst) == sorted(names)
    assert all(v <= 1e-4 for v in worst.values()), worst


def test_custom_object_modules_list_every_registering_module():
    registering = set()
    for path in (ROOT / "adl_keras").rglob("*.py"):
        if re.search(r"register_keras_serializable\(package=\"adl_keras\"", path.read_text()):
            registering.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    registering.discard("adl_keras._registration")  # names the decorator in its docstring
    assert registering == set(_registration.CUSTOM_OBJECT_MODULES)


def test_register_all_registers_every_adl_keras_object():
    import keras

    names = _registration.register_all()
    assert "adl_keras>Conv2D" in names and "adl_keras>TextbookLSTMCell" in names
    for name in names:
        assert keras.saving.get_registered_object(name) is not None, name
