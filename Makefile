# Holdfast: `make run` starts everything, `make test` runs the test-suite. Both work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser run test test-e2e lint format bench bench-startup ledger-check clean-data simulate

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The browser journeys (e2e/) drive Chromium: the machine's, or one this gets (scripts/ensure_browser.py).
browser: install
	@$(BIN)/python scripts/ensure_browser.py

run: install
	$(BIN)/python scripts/run.py

test: install browser
	$(BIN)/pytest

test-e2e: install browser
	$(BIN)/pytest -m e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/ledger_bench.py
	$(BIN)/python bench/escrow_bench.py
	$(BIN)/python bench/payout_bench.py
	$(BIN)/python bench/live_bench.py
	$(BIN)/python bench/reporting_bench.py
	$(BIN)/python bench/http_bench.py

# A first `make run` on empty data, phase by phase (its own data directory and ports).
bench-startup: install
	$(BIN)/python bench/startup_bench.py --warm

# The seeded whole-system money simulation (simulation/): the same SEED gives the same actions.
SEED ?= 1
STEPS ?= 20000
simulate: install
	$(BIN)/python -m simulation --seed $(SEED) --steps $(STEPS)

ledger-check: install
	$(BIN)/python manage.py ledger_check

HOLDFAST_DATA_DIR ?= .data
clean-data:
	rm -rf "$(HOLDFAST_DATA_DIR)"
