"""The path users run, in the default run: ``zoo.train(name, root=tmp)`` with a
tiny budget for one entry per topic (bptt has no entries of its own), then the
written card and weights load back and re-measure to the written metrics."""

import json

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.training import hardware_record
from adl_keras.zoo import cards

SMOKE = [
    ("lenet5.digits", {"epochs": 1}),                              # convolution
    ("gru.seq_digits", {"epochs": 1}),                             # rnn
    ("dcgan.digits", {"epochs": 1}),                               # gan
    ("dqn.cartpole", {"total_steps": 600}),                        # rl (100 learner updates)
    ("qtable.frozenlake4x4", {"episodes": 300}),                   # rl, tabular
    ("resnet_small.digits1shot", {"head_epochs": 1, "epochs": 1}),   # transfer
    ("mlp.wine", {"epochs": 1}),                                   # explain
]


def test_one_smoke_entry_per_topic():
    topics = {zoo.get_entry(name).topic for name, _ in SMOKE}
    assert topics == {entry.topic for entry in map(zoo.get_entry, zoo.list_models())} - {"bptt"}


@pytest.mark.parametrize("name,budget", SMOKE, ids=[n for n, _ in SMOKE])
def test_train_writes_a_card_whose_weights_load_and_reproduce(name, budget, tmp_path):
    shipped = json.dumps(cards.read_meta(name), sort_keys=True)
    meta = zoo.train(name, root=tmp_path, **budget)
    folder = tmp_path / name
    written = json.loads((folder / "meta.json").read_text())
    assert written == json.loads(json.dumps(meta)) and written["name"] == name
    assert (folder / "README.md").read_text().startswith(f"# {name}")
    assert name in json.loads((tmp_path / "index.json").read_text())
    entry = zoo.get_entry(name)
    assert written["training"]["seed"] == 0 and written["metrics"]
    # where it ran (the Fashion ResNet's goal is "about an hour on this CPU or an accelerator")
    assert written["training"]["trained_on"] == hardware_record()
    # the written weights load through the verified path and re-measure to the written card
    weights = folder / written["weights"]["file"]
    model = zoo.load_model(name, weights=str(weights), sha256=written["weights"]["sha256"])
    measured = entry.evaluator(model)
    cards.pop_splits(measured)
    assert set(measured) == set(written["metrics"])
    for key, value in measured.items():
        assert abs(value - written["metrics"][key]["value"]) <= entry.tolerance, (key, value, written["metrics"][key])
    assert all(np.isfinite(w).all() for w in model.get_weights())
    # the shipped entry is untouched
    assert json.dumps(cards.read_meta(name), sort_keys=True) == shipped


def test_hardware_record_names_the_device_cpu_and_cores():
    import os

    record = hardware_record()
    assert 1 <= record["cpu_cores"] <= os.cpu_count() and record["cpu"]
    assert record["device"] == (record["accelerators"][0] if record["accelerators"] else "CPU")
