"""The isolated account's locked standard vault for RDS DB instances, which AWS Backup cannot copy into a
logically air-gapped vault (docs/aws-facts.md#3-logically-air-gapped-vaults, 3.9-3.11).

The workload stack copies into it by its ARN; the isolated account's own stack (``isolated/``) registers it,
so the vault, its key, lock and policy are checked in that stack's graph (docs/isolated-account.md). Every
vault and key a workload stack keeps has its URN and its name (the expected values below are spelled out
from the naming scheme, not read from the program).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from drplan.graph import RegisteredResource, StackGraph
from drplan.program import register_stack
from tests.isolated.isolated_graphs import run_isolated

NS = "aws-dr-backup"
WORKLOAD, ISOLATED = "111111111111", "222222222222"
TYPES = ["s3", "ebs", "efs", "dynamodb", "rds", "aurora", "documentdb", "neptune"]
VAULT = "aws:backup/vault:Vault"
KEY = "aws:kms/key:Key"
LAG = "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
POLICY = "aws:backup/vaultPolicy:VaultPolicy"
SHARE = "aws:ram/resourceShare:ResourceShare"
ASSOCIATION = "aws:ram/resourceAssociation:ResourceAssociation"
PROTECTION = "aws-dr-backup:backup:ResourceTypeProtection"
ARCHIVE = "aws-dr-backup:backup:AirGappedArchive"
# prod's resources in the isolated stack carry its workload account.
BASE = f"archive-{WORKLOAD}"


@pytest.fixture(scope="module")
def isolated() -> StackGraph:
    """The isolated stack prod copies into."""
    return run_isolated(f"isolated-{ISOLATED}")


def urn(stack: str, parent: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{NS}::{parent}${type_}::{name}"


def existing(stack: str, prefix: str, workload: str, keys: list[str]) -> dict[str, str]:
    """URN -> name of every vault and vault key the workload stack keeps (its isolated-account vaults and
    share moved to the isolated stack, tests/isolated/test_migration.py)."""
    found: dict[str, str] = {}
    for key in keys:
        for place in ("origin", "cross-region"):
            found[urn(stack, PROTECTION, VAULT, f"{key}-{place}-vault")] = f"{prefix}-{key}"
            found[urn(stack, PROTECTION, KEY, f"{key}-{place}-key")] = ""
    return found


def by_urn(graph: StackGraph) -> dict[str, RegisteredResource]:
    return {r.urn: r for r in graph.resources}


def one(graph: StackGraph, type_: str, name: str) -> RegisteredResource:
    (found,) = [r for r in graph.resources if r.type == type_ and r.name == name]
    return found


def test_every_workload_vault_and_key_keeps_its_urn_and_name(prod: StackGraph, staging: StackGraph) -> None:
    for graph, stack, prefix, workload, keys in (
        (prod, "prod", "dr-prod", WORKLOAD, TYPES),
        (
            staging,
            "staging",
            "dr-staging",
            "333333333333",
            [k for k in TYPES if k not in ("documentdb", "neptune")],
        ),
    ):
        registered = by_urn(graph)
        for expected_urn, name in existing(stack, prefix, workload, keys).items():
            assert expected_urn in registered, expected_urn
            resource = registered[expected_urn]
            if name:
                assert resource.inputs["name"] == name
            if resource.type in (VAULT, LAG, KEY):
                assert resource.protect
        # No other vault: nothing in the isolated account.
        vaults = {r.urn for r in graph.resources if r.type in (VAULT, LAG)}
        assert vaults == {u for u in existing(stack, prefix, workload, keys) if f"${VAULT}::" in u}
        assert not any(r.type in (LAG, SHARE, ASSOCIATION) or ARCHIVE in r.urn for r in graph.resources)
        assert not any(r.inputs.get("aliases") for r in graph.resources)


def test_the_locked_vault_is_a_compliance_mode_locked_vault_of_the_isolated_account(
    isolated: StackGraph,
) -> None:
    vault = one(isolated, VAULT, f"{BASE}-locked-vault")
    assert vault.inputs["name"] == "dr-prod-111111111111-locked"
    assert vault.provider_urn.endswith(f"::{BASE}")
    assert vault.protect
    assert vault.inputs["forceDestroy"] is False
    key = one(isolated, KEY, f"{BASE}-locked-key")
    assert key.provider_urn.endswith(f"::{BASE}")
    assert key.protect
    assert key.inputs["enableKeyRotation"] is True
    assert vault.inputs["kmsKeyArn"].startswith(f"arn:aws:kms:us-east-1:{ISOLATED}:key/")
    lock = one(isolated, LOCK, f"{BASE}-locked-vault-lock")
    # changeableForDays makes it compliance mode; the range is the air-gapped vault's.
    lag = one(isolated, LAG, f"{BASE}-vault")
    assert lock.inputs["backupVaultName"] == vault.inputs["name"]
    assert lock.inputs["changeableForDays"] == 3
    assert lock.inputs["minRetentionDays"] == lag.inputs["minRetentionDays"] == 7
    assert lock.inputs["maxRetentionDays"] == lag.inputs["maxRetentionDays"] == 35
    assert lock.protect
    # A changed lock is put after the old one is deleted: put-then-delete on one vault would remove the lock
    # just put (a vault has one lock configuration), as for the workload vaults' locks.
    assert lock.delete_before_replace


def _statements(policy: str) -> list[dict[str, Any]]:
    return list(json.loads(policy)["Statement"])


def test_only_the_workload_account_copies_in_and_uses_the_key_for_aws_resources(isolated: StackGraph) -> None:
    policy = one(isolated, POLICY, f"{BASE}-locked-vault-policy")
    assert policy.inputs["backupVaultName"] == "dr-prod-111111111111-locked"
    (statement,) = _statements(policy.inputs["policy"])
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{WORKLOAD}:root"}
    assert statement["Action"] == "backup:CopyIntoBackupVault"
    assert (
        statement["Resource"]
        == f"arn:aws:backup:us-east-1:{ISOLATED}:backup-vault:dr-prod-111111111111-locked"
    )
    statements = _statements(one(isolated, KEY, f"{BASE}-locked-key").inputs["policy"])
    assert all("*" not in json.dumps(s["Principal"]) for s in statements)
    owner = next(s for s in statements if s["Action"] == "kms:*")
    assert owner["Principal"] == {"AWS": f"arn:aws:iam::{ISOLATED}:root"}
    grant = next(s for s in statements if "kms:CreateGrant" in s["Action"])
    assert grant["Principal"] == {"AWS": [f"arn:aws:iam::{WORKLOAD}:root"]}
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    use = next(s for s in statements if "kms:Decrypt" in s["Action"] and s is not owner)
    assert use["Principal"] == grant["Principal"]
    assert "kms:CreateGrant" not in use["Action"]


def test_the_locked_vault_is_not_shared_through_ram(isolated: StackGraph) -> None:
    (association,) = [a for a in isolated.by_type(ASSOCIATION) if a.name == f"{BASE}-share-vault"]
    assert one(isolated, LAG, f"{BASE}-vault").urn in association.dependencies
    assert all(
        one(isolated, VAULT, f"{BASE}-locked-vault").urn not in a.dependencies
        for a in isolated.by_type(ASSOCIATION)
    )


def test_only_rds_copies_into_the_locked_vault(prod: StackGraph) -> None:
    locked = f"arn:aws:backup:us-east-1:{ISOLATED}:backup-vault:dr-prod-111111111111-locked"
    into = {
        plan.parent.rsplit("::", 1)[-1]
        for plan in prod.by_type("aws:backup/plan:Plan")
        for rule in plan.inputs["rules"]
        for copy in rule.get("copyActions", [])
        if copy["destinationVaultArn"] == locked
    }
    assert into == {"rds"}


def test_no_locked_vault_without_an_active_type_that_needs_it(staging_config: dict[str, Any]) -> None:
    staging_config[f"{NS}:resourceTypes"]["rds"] = {"active": False}
    graph = register_stack("staging", config=staging_config)
    assert [r for r in graph.resources if r.type in (LOCK, KEY) and r.name.startswith("archive-locked")] == []
    assert [r.name for r in graph.by_type(VAULT) if r.name.startswith("archive-")] == []
    assert "lockedVaultArn" not in graph.outputs
