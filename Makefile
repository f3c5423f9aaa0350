# Campus: `make run` starts the app with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON312 ?= $(shell p="$$(pyenv root 2>/dev/null)/versions/3.12.1/bin/python"; [ -x "$$p" ] && echo "$$p" || command -v python3.12)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_STUDENTS ?= 60

.PHONY: run test lint bench-deps clean

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON312)" ]; then echo "Python 3.12 is required (Django 6). Install it, e.g. 'pyenv install 3.12.1'." >&2; exit 1; fi
	@[ -x $(PY) ] || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo --students $(DEMO_STUDENTS)
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bash scripts/run.sh

test: $(VENV)/.installed
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run -v0 --settings=config.settings.test
	@# compile the generator's kernel once into Numba's cache (tests that run a real worker would
	@# otherwise spend their time limit compiling it, as a fresh worker would without its warm-up)
	$(PY) -c "from timetable.engine.kernel import warm_up; print(f'timetable kernel ready in {warm_up():.1f} s')"
	$(PY) -m pytest --create-db -p no:randomly $(PYTEST_ARGS)

bench-deps: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[bench]"

clean:
	rm -rf $(VENV) var db.sqlite3* staticfiles
