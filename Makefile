# kpatch: every target installs what it needs first, so a fresh clone needs only
# `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install test lint demo bench clean

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

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
