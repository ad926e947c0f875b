"""The pack over what the real program registers for Pulumi.prod.yaml and Pulumi.staging.yaml (under
Pulumi's mocks, as the engine would send it), configured with the stack's facts (the isolated account's
vaults, which the isolated stack registers, as ``knownExternalVaults``: drplan/stack_policy_config.py): no
violations; and the stack rules really follow the program's references (a mutation of the real graph is
caught)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from components.config import from_namespaced, parse
from drplan import stack_policy_config
from drplan.graph import UNKNOWN, RegisteredResource, StackGraph
from drplan.policy_client import PolicyPackClient
from drplan.program import read_stack_config, register_stack, stack_file
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations


@pytest.fixture(scope="module")
def graphs() -> dict[str, StackGraph]:
    return {stack: register_stack(stack) for stack in ("prod", "staging")}


def facts(stack: str, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pack settings the stack's own config fixes (its isolated vaults among them)."""
    config = raw if raw is not None else read_stack_config(stack_file(stack))
    return stack_policy_config.stack_facts(parse(from_namespaced(config), stack))


@pytest.fixture
def client(pack: PolicyPackClient) -> Iterator[PolicyPackClient]:
    """The pack with prod's facts (a test of another stack configures its own)."""
    pack.configure(facts("prod"))
    yield pack
    pack.configure({})


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_program_graph_has_no_violations(
    client: PolicyPackClient, graphs: dict[str, StackGraph], stack: str
) -> None:
    graph = graphs[stack]
    client.configure(facts(stack))
    assert graph.by_type("aws:backup/plan:Plan"), "the program registered no plans"
    violations = all_violations(client, graph)
    assert [v for v in violations if v.enforcement_level == "mandatory"] == []
    assert violations == []


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_invitation_share_mode_has_no_violations(client: PolicyPackClient, stack: str) -> None:
    """The other RAM set-up (an external-principal share and an accepter) passes the pack too."""
    config = read_stack_config(stack_file(stack))
    vault = dict(config.get("aws-dr-backup:airGappedVault", {}))
    isolated = {"prod": "222222222222", "staging": "444444444444"}[stack]
    share = f"arn:aws:ram:us-east-1:{isolated}:resource-share/0f1e2d3c"
    config["aws-dr-backup:airGappedVault"] = {**vault, "shareWith": "invitation", "shareArn": share}
    client.configure(facts(stack, config))
    graph = register_stack(stack, config=config)
    assert graph.by_type("aws:ram/resourceShareAccepter:ResourceShareAccepter")
    assert all_violations(client, graph) == []


def test_malware_scanning_on_has_no_violations(client: PolicyPackClient) -> None:
    """prod with ``malwareScanning`` on (scan actions, scan settings, the roles' scan policies) passes too."""
    config = read_stack_config(stack_file("prod"))
    config["aws-dr-backup:malwareScanning"] = {"enabled": True, "scannerRole": "GuardDutyBackupScanner"}
    graph = register_stack("prod", config=config)
    assert [p for p in graph.by_type("aws:backup/plan:Plan") if "scanSettings" in p.inputs]
    assert all_violations(client, graph) == []


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
    lag_name = graph.outputs["airGappedVaultArn"].rsplit(":", 1)[-1]
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


def _selection(graph: StackGraph, name: str) -> RegisteredResource:
    return next(s for s in graph.by_type("aws:backup/selection:Selection") if s.name == name)


def _with_conditions(
    selection: RegisteredResource, operator: str, value: list[dict[str, str]]
) -> RegisteredResource:
    return fx.mutate(selection, ("conditions", 0, operator), value)


