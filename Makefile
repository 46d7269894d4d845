# meielinn — the only entry points a user needs. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV ?= $(shell command -v uv 2>/dev/null || echo "$(CURDIR)/.local/uv/bin/uv")
VENV := .venv
ENV := scripts/with_env.sh
PY := $(ENV) $(VENV)/bin/python
PYTEST_ARGS ?=
FUZZ_EXAMPLES ?= 100
FUZZ_WORKFLOWS ?= 200
FUZZ_SEED ?= 20260601

.PHONY: help run test fuzz lint format openapi bench bench-full cluster-check services services-stop migrate seed clean venv bootstrap

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	@echo "[setup] installing uv into .local/uv"
	@python3 -m pip install --quiet --target "$(CURDIR)/.local/uv" uv
	@test -x "$(UV)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@echo "[setup] environment: installing the locked dependencies into $(VENV)"
	@UV_PYTHON_DOWNLOADS=never "$(UV)" sync --locked --quiet --compile-bytecode
	@touch $@

venv: $(VENV)/.synced ## create the virtualenv from uv.lock

services: ## start local PostgreSQL+PostGIS and Redis (unless URLs are given)
	@scripts/dev_services.sh start

services-stop: ## stop the local PostgreSQL and Redis
	@scripts/dev_services.sh stop

migrate: venv services ## migrate the database to the newest revision
	@$(PY) scripts/db_state.py at-head || { echo "[migrate] migrations: bringing the database to the newest revision"; \
		$(ENV) $(VENV)/bin/alembic upgrade head; }

bootstrap: venv services migrate

seed: bootstrap ## restore the demo: the city, the demo accounts (erased ones too) and reports
	@$(PY) scripts/seed_demo.py

run: bootstrap ## set everything up and serve the API and a worker on the demo city
	@$(ENV) scripts/run.sh

test: venv services ## check the layering, then run the whole test suite (browser tests included)
	@scripts/test_browser.sh
	@$(VENV)/bin/lint-imports --no-cache --no-logo
	@$(ENV) $(VENV)/bin/pytest -n auto --dist loadfile $(PYTEST_ARGS)

fuzz: venv services ## fuzz every operation far longer than `make test` does, workflows too
	@MEIELINN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) MEIELINN_FUZZ_WORKFLOWS=$(FUZZ_WORKFLOWS) \
		MEIELINN_FUZZ_SEED=$(FUZZ_SEED) $(ENV) $(VENV)/bin/pytest -n auto --dist loadfile \
		tests/test_fuzz.py tests/test_fuzz_resident.py tests/test_fuzz_admin.py $(PYTEST_ARGS)

lint: venv ## the layering (import-linter), ruff, mypy and pip-audit of the locked dependencies
	@$(VENV)/bin/lint-imports --no-cache --no-logo
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy service workers scripts tests bench
	@UV="$(UV)" $(VENV)/bin/python scripts/audit_dependencies.py

format: venv ## apply ruff's formatting and safe fixes
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

openapi: venv ## write openapi/openapi.json from the app
	@$(PY) scripts/export_openapi.py

faults: bootstrap ## kill workers, restart Redis, cut connections while 1,000 deadlines fall due
	@$(ENV) $(VENV)/bin/python bench/faults.py

cluster-check: venv ## rehearse a city on replicas, PgBouncer, Sentinel, two APIs and worker pools (ports 55400-55499)
	@scripts/cluster_check.sh

bench: bootstrap ## HTTP hot paths against raw asyncpg (bench/http_bench.py), timing figures (bench/timing_bench.py)
	@$(ENV) scripts/run_benchmarks.sh

bench-full: bootstrap ## 1M reports through HTTP beside raw SQL, map-cell recount, deadline burst
	@$(ENV) scripts/run_bench_full.sh

clean: ## stop services and delete the virtualenv and all local data
	@scripts/dev_services.sh destroy
	@rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
