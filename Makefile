# Two commands on a fresh clone: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: demo test bench clean

# The core install (numpy, tqdm, the package itself), redone only when pyproject.toml changes.
$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[plots]"
	touch $@

# The test install: adds pytest (with xdist), hypothesis, torch==2.13.0 (CPU), playwright and
# the docs extra (the site's build and the notebooks run in the tests).
$(VENV)/.dev: $(VENV)/.core
	$(PIP) install --quiet -e ".[dev]"
	touch $@

demo: $(VENV)/.core
	$(PY) -m bptt demo

test: $(VENV)/.dev
	@bash .ci/ensure-chromium
	@bash .ci/ensure-nodejs
	$(PY) -m pytest -q -n auto

bench: $(VENV)/.dev
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