def test_real_graph_cluster_selections_must_exclude_each_other(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    """Neptune's selection routed by the DocumentDB value: both pick documentdb clusters into two vaults."""
    graph = graphs["prod"]
    neptune = _selection(graph, "neptune-full-selection")
    equals = [
        {"key": c["key"], "value": "documentdb" if c["key"].endswith("dr-backup-engine") else c["value"]}
        for c in neptune.inputs["conditions"][0]["stringEquals"]
    ]
    violations = client.analyze_stack(
        _swap(graph, _with_conditions(neptune, "stringEquals", equals))
    ).violations
    exclusive = [v for v in violations if v.policy_name == "aws-backup-selection-cluster-engine-exclusive"]
    assert exclusive
    # Reported on one selection of the pair, naming the other.
    documentdb = {
        s.urn for s in graph.by_type("aws:backup/selection:Selection") if s.name.startswith("documentdb-")
    }
    assert all(v.urn in {neptune.urn, *documentdb} for v in exclusive)
    assert all("neptune-full-selection" in v.message and "'documentdb-" in v.message for v in exclusive)
    assert all("dr-backup-engine='documentdb'" in v.message for v in exclusive)
    # The Neptune vault now also receives DocumentDB clusters, and no Neptune cluster is copied cross-region.
    assert {v.policy_name for v in violations} == {
        "aws-backup-selection-cluster-engine-exclusive",
        "aws-backup-vault-single-resource-type",
        "aws-backup-production-coverage",
    }


def test_real_graph_aurora_selection_must_exclude_other_engines(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    graph = graphs["prod"]
    aurora = _selection(graph, "aurora-full-selection")
    kept = [c for c in aurora.inputs["conditions"][0]["stringNotEquals"] if c["value"] != "neptune"]
    violations = client.analyze_stack(
        _swap(graph, _with_conditions(aurora, "stringNotEquals", kept))
    ).violations
    exclusive = [v for v in violations if v.policy_name == "aws-backup-selection-cluster-engine-exclusive"]
    assert exclusive
    assert all("dr-backup-engine='neptune'" in v.message for v in exclusive)
    vault = next(v for v in violations if v.policy_name == "aws-backup-vault-single-resource-type")
    assert "backup.Vault 'aurora-origin-vault': receives 2 resource types" in vault.message
    assert "Neptune (from backup.Selection 'aurora-full-selection')" in vault.message


def test_real_graph_discriminator_key_from_config(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    """With another discriminator key, the program's cluster selections no longer exclude each other."""
    client.configure({"aws-backup-selection-cluster-engine-exclusive": {"clusterEngineTagKey": "engine"}})
    violations = client.analyze_stack(graphs["prod"]).of("aws-backup-selection-cluster-engine-exclusive")
    assert violations
    assert all("aws:ResourceTag/engine" in v.message for v in violations)


def test_real_graph_missing_type_is_caught(client: PolicyPackClient, graphs: dict[str, StackGraph]) -> None:
    graph = graphs["prod"]
    dropped = [s for s in graph.by_type("aws:backup/selection:Selection") if s.name.startswith("neptune-")]
    violations = client.analyze_stack(fx.without(graph, *dropped)).violations
    assert [(v.policy_name, v.urn) for v in violations] == [("aws-backup-production-coverage", "")]
    assert "production stack 'prod' protects no Neptune resources" in violations[0].message


def test_real_graph_copy_alert_is_required(client: PolicyPackClient, graphs: dict[str, StackGraph]) -> None:
    graph = graphs["prod"]
    rules = [r for r in graph.by_type("aws:cloudwatch/eventRule:EventRule") if "copy-job-failed" in r.name]
    assert len(rules) == 2  # one per region
    # The rules forwarding every AWS Backup event to the verifier's bus (which alerts on failed copies)
    # match failed copy jobs too and have a target: alone they satisfy the rule.
    forwarders = [
        r for r in graph.by_type("aws:cloudwatch/eventRule:EventRule") if "forward-backup-events" in r.name
    ]
    assert len(forwarders) == 2
    assert client.analyze_stack(fx.without(graph, *rules)).of("aws-backup-production-failure-alerts") == []
    violations = client.analyze_stack(fx.without(graph, *rules, *forwarders)).violations
    assert [(v.policy_name, v.urn) for v in violations] == [("aws-backup-production-failure-alerts", "")]
    assert "'Copy Job State Change'" in violations[0].message


def test_real_graph_memorydb_bucket_is_the_narrow_exception(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    """The MemoryDB export bucket keeps BucketOwnerPreferred only thanks to its grant to MemoryDB."""
    graph = graphs["prod"]
    policy = next(
        p for p in graph.by_type("aws:s3/bucketPolicy:BucketPolicy") if p.name.startswith("memorydb")
    )
    bucket = next(b for b in graph.by_type("aws:s3/bucket:Bucket") if b.name.startswith("memorydb"))
    violations = client.analyze_stack(fx.without(graph, policy)).violations
    assert [(v.policy_name, v.urn) for v in violations] == [
        ("aws-s3-bucket-backup-acls-disabled", bucket.urn)
    ]
    assert "us-east-1.memorydb-snapshot.amazonaws.com" in violations[0].message


def test_without_the_isolated_vaults_facts_the_copies_cannot_be_verified(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    """The workload graph has no air-gapped vault of its own: the facts are what let the pack judge its copies."""
    client.configure({})
    violations = client.analyze_stack(graphs["prod"]).violations
    retention = [v for v in violations if v.policy_name == "aws-backup-air-gapped-copy-retention"]
    assert retention
    assert all("cannot verify" in v.message and "knownExternalVaults" in v.message for v in retention)


def test_an_isolated_vault_range_the_copies_miss_is_caught(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    """The facts carry the vault's range: one the copies (7 days) fall outside of fails them."""
    narrowed = facts("prod")
    for settings in narrowed.values():
        for entry in settings.get("knownExternalVaults", []):
            if entry["airGapped"]:
                entry["minRetentionDays"] = 8
    client.configure(narrowed)
    violations = client.analyze_stack(graphs["prod"]).of("aws-backup-air-gapped-copy-retention")
    assert violations
    assert all("outside the vault's [8, 35]" in v.message for v in violations)
