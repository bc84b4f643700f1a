# STIC warehouse — `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export STIC_HOME := $(CURDIR)
export AIRFLOW_HOME := $(CURDIR)/airflow_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export SCARF_ANALYTICS := false

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-fast lint pipeline summary clean db-start db-stop bench celery-e2e bi

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]' 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $(STAMP)

setup: $(STAMP) ## Install everything into .venv and prepare Airflow and dbt (idempotent)
	$(BIN)/stic setup

demo: setup ## README's first command: sample data through the whole pipeline on the embedded warehouse
	$(BIN)/stic demo

test: setup ## README's second command: the whole test suite (real PostgreSQL, dbt, GX, Airflow)
	$(BIN)/pytest

# test-fast (under 3 minutes on 2 cores) leaves out every test marked slow: those that run Airflow (DAG runs,
# tasks, the Celery stack), a dbt build of the warehouse (tests/dbt's built marts, trace, row rules, mart suites,
# the intake corpus in the marts), a kill -9 crash matrix, the benchmark, or big and hostile files end to end.
test-fast: setup ## The suite without the slow tests (no Airflow runs, dbt builds, crash matrix, benchmark, big files)
	$(BIN)/pytest -m "not slow"

# lint needs only the venv. sqlfluff runs as tests/dbt/test_sqlfluff.py runs it: the dbt templater with the
# committed .sqlfluff and dbt_project/.sqlfluff, dbt_project/profiles.yml fed by STIC_PG_* (db.dbt_env). dbt-postgres
# connects while it compiles, so a warehouse must answer: `stic db url`'s one (WAREHOUSE_URL, else the embedded
# server, started if it is not running; no `make setup`). The jinja templater needs no database but does not load
# the project's macros (published_rows, row_fingerprint, …) and fails on 9 models, so it is not used.
# No `ruff format --check`: three files in four are not in ruff's format (the house keeps 110-column compact
# calls), and a list of the ones that happen to pass would rot with every new module.
lint: $(STAMP) ## ruff check of the Python code, sqlfluff lint of the dbt models (starts the embedded warehouse if need be)
	$(BIN)/ruff check include dags tests expectations
	DBT_TARGET_PATH=$(CURDIR)/.stic/lint/target DBT_LOG_PATH=$(CURDIR)/.stic/lint/logs $(BIN)/python -c \
	  'import os, sys; from stic.warehouse import db; os.environ.update(db.dbt_env(db.warehouse_url())); os.execv(sys.argv[1], sys.argv[1:])' \
	  $(BIN)/sqlfluff lint dbt_project/models --processes 1

bench: setup ## Benchmark against the machine's own limits (full scale; make bench ARGS=--quick for a short run)
	$(BIN)/stic bench $(ARGS)

celery-e2e: setup ## The docker-compose configuration without Docker: CeleryExecutor, Redis, 2 workers, sample through both DAGs
	$(BIN)/python -m stic.dev.stack e2e

pipeline: setup ## Run the DAGs on whatever is in landing/incoming (no sample generated)
	$(BIN)/stic run

summary: setup ## Print the warehouse summary
	$(BIN)/stic summary

bi: setup ## Apache Superset with the dashboards of bi/superset on http://127.0.0.1:8088, as stic_bi_reader (after make demo)
	$(BIN)/stic bi setup

db-start: setup ## Start the embedded warehouse (no-op with WAREHOUSE_URL)
	$(BIN)/stic db start

db-stop: setup ## Stop the embedded warehouse
	$(BIN)/stic db stop

clean: ## Remove the venvs and all local state (embedded warehouse, Superset, landing area, Airflow home, reports)
	-$(BIN)/stic bi stop 2>/dev/null
	-$(BIN)/stic db stop 2>/dev/null
	rm -rf $(VENV) .venv-superset .venv-superset.lock .stic landing reports airflow_home dbt_project/target dbt_project/logs
