"""Findings 3, 6 and 7: training goes to the user zoo, export refuses to
overwrite, every CLI failure is one line naming what failed."""

import json
import os
import shutil
import stat

import numpy as np
import pytest

from adl_keras import cli, zoo
from adl_keras.zoo import cards, store


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(err, *needles):
    # progress lines ("exporting ...", "training ...") may come first; the failure is one line at the end
    lines = [l for l in err.splitlines() if l.startswith("adl-zoo: ")]
    assert len(lines) == 1 and err.rstrip("\n").splitlines()[-1] == lines[0], err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
def test_export_refuses_existing_output_unless_overwrite(capsys, tmp_path, fmt):
    out = tmp_path / ("m.keras" if fmt == "keras" else "sm")
    if fmt == "keras":
        out.write_bytes(b"precious")
    else:
        out.mkdir()
        (out / "stale.txt").write_text("old")
    code, _, err = run(capsys, "export", "lenet5.digits", "--format", fmt, "--out", str(out))
    assert code == 2
    _one_line_error(err, str(out), "--overwrite")
    assert (out.read_bytes() == b"precious") if fmt == "keras" else (out / "stale.txt").exists()
    code, printed, _ = run(capsys, "export", "lenet5.digits", "--format", fmt, "--out", str(out), "--overwrite")
    assert code == 0 and printed.strip() == str(out)
    if fmt == "keras":
        assert out.read_bytes()[:2] == b"PK"
    else:
        assert not (out / "stale.txt").exists() and (out / "saved_model.pb").exists()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no staging leftovers


def test_export_api_refuses_existing_file(tmp_path):
    path = tmp_path / "x.keras"
    path.write_bytes(b"1")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        zoo.export_model("lenet5.digits", path, fmt="keras")
    with pytest.raises(TypeError, match="overwrite"):
        zoo.export_model("lenet5.digits", path, fmt="keras", overwrite="yes")


