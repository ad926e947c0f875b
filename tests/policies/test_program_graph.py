"""The pack over what the real program registers for Pulumi.prod.yaml and Pulumi.staging.yaml (under
Pulumi's mocks, as the engine would send it): no violations; and the stack rules really follow the
program's references (a mutation of the real graph is caught)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drplan.graph import UNKNOWN, RegisteredResource, StackGraph
from drplan.policy_client import PolicyPackClient
from drplan.program import register_stack
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations


@pytest.fixture(scope="module")
def graphs() -> dict[str, StackGraph]:
    return {stack: register_stack(stack) for stack in ("prod", "staging")}


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_program_graph_has_no_violations(
    client: PolicyPackClient, graphs: dict[str, StackGraph], stack: str
) -> None:
    graph = graphs[stack]
    assert graph.by_type("aws:backup/plan:Plan"), "the program registered no plans"
    violations = all_violations(client, graph)
    assert [v for v in violations if v.enforcement_level == "mandatory"] == []
    assert violations == []


def _swap(graph: StackGraph, *changed: RegisteredResource) -> StackGraph:
    by_urn = {r.urn: r for r in changed}
    return replace(graph, resources=tuple(by_urn.get(r.urn, r) for r in graph.resources))


def test_real_graph_source_vault_without_key_is_caught(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    graph = graphs["prod"]
    vault = next(
        v
        for v in graph.by_type("aws:backup/vault:Vault")
        if v.inputs.get("name") == "dr-prod-ebs" and "origin" in v.name
    )
    broken = fx.without_dependencies(fx.mutate(vault, ("kmsKeyArn",), fx.DELETE), "kmsKeyArn")
    violations = client.analyze_stack(_swap(graph, broken)).violations
    assert [(v.policy_name, v.urn) for v in violations] == [("aws-backup-cross-account-copy-cmk", vault.urn)]


def test_real_graph_short_air_gapped_copy_is_caught(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    graph = graphs["prod"]
    lag_name = graph.by_type("aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault")[0].inputs["name"]
    plan = next(
        p
        for p in graph.by_type("aws:backup/plan:Plan")
        if any(lag_name in c["destinationVaultArn"] for c in p.inputs["rules"][0].get("copyActions", []))
    )
    index = next(
        i
        for i, c in enumerate(plan.inputs["rules"][0]["copyActions"])
        if lag_name in c["destinationVaultArn"]
    )
    broken = fx.mutate(plan, ("rules", 0, "copyActions", index, "lifecycle", "deleteAfter"), 1.0)
    violations = client.analyze_stack(_swap(graph, broken)).violations
    assert [(v.policy_name, v.urn) for v in violations] == [
        ("aws-backup-air-gapped-copy-retention", plan.urn)
    ]


def test_preview_shaped_graph_resolves_keys_and_plans(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    """At a first preview, key ARNs and plan IDs are unknown: the pack follows propertyDependencies instead."""
    graph = graphs["prod"]
    changed = [fx.mutate(v, ("kmsKeyArn",), UNKNOWN) for v in graph.by_type("aws:backup/vault:Vault")]
    changed += [fx.mutate(s, ("planId",), UNKNOWN) for s in graph.by_type("aws:backup/selection:Selection")]
    assert client.analyze_stack(_swap(graph, *changed)).violations == ()
