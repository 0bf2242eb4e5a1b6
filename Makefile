# Factory IoT: `make demo` runs the whole system; `make test` runs every check.
# Both do all set-up first: virtual environment, Python and npm packages, the web build, and
# the system packages (mosquitto; chromium for the browser tests) when missing and root.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json
BENCH_ARGS ?=
SOAK_SECONDS ?= 600

.PHONY: all setup setup-demo demo test test-cluster check lint typecheck test-python test-web bench soak schemas screenshots wheel constraints clean

all: setup

setup: setup-demo
	@bash devtools/system-deps.sh chromium nginx erlang-base

setup-demo: $(STAMP) web/dist/index.html
	@bash devtools/system-deps.sh mosquitto

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[gateway,bridge,dev]'
	touch $@

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

# The bench's MQTT load publisher (bench/publisher.mjs) runs on MQTT.js.
bench/node_modules/.package-lock.json: bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund --loglevel=error

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build --silent

demo: setup-demo
	$(PY) -m devtools.demo

check: lint typecheck

lint: $(STAMP) web/node_modules/.package-lock.json
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd web && npm run lint --silent
	cd web && npx biome check ../bench/*.mjs ../tests/bridge/*.mjs

typecheck: $(STAMP) web/node_modules/.package-lock.json
	$(VENV)/bin/mypy
	cd web && npm run typecheck --silent

test-web: web/node_modules/.package-lock.json
	cd web && npm test --silent

# tests/bench runs `python -m bench --quick`, whose publisher needs bench/node_modules.
# --durations=15: the slowest tests are listed at the end of every run, so that one growing
# slow (or waiting out a generous timeout) is seen.
# The fuzzers (10,000 inputs per parser; pure CPU, no process, port or file of their own) run
# beside the rest, which mostly waits on real processes: they were 200 s of a serial run.
# With PYTEST_ARGS, one pytest runs exactly what it names.
test-python: setup bench/node_modules/.package-lock.json
ifeq ($(strip $(PYTEST_ARGS)),)
	@log=$$(mktemp); \
	$(PY) -m pytest -m fuzz -p no:cacheprovider -q --durations=5 >"$$log" 2>&1 & fuzz=$$!; \
	$(PY) -m pytest -m 'not fuzz and not cluster' --durations=15; rest=$$?; \
	wait $$fuzz; fuzzed=$$?; \
	echo "---- the fuzzers, run beside the suite ----"; cat "$$log"; rm -f "$$log"; \
	echo "pytest: suite exit $$rest, fuzzers exit $$fuzzed"; \
	test $$rest -eq 0 && test $$fuzzed -eq 0
else
	$(PY) -m pytest --durations=15 $(PYTEST_ARGS)
endif

# Web unit tests first, so that pytest's summary is the last line of the run.
test: setup check test-web test-python

# The MQTT contract on a two-node RabbitMQ cluster (Debian's 3.10): installs rabbitmq-server,
# ~50 s to install and ~40 s to boot, so not part of `make test` (docs/scale-out.md).
test-cluster: setup
	@bash devtools/system-deps.sh rabbitmq-server
	$(PY) -m pytest -m cluster tests/cluster --durations=5 -s $(PYTEST_ARGS)

bench: setup-demo bench/node_modules/.package-lock.json
	$(PY) -m bench $(BENCH_ARGS)

soak: setup-demo
	$(PY) -m devtools.soak --seconds $(SOAK_SECONDS)

# Published documents generated from the code (tests fail when they drift).
# The README's dashboard picture, taken by the browser test (test runs leave it alone).
screenshots: setup
	FACTORY_UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/browser -q

schemas: $(STAMP) web/node_modules/.package-lock.json
	$(PY) -m factory_core.contract docs/schemas
	$(PY) -m bridge.api.openapi docs/openapi.json
	$(PY) -m bridge.contract web/src/generated/contract.schema.json
	cd web && node scripts/contract.mjs

# The installable wheel, with the built dashboard inside (buildtools/wheel.py): dist/*.whl.
wheel: $(STAMP) web/dist/index.html
	rm -rf build dist
	$(PY) -m build --wheel --outdir dist .

# The versions the container image installs (Dockerfile): the runtime extras, resolved now.
constraints: $(STAMP)
	$(PY) -m buildtools.constraints deploy/constraints.txt

clean:
	rm -rf $(VENV) web/node_modules web/dist bench/node_modules .demo test-artifacts build dist
