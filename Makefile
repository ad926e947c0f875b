# Two entry points for a fresh machine: `make plan` and `make test`. Both create .venv on first use.
PY := .venv/bin/python
STACK ?= prod

.venv/.installed: requirements.txt policies/requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -r policies/requirements.txt
	touch $@

.PHONY: plan test lint bench
plan: .venv/.installed
	$(PY) -m drplan $(STACK)

lint: .venv/.installed
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

test: lint
	$(PY) -m pytest

bench: .venv/.installed
	$(PY) benchmarks/policy_pack.py
	$(PY) benchmarks/bridges.py
	$(PY) benchmarks/coverage.py
	$(PY) benchmarks/plan.py
