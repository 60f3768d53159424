"""Dependencies a user can install beside their own: setup.cfg gives ranges,
constraints.txt the exact tested set, and the lower bounds really install."""

import configparser
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _requirements(extra=None):
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    text = cfg["options.extras_require"][extra] if extra else cfg["options"]["install_requires"]
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    return [Requirement(line) for line in lines if line]


def _constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def _lower_bound(req):
    return next(s.version for s in req.specifier if s.operator in (">=", "=="))


def test_install_requires_are_ranges_except_the_documented_shap_pin():
    for req in _requirements() + _requirements("test") + _requirements("docs"):
        ops = sorted(s.operator for s in req.specifier)
        if canonicalize_name(req.name) == "shap":
            assert ops == ["=="], req  # compat.import_shap patches shap's internals
        else:
            assert ops == ["<", ">="], f"{req} should be a tested range '>=low,<high'"


def test_constraints_pin_every_requirement_inside_its_range():
    pins = _constraints()
    for req in _requirements() + _requirements("test") + _requirements("docs"):
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt does not pin {req.name}"
        assert req.specifier.contains(pins[name]), f"constraints.txt pins {name}=={pins[name]} outside {req}"


def test_makefile_installs_with_the_constraints():
    assert 'pip install --quiet -c constraints.txt -e ".[test]"' in (ROOT / "Makefile").read_text()


@pytest.mark.slow
def test_wheel_installs_and_runs_with_every_lower_bound():
    """Installs the wheel into a fresh venv with each direct dependency at its
    lower bound (from the package index; minutes), then loads and evaluates
    a pretrained entry offline."""
    # Not tmp_path: pytest keeps only the last three base folders, and another
    # pytest session on a shared machine may remove ours during the long install.
    with tempfile.TemporaryDirectory(prefix="adl_keras_lower_bounds_") as folder:
        returncode, output, installed = _install_lower_bounds_and_evaluate(Path(folder))
    assert returncode == 0 and "OK" in output, (installed, output)


def _install_lower_bounds_and_evaluate(tmp_path):
    """Returns (exit code, output, installed adl_keras files) of an offline evaluation in the new venv."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("adl_keras-*.whl"))
    lower = tmp_path / "lower.txt"
    lower.write_text("".join(f"{r.name}=={_lower_bound(r)}\n" for r in _requirements()))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    # Without PYTHONPATH: a checkout on it (adl_keras.egg-info) would make pip skip the wheel.
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "ADL_KERAS_OFFLINE": "1"}
    subprocess.run([py, "-m", "pip", "install", "-q", "-c", str(lower), str(wheel)], check=True, env=env)
    code = ("import adl_keras; from adl_keras import zoo; "
            "r = zoo.evaluate('lenet5.digits'); assert r['match'], r; print('OK')")
    res = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    installed = sorted(p.name for p in venv.glob("lib/python*/site-packages/adl_keras*"))
    return res.returncode, res.stdout + res.stderr[-3000:], installed
