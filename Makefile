# One command set for people and CI. `make run` and `make test` do all the set-up they need.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
STAMP := .make
WIDGET_SRC := $(shell find widgets/src widgets/types -type f 2>/dev/null) \
	$(wildcard integrations/*.js integrations/*/sdk.js integrations/*/*.d.ts widgets/*.mjs) \
	widgets/package.json widgets/package-lock.json widgets/tsconfig.types.json

.PHONY: install lock run test test-only lint typecheck format bench bench-full bench-scaleout bench-soak fuzz clean services chromium

install: $(STAMP)/python $(STAMP)/widgets $(STAMP)/js-tests chromium

# Python packages come from the lock files (`make lock` writes them from pyproject.toml's ranges):
# every package at one version, checked against its hashes. dev.txt is what the tests run with
# (the project's dependencies, its dev extras and its build backend); runtime.txt, what
# deploy/Dockerfile installs, holds the same versions without the dev extras.
LOCK_DEV := requirements/dev.txt
LOCK_RUNTIME := requirements/runtime.txt

$(STAMP)/python: pyproject.toml $(LOCK_DEV)
	@mkdir -p $(STAMP)
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install --quiet --require-hashes -r $(LOCK_DEV)
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# Resolve the lock files again from pyproject.toml, on PyPI alone, for every platform and
# Python >= 3.11. Versions already locked are kept unless a range excludes them; to take new
# releases: `make lock UPGRADE=--upgrade` (all) or `make lock UPGRADE="--upgrade-package aiohttp"`.
# Then `make install` and `make test`, and commit pyproject.toml with both lock files.
UV_COMPILE := env -u UV_INDEX -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL -u UV_DEFAULT_INDEX \
	-u UV_FIND_LINKS .venv/bin/uv pip compile --no-config --quiet --universal \
	--python-version 3.11 --generate-hashes --custom-compile-command "make lock" $(UPGRADE)
BUILD_REQUIRES := $(PY) -c 'import tomllib; \
	print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'

lock: $(STAMP)/python
	@mkdir -p requirements
	$(BUILD_REQUIRES) | $(UV_COMPILE) pyproject.toml - --extra dev -o $(LOCK_DEV)
	$(BUILD_REQUIRES) | $(UV_COMPILE) pyproject.toml - -c $(LOCK_DEV) -o $(LOCK_RUNTIME)

$(STAMP)/widgets: $(WIDGET_SRC)
	@mkdir -p $(STAMP)
	@if [ -f widgets/package.json ]; then \
		cd widgets && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else echo "no widgets package yet"; fi
	@touch $@

# Third-party Node packages the Python tests run against (tests/js: Standard Webhooks' verifier).
$(STAMP)/js-tests: tests/js/package.json tests/js/package-lock.json
	@mkdir -p $(STAMP)
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
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

# The client adapters (integrations/*/sdk.js) against the platforms' own SDK types.
typecheck: $(STAMP)/widgets
	cd widgets && npm run --silent typecheck

# Lint, type checks and the whole suite. pytest's exit code 5 (no tests ran) fails too.
test: install lint typecheck
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

# The fuzz targets on the deep profile: FUZZ_DEEP_EXAMPLES cases per target (20,000 by default;
# a quarter per platform for the per-platform webhook properties), not derandomised, so each run
# explores new cases. Hours on 2 cores (docs/security.md, "Figures"); it ends with the figures of
# each suite and the time it took. `make test` runs the same targets on the quick profile.
fuzz: install
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest tests -m fuzz -p no:timeout -rfE

clean:
	rm -rf .venv $(STAMP) widgets/node_modules widgets/dist tests/js/node_modules
