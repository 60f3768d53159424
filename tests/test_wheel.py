"""The wheel carries the zoo: built once, installed without dependencies into
a fresh venv, a pretrained entry loads offline from the installed package (not
from this checkout) and reproduces its card. Default run (~30 s)."""

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_install_loads_pretrained_offline(tmp_path):
    # nothing of this checkout on the path of any step (pytest runs may set PYTHONPATH to it)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "ADL_KERAS_OFFLINE": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    # Built from a clean copy: an in-tree build/ folder left by an earlier build would
    # put files in the wheel that the packaging metadata no longer ships.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", ".git", ".venv", "__pycache__", ".pytest_cache", "notebooks", "tests"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(source)], check=True, env=env)
    wheel = next((tmp_path / "dist").glob("adl_keras-*.whl"))
    venv = tmp_path / "venv"
    # No pip inside the venv (ensurepip costs seconds): this environment's pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)],
                   check=True, env=env)
    # Dependencies come from this environment (a plain path entry after the venv's own
    # site-packages: this environment's editable install of adl_keras is not activated by it).
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, env=env).stdout.strip()
    Path(purelib, "deps.pth").write_text(site.getsitepackages()[0] + "\n")
    code = ("import adl_keras, numpy as np; from adl_keras import zoo; "
            "assert adl_keras.__file__.startswith(%r), adl_keras.__file__; "
            "m = zoo.load_model('lenet5.digits'); r = zoo.evaluate('lenet5.digits', model=m); "
            "assert r['match'], r; names = zoo.list_models(pretrained=True); "
            "assert 'lenet5.digits' in names and 'dcgan.digits' in names, names; "
            "print('OK', adl_keras.__file__)") % str(venv)
    res = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert res.returncode == 0 and "OK" in res.stdout, res.stdout + res.stderr[-3000:]
