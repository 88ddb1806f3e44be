# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTHON ?= python3

.PHONY: install run test lint typecheck unit integration load faults soak browser chromium oidc-provider bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: migrate the embedded SQLite database, seed the sandbox, serve core + console.
run: install
	$(BIN)/branchdesk db upgrade
	$(BIN)/branchdesk seed demo
	$(BIN)/branchdesk run

## Chromium for the browser tests (Playwright drives the system's Chromium).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium (Debian package)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## The single sign-on tests' identity provider (oidc-provider from npm, run with node):
## installed from its lock file, again only when the lock file changes.
OIDC_STAMP := tests/oidc/node_modules/.installed
$(OIDC_STAMP): tests/oidc/package.json tests/oidc/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "the SSO tests need node and npm (node 20+)"; exit 1; }
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

oidc-provider: $(OIDC_STAMP)

lint: install
	$(BIN)/ruff check app tests bench migrations/env.py
	$(BIN)/ruff format --check app tests bench migrations/env.py

typecheck: install
	$(BIN)/mypy app

unit: install
	$(PY) -m pytest tests/unit -q -p no:playwright

integration: install oidc-provider
	$(PY) -m pytest tests/integration -q -p no:playwright

# Browser tests run in their own pytest process: sync Playwright and asyncio don't share a loop.
browser: install chromium oidc-provider
	$(PY) -m pytest tests/browser -q -p no:asyncio

# The bank test starts a real core process on a freshly seeded database: its own process.
load: install
	$(PY) -m pytest tests/load -q -p no:playwright

# The fault suite starts its own PostgreSQL cluster, Redis server and core processes (never
# the ones DATABASE_URL / REDIS_URL name): its own pytest process. CI size here.
faults: install chromium
	$(PY) -m pytest tests/faults -q -p no:playwright
	$(PY) -m pytest tests/faults/browser -q -p no:asyncio

## make test: everything the CI runs (SQLite + in-process stores unless DATABASE_URL/REDIS_URL).
test: install chromium oidc-provider lint typecheck
	$(PY) -m pytest tests/unit tests/integration -q -p no:playwright
	$(PY) -m pytest tests/load -q -p no:playwright
	$(PY) -m pytest tests/faults -q -p no:playwright
	$(PY) -m pytest tests/browser -q -p no:asyncio
	$(PY) -m pytest tests/faults/browser -q -p no:asyncio

bench: install
	$(PY) -m bench

## make soak: the long runs. R1 + R2 at full size: 64 clients, 10,000 transfers among 100
## accounts, two core processes, faults throughout (replay one with FAULTS_SEED=<seed>);
## the backup drill (base backup + WAL restored to a point in time); the console under
## faults in Chromium (its own pytest process); schemathesis against the live core with at
## least 1,000 generated requests (quality.md R6).
soak: install chromium oidc-provider
	SCHEMATHESIS_EXAMPLES=50 SCHEMATHESIS_MIN_REQUESTS=1000 $(PY) -m pytest tests/integration/api/test_contract_schemathesis.py -q -p no:playwright
	FAULTS_SOAK=1 $(PY) -m pytest tests/faults/test_bank_faults.py -q -p no:playwright -s
	$(PY) -m pytest tests/faults/test_backup_drill.py -q -p no:playwright
	$(PY) -m pytest tests/faults/browser -q -p no:asyncio

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
