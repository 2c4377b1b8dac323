# creditscore: `make demo` and `make test` create .venv, install what they need, and run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: help install demo test test-fast lint format typecheck bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install creditscore with every extra

demo: $(STAMP)  ## train on the bundled German credit data and show the champion
	$(BIN)/creditscore train

test: $(STAMP)  ## run the whole test suite (what CI runs)
	$(BIN)/pytest -n 2 --dist loadfile

test-fast: $(STAMP)  ## the tests not marked slow
	$(BIN)/pytest -n 2 -m "not slow"

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)  ## apply ruff formatting and safe fixes
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

typecheck: $(STAMP)  ## mypy on src/
	$(BIN)/mypy

bench: $(STAMP)  ## model quality benchmark: repeated CV and same-split holdout tables (slow)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/model_quality.py

clean:  ## remove the virtualenv, caches and local artifacts
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache artifacts
