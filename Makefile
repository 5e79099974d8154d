# Every target installs what it needs into .venv first, so each works on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Lambda runs the handler on python3.13: its tests also run on that interpreter when the machine has one.
# (pyenv's shim is on PATH even where 3.13 is not selected, so each candidate must actually run.)
PYTHON_LAMBDA ?= $(firstword $(foreach p,$(wildcard /root/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null),$(shell $(p) -c 'print("$(p)")' 2>/dev/null)))
VENV_LAMBDA ?= .venv-py313

.PHONY: install test test-lambda-runtime lint demo local-cloud bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-ops.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/actionlint .github/workflows/*.yml

# Two workers, one test file each at a time: a file's module-scoped deployment stays in its worker.
test: lint
	$(PY) -m pytest -n 2 --dist loadfile
	$(MAKE) --no-print-directory test-lambda-runtime

# The handler's tests on the Lambda runtime's Python version (its own venv, same pins).
test-lambda-runtime:
ifeq ($(strip $(PYTHON_LAMBDA)),)
	@echo "test-lambda-runtime: SKIPPED, no python3.13 interpreter on this machine"
else
	@$(MAKE) --no-print-directory $(VENV_LAMBDA)/.installed
	$(VENV_LAMBDA)/bin/python -m pytest -q -p no:cacheprovider -n 2 tests/lambdas
endif

# Reinstalled whenever a pin changes, like $(VENV).
$(VENV_LAMBDA)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON_LAMBDA) -m venv $(VENV_LAMBDA)
	$(VENV_LAMBDA)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: install
	$(PY) -m localrun.demo

# The stack in a moto server on 127.0.0.1:$(PORT), pipeline on the wall clock, until Ctrl-C (README: Local cloud).
PORT ?= 4566
local-cloud: install
	$(PY) -m localrun.local_cloud --port $(PORT)

bench: install
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) $(VENV_LAMBDA) build .pytest_cache .ruff_cache
