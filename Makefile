# Two commands for a fresh Debian/Ubuntu machine: `make up` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WASM   := src/hashforge/web/static/webmine/hf_kernels.wasm

.PHONY: up test lint typecheck check system-deps clean

# The venv is rebuilt whenever the project's dependencies or its C extensions' sources change.
$(STAMP): pyproject.toml setup.py scripts/system-deps.sh $(wildcard src/hashforge/*/native/*.[ch])
	bash scripts/system-deps.sh python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser miner's kernel, from the scalar C kernels (no compiler: the page uses plain JS).
$(WASM): $(STAMP) src/hashforge/kernels/wasm/hf_wasm.c src/hashforge/kernels/native/sha256_scalar.c \
		src/hashforge/kernels/native/scrypt_scalar.c src/hashforge/kernels/native/hf_kernels.h
	$(BIN)/python -m hashforge.kernels.wasm.build --out $@

up: $(STAMP) $(WASM)
	$(BIN)/hashforge up $(UP_ARGS)

system-deps:
	bash scripts/system-deps.sh test

test: $(STAMP) system-deps $(WASM)
	$(BIN)/python -m pytest -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
