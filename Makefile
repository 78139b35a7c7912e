# mlsys developer commands. `make` or `make help` lists them; CI (.ci/run) calls `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Use the machine's Python 3.11, never download one; precompile for fast cold starts
# (PYTHONDONTWRITEBYTECODE=1 may be set).
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --locked --no-sync
VENV := .venv/.synced
ARGS ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV): pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| { echo "Installing uv with pip..."; python3 -m pip install --quiet uv; }
	$(UV) sync --locked --all-groups
	@# The project's own modules too: uv compiles only installed packages, and with
	@# PYTHONDONTWRITEBYTECODE=1 Python would recompile src/ on every start.
	$(RUN) python -m compileall -q src
	@touch $@

.PHONY: setup
setup: $(VENV) ## Install uv if missing and sync .venv from uv.lock

.PHONY: train
train: $(VENV) ## Train the default model on data/leads.csv (extra overrides: ARGS="model=catboost")
	$(RUN) python -m mlsys.train $(ARGS)

.PHONY: new-experiment
new-experiment: $(VENV) ## Scaffold conf/experiment/NAME.yaml (make new-experiment NAME=q4_catboost)
	$(RUN) python -m mlsys.new experiment $(NAME) $(ARGS)

.PHONY: new-model
new-model: $(VENV) ## Scaffold a model class, conf/model/NAME.yaml and its test (NAME=extra_trees)
	$(RUN) python -m mlsys.new model $(NAME) $(ARGS)

.PHONY: test
test: lint format-check typecheck pytest ## Every CI gate: lint, format, types, all tests (what .ci/run runs)

.PHONY: pytest
# Test files spread over this many pytest-xdist workers (each file stays on one worker, so its
# module fixtures are built once). WORKERS=0 runs in one process.
WORKERS ?= 2

pytest: $(VENV) ## All tests, slow ones included, on 2 xdist workers (WORKERS=N to change)
	$(RUN) pytest -n $(WORKERS) --dist loadfile --durations=15 $(ARGS)

.PHONY: test-fast
test-fast: $(VENV) ## Tests without the slow ones (real data sets, long runs)
	$(RUN) pytest -n $(WORKERS) --dist loadfile -m "not slow" $(ARGS)

.PHONY: unit
unit: $(VENV) ## Unit tests only
	$(RUN) pytest -m unit $(ARGS)

.PHONY: integration
integration: $(VENV) ## Integration tests only (CLI subprocesses, real data, services)
	$(RUN) pytest -m integration $(ARGS)

.PHONY: lint
lint: $(VENV) ## ruff check
	$(RUN) ruff check src tests benchmarks serving infra/scripts

.PHONY: format-check
format-check: $(VENV) ## ruff format --check
	$(RUN) ruff format --check src tests benchmarks serving infra/scripts

.PHONY: format
format: $(VENV) ## Apply ruff format and safe lint fixes
	$(RUN) ruff format src tests benchmarks serving infra/scripts
	$(RUN) ruff check --fix src tests benchmarks serving infra/scripts

.PHONY: typecheck
typecheck: $(VENV) ## mypy --strict on src
	$(RUN) mypy --strict src

.PHONY: infra-check
infra-check: $(VENV) ## Validate infra/ and .github/workflows/ offline (schemas, promtool, terraform fmt)
	$(RUN) pytest tests/integration/test_infra.py $(ARGS)

.PHONY: data
data: $(VENV) ## Regenerate data/leads.csv (byte-identical) from the seeded generator
	$(RUN) python -m mlsys.data --out data/leads.csv

# Every script in benchmarks/ but the shared harness; each takes --smoke (tiny, seconds).
BENCH_SCRIPTS := $(filter-out benchmarks/_paired.py,$(sort $(wildcard benchmarks/*.py)))
# The scripts that write a page of docs/benchmarks/ with --write (the long measurements).
BENCH_PAGES := train_scaling sweep_parallel serving predict model_quality drift_calibration
# The scripts that print their figures (quoted in docs/DESIGN_DECISIONS.md) instead of a page.
BENCH_PRINTED := bootstrap rest_contract

.PHONY: bench
bench: $(VENV) ## Every benchmark, rewriting docs/benchmarks/ (long: run on a quiet machine)
	@for s in $(BENCH_PAGES); do echo "== benchmarks/$$s.py --write $(ARGS)"; \
		$(RUN) python benchmarks/$$s.py --write $(ARGS) || exit 1; done
	@for s in $(BENCH_PRINTED); do echo "== benchmarks/$$s.py"; \
		$(RUN) python benchmarks/$$s.py || exit 1; done

.PHONY: bench-smoke
bench-smoke: $(VENV) ## Every benchmark script on tiny inputs (seconds each; writes only to a tmp dir)
	@for s in $(BENCH_SCRIPTS); do echo "== $$s --smoke"; \
		$(RUN) python $$s --smoke || exit 1; done

.PHONY: bench-predict
bench-predict: $(VENV) ## Batch-scoring memory and rows/s on 2M and 10M leads (docs/benchmarks/predict.md)
	$(RUN) python benchmarks/predict.py --write $(ARGS)

MLFLOW_PORT ?= 5000
MLFLOW_DB ?= postgresql+psycopg://postgres@127.0.0.1:5432/mlsys

.PHONY: mlflow-ui
mlflow-ui: $(VENV) ## Browse the embedded store (outputs/mlflow.db) at http://127.0.0.1:5000 (one worker: starts fast)
	$(RUN) mlflow ui --backend-store-uri sqlite:///outputs/mlflow.db \
		--default-artifact-root outputs/mlartifacts --host 127.0.0.1 --port $(MLFLOW_PORT) \
		--workers 1

.PHONY: mlflow-server
mlflow-server: $(VENV) ## Team server on PostgreSQL (MLFLOW_DB=postgresql+psycopg://...; db must exist)
	$(RUN) mlflow server --backend-store-uri $(MLFLOW_DB) \
		--artifacts-destination outputs/mlflow-server-artifacts --serve-artifacts \
		--host 127.0.0.1 --port $(MLFLOW_PORT)

.PHONY: clean
clean: ## Remove caches and outputs/ (run dirs AND the embedded MLflow store/registry); keeps .venv
	rm -rf outputs/ .mypy_cache .ruff_cache .pytest_cache .hypothesis
