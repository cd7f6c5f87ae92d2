# Two commands do all the set-up themselves and are safe to run again:
#   make dashboard   serve the dashboard on http://127.0.0.1:8501
#   make test        run the whole test suite
# The virtual environment is rebuilt only when what the package declares changes (stamp files:
# requirements.txt, pyproject.toml, setup.py), and
# UMAP's numba code is compiled once into NUMBA_CACHE (python -m lmc.warmup) for the dashboard.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8501
PACKAGE := requirements.txt pyproject.toml setup.py
RUNTIME_STAMP := $(VENV)/.runtime-$(shell cat $(PACKAGE) | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat $(PACKAGE) | sha1sum | cut -c1-12)
NUMBA_CACHE := $(CURDIR)/.lmc-cache/numba
# Inside the cache it stands for: deleting the cache deletes the stamp, and the next run refills it.
UMAP_WARM := $(NUMBA_CACHE)/.umap-warm

.PHONY: dashboard test lint bench browser clean-venv

# The editable install is built here, without isolation, by setuptools 70.1 or later (earlier
# ones need the wheel package); Python 3.11's venv brings setuptools 65.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools>=70.1"

# The package installs its own dependencies (requirements.txt's pins); the dev extra adds the
# test and lint tools and TensorBoard (pyproject.toml).
$(RUNTIME_STAMP): $(PACKAGE) | $(VENV)/bin/python
	$(PY) -m pip install -q --no-build-isolation -e .
	touch $@

$(DEV_STAMP): $(PACKAGE) | $(RUNTIME_STAMP)
	$(PY) -m pip install -q --no-build-isolation -e ".[dev]"
	touch $@

# Again after a new environment (its stamp is newer) or a change to the code that calls UMAP. A
# failed warm-up leaves no stamp (the next run tries again) and does not stop the dashboard: its
# first UMAP then compiles the code itself.
$(UMAP_WARM): $(RUNTIME_STAMP) lmc/warmup.py lmc/analysis/umap_runtime.py lmc/analysis/projection.py
	@if NUMBA_CACHE_DIR=$(NUMBA_CACHE) $(PY) -m lmc.warmup; then touch $@; \
	else echo "UMAP warm-up failed: the dashboard's first UMAP will compile numba code (15-30 s)"; fi

# Debian's Chromium drives the browser tests (Playwright's own browser download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests"; fi; }

# `lmc dashboard` carries the server's options (dashboard/launch.py): XSRF, upload cap, no tracebacks.
dashboard: $(RUNTIME_STAMP) $(UMAP_WARM)
	NUMBA_CACHE_DIR=$(NUMBA_CACHE) $(VENV)/bin/lmc dashboard --host $(HOST) --port $(PORT)

test: $(DEV_STAMP) browser
	NUMBA_CACHE_DIR=$(NUMBA_CACHE) $(PY) -m pytest

lint: $(DEV_STAMP)
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

bench: $(RUNTIME_STAMP)
	$(PY) -m lmc.bench

clean-venv:
	rm -rf $(VENV)
