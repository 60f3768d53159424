import json

import pytest

from adl_keras import cli


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_json(capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    names = [r["name"] for r in json.loads(out)]
    assert "lenet5.digits" in names


def test_list_text_and_filter(capsys):
    code, out, _ = run(capsys, "list", "lenet*", "--pretrained")
    assert code == 0 and "lenet5.digits" in out and "accuracy=" in out


def test_info_json(capsys):
    code, out, _ = run(capsys, "info", "lenet5.digits", "--json")
    info = json.loads(out)
    assert code == 0 and info["name"] == "lenet5.digits" and info["pretrained"]


def test_evaluate_json(capsys):
    code, out, err = run(capsys, "evaluate", "lenet5.digits", "--json")
    report = json.loads(out)
    assert code == 0 and report["match"] and "evaluating" in err


def test_unknown_name_exits_nonzero_with_suggestion(capsys):
    code, _, err = run(capsys, "info", "lenet5.digit")
    assert code != 0 and "lenet5.digits" in err


@pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
def test_export(capsys, tmp_path, fmt):
    import keras
    import numpy as np
    import tensorflow as tf

    from adl_keras import zoo

    code, out, _ = run(capsys, "export", "lenet5.digits", "--format", fmt, "--out", str(tmp_path / "out"))
    assert code == 0
    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    expected = zoo.load_model("lenet5.digits")(x).numpy()
    if fmt == "keras":
        got = keras.saving.load_model(out.strip())(x).numpy()
    else:
        restored = tf.saved_model.load(out.strip())  # keep a reference: it owns the variables
        got = restored.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_console_script_help():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "adl_keras.cli", "--help"], capture_output=True, text=True)
    assert res.returncode == 0
    for cmd in ("list", "info", "train", "evaluate", "export", "explain"):
        assert cmd in res.stdout


def test_explain_writes_png(capsys, tmp_path):
    out = tmp_path / "wine.png"
    code, stdout, _ = run(capsys, "explain", "mlp.wine", "--index", "3", "--method", "integrated-gradients",
                          "--out", str(out))
    assert code == 0 and "wrote" in stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000