def test_home_is_a_file_missing_or_read_only(capsys, tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("ADL_KERAS_HOME", str(afile))
    code, _, err = run(capsys, "train", "lenet5.digits")
    assert code == 2
    _one_line_error(err, "ADL_KERAS_HOME", str(afile), "not a folder")
    code, out, _ = run(capsys, "list", "lenet*")  # reading still works
    assert code == 0 and "lenet5.digits" in out
    missing = tmp_path / "missing" / "home"
    monkeypatch.setenv("ADL_KERAS_HOME", str(missing))
    code, out, _ = run(capsys, "info", "lenet5.digits", "--json")
    assert code == 0 and json.loads(out)["weights_source"] == "shipped" and not missing.exists()
    if os.geteuid() != 0:  # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
        monkeypatch.setenv("ADL_KERAS_HOME", str(ro))
        code, _, err = run(capsys, "train", "lenet5.digits")
        assert code == 2
        _one_line_error(err, "ADL_KERAS_HOME", str(ro))


def test_unwritable_out(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run(capsys, "train", "lenet5.digits", "--out", str(afile / "zoo"))
    assert code == 2
    _one_line_error(err, "--out", str(afile), "not a folder")
    code, _, err = run(capsys, "export", "lenet5.digits", "--format", "keras", "--out", str(afile / "m.keras"))
    assert code == 2
    _one_line_error(err, str(afile))


def test_malformed_card_is_named_and_list_goes_on(capsys, shipped_copy, home):
    shutil.copytree(cards.entry_dir("lenet5.digits", shipped_copy), shipped_copy / "mlp.wine")
    (shipped_copy / "mlp.wine" / "meta.json").write_text("{not json")
    code, out, err = run(capsys, "list")
    assert code == 0
    assert "lenet5.digits" in out and "pretrained" in out
    broken = [l for l in out.splitlines() if l.startswith("mlp.wine")]
    assert len(broken) == 1 and "BROKEN CARD" in broken[0] and str(shipped_copy / "mlp.wine" / "meta.json") in broken[0]
    code, _, err = run(capsys, "info", "mlp.wine")
    assert code == 2
    _one_line_error(err, str(shipped_copy / "mlp.wine" / "meta.json"), "Malformed")
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0 and any(r.get("error") for r in json.loads(out))


def test_verbose_shows_the_traceback(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(NotADirectoryError):
        cli.main(["--verbose", "train", "lenet5.digits", "--out", str(afile / "zoo")])


def test_unexpected_errors_are_one_line_too(capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("something\nspread over\nlines")

    from adl_keras.zoo import catalog

    monkeypatch.setattr(catalog, "describe", boom)  # `info` answers from the catalog, without TensorFlow
    code, _, err = run(capsys, "info", "lenet5.digits")
    assert code == 2
    _one_line_error(err, "AssertionError", "something spread over lines")


def test_user_zoo_precedence_and_evaluate_against(capsys, home, shipped_copy):
    """load_model keeps the shipped weights (the reference) when a user entry
    exists; evaluate measures the user's weights against the shipped card
    unless told otherwise (--weights, --against)."""
    entry = zoo.get_entry("lenet5.digits")
    shipped = zoo.load_model("lenet5.digits")
    assert shipped.load_report.source == "shipped"
    model = entry.build()
    model.set_weights([w * 0.5 for w in shipped.get_weights()])
    measured = entry.evaluator(model)["accuracy"]
    cards.write_entry(entry, model, {"accuracy": measured, "_split": "test"})  # default root: the user zoo
    assert (home / "zoo" / "lenet5.digits" / "meta.json").exists()
    assert zoo.load_model("lenet5.digits").load_report.source == "shipped"
    user = zoo.load_model("lenet5.digits", source="user")
    assert user.load_report.source == "user"
    np.testing.assert_array_equal(user.get_weights()[0], model.get_weights()[0])
    info = zoo.model_info("lenet5.digits")
    assert info["weights_source"] == "shipped" and info["user_entry"]["metrics"]["accuracy"]["value"] == measured
    code, out, _ = run(capsys, "evaluate", "lenet5.digits", "--json")
    report = json.loads(out)
    assert report["weights"] == "user" and report["against"] == "shipped"
    assert code == (0 if report["match"] else 1)
    code, out, _ = run(capsys, "evaluate", "lenet5.digits", "--against", "user", "--json")
    assert code == 0 and json.loads(out)["match"]
    code, out, _ = run(capsys, "evaluate", "lenet5.digits", "--weights", "shipped", "--json")
    assert code == 0 and json.loads(out)["weights"] == "shipped"
    with pytest.raises(ValueError, match="source"):
        zoo.load_model("lenet5.digits", source="site")
    # An entry that ships no weights is loaded from the user zoo.
    (shipped_copy / "lenet5.digits" / "meta.json").unlink()
    assert zoo.load_model("lenet5.digits").load_report.source == "user"


@pytest.fixture()
def tiny_entry():
    """A registered entry whose recipe trains in a second."""
    import keras

    from adl_keras.zoo import registry

    def build(name="tiny_h13"):
        inputs = keras.Input((4,))
        return keras.Model(inputs, keras.layers.Dense(2, name="predictions")(inputs), name=name)

    def recipe(seed=0, progress=None):
        keras.utils.set_random_seed(seed)
        # A file for the card's folder (a learning curve, a sample grid): zoo.train writes it.
        return build(), {"goals": ["none"], "files": {"curve.png": b"\x89PNG curve"}}

    registry.register("tiny.h13", build, topic="explain", task="tabular-classification", dataset="none",
                      input_shape=(4,), recipe=recipe, evaluator=lambda m: {"score": 0.5, "_split": "test"})
    yield "tiny.h13"
    registry._REGISTRY.pop("tiny.h13", None)


def test_train_writes_the_user_zoo_not_the_package(capsys, tiny_entry, home, tmp_path, monkeypatch):
    shipped = tmp_path / "site-packages-zoo"
    shipped.mkdir()
    shipped.chmod(0o555)  # as a shared, read-only install
    monkeypatch.setenv("ADL_KERAS_ZOO", str(shipped))
    try:
        code, out, _ = run(capsys, "train", tiny_entry)
        assert code == 0
        assert list(shipped.iterdir()) == []
        folder = home / "zoo" / tiny_entry
        assert str(folder) in out and (folder / "meta.json").exists()
        assert (folder / "curve.png").read_bytes() == b"\x89PNG curve"
        assert "files" not in json.loads((folder / "meta.json").read_text())["training"]
        assert zoo.load_model(tiny_entry).load_report.source == "user"  # it ships no weights
        code, out, _ = run(capsys, "evaluate", tiny_entry, "--against", "user", "--json")
        assert code == 0 and json.loads(out)["match"]
        code, _, err = run(capsys, "evaluate", tiny_entry, "--json")  # the install has no card to compare with
        assert code == 1
        out_dir = tmp_path / "elsewhere"
        code, _, _ = run(capsys, "train", tiny_entry, "--out", str(out_dir))
        assert code == 0 and (out_dir / tiny_entry / "meta.json").exists()
    finally:
        shipped.chmod(0o755)
