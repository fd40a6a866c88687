# Thin entry points: each target calls one tool. `make run` and `make test` need nothing
# but Python 3.11+, make and git: the first call bootstraps uv and the locked environment.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
VENV_STAMP := .venv/.synced
RUN := $(UV) run --frozen --no-sync

.PHONY: run test lint format docs bench refresh contract clean setup

setup: $(VENV_STAMP)

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(VENV_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $@

## run: load the landing files and build the warehouse on DuckDB (warehouse/crm.duckdb)
run: $(VENV_STAMP)
	$(RUN) python -m scripts.run_pipeline

## refresh: validate, load, build, test and atomically publish warehouse/published (cron-safe)
refresh: $(VENV_STAMP)
	$(RUN) python -m scripts.refresh

## bench: time full and incremental refresh vs a DuckDB reference and a pandas peer (docs/benchmarks.md)
bench: $(VENV_STAMP)
	$(RUN) python -m bench.harness $(BENCH_ARGS)

## validate: great-expectations suites on the landing extracts and the marts (Data Docs)
.PHONY: validate
validate: $(VENV_STAMP)
	$(RUN) python -m scripts.validate

## test: lint, Python tests, and dbt build on DuckDB, PostgreSQL and Spark
test: $(VENV_STAMP) lint
	$(RUN) pytest

lint: $(VENV_STAMP)
	$(RUN) ruff check scripts tests bench
	$(RUN) ruff format --check scripts tests bench
	$(RUN) python -m scripts.contract_to_sources --check
	$(RUN) sqlfluff lint --processes 2 models tests/dbt

format: $(VENV_STAMP)
	$(RUN) ruff format scripts tests bench
	$(RUN) ruff check --fix scripts tests bench
	$(RUN) sqlfluff fix models

docs: $(VENV_STAMP)
	$(RUN) dbt docs generate

contract: $(VENV_STAMP)
	$(RUN) python -m scripts.contract_to_sources

clean:
	rm -rf warehouse target logs .venv $(TOOLS)
