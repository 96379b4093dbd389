# Cueillette — `make demo` to try it, `make test` to run every test and check.
# Works on a fresh Debian 12 machine (as root, or with the Debian packages already installed).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
# The newest PostgreSQL installed from Debian (15 on bookworm).
PG_BIN ?= $(or $(lastword $(sort $(wildcard /usr/lib/postgresql/*/bin))),/usr/lib/postgresql/15/bin)
PG_DIR ?= /tmp/cueillette-pg
PG_PORT ?= 55432
PG_URL := postgres://cueillette@127.0.0.1:$(PG_PORT)/cueillette
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The suite runs on 2 workers (pytest-xdist; the machines have 2 cores) and in a random order
# (pytest-randomly), printed at the start and the end of each run: SEED=N replays an order.
# --dist loadgroup keeps a module marked xdist_group("...") on one worker, so what it seeds
# once (the demo data, a migrated template) is seeded once per run, not once per worker.
WORKERS ?= 2
ifeq ($(origin SEED), undefined)
SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
PYTEST := $(VENV)/bin/pytest -q --randomly-seed=$(SEED)
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq
# manage.py defaults to config.settings; the tests always use config.test_settings.
TEST_ENV := DJANGO_SETTINGS_MODULE=config.test_settings
export PIP_DISABLE_PIP_VERSION_CHECK := 1

PO_FILES := $(shell find cueillette -name '*.po' -path '*/LC_MESSAGES/*' 2>/dev/null)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: help demo install system-deps check test test-sqlite test-pg pg-start pg-stop messages \
	bench clean

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --------------------------------------------------------------------------- install

$(VENV)/.installed: pyproject.toml
	@if [ ! -x $(PIP) ] && ! $(PYTHON) -m venv $(VENV) >/dev/null 2>&1; then \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" != 0 ]; then echo "cannot create a virtualenv: apt-get install python3-venv" >&2; exit 1; fi; \
	  echo "installing python3-venv (Debian)"; \
	  apt-get update -qq && $(APT_INSTALL) python3-venv >/dev/null; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## create the virtualenv and install

system-deps: ## Debian packages the tests need (chromium, PostgreSQL, npm) and axe-core
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -x $(PG_BIN)/initdb || missing="$$missing postgresql"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$$missing (run make system-deps as root)" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && $(APT_INSTALL) $$missing >/dev/null; \
	fi
	@test -f node_modules/axe-core/axe.min.js || \
	  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent >/dev/null; \
	  else npm install --no-audit --no-fund --silent --no-save axe-core@4 >/dev/null; fi

# Catalogs are compiled with Babel (a Python dependency), so no gettext is needed. Like msgfmt,
# fuzzy entries are left out (pybabel's CLI would refuse a whole catalog with a fuzzy header).
COMPILE_MO := from sys import argv; from babel.messages.pofile import read_po; \
	from babel.messages.mofile import write_mo; \
	write_mo(open(argv[2], "wb"), read_po(open(argv[1], "rb"), abort_invalid=True))
%.mo: %.po $(VENV)/.installed
	$(PY) -c '$(COMPILE_MO)' $< $@

messages: $(MO_FILES) ## compile the French/English catalogs (.po -> .mo)

# --------------------------------------------------------------------------- quality

check: $(VENV)/.installed ## ruff (lint + format), mypy strict, migrations, deploy checks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy cueillette config
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings CUEILLETTE_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	  CUEILLETTE_HTTPS=1 CUEILLETTE_ALLOWED_HOSTS=crm.example.org \
	  $(PY) manage.py check --deploy --fail-level WARNING

# --------------------------------------------------------------------------- PostgreSQL

pg-start: ## start a throwaway PostgreSQL on 127.0.0.1:55432 (tests, bench)
	@if [ -n "$${DATABASE_URL:-}" ]; then echo "using DATABASE_URL"; exit 0; fi; \
	if $(PG_BIN)/pg_isready -q -h 127.0.0.1 -p $(PG_PORT) 2>/dev/null; then exit 0; fi; \
	if [ ! -x $(PG_BIN)/initdb ]; then $(MAKE) --no-print-directory system-deps; fi; \
	RUN=""; if [ "$$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; fi; \
	cd /; rm -rf $(PG_DIR); mkdir -p $(PG_DIR); \
	if [ "$$(id -u)" = 0 ]; then chown postgres $(PG_DIR); fi; \
	$$RUN $(PG_BIN)/initdb -D $(PG_DIR)/data -U cueillette --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null; \
	$$RUN $(PG_BIN)/pg_ctl -D $(PG_DIR)/data -l $(PG_DIR)/log -w start \
	  -o "-k $(PG_DIR) -p $(PG_PORT) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null; \
	$$RUN $(PG_BIN)/createdb -h 127.0.0.1 -p $(PG_PORT) -U cueillette cueillette; \
	echo "PostgreSQL ready on 127.0.0.1:$(PG_PORT) (make pg-stop to stop it)"

pg-stop: ## stop the throwaway PostgreSQL
	-@RUN=""; if [ "$$(id -u)" = 0 ]; then RUN="runuser -u postgres --"; fi; \
	cd /; test -d $(PG_DIR)/data && $$RUN $(PG_BIN)/pg_ctl -D $(PG_DIR)/data stop -m fast >/dev/null 2>&1; true

# --------------------------------------------------------------------------- tests

# Browser journeys run after the rest, one at a time: two Chromiums on two cores next to two
# workers make timing-sensitive journeys flaky, and they are a small part of the time.
test-sqlite: $(VENV)/.installed messages ## the whole suite on SQLite (browser journeys included)
	@echo "random order seed: $(SEED) (replay: make test-sqlite SEED=$(SEED))"
	$(TEST_ENV) $(PYTEST) -n $(WORKERS) --dist loadgroup -m "not browser" $(PYTEST_ARGS)
	$(TEST_ENV) $(PYTEST) -m browser $(PYTEST_ARGS)

# Each worker gets its own test database (pytest-django: test_<name>_gw0, test_<name>_gw1).
test-pg: $(VENV)/.installed messages ## the suite without browser journeys, on PostgreSQL
	@echo "random order seed: $(SEED) (replay: make test-pg SEED=$(SEED))"
	@if [ -n "$${DATABASE_URL:-}" ]; then \
	  $(TEST_ENV) $(PYTEST) -n $(WORKERS) --dist loadgroup -m "not browser" $(PYTEST_ARGS); exit; \
	fi; \
	started=""; \
	if ! $(PG_BIN)/pg_isready -q -h 127.0.0.1 -p $(PG_PORT) 2>/dev/null; then \
	  $(MAKE) --no-print-directory pg-start; started=1; \
	fi; \
	status=0; DATABASE_URL=$(PG_URL) $(TEST_ENV) $(PYTEST) -n $(WORKERS) --dist loadgroup -m "not browser" $(PYTEST_ARGS) \
	  || status=$$?; \
	if [ -n "$$started" ]; then $(MAKE) --no-print-directory pg-stop; fi; \
	exit $$status

test: system-deps $(VENV)/.installed messages check test-sqlite test-pg ## every check and test, on SQLite and PostgreSQL

# --------------------------------------------------------------------------- demo

# The demo shows the product as people will see it: its own error pages, not Django's debug
# pages (which list every URL). DEBUG=1 make demo turns debugging on. Static files are served
# by WhiteNoise either way. HOST=0.0.0.0 serves the local network: the machine's names and
# addresses are then allowed hosts and the links in emails use its first address.
DEBUG ?=
demo: $(VENV)/.installed messages ## SQLite, demo data, worker and scheduler; HOST=, PORT=, DEBUG=1
	mkdir -p var/mail
	$(PY) manage.py migrate -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py load_demo
	@host="$(HOST)"; shown="$$host"; hosts="$$host,127.0.0.1,localhost"; \
	case "$$host" in 0.0.0.0|::|"[::]") \
	  addrs="$$(hostname -I 2>/dev/null || true)"; \
	  shown="$$(echo $$addrs | cut -d' ' -f1)"; shown="$${shown:-127.0.0.1}"; \
	  hosts="$$hosts,$$(hostname 2>/dev/null || true),$$(echo $$addrs | tr ' ' ',')";; \
	esac; \
	case "$$shown" in *:*) shown="[$$shown]";; esac; \
	export CUEILLETTE_DEBUG="$(if $(DEBUG),1,0)" CUEILLETTE_SITE_URL="http://$$shown:$(PORT)" \
	  CUEILLETTE_ALLOWED_HOSTS="$${CUEILLETTE_ALLOWED_HOSTS:-$$hosts}"; \
	pids=""; \
	trap 'kill $$pids 2>/dev/null; wait 2>/dev/null; echo "stopped"' EXIT; \
	trap 'exit 0' INT TERM; \
	$(PY) manage.py db_worker --queue-name '*' --no-reload >var/worker.log 2>&1 & pids="$$pids $$!"; \
	if $(PY) manage.py help run_scheduler >/dev/null 2>&1; then \
	  $(PY) manage.py run_scheduler >var/scheduler.log 2>&1 & pids="$$pids $$!"; \
	fi; \
	echo ""; \
	echo "  Cueillette runs on $$CUEILLETTE_SITE_URL/   (Ctrl-C to stop)"; \
	if [ "$$CUEILLETTE_DEBUG" = 1 ]; then echo "  Debug is on (Django's debug pages)."; fi; \
	echo "  Demo logins, password: demo-cueillette"; \
	echo "    claire@cabinet-martin.example   owner of the acupuncture practice and of the shop"; \
	echo "    marc@epicerie-voisine.example   manager of the neighbourhood shop"; \
	echo "    lea@epicerie-voisine.example    counter staff at the shop"; \
	echo "  Emails land in var/mail/; worker and scheduler logs in var/*.log."; \
	echo "  Production setup (PostgreSQL, gunicorn, worker, backups): docs/deploy.md"; \
	echo ""; \
	$(PY) manage.py runserver --noreload $(if $(findstring :,$(HOST)),[$(HOST)],$(HOST)):$(PORT)

# --------------------------------------------------------------------------- bench

bench: $(VENV)/.installed ## the speed targets, on SQLite and PostgreSQL (bench/*.py)
	@if [ -z "$${DATABASE_URL:-}" ]; then $(MAKE) --no-print-directory pg-start; fi
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script; done

clean: pg-stop ## remove the virtualenv, the demo database and caches
	rm -rf $(VENV) var node_modules .mypy_cache .ruff_cache
	find cueillette -name '*.mo' -delete
