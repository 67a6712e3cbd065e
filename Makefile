# Two commands on a fresh Debian machine (each sets everything up first, fast when already done):
#   make demo   - run Studio on its bundled demo recording
#   make test   - run the test suite (what CI runs)
.PHONY: demo test setup lint bench

VENV := .venv
PY := $(VENV)/bin/python

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/studio demo

lint: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check studio tests bench
	$(VENV)/bin/ruff format --check studio tests bench

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

# benchmarks print figures against the peers; goals, not tests (see bench/*.py for options)
BENCH ?= $(sort $(filter-out bench/_%,$(wildcard bench/*.py)))
bench: setup
	@bash scripts/setup.sh --bench
	@for b in $(BENCH); do echo "== $$b"; QT_QPA_PLATFORM=offscreen $(PY) $$b || exit 1; done
