"""``aws-backup-vault-locked`` over gRPC, both ways: a vault without a lock is reported, a locked one passes;
in production a governance lock passes by default and is reported under ``productionVaultLockMode: compliance``,
where a lock with ``changeableForDays`` passes. The real program's graph passes too."""

from __future__ import annotations

from dataclasses import replace

from drplan.graph import StackGraph
from drplan.policy_client import PolicyPackClient
from drplan.program import register_stack
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations, only

RULE = "aws-backup-vault-locked"


def _of_rule(client: PolicyPackClient, graph: StackGraph) -> list[object]:
    return [v for v in all_violations(client, graph) if v.policy_name == RULE]


def _without(graph: StackGraph, urn: str) -> StackGraph:
    return replace(graph, resources=tuple(r for r in graph.resources if r.urn != urn))


def test_locked_vaults_pass(client: PolicyPackClient) -> None:
    assert _of_rule(client, fx.graph()) == []


def test_a_vault_without_its_lock_is_reported(client: PolicyPackClient) -> None:
    violation = only(all_violations(client, _without(fx.graph(), fx.DR_LOCK.urn)), RULE)
    assert violation.urn == fx.DR_VAULT.urn
    assert "no Vault Lock" in violation.message


def test_a_lock_on_the_same_name_in_another_region_does_not_count(client: PolicyPackClient) -> None:
    """Both regions' vaults share a name: the origin lock must not cover the cross-region vault."""
    stray = replace(fx.ORIGIN_LOCK, property_dependencies={}, dependencies=())
    graph = _without(fx.graph(stray), fx.DR_LOCK.urn)
    assert [v.urn for v in _of_rule(client, graph)] == [fx.DR_VAULT.urn]  # type: ignore[attr-defined]


def test_production_governance_passes_by_default_and_compliance_is_enforced_when_configured(
    client: PolicyPackClient,
) -> None:
    prod = fx.in_stack(fx.graph(), "prod")
    assert _of_rule(client, prod) == []
    client.configure({RULE: {"productionVaultLockMode": "compliance"}})
    reported = _of_rule(client, prod)
    assert len(reported) == 3
    assert all("compliance-mode lock" in v.message for v in reported)  # type: ignore[attr-defined]
    compliant = fx.in_stack(
        fx.graph(
            *(
                fx.mutate(lock, ("changeableForDays",), 3.0)
                for lock in (fx.ORIGIN_LOCK, fx.DR_LOCK, fx.S3_LOCK)
            )
        ),
        "prod",
    )
    assert _of_rule(client, compliant) == []
    # Outside production the mode is not required.
    assert _of_rule(client, fx.graph()) == []


def test_the_real_prod_program_passes(client: PolicyPackClient) -> None:
    assert _of_rule(client, register_stack("prod")) == []
