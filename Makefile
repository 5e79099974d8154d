# Every target installs what it needs into .venv first, so each works on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test lint demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/actionlint .github/workflows/*.yml

test: lint
	$(PY) -m pytest

demo: install
	$(PY) -m localrun.demo

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
