"""The wheel carries the zoo: installed into a fresh venv, a pretrained entry
loads offline from the installed package (not from this checkout)."""

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_install_loads_pretrained_offline(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("adl_keras-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # Dependencies come from this environment (a plain path entry: this
    # environment's editable install of adl_keras is not activated by it).
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "deps.pth").write_text(site.getsitepackages()[0] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    code = ("import adl_keras, numpy as np; from adl_keras import zoo; "
            "assert 'site-packages' in adl_keras.__file__, adl_keras.__file__; "
            "m = zoo.load_model('lenet5.digits'); r = zoo.evaluate('lenet5.digits', model=m); "
            "assert r['match'], r; print('OK', adl_keras.__file__, zoo.list_models(pretrained=True))")
    env = {**os.environ, "ADL_KERAS_OFFLINE": "1", "PYTHONPATH": ""}
    res = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert res.returncode == 0 and "OK" in res.stdout, res.stdout + res.stderr[-3000:]
