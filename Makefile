# rectrack: `make run` to serve the Kirklees review, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-sqlite test-postgres lint install install-dev bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Migrate and seed the embedded SQLite database, make the first admin key (once), serve on 127.0.0.1:8000.
run: install
	$(BIN)/rectrack migrate
	$(BIN)/rectrack seed
	$(BIN)/rectrack keys bootstrap
	$(BIN)/rectrack serve

## Lint, then the whole suite on SQLite and on a throwaway PostgreSQL, both passes at once
## (each is mostly one CPU's work); each pass's output is printed whole when it ends.
## Chromium (for the browser tests) is installed first, when missing, before the passes start.
test: lint
	scripts/ensure-chromium
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

## Ruff, and the layering contracts of pyproject.toml (import-linter).
lint: install-dev
	$(BIN)/ruff check app seed migrations tests bench
	$(BIN)/lint-imports

test-sqlite: install-dev
	env -u RECTRACK_DATABASE_URL -u RECTRACK_TEST_POSTGRES_URL scripts/ensure-chromium $(BIN)/pytest

test-postgres: install-dev
	scripts/ensure-chromium scripts/with-postgres $(BIN)/pytest

## Regenerate docs/screenshots/ (the README's pictures) from a seeded database, in headless Chromium.
screenshots: install-dev
	scripts/ensure-chromium $(BIN)/python scripts/screenshots.py

## Benchmarks: S, M, L on SQLite and PostgreSQL, three rounds each, into docs/benchmarks.md (~42 min; installs wrk if missing).
bench: install-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-artifacts rectrack.db rectrack.db-wal rectrack.db-shm
