# Two commands on a fresh clone: `make demo` and `make test`. Both build .venv on first use.
# `make docs` builds the documentation site into site/ (open site/index.html).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: demo test docs bench clean

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

# The docs install: the docs extra (MkDocs, Material, mkdocstrings, nbclient, ...; pinned in
# pyproject.toml) and torch, which the last notebook runs.
$(VENV)/.docs: $(VENV)/.core
	$(PIP) install --quiet -e ".[docs,torch]"
	touch $@

demo: $(VENV)/.core
	$(PY) -m bptt demo

test: $(VENV)/.dev
	@bash .ci/ensure-chromium
	@bash .ci/ensure-nodejs
	$(PY) -m pytest -q -n auto

# The notebooks are executed (about a minute) into docs/notebooks/, which the site renders; then
# the strict build: a broken link, a missing page, a name that does not exist or any warning fails.
docs: $(VENV)/.docs
	rm -rf docs/notebooks
	$(PY) notebooks/run.py --out docs/notebooks
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

bench: $(VENV)/.dev
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis site
