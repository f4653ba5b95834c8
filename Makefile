# Two commands on a fresh machine:  make reproduce   and   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.studykit-installed
JOBS ?= 2

.PHONY: setup reproduce test test-slow lab report browser bench clean-outputs lock

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name studykit --display-name "Python (studykit)" >/dev/null
	@touch $@

setup: $(STAMP)

browser:
	@bash scripts/ensure-chromium.sh

reproduce: setup
	$(BIN)/studykit run all --jobs $(JOBS)
	$(BIN)/studykit report

test: setup browser
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks

report: setup
	$(BIN)/studykit report

clean-outputs:
	rm -rf outputs

# Regenerate requirements.lock from requirements.in (maintainers only).
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^studykit' > requirements.lock
