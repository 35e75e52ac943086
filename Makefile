# The two commands a new user needs: `make run` and `make test`. Both set everything up on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
BINARIES := .local/bin/helm .local/bin/kubectl
SWAGGER_UI := vendor/swagger_ui/VERSION

.PHONY: setup run test test-unit test-functional test-e2e fuzz contract lint bench rehearse clean

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "netweave needs Python 3.11 or newer"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "netweave: installing Python packages into $(VENV) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade 'pip<26.3'  # chalice 1.34 needs pip<26.3 to package
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(INSTALLED)

$(BINARIES): devtools/install_binaries.sh
	@./devtools/install_binaries.sh

# Swagger UI for /docs, into vendor/ (Chalice ships it in the package)
$(SWAGGER_UI): devtools/install_swagger_ui.sh
	@./devtools/install_swagger_ui.sh

setup: $(INSTALLED) $(BINARIES) $(SWAGGER_UI)

run: setup
	@$(PY) -m devtools.localstack

test: setup
	@$(PY) -m pytest

test-unit: setup
	@$(PY) -m pytest tests/unit

test-functional: setup
	@$(PY) -m pytest tests/functional

test-e2e: setup
	@$(PY) -m pytest tests/e2e

# the OpenAPI fuzz run with its full example budget (`make test` sends a few examples per operation)
fuzz: setup
	@NETWEAVE_FUZZ_EXAMPLES=$(or $(EXAMPLES),25) $(PY) -m pytest tests/e2e/test_fuzz_openapi.py -n 0

# the peer OpenAPI contract check alone, with its per-file figures (docs/o2-conformance.md); `make test` runs it too
contract: setup
	@$(PY) -m pytest tests/e2e/test_peer_contract.py -n 0 -s

lint: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports --no-cache

# docs/deploy-aws.md end to end against a moto server (STAGE=dev); a real account: see "Rehearsal" there
rehearse: setup
	@$(PY) -m infra.rehearsal --stage $(or $(STAGE),dev)

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .local vendor .pytest_cache .mypy_cache .ruff_cache
