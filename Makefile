# Two entry points for a fresh machine: `make plan` and `make test`. Both create .venv on first use;
# the plan installs only what it runs, the tests add the development tools.
PY := .venv/bin/python
PIP := .venv/bin/pip install -q --disable-pip-version-check
STACK ?= prod
# The organisation's policy pack configuration, with each stack's own facts added from its stack file
# (drplan/stack_policy_config.py); a stack's own examples/policy-config.<stack>.json wins where it exists.
ORG_POLICY_CONFIG := examples/policy-config.json
POLICY_CONFIG = $(wildcard examples/policy-config.$(STACK).json)

.venv/.runtime: requirements.txt policies/requirements.txt
	test -x $(PY) || python3 -m venv .venv
	$(PIP) -r requirements.txt -r policies/requirements.txt
	touch $@

.venv/.dev: .venv/.runtime requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

# The fleet report's HTML page is rendered by headless Chromium in the tests (Debian's package).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# The repository's own modules compiled ahead, as pip compiles an installed package's: every plan then
# loads them instead of compiling them again (also where PYTHONDONTWRITEBYTECODE is set). Python checks
# each .pyc against its source, so an edited module is never run stale. Quick when nothing changed.
SOURCES := dr_model components drplan dr_runtime policies org

.PHONY: plan fleet test lint bench browser bytecode
bytecode: .venv/.runtime
	$(PY) -m compileall -q $(SOURCES)

plan: bytecode
	$(PY) -m drplan $(STACK) $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG),--org-policy-config $(ORG_POLICY_CONFIG))

# Every stack of the repository in worker processes, each with its policy pack config, and the checks
# across stacks (docs/fleet.md).
fleet: bytecode
	$(PY) -m drplan --all --org-policy-config $(ORG_POLICY_CONFIG) --policy-config 'examples/policy-config.{stack}.json'

lint: .venv/.dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian package) for the fleet report's page test"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

test: lint browser bytecode
	$(PY) -m pytest

bench: .venv/.dev bytecode
	$(PY) benchmarks/policy_pack.py
	$(PY) benchmarks/bridges.py
	$(PY) benchmarks/coverage_report.py
	$(PY) benchmarks/plan.py
	$(PY) benchmarks/fleet_plan.py
	$(PY) benchmarks/verifier_calls.py
