# consult: the two commands are `make run` and `make test`; everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
NHSUK_VERSION := 10.6.1
# apt-get needs root; use sudo when we are not root and sudo exists.
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo)

.PHONY: install install-test db run test test-postgres test-fast bench eval lint vendor chromium postgres redis clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,postgres,redis]'
	touch $@

install: $(VENV)/.installed  ## Create the virtual environment and install consult

db: install  ## Migrate the database and load the demo data if it is empty
	$(FLASK) init-db --demo-if-empty

run: install  ## Migrate, load the demo if the database is empty, print the logins, serve http://127.0.0.1:5000
	$(FLASK) serve --demo-if-empty --bind $(HOST):$(PORT) --workers 2 --threads 4

chromium:  ## Install Debian's Chromium for the browser tests if it is missing
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; \
	fi

postgres:  ## Install PostgreSQL binaries for the PostgreSQL tests if they are missing
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "Installing PostgreSQL for the database tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; \
	fi

redis:  ## Install Redis for the tests of Redis-kept rate limits if it is missing
	@if [ ! -x /usr/bin/redis-server ]; then \
		echo "Installing Redis for the rate-limit tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server; \
	fi

install-test: $(VENV)/.installed-test chromium postgres redis

test: install-test  ## Run the whole test suite, then the integration tests again on a throwaway PostgreSQL
	$(BIN)/pytest -n 2 --dist loadgroup -q
	CONSULT_TEST_DATABASE=postgresql $(BIN)/pytest -n 2 --dist loadgroup -q tests/integration

test-postgres: install-test  ## Only the integration tests, on a private throwaway PostgreSQL cluster
	CONSULT_TEST_DATABASE=postgresql $(BIN)/pytest -n 2 --dist loadgroup -q tests/integration

test-fast: install-test  ## The suite without the browser and slow tests
	$(BIN)/pytest -n 2 -q -m "not browser and not slow"

bench: install-test  ## Print speed and memory figures (load on SQLite and PostgreSQL, site pages, analysis)
	$(BIN)/python -m tests.bench.load
	$(BIN)/python -m tests.bench.request_cost
	$(BIN)/python -m tests.bench.site
	$(BIN)/python -m tests.bench.inclusion
	$(BIN)/python -m analysis.bench
	$(BIN)/python -m tests.bench.export
	$(BIN)/python -m tests.bench.restart

eval: install  ## Print analysis quality figures against human coding
	$(BIN)/python -m analysis eval

lint: install-test
	$(BIN)/ruff check consult analysis tests

vendor:  ## Rebuild static/nhsuk from the nhsuk-frontend npm package (its LICENSE file is kept)
	rm -rf /tmp/consult-vendor && mkdir -p /tmp/consult-vendor
	cd /tmp/consult-vendor && npm pack --silent nhsuk-frontend@$(NHSUK_VERSION) && tar xzf nhsuk-frontend-$(NHSUK_VERSION).tgz
	rm -rf static/nhsuk/assets static/nhsuk/*.css static/nhsuk/*.js
	cp -r /tmp/consult-vendor/package/dist/nhsuk/assets static/nhsuk/assets
	sed -e 's#//\# sourceMappingURL=.*##' /tmp/consult-vendor/package/dist/nhsuk/nhsuk-frontend.min.js > static/nhsuk/nhsuk-frontend.min.js
	# No fonts from assets.nhs.uk (no third-party requests); asset paths made relative to the CSS file.
	sed -e 's#@font-face{[^}]*assets\.nhs\.uk[^}]*}##g' -e 's#url(/assets/#url(assets/#g' -e 's#/\*\# sourceMappingURL=[^*]*\*/##' \
		/tmp/consult-vendor/package/dist/nhsuk/nhsuk-frontend.min.css > static/nhsuk/nhsuk-frontend.min.css
	sed -i -e '1s/frontend [0-9.]*/frontend $(NHSUK_VERSION)/' static/nhsuk/LICENSE

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
