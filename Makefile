# Two commands on a fresh machine (Python 3.11+, no Docker, no PostgreSQL server needed):
#   make demo   generate a sample retailer and run the nightly pipeline on the embedded warehouse
#   make test   lint and run the test suite
# Sizes: make demo DEMO_ARGS="--customers 5000 --days 180"
# Real data: make demo-olist (the Olist dataset in ../shared/data/olist, or OLIST_DIR=...; see examples/olist/)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-olist test test-fast test-pg15 lint venv lock clean warehouse-stop bench bench-uplift bench-realdata \
	bench-scale deploy-check deploy-lint

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required (found %s); set PYTHON=python3.11" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@echo "==> Creating $(VENV) from requirements.txt + constraints.txt (the committed lock)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements.txt -c constraints.txt
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	@touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m devtools.demo $(DEMO_ARGS)

OLIST_DIR ?= ../shared/data/olist
OLIST_LANDING := data/olist/landing

demo-olist: $(STAMP)
	$(BIN)/python -m examples.olist.adapter --source $(OLIST_DIR) --out $(OLIST_LANDING) --overwrite
	$(BIN)/python -m devtools.demo --landing $(OLIST_LANDING) --run-date 2018-10-17 --config examples/olist/pipeline.yml

# ruff (style, complexity, no heavy imports in DAG files); the import contracts (one direction, no cycles, devtools
# outside the runtime); mypy on the runtime packages (configured in pyproject.toml); sqlfluff on the dbt models
# (.sqlfluff).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/sqlfluff lint dbt_project/models --processes 2 --disable-progress-bar

# Two pytest-xdist workers, each taking whole test files (module fixtures build one warehouse per file), each in a
# database of its own on the same server. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS)

# The tests that need no database (no warehouse, dbt or Airflow run): seconds, for the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not warehouse and not integration" $(PYTEST_ARGS)

# The tests that talk to the warehouse, against a PostgreSQL 15 server (the embedded one is 18; 14-16 are what most
# managed services run). Default: this machine's server on 127.0.0.1:5432 with trust authentication; the tests
# create and drop a database of their own there.
PG15_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# Every SQL path the night takes once (a whole night through `airflow dags test`, the gates, the loader, the
# action triggers, roles and retention); the slower integration modules run on the embedded server only.
PG15_TESTS ?= tests/integration/test_nightly_dag.py tests/expectations tests/proactive_crm/landing \
	tests/proactive_crm/actions tests/proactive_crm/privacy
test-pg15: $(STAMP)
	CRM_WAREHOUSE_URL=$(PG15_URL) $(BIN)/python -m pytest $(PG15_TESTS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest_throughput.py

# A whole night at retailer scale (benchmarks/scale.py): first load and build, one incremental night, a full
# rebuild, per step wall time, rows and peak memory. BENCH_SCALE_ARGS="--preset medium" (100,000 customers) or
# "--preset full" (1,000,000 customers, hours on 2 cores); results in benchmarks/README.md.
BENCH_SCALE_ARGS ?= --preset small
bench-scale: $(STAMP)
	PYTHONPATH=. nice -n 10 $(BIN)/python benchmarks/scale.py $(BENCH_SCALE_ARGS)

# Uplift learners on Hillstrom's randomised e-mail test (HILLSTROM=path to hillstrom.csv(.zip); a few minutes).
HILLSTROM ?= ../shared/data/hillstrom/hillstrom.csv.zip
bench-uplift: $(STAMP)
	PYTHONPATH=. nice -n 10 $(BIN)/python benchmarks/uplift_hillstrom.py --source $(HILLSTROM)

# Deployment (README "Deploying"): the Celery topology on loopback with two workers, one killed mid-task
# (needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379); the compose schema check and Dockerfile lint.
deploy-check: $(STAMP)
	$(BIN)/python -m deploy.check $(DEPLOY_CHECK_ARGS)

deploy-lint: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(BIN)/hadolint Dockerfile

# Training and evaluation of every model on the real retailers in ../shared/data (Olist, Ta-Feng, grocery event
# log): one table per dataset, also written to benchmarks/results/realdata.md. Slow: a nightly build per dataset.
bench-realdata: $(STAMP)
	nice -n 10 $(BIN)/python benchmarks/realdata.py --out benchmarks/results/realdata.md

# Re-lock after changing requirements.txt (uv resolves offline-friendly in a few seconds).
lock: $(STAMP)
	$(BIN)/uv pip compile requirements.txt -p 3.11 -o constraints.txt

warehouse-stop:
	-$(BIN)/python -m proactive_crm warehouse stop

clean: warehouse-stop
	rm -rf .crm data/demo data/olist dbt_project/target dbt_project/logs
