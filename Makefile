# obsgen: `make up` runs the stack with the demo, `make test` runs every test.
# Everything Python goes into .venv; Prometheus and Alertmanager come from the system.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
OBSGEN := $(VENV)/bin/obsgen

GRAFANA_SDK := $(VENV)/grafana-sdk
SCHEMA_DIR := tests/grafana_schema

.PHONY: all docs install install-run system-deps schema-deps browser-deps generate test unit lint format bench example up down \
	stack-up stack-down demo clean bench-prometheus test-oldest-sdks

all: generate lint test

generate: install
	$(OBSGEN) build
	$(MAKE) --no-print-directory docs

# docs/reference/: the metrics, config keys and command line, generated from the code.
docs: install
	$(PYTHON) -m obsgen.tools.reference_docs

$(PYTHON):
	python3 -m venv $(VENV) || { scripts/install-system-deps.sh --venv && python3 -m venv $(VENV); }

# Reinstall only when pyproject.toml changed (the package itself is installed in editable mode).
# `make up` needs only the runtime and the generator; the tests and lint need the dev set.
INSTALLED := $(VENV)/.installed
INSTALLED_RUN := $(VENV)/.installed-run

install: $(INSTALLED)

$(INSTALLED): pyproject.toml | $(PYTHON)
	$(PIP) install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(INSTALLED_RUN)

install-run: $(INSTALLED_RUN)

$(INSTALLED_RUN): pyproject.toml | $(PYTHON)
	@echo "obsgen: installing the runtime and the generator into $(VENV) (once)"
	$(PIP) install --disable-pip-version-check --progress-bar on -e '.[generator,postgres]'
	touch $@

system-deps:
	scripts/install-system-deps.sh

# Headless Chromium, in which the tests open the HTML pages obsgen writes.
browser-deps:
	scripts/install-system-deps.sh --browser

# Grafana's published schema for the dashboard tests: @grafana/schema 11.6 and 12.4 (npm) and
# grafana-foundation-sdk's Grafana 11.6 and 12 builds (each in a folder of its own); and the
# prometheus-operator's CRD schemas for the Kubernetes manifests (npm, tests/kubernetes_schema).
K8S_SCHEMA_DIR := tests/kubernetes_schema

schema-deps: $(SCHEMA_DIR)/node_modules/.bin/tsc $(GRAFANA_SDK)/11.6 $(GRAFANA_SDK)/12 \
	$(K8S_SCHEMA_DIR)/node_modules/.package-lock.json

$(K8S_SCHEMA_DIR)/node_modules/.package-lock.json: $(K8S_SCHEMA_DIR)/package-lock.json
	npm ci --prefix $(K8S_SCHEMA_DIR) --no-audit --no-fund --silent

$(SCHEMA_DIR)/node_modules/.bin/tsc: $(SCHEMA_DIR)/package-lock.json
	npm ci --prefix $(SCHEMA_DIR) --no-audit --no-fund --silent

$(GRAFANA_SDK)/11.6: $(PYTHON)
	$(PIP) install --quiet --disable-pip-version-check --no-deps --target $@ 'grafana-foundation-sdk==1769699379!11.6.0'

$(GRAFANA_SDK)/12: $(PYTHON)
	$(PIP) install --quiet --disable-pip-version-check --no-deps --target $@ 'grafana-foundation-sdk==1769699241'

test: install system-deps schema-deps browser-deps
	$(PYTHON) -m pytest -p no:cacheprovider --durations=30
	$(MAKE) --no-print-directory test-oldest-sdks

# The SDK instrumentation against the oldest release of each SDK it supports (each adapter
# names it: scripts/oldest_sdks.py), in a venv of their own; `make test` ran the newest.
OLDEST_VENV := $(VENV)-oldest-sdks
SDK_TESTS := tests/integration/test_instrument_sdks.py tests/integration/test_instrument_gemini_bedrock.py \
	tests/integration/test_instrument_billing.py

test-oldest-sdks: install
	@echo "SDK tests against the oldest supported releases: $$($(PYTHON) scripts/oldest_sdks.py | tr '\n' ' ')"
	test -x $(OLDEST_VENV)/bin/python || python3 -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e . pytest \
		$$($(PYTHON) scripts/oldest_sdks.py)
	$(OLDEST_VENV)/bin/python -m pytest -p no:cacheprovider -q $(SDK_TESTS)

unit: install
	$(PYTHON) -m pytest -p no:cacheprovider tests/unit

lint: install
	$(PYTHON) -m ruff check src obsgen tests bench examples scripts
	$(PYTHON) -m ruff format --check src obsgen tests bench examples scripts
	$(PYTHON) -m mypy
	$(PYTHON) scripts/check_layers.py

format:
	$(PYTHON) -m ruff check --fix src obsgen tests bench examples scripts
	$(PYTHON) -m ruff format src obsgen tests bench examples scripts

bench: install
	$(PYTHON) bench/run.py

# The dashboard against a real Prometheus holding a fleet's day of history (minutes; larger
# fleets: ARGS="--agents 500").
bench-prometheus: install system-deps
	$(PYTHON) bench/bench_prometheus.py $(ARGS)

example: install-run
	$(PYTHON) examples/record_metrics.py
	$(PYTHON) examples/track_costs.py
	$(OBSGEN) costs

up: stack-up

down: stack-down

stack-up: install-run system-deps
	$(OBSGEN) stack up

stack-down:
	$(OBSGEN) stack down

demo: install-run
	$(OBSGEN) demo

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .hypothesis .ruff_cache $(VENV) $(OLDEST_VENV)
