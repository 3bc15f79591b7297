# obsgen: `make test` installs what the tests need and runs them all.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: all install generate test unit lint format bench example clean

all: generate lint test

generate: install
	obsgen build

install:
	$(PIP) install --quiet --disable-pip-version-check --root-user-action=ignore -e '.[dev]'

test: install
	$(PYTHON) -m pytest -p no:cacheprovider

unit: install
	$(PYTHON) -m pytest -p no:cacheprovider tests/unit

lint:
	$(PYTHON) -m ruff check src obsgen tests bench examples
	$(PYTHON) -m ruff format --check src obsgen tests bench examples

format:
	$(PYTHON) -m ruff check --fix src obsgen tests bench examples
	$(PYTHON) -m ruff format src obsgen tests bench examples

bench: install
	$(PYTHON) bench/run.py

example: install
	$(PYTHON) examples/seed_metrics.py
	$(PYTHON) examples/seed_costs.py
	obsgen costs

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .hypothesis .ruff_cache
