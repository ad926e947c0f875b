"""Vault Lock and the deny access policy on every workload vault (each type's vault in both regions).

- Nothing that existed moves: every resource registered before the lock (``baselines/before-vault-lock.json``,
  written from commit 7f24ee2) is still registered under its URN with the same inputs, vaults above all; the only
  changed inputs are the cross-region vault policies' (a Deny added; a policy is updated in place).
- Each lock's minimum is the shortest retention the stack's own plans give a recovery point in that vault, so no
  rule or copy job the stack schedules is refused by it; both layouts, every example stack.
- The access policy, judged by the guardrails' evaluator: the workload admin and the root user are denied, the
  deployment role and the vault's backup role are not.
- Bad ``vaultLock`` / ``deploymentRole`` values stop before anything is registered, with the key named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import documents
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import read_stack_config, register_stack, stack_file
from tests.org.policy_evaluator import Request, denying
from tests.program.graph_baseline import STACKS, digest, moved_to_isolated, snapshot
from tests.program.program_refusals import assert_refused

NS = "aws-dr-backup:"
BASELINE = Path(__file__).parent / "baselines" / "before-vault-lock.json"
VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
POLICY = "aws:backup/vaultPolicy:VaultPolicy"
PLAN = "aws:backup/plan:Plan"
# What holds or guards recovery points: none of these may change but by the lock's own additions.
STATEFUL = (
    VAULT,
    "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault",
    LOCK,
    POLICY,
    "aws:kms/key:Key",
    "aws:kms/alias:Alias",
    "aws:ram/resourceShare:ResourceShare",
    "aws:ram/resourceAssociation:ResourceAssociation",
    "aws:ram/principalAssociation:PrincipalAssociation",
)
WORKLOAD = "111111111111"
DEPLOYER = f"arn:aws:iam::{WORKLOAD}:role/aws-dr-backup-deploy"


@pytest.fixture(scope="module")
def graphs() -> dict[str, StackGraph]:
    return {stack: register_stack(stack) for stack in STACKS}


def _named(graph: StackGraph, type_token: str) -> dict[str, RegisteredResource]:
    return {r.name: r for r in graph.resources if r.type == type_token}


def _workload_vaults(graph: StackGraph) -> dict[str, RegisteredResource]:
    """``<type>-origin`` / ``<type>-cross-region`` -> the vault (the isolated account's locked vault left out)."""
    return {
        name.removesuffix("-vault"): vault
        for name, vault in _named(graph, VAULT).items()
        if name.endswith(("-origin-vault", "-cross-region-vault"))
    }


# --- nothing that existed moves ----------------------------------------------------------------


def test_every_resource_registered_before_is_still_there_unchanged(graphs: dict[str, StackGraph]) -> None:
    before = json.loads(BASELINE.read_text())
    for stack, graph in graphs.items():
        now = snapshot(graph)
        # What the workload stacks registered in the isolated account has left them for the isolated
        # stack since (tests/program/test_isolated_split.py, tests/isolated/test_migration.py).
        old = {
            part: {urn: v for urn, v in before[stack][part].items() if not moved_to_isolated(urn)}
            for part in ("digests", "full")
        }
        missing = sorted(set(old["digests"]) - set(now["digests"]))
        assert missing == [], f"{stack}: no longer registered (deleted or renamed): {missing[:3]}"
        changed = sorted(urn for urn, d in old["digests"].items() if now["digests"][urn] != d)
        # Of what holds or guards recovery points, the cross-region vault policies gain the Deny and nothing
        # else changes (stateless resources, such as a job's environment, may change with other work).
        guarding = [u for u in changed if any(f"${token}::" in u for token in STATEFUL)]
        assert guarding, stack
        unexpected = [
            u for u in guarding if not (u.endswith("-cross-region-vault-policy") and f"${POLICY}::" in u)
        ]
        assert unexpected == [], f"{stack}: inputs changed"
        # Every vault byte for byte (the isolated account's: in the isolated stack).
        assert now["full"] == old["full"], stack
        assert len(old["full"]) == len(_workload_vaults(graph)) > 0, stack
        added = {urn: r for urn, r in graph.by_urn().items() if urn not in old["digests"]}
        assert {r.type for r in added.values()} & set(STATEFUL) == {LOCK, POLICY}
        vaults = _workload_vaults(graph)
        assert sorted(r.name for r in added.values() if r.type == LOCK) == sorted(
            f"{place}-vault-lock" for place in vaults
        )
        assert sorted(r.name for r in added.values() if r.type == POLICY) == sorted(
            f"{place}-vault-policy" for place in vaults if place.endswith("-origin")
        )


def test_the_baseline_comparison_catches_a_changed_vault(graphs: dict[str, StackGraph]) -> None:
    """The comparison is not vacuous: a vault whose input moved gets another digest and another full entry."""
    graph = graphs["prod"]
    vault = _workload_vaults(graph)["ebs-origin"]
    moved = RegisteredResource(**{**vault.__dict__, "inputs": {**vault.inputs, "name": "dr-prod-ebs-2"}})
    assert digest(moved) != digest(vault)
    before = json.loads(BASELINE.read_text())["prod"]
    assert before["digests"][vault.urn] == digest(vault)
    assert before["full"][vault.urn]["inputs"] != moved.inputs


# --- the locks ---------------------------------------------------------------------------------


def _lock_of(graph: StackGraph, place: str) -> RegisteredResource:
    return _named(graph, LOCK)[f"{place}-vault-lock"]


def _retention_by_vault(graph: StackGraph) -> dict[str, list[float]]:
    """Vault name and region -> every deleteAfter the stack's plans give a recovery point there."""
    kept: dict[tuple[str, str], list[float]] = {
        (v.inputs["name"], _region(graph, v)): [] for v in _workload_vaults(graph).values()
    }
    for plan in graph.by_type(PLAN):
        for rule in plan.inputs["rules"]:
            kept[(rule["targetVaultName"], _region(graph, plan))].append(rule["lifecycle"]["deleteAfter"])
            for copy in rule.get("copyActions", []):
                _, _, _, region, _, rest = copy["destinationVaultArn"].split(":", 5)
                key = (rest.removeprefix("backup-vault:"), region)
                if key in kept:  # the isolated account's vaults have other names
                    kept[key].append(copy["lifecycle"]["deleteAfter"])
    return {f"{name}@{region}": days for (name, region), days in kept.items()}


def _region(graph: StackGraph, resource: RegisteredResource) -> str:
    providers = {r.urn: r.inputs["region"] for r in graph.by_type("pulumi:providers:aws")}
    return str(providers[resource.provider_urn])


@pytest.mark.parametrize("layout", ["partitioned", "split"])
@pytest.mark.parametrize("stack", STACKS)
def test_each_lock_takes_the_shortest_retention_its_plans_put_into_the_vault(stack: str, layout: str) -> None:
    raw = read_stack_config(stack_file(stack))
    graph = register_stack(stack, config={**raw, NS + "layout": layout})
    retention = _retention_by_vault(graph)
    for place, vault in _workload_vaults(graph).items():
        lock = _lock_of(graph, place)
        days = retention[f"{vault.inputs['name']}@{_region(graph, vault)}"]
        assert days, place
        assert lock.inputs["minRetentionDays"] == min(days), place
        assert "maxRetentionDays" not in lock.inputs
        assert "changeableForDays" not in lock.inputs  # governance by default
        assert lock.inputs["backupVaultName"] == vault.inputs["name"]
        assert lock.provider == vault.provider
        assert lock.parent == vault.parent
        assert lock.delete_before_replace
        assert not lock.protect


def test_the_lock_minimum_follows_the_stack_retention(prod_config: dict[str, Any]) -> None:
    """Longer in-region and cross-region retention raise the locks' minimums with them (and S3's continuous
    rules keep theirs)."""
    prod_config[NS + "retention"] = {
        "inRegion": {"deleteAfterDays": 5},
        "crossRegionCopy": {"deleteAfterDays": 9},
        "airGappedCopy": {"deleteAfterDays": 7},
        "s3ContinuousDays": 20,
    }
    graph = register_stack("prod", config=prod_config)
    assert _lock_of(graph, "ebs-origin").inputs["minRetentionDays"] == 5
    assert _lock_of(graph, "ebs-cross-region").inputs["minRetentionDays"] == 9
    assert _lock_of(graph, "s3-origin").inputs["minRetentionDays"] == 20


def test_compliance_mode_has_its_grace_period_and_is_protected(prod_config: dict[str, Any]) -> None:
    prod_config[NS + "vaultLock"] = {"mode": "compliance", "changeableForDays": 3, "maxRetentionDays": 365}
    graph = register_stack("prod", config=prod_config)
    locks = [_lock_of(graph, place) for place in _workload_vaults(graph)]
    assert len(locks) == 16
    for lock in locks:
        assert lock.inputs["changeableForDays"] == 3
        assert lock.inputs["maxRetentionDays"] == 365
        assert lock.protect
        assert lock.delete_before_replace


def test_a_given_minimum_applies_to_every_vault(prod_config: dict[str, Any]) -> None:
    prod_config[NS + "vaultLock"] = {"minRetentionDays": 1}
    graph = register_stack("prod", config=prod_config)
    assert {_lock_of(graph, p).inputs["minRetentionDays"] for p in _workload_vaults(graph)} == {1}


# --- the access policy -------------------------------------------------------------------------


def _deny(graph: StackGraph, place: str) -> dict[str, Any]:
    policy = json.loads(_named(graph, POLICY)[f"{place}-vault-policy"].inputs["policy"])
    assert isinstance(policy, dict)
    return policy


ADMIN = f"arn:aws:iam::{WORKLOAD}:role/Admin"
ROOT = f"arn:aws:iam::{WORKLOAD}:root"


@pytest.mark.parametrize("action", documents.WORKLOAD_VAULT_GUARDED_ACTIONS)
def test_the_vault_policy_denies_the_admin_and_lets_the_deployer_and_backup_role_through(
    graphs: dict[str, StackGraph], action: str
) -> None:
    graph = graphs["prod"]
    for place in _workload_vaults(graph):
        policy = _deny(graph, place)
        key = place.rsplit("-origin", 1)[0].rsplit("-cross-region", 1)[0]
        backup_role = f"arn:aws:iam::{WORKLOAD}:role/dr-prod-{key}-AWSBackupRole"
        other_role = f"arn:aws:iam::{WORKLOAD}:role/dr-prod-{'rds' if key != 'rds' else 'ebs'}-AWSBackupRole"
        point = "arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0"
        for principal in (ADMIN, ROOT, other_role, "arn:aws:iam::999999999999:role/aws-dr-backup-deploy"):
            assert denying([policy], Request(action, point, principal)) == [
                "OnlyBackupAndDeploymentRolesDeleteOrLoosen"
            ], (place, principal)
        for principal in (DEPLOYER, backup_role):
            assert denying([policy], Request(action, point, principal)) == [], (place, principal)


def test_the_vault_policy_leaves_other_actions_alone(graphs: dict[str, StackGraph]) -> None:
    policy = _deny(graphs["prod"], "ebs-cross-region")
    for action in (
        "backup:CopyIntoBackupVault",
        "backup:StartRestoreJob",
        "backup:ListRecoveryPointsByBackupVault",
    ):
        assert denying([policy], Request(action, "*", ADMIN)) == [], action


def test_a_named_deployment_role_is_the_one_exempt(prod_config: dict[str, Any]) -> None:
    prod_config[NS + "deploymentRole"] = f"arn:aws:iam::{WORKLOAD}:role/ci/PlatformDeployer"
    graph = register_stack("prod", config=prod_config)
    policy = _deny(graph, "ebs-origin")
    request = Request("backup:DeleteRecoveryPoint", "*", f"arn:aws:iam::{WORKLOAD}:role/ci/PlatformDeployer")
    assert denying([policy], request) == []
    assert denying([policy], Request("backup:DeleteRecoveryPoint", "*", DEPLOYER)) != []


# --- bad values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "fragments"),
    [
        ("vaultLock", {"mode": "strict"}, ["vaultLock.mode = 'strict'", "'governance' or 'compliance'"]),
        (
            "vaultLock",
            {"mode": "compliance", "changeableForDays": 2},
            ["vaultLock.changeableForDays = 2", "must be 3 to 36500 days", "72-hour"],
        ),
        (
            "vaultLock",
            {"mode": "compliance", "changeableForDays": 36501},
            ["vaultLock.changeableForDays = 36501", "must be 3 to 36500 days"],
        ),
        ("vaultLock", {"mode": "compliance"}, ["vaultLock", "changeableForDays is not set"]),
        (
            "vaultLock",
            {"changeableForDays": 7},
            ["vaultLock", "changeableForDays (7) is set but mode is governance"],
        ),
        ("vaultLock", {"minRetentionDays": 0}, ["vaultLock.minRetentionDays = 0", "must be 1 to 36500 days"]),
        ("vaultLock", {"minRetentionDays": 2}, ["vaultLock.minRetentionDays (2) must be at most 1"]),
        ("vaultLock", {"maxRetentionDays": 30}, ["vaultLock.maxRetentionDays (30) must be at least 35"]),
        (
            "vaultLock",
            {"minRetentionDays": 1, "maxRetentionDays": 36501},
            ["vaultLock.maxRetentionDays = 36501", "must be 1 to 36500 days"],
        ),
        ("vaultLock", {"mod": "governance"}, ["vaultLock.mod", "unknown setting"]),
        (
            "deploymentRole",
            "arn:aws:iam::999999999999:role/aws-dr-backup-deploy",
            [
                "deploymentRole (arn:aws:iam::999999999999:role/aws-dr-backup-deploy)",
                "workload account 111111111111",
            ],
        ),
        (
            "deploymentRole",
            "deploy role",
            ["deploymentRole ('deploy role') must be an IAM role name or role ARN"],
        ),
    ],
)
def test_bad_values_stop_before_anything_is_registered(
    prod_config: dict[str, Any], key: str, value: Any, fragments: list[str]
) -> None:
    prod_config[NS + key] = value
    assert_refused("prod", prod_config, *fragments)


