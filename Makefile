# Two commands on a fresh machine (Python 3.11.5+, git, make):
#   make reproduce   every study notebook on its embedded data -> outputs/, then the report
#   make test        the whole test suite (every notebook executed on small parameters)
# Dependencies: requirements/core.lock plus extras (requirements/<extra>.lock): `make setup EXTRAS="japanese"`;
# `make setup OFFLINE=DIR` installs from a folder made by `make offline-bundle`, with no network.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
JOBS ?= 2
# test processes (pytest-xdist): one per core, at most 4 (each runs notebook kernels); TEST_JOBS=0 runs serially
TEST_JOBS ?= $(shell n=$$(getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2); \
  [ "$$n" -gt 4 ] && n=4; echo $$n)
PYTEST_ARGS ?=
EXTRAS ?=
OFFLINE ?=
# extras each target needs: the tests (dev, japanese for the tokeniser's tests, embeddings for the numpy
# all-MiniLM-L6-v2 and sentiment_real's embedding annotators; about 0.12 GB, no torch), the real-data
# profiles of reproduce (embeddings for sentiment_real's embedding annotators, japanese for ja_tech_blogs)
TEST_EXTRAS := dev japanese embeddings $(EXTRAS)
REPRODUCE_EXTRAS := embeddings japanese $(EXTRAS)

.PHONY: help setup reproduce reproduce-all test test-slow lab report browser bench clean-outputs lock multiverse offline-bundle \
	check-offline-bundle check-install

help:
	@echo "make reproduce   set up .venv, run every study (cached), build outputs/site/index.html"
	@echo "make reproduce-all  reproduce plus the large real-data profile agent_repos_all (about 5 min, 7 GB, once)"
	@echo "make test        set up .venv, make sure chromium is there, run the test suite"
	@echo "make lab         JupyterLab on the notebooks with the 'studykit' kernel"
	@echo "make report      rebuild the report from outputs/"
	@echo "make test-slow   the long simulations (coverage, power)"
	@echo "make bench       the benchmarks in benchmarks/"
	@echo "make multiverse  every study across its analyst choices (params/<study>/multiverse.yaml), cached"
	@echo "make setup       the core .venv (EXTRAS=\"japanese embeddings dev\" for extras, OFFLINE=DIR offline)"
	@echo "make offline-bundle  a folder of wheels for installing with no network (OFFLINE=DIR, EXTRAS, PLATFORMS, PYTHONS)"
	@echo "make check-offline-bundle  prove that OFFLINE=DIR installs every pin for each of its targets"
	@echo "make check-install  CI: a throwaway venv from the public index only runs the workshop checks; every pin"
	@echo "                    of every lock has a wheel for Linux, macOS (arm64, x86_64), Windows, Python 3.11-3.13"
	@echo "make lock        maintainers: recompile requirements/*.lock and environment.yml (uv, universal)"

# Create or update .venv from requirements/; a no-op (milliseconds) when nothing changed.
setup:
	@EXTRAS="$(EXTRAS)" OFFLINE="$(OFFLINE)" bash scripts/setup-venv.sh

browser:
	@bash scripts/ensure-chromium.sh

# Every study on its embedded data, then the real-data profiles where their data can be had
# (a leading '-' lets the report be built when one of them cannot: its one-line reason is printed).
reproduce: setup
	@EXTRAS="$(REPRODUCE_EXTRAS)" OFFLINE="$(OFFLINE)" bash scripts/setup-venv.sh
	$(BIN)/studykit run all --jobs $(JOBS)
	-$(BIN)/python scripts/fetch_sentiment_data.py
	-$(BIN)/studykit run annotation_robustness --profile sentiment_real
	-$(BIN)/studykit run counterfactual_baselines --profile medperturb
	-$(BIN)/studykit run counterfactual_baselines --profile bbq_gender
	-$(BIN)/studykit run sycophancy_correlation --profile personality_illusion
	-$(BIN)/studykit run code_survival --profile agent_repos
	-$(BIN)/studykit run lexical_prevalence --profile ja_tech_blogs
	$(BIN)/studykit report

# reproduce, plus the twelve-repository code_survival profile: 4.3M line units, about 5 min and 7 GB of memory on
# its first run on the 2-core machine (cached afterwards), so it is not part of the main command
reproduce-all: reproduce
	-$(BIN)/studykit run code_survival --profile agent_repos_all
	$(BIN)/studykit report

test: setup browser
	@EXTRAS="$(TEST_EXTRAS)" OFFLINE="$(OFFLINE)" bash scripts/setup-venv.sh
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist worksteal --durations=15 $(PYTEST_ARGS)

test-slow: setup
	@EXTRAS="$(TEST_EXTRAS)" OFFLINE="$(OFFLINE)" bash scripts/setup-venv.sh
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

bench: setup
	@EXTRAS="dev japanese embeddings" bash scripts/setup-venv.sh
	@for b in benchmarks/bench_*.py; do [ -e "$$b" ] || continue; echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Every study's multiverse on its embedded data, JOBS points at a time; each point is a cached run, so a repeat
# is instant. Every study's sweep runs even if a point of another fails; the exit code says whether any did.
# The studies come from the registry (`studykit list --names`), each with its own grid (params/<study>/multiverse.yaml).
multiverse: setup
	@status=0; for s in $$($(BIN)/studykit list --names); do \
	  $(BIN)/studykit sweep $$s --jobs $(JOBS) || status=1; \
	done; exit $$status

lab: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --FileContentsManager.preferred_dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

report: setup
	$(BIN)/studykit report

clean-outputs:
	rm -rf outputs

lock:
	@EXTRAS="dev" bash scripts/setup-venv.sh
	$(BIN)/python scripts/lock.py

# A folder of wheels (core + EXTRAS) for each target: PLATFORMS (default this machine's; linux-x86_64,
# linux-aarch64, macos-arm64, macos-x86_64, windows-amd64) x PYTHONS (default 3.11 3.12 3.13), wheels only.
OFFLINE_DIR := $(if $(OFFLINE),$(OFFLINE),offline)
HOST_PYTHON := $(if $(PYTHON),$(PYTHON),python3)
offline-bundle:
	$(HOST_PYTHON) scripts/offline_bundle.py "$(OFFLINE_DIR)" --extras $(EXTRAS) \
	  $(foreach p,$(PLATFORMS),--platform $(p)) $(foreach v,$(PYTHONS),--python $(v))

check-offline-bundle:
	$(HOST_PYTHON) scripts/offline_bundle.py --check "$(OFFLINE_DIR)"

# CI's second step (after make test): the public index alone installs studykit here and has a wheel for every
# pin of every lock on every promised platform and Python (scripts/check_install.py; CHECK_INSTALL_ARGS, e.g.
# --skip-venv). Needs only a Python 3.11.5+ with pip; pip's cache is used.
check-install:
	$(HOST_PYTHON) scripts/check_install.py $(CHECK_INSTALL_ARGS)
