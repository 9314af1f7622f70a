# Two commands for a fresh Debian/Ubuntu machine: `make up` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test lint typecheck check system-deps clean

# The venv is rebuilt whenever the project's dependencies change.
$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/hashforge up $(UP_ARGS)

system-deps:
	bash scripts/system-deps.sh test

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
