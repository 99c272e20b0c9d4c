# The README's two commands: `make run` (demo service) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check openapi types lint-api field-app demo-field demo migrate bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p var
	DOORSTEP_DEMO=true $(BIN)/doorstep demo
	DOORSTEP_DEMO=true $(BIN)/doorstep demo-stack --host $(HOST) --port $(PORT)

# Replays a field day against the demo server that `make run` serves (run it in another terminal).
demo-field: $(STAMP)
	$(BIN)/python -m clients.python.field_day --server http://$(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

# Style and types: ruff (lint and format) on everything, mypy strict on api/ and sync/
# (the modules still listed in pyproject's [[tool.mypy.overrides]] are the typing debt).
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

openapi: $(STAMP)
	$(BIN)/doorstep openapi openapi/openapi.json
	$(BIN)/python -m clients.python.gen_operations
	$(BIN)/python -m clients.gen_web_protocol

# TypeScript types of the API for the mobile team (needs Node.js and npm).
types:
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run --silent generate

# openapi/openapi.json against the NL GOV API Design Rules (Spectral, pinned in tools/spectral;
# needs Node.js and npm; the ruleset's copy is openapi/adr). Fails on any error.
lint-api:
	cd tools/spectral && npm ci --no-audit --no-fund --loglevel=error && npm run --silent lint

# The field app (clients/web) into api/field_app/static, which is committed: `make run` needs no Node.
# Run it after changing clients/web or the sync protocol (`make openapi` refreshes its protocol.json).
field-app:
	cd clients/web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

# The benchmarks' own extras (matplotlib for bench/scale.py's chart), installed only here:
# `make run` and `make test` do not need them.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

# The reports benchmark drops and creates the database REPORTS_PG names.
REPORTS_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/doorstep_bench_reports

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python bench/import_signals.py --xlsx
	$(BIN)/python bench/load.py
	$(BIN)/python bench/auth_tokens.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/reports.py --cases 50000 --pg $(REPORTS_PG)
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) var
