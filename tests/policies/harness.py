"""Shared helpers for the end-to-end policy tests: everything goes through the pack's gRPC interface."""

from __future__ import annotations

import pytest

from drplan.graph import StackGraph
from drplan.policy_client import PolicyPackClient, Violation


def all_violations(client: PolicyPackClient, graph: StackGraph) -> list[Violation]:
    """What `pulumi preview` would report: Analyze for each resource, then AnalyzeStack."""
    found: list[Violation] = []
    for res in graph.resources:
        found.extend(client.analyze(res, graph=graph).violations)
    found.extend(client.analyze_stack(graph).violations)
    return found


def only(violations: list[Violation], policy: str) -> Violation:
    matching = [v for v in violations if v.policy_name == policy]
    if len(matching) != 1:
        pytest.fail(
            f"expected one {policy} violation, got {[(v.policy_name, v.message) for v in violations]}"
        )
    return matching[0]
