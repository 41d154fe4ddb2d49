# Rollway — two commands on a fresh machine:  `make demo`  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEVSTACK := scripts/devstack
# Where `make images` pushes Rollway's image (<IMAGE_REGISTRY>/rollway:<version>).
IMAGE_REGISTRY ?=

.PHONY: setup system-packages demo test check test-unit lint workflow-templates images devstack-up devstack-down bench clean help

## setup: install Debian packages the devstack needs and the project's virtualenv
setup: system-packages $(VENV)/.installed

system-packages:
	@scripts/install-system-packages

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

devstack-up: setup
	$(DEVSTACK) up

devstack-down:
	$(DEVSTACK) down

## demo: start the platform, deploy hello 1.0.0, upgrade it blue-green to 1.1.0, promote
## (ENGINE=argo: through Rollway's own chart, every step in a pod on the real node)
ENGINE ?= embedded
demo: devstack-up
	ENGINE=$(ENGINE) scripts/demo

## test: everything — lint, unit, integration and end-to-end tests on the devstack
test: devstack-up lint
	$(PY) -m pytest -q -p no:cacheprovider --durations=20

## check: the fast loop, no platform and no apt: lint, template drift, unit tests with coverage
check: lint test-unit

## test-unit: the unit tests (pure logic, no platform), with coverage
test-unit: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider --cov=rollway --cov-report=term:skip-covered tests/unit

## lint: ruff, the format check, mypy (strict) and template drift
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src devstack tests bench
	$(VENV)/bin/ruff format --check src devstack tests bench
	$(VENV)/bin/mypy src devstack
	$(PY) -m rollway.workflows.render workflow-templates --check

## workflow-templates: render the Hera templates to workflow-templates/*.yaml
workflow-templates: setup
	$(PY) -m rollway.workflows.render workflow-templates

## images: build Rollway's image and push it to IMAGE_REGISTRY, e.g.
##   make images IMAGE_REGISTRY=127.0.0.1:25000/rollway  (credentials: ROLLWAY_REGISTRY_USERNAME
##   and ROLLWAY_REGISTRY_PASSWORD in the environment, or a Docker config.json)
images: setup
	@test -n "$(IMAGE_REGISTRY)" || { echo "make images: set IMAGE_REGISTRY, e.g. IMAGE_REGISTRY=127.0.0.1:25000/rollway" >&2; exit 2; }
	$(PY) -m devstack.images --registry '$(IMAGE_REGISTRY)'

## bench: the benchmarks, each printing ratios against a peer measured in the same run
bench: devstack-up
	for b in bench/[!_]*.py; do $(PY) $$b || exit 1; done

## clean: stop the platform, remove its state and the virtualenv
clean: devstack-down
	rm -rf .devstack $(VENV)

## help: this list
help:
	@awk '/^## [a-z-]+:/ { name = $$2; sub(/:$$/, "", name); sub(/^## [a-z-]+: */, ""); \
	  printf "  %-20s %s\n", name, $$0; next } /^## / { sub(/^## */, ""); printf "  %-20s %s\n", "", $$0 }' \
	  $(MAKEFILE_LIST)
