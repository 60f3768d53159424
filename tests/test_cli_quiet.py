"""The CLI answers list/info/argument errors without TensorFlow, and keeps
TensorFlow's start-up noise off the terminal unless asked."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ADL_KERAS_VERBOSE")}
ENV["PYTHONPATH"] = str(ROOT)
NOISE = ("oneDNN", "cuda", "absl::InitializeLog", "retracing")


def _python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**ENV, **env}, timeout=300)


def test_list_info_and_argument_errors_never_import_tensorflow():
    code = (
        "import sys, json, io, contextlib\n"
        "from adl_keras import cli\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert cli.main(['list', '--json']) == 0\n"
        "    assert cli.main(['info', 'resnet_small.shapes32', '--json']) == 0\n"
        "    assert cli.main(['explain', 'lenet5.digits', '--method', 'shap-dep', '--out', 'x.png']) == 2\n"
        "    assert cli.main(['explain', 'dcgan.digits', '--out', 'x.png']) == 2\n"
        "    assert cli.main(['evaluate', 'no_such.entry']) == 2\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules)\n"
        "print(json.dumps({'heavy': heavy, 'out': out.getvalue()}))\n"
    )
    res = _python(code)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["heavy"] == []
    listing = json.loads(got["out"][:got["out"].index("]\n") + 1])
    assert {r["name"] for r in listing} >= {"lenet5.digits", "convnext_tiny.imagenet"}
    assert "Received: --method='shap-dep'" in res.stderr
    assert "task 'image-generation'" in res.stderr
    assert "Unknown zoo entry: name='no_such.entry'" in res.stderr


def test_catalog_agrees_with_the_registry_for_every_entry():
    from adl_keras import zoo
    from adl_keras.zoo import catalog

    assert catalog.list_names() == zoo.list_models()
    assert catalog.list_names(pretrained=True) == zoo.list_models(pretrained=True)
    for name in zoo.list_models():
        assert catalog.describe(name) == zoo.model_info(name), name


def test_quiet_by_default():
    code = ("from adl_keras import _logging; _logging.quiet()\n"
            "import keras, tensorflow as tf\n"
            "f = tf.function(lambda x: x + 1)\n"
            "for n in range(1, 8): f(tf.zeros((n,)))\n"
            "keras.layers.Dense(2)(tf.zeros((1, 2)))\n"
            "print('ran')\n")
    quiet = _python(code)
    assert quiet.returncode == 0 and "ran" in quiet.stdout, quiet.stderr
    assert not [n for n in NOISE if n in quiet.stderr], quiet.stderr


def test_verbose_flag_or_environment_variable_leaves_everything_shown(monkeypatch):
    from adl_keras import _logging

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert _logging.quiet(verbose=True) is False
    monkeypatch.setenv("ADL_KERAS_VERBOSE", "1")
    assert _logging.is_verbose() and _logging.quiet() is False
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    monkeypatch.setenv("ADL_KERAS_VERBOSE", "0")
    assert not _logging.is_verbose()


def test_import_failure_inside_quiet_is_still_explained(tmp_path):
    (tmp_path / "tensorflow.py").write_text("import sys\nsys.stderr.write('broken tensorflow install\\n')\n"
                                            "raise ImportError('no tensorflow here')\n")
    res = _python("from adl_keras import _logging; _logging.quiet()", PYTHONPATH=f"{tmp_path}:{ROOT}")
    assert res.returncode != 0
    assert "broken tensorflow install" in res.stderr and "no tensorflow here" in res.stderr


def test_cli_progress_is_a_keras_progbar_with_eta(capsys):
    import keras
    import numpy as np

    from adl_keras import cli, training

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    progress = cli._Progress()
    x = np.ones((64, 3), "float32")
    # 3 of 5 planned epochs, as when early stopping ends a recipe
    model.fit(x, x[:, :1], epochs=3, batch_size=64, verbose=0, callbacks=[training.progress_callback(progress, 5)])
    out = capsys.readouterr().out
    assert "3/5" in out and "epoch" in out and "loss:" in out and out.endswith("\n")
    assert progress._bar is None  # closed at the end of training


def test_cli_progress_shows_each_epochs_metrics_not_their_average(capsys):
    import time

    from adl_keras import cli

    progress = cli._Progress()
    progress.epoch(0, 3)  # as training starts
    for epoch, accuracy in ((1, 0.0), (2, 0.5)):
        time.sleep(0.06)  # past the bar's redraw interval (0.05 s)
        progress.epoch(epoch, 3, {"accuracy": accuracy})
    out = capsys.readouterr().out
    assert "accuracy: 0.5000" in out and "accuracy: 0.2500" not in out


def test_cli_progress_times_the_first_epoch(capsys):
    """The bar starts when training starts: a one-epoch run taking 0.3 s must
    not report microseconds per epoch (a bar made at the end of epoch 1 did)."""
    import re
    import time

    import keras
    import numpy as np

    from adl_keras import cli, training

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    slow = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: time.sleep(0.3))
    x = np.ones((8, 3), "float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[training.progress_callback(cli._Progress(), 1), slow])
    value, unit = re.findall(r"(\d+)(us|ms|s)/epoch", capsys.readouterr().out)[-1]  # the final line
    assert float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit] >= 0.25
