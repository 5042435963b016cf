# Everything installs from scratch into .venv; a second run reuses it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install lint typecheck test demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -n 2

# Each run starts from the seed (the emulator's state lives in examples/.reconcile/), plans,
# applies, then plans again to show the fleet converged.
demo: $(STAMP)
	rm -rf examples/.reconcile
	$(BIN)/reconcile validate examples
	$(BIN)/reconcile plan examples
	$(BIN)/reconcile apply examples --auto-approve
	$(BIN)/reconcile status examples
	$(BIN)/reconcile plan examples

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache examples/.reconcile