def test_good_values_at_the_limits_pass(prod_config: dict[str, Any]) -> None:
    prod_config[NS + "vaultLock"] = {
        "mode": "compliance",
        "changeableForDays": 36500,
        "minRetentionDays": 1,
        "maxRetentionDays": 35,
    }
    graph = register_stack("prod", config=prod_config)
    assert {_lock_of(graph, p).inputs["maxRetentionDays"] for p in _workload_vaults(graph)} == {35}


# --- the evaluator's resource-policy branch, which the tests above rely on -------------------------


def test_the_evaluator_reads_resource_policies_strictly() -> None:
    allow = {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "backup:*", "Resource": "*"}
    request = Request("backup:DeleteRecoveryPoint", "*", ADMIN)
    assert denying([{"Statement": [allow]}], request) == []
    named = {"Sid": "D", "Effect": "Deny", "Principal": {"AWS": ADMIN}, "Action": "backup:*", "Resource": "*"}
    with pytest.raises(NotImplementedError, match="principal"):
        denying([{"Statement": [named]}], request)
    scp_allow = {"Sid": "S", "Effect": "Allow", "Action": "backup:*", "Resource": "*"}
    with pytest.raises(NotImplementedError, match="only denies"):
        denying([{"Statement": [scp_allow]}], request)
    wildcard = {**named, "Principal": "*"}
    assert denying([{"Statement": [wildcard]}], request) == ["D"]
