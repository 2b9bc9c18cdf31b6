# Two commands matter: `make serve` and `make test`. Everything else is a step they depend on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DIST := dist
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: setup build serve test lint typecheck pytest system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(STAMP)

build: setup
	$(BIN)/ceopgraph build --out $(DIST)

serve: build
	$(BIN)/ceopgraph serve --host $(HOST) --port $(PORT) --dist $(DIST)

# Debian packages the test suite drives: Chromium for the browser tests.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: setup
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: setup
	$(BIN)/mypy

pytest: setup system-deps
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(DIST) .mypy_cache .ruff_cache .pytest_cache tests/artifacts
