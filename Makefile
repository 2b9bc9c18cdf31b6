# Two commands matter: `make serve` and `make test`. Everything else is a step they depend on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DIST := dist
HOST ?= 127.0.0.1
PORT ?= 5000
# The store of record of the write path (releases, drafts, tokens); the built dataset becomes its release 1.
DATA_DIR ?= var

ASSETS := node_modules/.package-lock.json

.PHONY: setup build serve test check lint typecheck pytest system-deps w3c-suite bench bench-replicas bench-tables bench-search clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The SPARQL editor (YASGUI) from the npm registry, pinned by the committed lockfile; served by Flask
# from our own origin, never committed and never loaded from a CDN.
$(ASSETS): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's nodejs and npm for the SPARQL editor"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

setup: $(STAMP) $(ASSETS)

build: setup
	$(BIN)/ceopgraph build --out $(DIST)

serve: build
	$(BIN)/ceopgraph serve --host $(HOST) --port $(PORT) --dist $(DIST) --data-dir $(DATA_DIR)

# Debian packages the test suite drives: libseccomp2 (the confined worker processes; `serve` needs it too, and
# every Debian has it), Chromium for the browser tests, Virtuoso as the second independent SPARQL 1.1 store for
# the remote-backend and publish tests (Oxigraph server comes from PyPI), PostgreSQL for the registry's second
# backend (the suite starts its own server: tests/postgres.py).
system-deps:
	@ldconfig -p | grep -q 'libseccomp\.so\.2' || { \
	  echo "installing Debian's libseccomp2: worker processes are confined with seccomp"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp2 >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v virtuoso-t >/dev/null 2>&1 || { \
	  echo "installing Debian's virtuoso-opensource for the remote store tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the tests of the PostgreSQL store of record"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

lint: setup
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

# One mypy run (pyproject.toml's [tool.mypy]): src/ceopgraph in strict mode, tests/ with every body checked.
typecheck: setup
	$(BIN)/mypy

# The W3C SPARQL 1.1 test suite (tests/w3c/ runs it against a live server): taken from rdflib's source
# distribution on PyPI, pinned by its sha256 in tests/w3c/suite-requirements.txt; only the suite's folder
# is kept, in an ignored cache. The stamp makes it a one-time download: a second run needs no network.
W3C_CACHE := .w3c-suite
W3C_STAMP := $(W3C_CACHE)/.extracted
W3C_PIN := tests/w3c/suite-requirements.txt

$(W3C_STAMP): $(W3C_PIN) | $(STAMP)
	rm -rf $(W3C_CACHE) && mkdir -p $(W3C_CACHE)/download
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: --require-hashes -r $(W3C_PIN) \
	  -d $(W3C_CACHE)/download
	tar -xzf $(W3C_CACHE)/download/rdflib-*.tar.gz -C $(W3C_CACHE) --strip-components=5 \
	  --wildcards '*/test/data/suites/w3c/sparql11/*'
	rm -rf $(W3C_CACHE)/download
	touch $@

w3c-suite: $(W3C_STAMP)

# The suite runs in parallel processes, one per core (`PYTEST_WORKERS=0` runs it in one), each test file
# kept in one process (its module's fixtures are set up once); the summary counts the processes it started.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile

pytest: setup system-deps $(W3C_STAMP)
	$(BIN)/pytest $(PYTEST_PARALLEL)

# Not part of `make test`: performance at scale on synthetic data, side by side with Oxigraph server and
# rdflib-endpoint (every request a different query, and one query repeated), the limits of each layer, then
# hostile clients against the built dataset (about 13 minutes on 2 cores); writes
# bench/results.md. `bench/sparql_bench.py` alone compares the endpoint with Oxigraph server on the built
# dataset; `bench/attack.py` alone replaces only the Attack section (`--no-write`: print it only).
bench: build
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "installing Debian's wrk for the benchmark"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/scale.py

# Not part of `make test` nor `make bench`: replicas over one PostgreSQL of its own (Debian's binaries, a
# temporary folder): publish to served by every replica, read throughput with 1, 2 and 4 replicas pinned by
# `taskset`, the write path on SQLite against PostgreSQL (about 6 minutes on 2 cores); writes its section of
# bench/results.md.
bench-replicas: setup system-deps
	$(BIN)/python bench/replicas.py --write

# Not part of `make test` nor `make bench`: tables in and out. A draft from a CSV and an XLSX table of 1k, 10k
# and 100k rows through the write path (time, the validation worker's peak memory, the status of a table
# past a bound), then a cube of 100k observations: its CSV made, and downloads of it against the TriG dump's
# from `ceopgraph serve` (about 8 minutes on 2 shared cores); writes its section of bench/results.md.
bench-tables: setup
	$(BIN)/python bench/tables.py --write

# Not part of `make test` nor `make bench`: the search index at 100k and 1M synthetic triples (extraction, build
# time, size) and each query's p50/p99, on SQLite and on a PostgreSQL of its own; writes the Search section of
# bench/results.md.
bench-search: setup system-deps
	$(BIN)/python bench/search.py --postgres --write

test: lint typecheck pytest

# The edit loop: lint, types and every test that starts no process of its own (no server, store, browser or
# command line; tests/tiers.py marks the others `live`). `make test` runs these and the live ones.
check: lint typecheck $(W3C_STAMP)
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not live"

clean:
	rm -rf $(DIST) .mypy_cache .ruff_cache .pytest_cache tests/artifacts $(W3C_CACHE)
