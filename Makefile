# Ultudy Jobs. `make run` runs everything on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run test test-deps test-unit lint bench bench-peers clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) ## migrate, start embedded Valkey + API + worker on http://127.0.0.1:8000
	$(BIN)/ultudy run

test: $(STAMP) test-deps ## the whole suite (embedded defaults; + PostgreSQL/Redis when ULTUDY_TEST_* set)
	$(BIN)/pytest $(PYTEST_ARGS)

test-deps: ## install what the tests need beyond the venv: Debian's Chromium (apt-get as root), npm ci in clients/react, tests/typescript and tests/node
	@scripts/test-deps.sh

test-unit: $(STAMP) ## only the fast unit tests
	$(BIN)/pytest tests/unit

lint: $(STAMP) ## ruff + mypy strict
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP) test-deps ## benchmarks; tables printed and written to bench/results/
	$(BIN)/python bench/run_all.py

# arq pins redis-py < 6, ours needs >= 6.2: added without its pins (see pyproject `peers`)
ARQ := arq==0.28.0

bench-peers: $(STAMP) ## raw bullmq, SAQ, taskiq, arq and ours side by side (installs them)
	$(BIN)/python -m pip install --quiet -e '.[peers]'
	$(BIN)/python -m pip install --quiet --no-deps '$(ARQ)'
	$(BIN)/python -m bench.peers $(PEERS_ARGS)

clean: ## remove the venv and local data
	rm -rf $(VENV) .ultudy .pytest_cache .mypy_cache .ruff_cache
