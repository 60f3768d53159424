import json
import shutil

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.zoo import cards, registry


def test_list_models_filters():
    assert "lenet5.digits" in zoo.list_models()
    assert zoo.list_models("lenet*") == [n for n in zoo.list_models() if n.startswith("lenet")]
    assert "lenet5.digits" in zoo.list_models(topic="convolution", task="image-*", pretrained=True)
    assert zoo.list_models("no-such-*") == []
    assert "lenet5.digits" not in zoo.list_models(pretrained=False)


def test_model_info_has_card_data():
    info = zoo.model_info("lenet5.digits")
    for key in ("topic", "task", "dataset", "input_shape", "metrics", "params", "weights", "licence", "recipe"):
        assert info[key] is not None, key
    assert info["metrics"]["accuracy"]["command"] == "adl-zoo evaluate lenet5.digits"
    assert info["metrics"]["accuracy"]["value"] >= 0.97
    assert len(info["weights"]["sha256"]) == 64
    model = zoo.load_model("lenet5.digits")
    assert model.count_params() == info["params"]


def test_unknown_name_suggests_close_names():
    with pytest.raises(KeyError, match="lenet5.digits"):
        zoo.load_model("lenet5.digit")


def test_register_rejects_bad_and_duplicate_names():
    with pytest.raises(ValueError, match="arch.tag"):
        registry.register("nodot", lambda: None, topic="x", task="x", dataset="x", input_shape=(1,))
    with pytest.raises(ValueError, match="already registered"):
        registry.register("lenet5.digits", lambda: None, topic="x", task="x", dataset="x", input_shape=(1,))


def test_pretrained_must_be_bool():
    with pytest.raises(TypeError, match="pretrained"):
        zoo.load_model("lenet5.digits", pretrained="yes")


def test_corrupt_zoo_file_is_refused_before_building(tmp_path, monkeypatch):
    copy = tmp_path / "zoo"
    shutil.copytree(cards.entry_dir("lenet5.digits"), copy / "lenet5.digits")
    weights = copy / "lenet5.digits" / cards.read_meta("lenet5.digits")["weights"]["file"]
    data = bytearray(weights.read_bytes())
    data[2000] ^= 0xFF
    weights.write_bytes(bytes(data))
    monkeypatch.setenv("ADL_KERAS_ZOO", str(copy))
    built = []
    monkeypatch.setattr(registry.ZooEntry, "build", lambda self, **kw: built.append(1))
    with pytest.raises(zoo.WeightsIntegrityError) as err:
        zoo.load_model("lenet5.digits")
    assert str(weights) in str(err.value) and "expected sha256" in str(err.value)
    assert built == []


def test_head_override_reports_what_loaded():
    model = zoo.load_model("lenet5.digits", num_classes=5)
    report = model.load_report
    assert "predictions" in [m[0] for m in report.mismatched]
    assert {"conv1", "conv2", "head_fc1", "head_fc2"} <= set(report.loaded)
    reference = zoo.load_model("lenet5.digits")
    np.testing.assert_array_equal(model.get_layer("conv1").get_weights()[0],
                                  reference.get_layer("conv1").get_weights()[0])
    assert model.output_shape == (None, 5)
    assert "mismatched 1" in str(report)


def test_evaluate_matches_card():
    report = zoo.evaluate("lenet5.digits")
    assert report["match"], report
    assert report["metrics"]["accuracy"]["diff"] <= 1e-6


def test_index_lists_every_entry_with_meta():
    index = json.loads((cards.store.zoo_dir() / cards.INDEX_FILE).read_text())
    metas = sorted(p.parent.name for p in cards.store.zoo_dir().glob("*/meta.json"))
    assert sorted(index) == metas
    for name in metas:
        assert name in zoo.list_models(), f"{name} has weights but no registered entry"


def test_light_listing_from_the_index_equals_the_registry():
    """``list_models`` in a fresh process answers from index.json without importing
    Keras, and gives the same names as the registry for every filter."""
    import subprocess
    import sys

    code = ("import sys, json; from adl_keras import zoo; "
            "out = [zoo.list_models(), zoo.list_models(topic='rl'), zoo.list_models('*.digits', task='image-*'), "
            "zoo.list_models(pretrained=False)]; "
            "print(json.dumps({'keras': 'keras' in sys.modules, 'out': out}))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    light = json.loads(res.stdout.strip().splitlines()[-1])
    assert light["keras"] is False
    full = [sorted(registry.entries()),
            sorted(n for n, e in registry.entries().items() if e.topic == "rl"),
            sorted(n for n, e in registry.entries().items() if n.endswith(".digits") and e.task.startswith("image-")),
            sorted(n for n in registry.entries() if not cards.has_weights(n))]
    assert light["out"] == full
    # the index lists exactly the registered entries, with their topic and task
    index = json.loads((cards.store.zoo_dir() / cards.INDEX_FILE).read_text())
    assert {n: (r["topic"], r["task"]) for n, r in index.items()} == \
        {n: (e.topic, e.task) for n, e in registry.entries().items()}
