"""Offline plan: run a stack's program under Pulumi's mocks and check it against the policy pack."""

# Collector thresholds for the plan's processes (drplan/__main__.py explains why; the fleet's worker
# processes set them too).
GC_THRESHOLD = (50_000, 50, 100)
