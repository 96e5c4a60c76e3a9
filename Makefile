# kpatch: every target installs what it needs first, so a fresh clone needs only
# `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install test lint demo bench overlays clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check kpatch tests bench
	$(VENV)/bin/mypy

# Lint first, so pytest's closing line is the last thing printed.
test: lint
	$(PY) -m pytest

demo: $(STAMP)
	@sh demo.sh $(VENV)/bin/kpatch

# Regenerate overlays/ from every fixture base (a test fails when they drift).
overlays: $(STAMP)
	@for base in fixtures/*/kustomization.yaml; do \
	  name=$$(basename $$(dirname $$base)); \
	  $(VENV)/bin/kpatch relocate fixtures/$$name --registry registry.corp:5000 \
	    --output overlays/$$name --pull-secret regcred --pull-policy IfNotPresent --force \
	    || exit 1; \
	done

bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/operators.py
	$(PY) bench/helm.py
	$(PY) bench/mirror.py
	$(PY) bench/startup.py
	$(PY) bench/redis_enterprise.py
	$(PY) bench/check.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
