# The README's commands. Each creates .venv and installs the package if needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install demo test test-slow test-ray bench notebooks clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel setuptools
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m adl_keras.demo

test: $(STAMP)
	$(PY) -m pytest -q --durations=15

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow --durations=15

# Ray Train as a launcher (adl_keras[ray]): ray[train] needs typing-extensions >= 4.14 (through
# pydantic 2) while tf-agents 0.19 pins ==4.5.0, so Ray goes into its own venv layered over this one
# (TF-Agents works with the newer typing-extensions there; checked by importing the TF-Agents path).
RAY_VENV := .venv-ray
test-ray: $(STAMP)
	@test -x $(RAY_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(RAY_VENV) || python3 -m venv --without-pip $(RAY_VENV)
	$(PY) -c "import site; print(site.getsitepackages()[0])" > "$$($(RAY_VENV)/bin/python -c 'import site; print(site.getsitepackages()[0])')/adl_keras_base.pth"
	$(PY) -m pip --python $(RAY_VENV)/bin/python install --quiet "ray[train]>=2.40,<3"
	PYTHONPATH=$(CURDIR) $(RAY_VENV)/bin/python -m pytest -q -m slow tests/distribute/test_ray.py

bench: $(STAMP)
	$(PY) -m benchmarks.run_all
	$(PY) -m benchmarks.readme_table

clean:
	rm -rf $(VENV) build dist *.egg-info
