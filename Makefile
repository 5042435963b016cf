# Everything installs from scratch into .venv from the pinned versions in locks/dev.lock (made by
# `make lock` from pyproject.toml), so a fresh machine gets the same versions on any day. The venv
# is rebuilt whole when pyproject.toml or a lock changes, and reused otherwise.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := locks/dev.lock
PIP := $(BIN)/python -m pip -q --disable-pip-version-check
DEMO := .demo

.PHONY: install lock lint typecheck test demo bench clean

$(STAMP): pyproject.toml $(LOCK) action/requirements.lock
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install "$$(grep '^pip==' $(LOCK))"
	$(PIP) install --no-deps -r $(LOCK)
	$(PIP) install --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

# The only way the locks change: resolve pyproject.toml afresh (newest versions the ranges allow).
lock: $(STAMP)
	$(BIN)/python tools/lock.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -n 2

# The demo runs on its own copy of examples/ in .demo/, so examples/ stays a clean tour: each run
# starts from the seed, plans, applies, then plans again to show the fleet converged.
demo: $(STAMP)
	rm -rf $(DEMO) && mkdir -p $(DEMO) && cp -r examples $(DEMO)/fleet && rm -rf $(DEMO)/fleet/.reconcile
	$(BIN)/reconcile validate $(DEMO)/fleet
	$(BIN)/reconcile plan $(DEMO)/fleet
	$(BIN)/reconcile apply $(DEMO)/fleet --auto-approve
	$(BIN)/reconcile status $(DEMO)/fleet
	$(BIN)/reconcile plan $(DEMO)/fleet

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO) .mypy_cache .pytest_cache .ruff_cache examples/.reconcile
