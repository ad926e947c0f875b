"""Offline plan: run a stack's program under Pulumi's mocks and check it against the policy pack."""
