# The README's commands. Each creates .venv and installs the package if needed.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install fashion-data demo test test-slow test-ray bench figures notebooks docs docs-check chromium clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel setuptools
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $(STAMP)

install: $(STAMP) fashion-data

# Real Fashion-MNIST from Debian's dataset-fashion-mnist (adl_keras.data.fashion_mnist).
# Installed with apt where we are root with apt-get (as in CI); never fails the build.
FASHION_FILE := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
fashion-data:
	@if [ -f $(FASHION_FILE) ] || [ -f "$$ADL_KERAS_DATA/t10k-labels-idx1-ubyte.gz" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's dataset-fashion-mnist (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } || \
	  echo "apt-get could not install dataset-fashion-mnist; Fashion-MNIST tests will skip (fail with CI=true)."; \
	else \
	  echo "Fashion-MNIST is not installed: run 'sudo apt-get install dataset-fashion-mnist', or set ADL_KERAS_DATA"; \
	  echo "to a folder with the four *-ubyte.gz files; its tests skip until then (fail with CI=true)."; \
	fi

demo: $(STAMP) fashion-data
	$(PY) -m adl_keras.demo

test: $(STAMP) fashion-data
	$(PY) -m pytest -q --durations=15

test-slow: $(STAMP) $(DOCS_STAMP) fashion-data chromium
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

# The docs site: Sphinx + myst-nb (the `docs` extra). Formulas render offline with Debian's
# libjs-mathjax, and tests/test_docs.py (slow) opens every page in Debian's headless chromium;
# both are installed with apt where we are root with apt-get (as in CI), like fashion-data.
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,docs]"
	@touch $(DOCS_STAMP)

DOCS_DEBS := chromium libjs-mathjax
chromium:
	@if command -v chromium >/dev/null 2>&1 && [ -f /usr/share/javascript/mathjax/MathJax.js ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's $(DOCS_DEBS) (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq $(DOCS_DEBS) >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $(DOCS_DEBS) >/dev/null 2>&1; } || \
	  echo "apt-get could not install $(DOCS_DEBS); the browser check of the docs skips (fails with CI=true)."; \
	else \
	  echo "Debian's $(DOCS_DEBS) are not installed: run 'sudo apt-get install $(DOCS_DEBS)'; without them"; \
	  echo "formulas load MathJax from its CDN and the browser check of the docs skips (fails with CI=true)."; \
	fi

docs: $(DOCS_STAMP) chromium
	$(PY) -m sphinx -b html -q docs docs/_build/html
	@echo "open docs/_build/html/index.html"

# Opens every page in headless Chromium; screenshots go to docs/_build/screenshots/.
docs-check: docs
	$(PY) -m adl_keras.testing.browser docs/_build/html

# Card pictures (maintainers): redraws every shipped entry's pictures from its held-out data into
# this checkout's zoo/ and re-renders the cards (`adl-zoo evaluate NAME --figures --out zoo`).
# `make figures ENTRIES="lenet5.digits mlp.wine"` redraws only those.
ENTRIES ?= $(shell $(PY) -c "from adl_keras.zoo import figures; print(' '.join(figures.drawable_entries()))")
figures: $(STAMP)
	@failed=""; for n in $(ENTRIES); do \
	  $(PY) -m adl_keras.cli evaluate $$n --weights shipped --figures --out zoo || failed="$$failed $$n"; \
	done; \
	if [ -n "$$failed" ]; then echo "figures or metrics failed for:$$failed"; exit 1; fi

# Executes every notebook and stores its outputs (tests/test_notebooks.py checks they are current).
notebooks: $(STAMP)
	$(PY) -m adl_keras.testing.notebooks

clean:
	rm -rf $(VENV) build dist *.egg-info docs/_build docs/_generated
