# Cueillette — `make demo` to try it, `make test` to run every test and check.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
PG_BIN ?= /usr/lib/postgresql/15/bin
PG_DIR ?= /tmp/cueillette-pg
PG_PORT ?= 55432
PG_URL := postgres://cueillette@127.0.0.1:$(PG_PORT)/cueillette
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings

.PHONY: help demo install system-deps check test test-sqlite test-pg pg-start pg-stop messages bench clean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## create the virtualenv and install

system-deps: ## Debian packages the tests need (chromium, PostgreSQL, gettext), npm axe-core
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -x $(PG_BIN)/initdb || missing="$$missing postgresql"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@test -f node_modules/axe-core/axe.min.js || npm install --no-audit --no-fund --silent axe-core@4 >/dev/null

messages: $(VENV)/.installed ## compile the French/English catalogs
	cd cueillette && ../$(PY) ../manage.py compilemessages -v 0

check: $(VENV)/.installed ## ruff (lint + format), mypy strict, migrations, deploy checks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy cueillette config
	DJANGO_SETTINGS_MODULE=config.test_settings $(PY) manage.py makemigrations --check --dry-run
	CUEILLETTE_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) CUEILLETTE_HTTPS=1 \
	  CUEILLETTE_ALLOWED_HOSTS=crm.example.org $(PY) manage.py check --deploy --fail-level WARNING

pg-start: ## start a throwaway PostgreSQL on 127.0.0.1:$(PG_PORT) (tests)
	@if [ -n "$$DATABASE_URL" ]; then echo "using DATABASE_URL"; exit 0; fi; \
	if $(PG_BIN)/pg_isready -q -h 127.0.0.1 -p $(PG_PORT) 2>/dev/null; then exit 0; fi; \
	rm -rf $(PG_DIR) && mkdir -p $(PG_DIR) && chown postgres $(PG_DIR) 2>/dev/null || true; \
	if [ "$$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; else RUN=""; fi; \
	$$RUN $(PG_BIN)/initdb -D $(PG_DIR)/data -U cueillette --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null && \
	$$RUN $(PG_BIN)/pg_ctl -D $(PG_DIR)/data -o "-k $(PG_DIR) -p $(PG_PORT) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" -l $(PG_DIR)/log -w start >/dev/null && \
	$$RUN $(PG_BIN)/createdb -h 127.0.0.1 -p $(PG_PORT) -U cueillette cueillette && echo "PostgreSQL ready on 127.0.0.1:$(PG_PORT)"

pg-stop: ## stop the throwaway PostgreSQL
	-@if [ "$$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; fi; $$RUN $(PG_BIN)/pg_ctl -D $(PG_DIR)/data stop -m fast >/dev/null 2>&1; true

test-sqlite: $(VENV)/.installed messages
	$(VENV)/bin/pytest -q

test-pg: $(VENV)/.installed messages pg-start
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(VENV)/bin/pytest -q -m "not browser"

test: $(VENV)/.installed system-deps check test-sqlite test-pg ## every check and test, on SQLite and PostgreSQL

demo: $(VENV)/.installed messages ## set up SQLite with demo data, start the worker, serve on :8000
	mkdir -p var
	$(PY) manage.py migrate -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py load_demo
	@echo ""
	@echo "  Cueillette is starting on http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password: demo-cueillette):"
	@echo "    owner   claire@cabinet-lumiere.example   (acupuncture practice, also owns the shop)"
	@echo "    manager marc@epicerie-voisine.example    (neighbourhood shop)"
	@echo "    counter lea@epicerie-voisine.example     (counter staff)"
	@echo "  Emails are written to var/mail/. Production setup: docs/deploy.md"
	@echo ""
	$(PY) manage.py db_worker --queue-name '*' >var/worker.log 2>&1 & echo $$! > var/worker.pid
	trap 'kill $$(cat var/worker.pid) 2>/dev/null' EXIT; CUEILLETTE_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

bench: $(VENV)/.installed ## run the benchmarks
	$(PY) bench/customers.py

clean: pg-stop ## remove the virtualenv, the demo database and caches
	rm -rf $(VENV) var node_modules
