# weerbaar: the commands users and CI rely on (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | sha1sum | cut -c1-12)
PIP_TOOLS := .cache/pip-tools

.PHONY: help venv lock run up down status test chaos lint unit bench demo docs clean

help:
	@echo "make run    - stack + services + demo data, follow logs (Ctrl-C stops everything)"
	@echo "make up     - the same in the background; returns when every service is ready"
	@echo "make down   - stop what 'make up' started"
	@echo "make test   - lint, types and the whole test suite against a real broker and store"
	@echo "make unit   - the use cases and domain with in-memory fakes, no stack (seconds)"
	@echo "make chaos  - fault-injection suite on a private stack of its own (kills services, broker, store)"
	@echo "make bench  - the benchmark"
	@echo "make docs   - regenerate event JSON Schemas, AsyncAPI and OpenAPI documents"
	@echo "make lock   - regenerate the hashed locks from pyproject.toml (keeps every pin it can)"

venv: $(STAMP)

# requirements-dev.lock: everything a developer and CI install (the runtime set plus the tools), every file by hash.
$(STAMP): requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

# Two hashed locks from pyproject.toml: requirements.lock (what the images run) and requirements-dev.lock (that plus
# the dev extra). pip-compile keeps a package's pin unless pyproject.toml asks for another.
LOCK_FLAGS := -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	@test -x $(PIP_TOOLS)/bin/pip-compile || ($(PYTHON) -m venv $(PIP_TOOLS) \
		&& $(PIP_TOOLS)/bin/pip install -q --disable-pip-version-check pip-tools==7.6.2)
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_TOOLS)/bin/pip-compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_TOOLS)/bin/pip-compile $(LOCK_FLAGS) --extra dev \
		-o requirements-dev.lock pyproject.toml

run: venv
	@deploy/run/platform.sh run

up: venv
	@deploy/run/platform.sh up

down:
	@deploy/run/platform.sh down

status:
	@deploy/run/platform.sh status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

test: lint
	@deploy/run/test.sh -m "not chaos"

# The use cases and the domain with in-memory fakes: no broker, no store, nothing started.
unit: venv
	$(BIN)/pytest -q -m "not integration and not e2e and not chaos and not disruptive"

# Starts and stops its own stack (.stack-chaos/, Kafka 19192, FerretDB 27118): never touches the shared one.
chaos: venv
	$(BIN)/pytest -m chaos -s tests/chaos

bench: venv
	@deploy/run/platform.sh up
	$(BIN)/python -m bench

docs: venv
	WEERBAAR_DEV_MODE=true $(BIN)/weerbaar contracts  # builds the apps to read their topics: no keys needed

demo: venv
	$(BIN)/weerbaar demo --count 50

clean: down
	rm -rf .stack .stack-chaos .artifacts
