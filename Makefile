# One command set for people and CI. `make run` and `make test` do all the set-up they need.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
STAMP := .make
WIDGET_SRC := $(shell find widgets/src -type f 2>/dev/null) widgets/package.json widgets/package-lock.json

.PHONY: install run test test-only lint format bench bench-full bench-scaleout bench-soak fuzz clean services chromium

install: $(STAMP)/python $(STAMP)/widgets chromium

$(STAMP)/python: pyproject.toml
	@mkdir -p $(STAMP)
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	@touch $@

$(STAMP)/widgets: $(WIDGET_SRC)
	@mkdir -p $(STAMP)
	@if [ -f widgets/package.json ]; then \
		cd widgets && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else echo "no widgets package yet"; fi
	@touch $@

# Browser tests use Debian's Chromium (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "chromium is missing: apt-get install chromium (browser tests will fail)"; fi; }

run: install
	mkdir -p var
	.venv/bin/comfort serve

lint: $(STAMP)/python
	.venv/bin/ruff check service integrations tests bench
	.venv/bin/ruff format --check service integrations tests bench
	.venv/bin/mypy

format: $(STAMP)/python
	.venv/bin/ruff format service integrations tests bench
	.venv/bin/ruff check --fix service integrations tests bench

# Lint, type checks and the whole suite. pytest's exit code 5 (no tests ran) fails too.
test: install lint
	$(MAKE) services
	$(PY) -m pytest

test-only:
	$(PY) -m pytest

# PostgreSQL and Redis for the scale-out tests: start them if they are not answering.
services:
	@bash .ci/services.sh

# Quick (~6 min): latency pinned and unpinned, storm, capacity, appends. bench/README.md says more.
bench: install
	$(PY) -m bench.run --quick

# Every scenario at full size, scale-out and soak included, and the targets in one run (~1 h).
bench-full: install services
	$(PY) -m bench.run --full

# Two processes on PostgreSQL + Redis beside both relays on Redis, 1,000 and 2,000 sessions (~15 min).
bench-scaleout: install services
	$(PY) -m bench.run --full --only scaleout --results-dir bench/results/scaleout

# 2,000 sessions for 10 minutes with the realistic mix; RSS and p99 per minute (~13 min).
bench-soak: install
	$(PY) -m bench.run --full --only soak --results-dir bench/results/soak

fuzz: install
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest tests -m fuzz -p no:timeout

clean:
	rm -rf .venv $(STAMP) widgets/node_modules widgets/dist
