"""Offline plan: run a stack's program under Pulumi's mocks and check it against the policy pack."""

# Collector thresholds for the fleet plan's processes, which plan stack after stack (drplan/__main__.py
# explains why; the worker processes set them too).
GC_THRESHOLD = (50_000, 50, 100)

# Options that make ``python -m drplan`` plan a fleet (drplan.fleet) instead of one stack (drplan.cli).
FLEET_FLAGS = ("--all", "--stacks", "--matrix")
# The option of both that skips the policy pack.
NO_POLICY = "--no-policy"
