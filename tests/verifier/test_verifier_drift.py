"""The locked tier, the vault-policy check and the RAM-share check, each both ways."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from dr_runtime.verifier.evaluation import Kind
from dr_runtime.verifier.readings import Tier
from dr_runtime.verifier.verify import run
from tests.verifier.conftest import (
    FLEET,
    NOW,
    PAGE,
    Fleet,
    database,
    lag_arn,
    lag_name,
    locked_arn,
    locked_name,
    make_config,
    only,
    program_policy,
    share_arn,
)

STAGING = "333333333333"


def kinds(fleet: Fleet, locked: bool = True) -> list[tuple[str, str | None]]:
    result = run(only(STAGING, locked=locked), fleet.places(), NOW)
    return sorted((f.kind.value, None if f.tier is None else f.tier.value) for f in result.findings)


@pytest.mark.parametrize(("age_hours", "stale"), [(31.9, False), (32.1, True)])
def test_the_locked_tier_is_stale_on_its_own(fleet: Fleet, age_hours: float, stale: bool) -> None:
    fleet.healthy_account(STAGING)
    for number in range(2):
        fleet.isolated.add_point(
            STAGING, database(STAGING, number), NOW - timedelta(hours=age_hours), kind="RDS", locked=True
        )
    assert kinds(fleet) == ([("stale", "locked")] if stale else [])


def test_a_missing_locked_vault_is_no_vault_only_where_expected(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    assert kinds(fleet, locked=True) == [("no-vault", "locked")]
    assert kinds(fleet, locked=False) == []
    names = {p["BackupVaultName"] for _n, p in fleet.isolated.calls}
    assert names == {lag_name(STAGING), locked_name(STAGING)}


def test_a_locked_vault_without_copies_and_its_metrics(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    fleet.isolated.vaults[locked_name(STAGING)] = []
    assert kinds(fleet) == [("no-copies", "locked")]
    fleet.healthy_databases(STAGING)
    result = run(only(STAGING, locked=True), fleet.places(), NOW)
    assert result.findings == []
    assert result.verdicts[0].tiers[Tier.LOCKED].fresh_resources == 2


@pytest.mark.parametrize("locked", [False, True])
@pytest.mark.parametrize(
    ("change", "drift"),
    [
        ("as-built", False),
        ("reformatted", False),
        ("missing", True),
        ("extra-principal", True),
        ("no-copy-in", True),
        ("deny-added", True),
    ],
)
def test_vault_policy_drift(fleet: Fleet, locked: bool, change: str, drift: bool) -> None:
    fleet.healthy_account(STAGING)
    fleet.healthy_databases(STAGING)
    name, arn = (
        (locked_name(STAGING), locked_arn(STAGING)) if locked else (lag_name(STAGING), lag_arn(STAGING))
    )
    policy = json.loads(program_policy(arn, STAGING))
    statement = policy["Statement"][0]
    if change == "reformatted":
        statement.update(Sid="Renamed", Action=["BACKUP:CopyIntoBackupVault"], Principal={"AWS": [STAGING]})
    elif change == "extra-principal":
        statement["Principal"] = {"AWS": [f"arn:aws:iam::{STAGING}:root", "arn:aws:iam::999999999999:root"]}
    elif change == "no-copy-in":
        statement["Action"] = "backup:DescribeBackupVault"
    elif change == "deny-added":
        policy["Statement"].append(
            {"Effect": "Deny", "Principal": "*", "Action": "backup:*", "Resource": arn}
        )
    fleet.isolated.policies[name] = None if change == "missing" else json.dumps(policy)
    tier = "locked" if locked else "air-gapped"
    assert kinds(fleet) == ([("vault-policy-drift", tier)] if drift else [])


def test_an_unreadable_policy_is_unreadable(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    fleet.isolated.denied["GetBackupVaultAccessPolicy"] = "AccessDeniedException"
    assert kinds(fleet, locked=False) == [("unreadable", "air-gapped")]


@pytest.mark.parametrize(
    ("shares", "drift"),
    [
        ("as-built", False),
        ("no-share", True),
        ("share-deleted", True),
        ("vault-disassociated", True),
        ("workload-missing", True),
        ("extra-principal", True),
        ("second-share", True),
    ],
)
def test_ram_share_drift(fleet: Fleet, shares: str, drift: bool) -> None:
    fleet.healthy_account(STAGING)
    ram = fleet.ram
    if shares == "as-built":
        ram.share(STAGING)
    elif shares == "no-share":
        ram.defaults = False
        ram.share(
            STAGING,
            name="unrelated",
            resources={"arn:aws:backup:us-east-1:222222222222:backup-vault:x": "ASSOCIATED"},
        )
    elif shares == "share-deleted":
        ram.share(STAGING, status="DELETED")
    elif shares == "vault-disassociated":
        ram.share(STAGING, resources={lag_arn(STAGING): "DISASSOCIATED"})
    elif shares == "workload-missing":
        ram.share(STAGING, principals={STAGING: "DISASSOCIATED"})
    elif shares == "extra-principal":
        ram.share(STAGING, principals={STAGING: "ASSOCIATED", "999999999999": "ASSOCIATED"})
    elif shares == "second-share":
        ram.share(STAGING)
        ram.share(STAGING, 1, name="other", principals={"999999999999": "ASSOCIATING"})
    assert kinds(fleet, locked=False) == ([("ram-share-drift", "air-gapped")] if drift else [])
    if shares == "extra-principal":
        result = run(only(STAGING), fleet.places(), NOW)
        assert "999999999999 (ASSOCIATED, share " + share_arn(STAGING) in result.findings[0].message


def test_unreadable_shares_are_unreadable(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    fleet.ram.denied["GetResourceShareAssociations"] = "AccessDeniedException"
    assert kinds(fleet, locked=False) == [("unreadable", "air-gapped")]
    assert Kind.RAM_SHARE_DRIFT.value == "ram-share-drift"


def test_the_shares_are_listed_once_a_run_for_the_whole_fleet(fleet: Fleet) -> None:
    """Three listings of the isolated account, each over its pages, whatever the fleet's size: no call
    names one vault or one share (docs/verifier.md, What a run costs)."""
    for account in FLEET:
        fleet.healthy_account(account)
    result = run(make_config(), fleet.places(), NOW)
    assert result.findings == []
    calls = fleet.ram.calls
    assert all("resourceArn" not in params and "resourceShareArns" not in params for _, params in calls)
    # The fake's first page is empty, then PAGE items a page: three vaults, three shares, three principals.
    pages = 1 + -(-len(FLEET) // PAGE)
    assert [name for name, _ in calls] == ["GetResourceShareAssociations"] * (2 * pages) + [
        "GetResourceShares"
    ] * pages


def test_a_share_of_a_vault_outside_the_fleet_is_not_one_of_its_accounts(fleet: Fleet) -> None:
    """The whole account's shares are listed; a share of another vault changes no account's verdict,
    while the same extra principal on the account's own share is drift."""
    fleet.healthy_account(STAGING)
    other = "arn:aws:backup:us-east-1:222222222222:backup-vault:someone-else"
    fleet.ram.share(STAGING)
    fleet.ram.share(
        STAGING, 1, name="other", resources={other: "ASSOCIATED"}, principals={"999999999999": "ASSOCIATED"}
    )
    assert kinds(fleet, locked=False) == []
    fleet.ram.shares[share_arn(STAGING, 1)]["resources"] = {
        other: "ASSOCIATED",
        lag_arn(STAGING): "ASSOCIATED",
    }
    assert kinds(fleet, locked=False) == [("ram-share-drift", "air-gapped")]


# --- the vault's own state (DescribeBackupVault) -------------------------------------------------------

MPA_TEAM = "arn:aws:mpa:us-east-1:777777777777:approval-team/dr-approvers"


@pytest.mark.parametrize("locked", [False, True])
@pytest.mark.parametrize(
    ("change", "drift"),
    [
        ({}, False),
        ({"VaultType": "BACKUP_VAULT"}, True),
        ({"Locked": False}, True),
        ({"Locked": None, "MinRetentionDays": None, "MaxRetentionDays": None}, True),
        ({"MinRetentionDays": 1}, True),
        ({"MaxRetentionDays": 36500}, True),
    ],
)
def test_vault_state_drift(fleet: Fleet, locked: bool, change: dict[str, object], drift: bool) -> None:
    fleet.healthy_account(STAGING)
    fleet.healthy_databases(STAGING)
    if locked and change.get("VaultType") == "BACKUP_VAULT":
        change = {"VaultType": "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"}
    fleet.isolated.states[locked_name(STAGING) if locked else lag_name(STAGING)] = change
    tier = "locked" if locked else "air-gapped"
    assert kinds(fleet) == ([("vault-state-drift", tier)] if drift else [])


def test_vault_state_drift_names_what_differs(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    fleet.isolated.states[lag_name(STAGING)] = {
        "VaultType": "BACKUP_VAULT",
        "Locked": False,
        "MaxRetentionDays": 90,
    }
    result = run(only(STAGING), fleet.places(), NOW)
    (finding,) = result.findings
    assert finding.message == (
        f"vault {lag_name(STAGING)} is not as the stack built it: its type is BACKUP_VAULT, not "
        "LOGICALLY_AIR_GAPPED_BACKUP_VAULT; it is not locked: its recovery points can be deleted before "
        "they expire; its retention is 7-90 days (min-max), not the stack's 7-35"
    )
    evidence = result.verdicts[0].evidence["vaults"]["air-gapped"]["description"]
    assert evidence == {
        "type": "BACKUP_VAULT",
        "locked": False,
        "min_retention_days": 7,
        "max_retention_days": 90,
        "mpa_approval_team_arn": None,
    }


def test_retention_is_compared_only_where_the_stack_range_is_given(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    fleet.isolated.states[lag_name(STAGING)] = {"MinRetentionDays": 3}
    config = only(STAGING)
    unranged = replace(config, fleet=tuple(replace(a, retention=None) for a in config.fleet))
    assert [f.kind for f in run(config, fleet.places(), NOW).findings] == [Kind.VAULT_STATE_DRIFT]
    result = run(unranged, fleet.places(), NOW)
    assert result.findings == []
    assert STAGING in result.summary.skipped["vault-retention"]


@pytest.mark.parametrize(
    ("required", "team", "drift"),
    [(True, None, True), (True, MPA_TEAM, False), (False, None, False), (False, MPA_TEAM, False)],
)
def test_an_air_gapped_vault_needs_its_approval_team_when_mpa_is_on(
    fleet: Fleet, required: bool, team: str | None, drift: bool
) -> None:
    fleet.healthy_account(STAGING)
    fleet.healthy_databases(STAGING)
    fleet.isolated.states[lag_name(STAGING)] = {"MpaApprovalTeamArn": team}
    # The locked vault is a standard vault: no approval team is expected of it.
    result = run(only(STAGING, locked=True, mpa_team_required=required), fleet.places(), NOW)
    found = sorted((f.kind.value, f.tier.value if f.tier else None) for f in result.findings)
    assert found == ([("vault-state-drift", "air-gapped")] if drift else [])
    if drift:
        assert "no multi-party approval team (MpaApprovalTeamArn)" in result.findings[0].message


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_an_unreadable_description_is_unreadable(fleet: Fleet, code: str) -> None:
    fleet.healthy_account(STAGING)
    fleet.isolated.denied["DescribeBackupVault"] = code
    result = run(only(STAGING), fleet.places(), NOW)
    (finding,) = result.findings
    assert (finding.kind, finding.tier) == (Kind.UNREADABLE, Tier.AIR_GAPPED)
    assert "description of vault" in finding.message
    assert "vault-state check was not made" in finding.message
    assert ("throttled" if code.startswith("Throttl") else "access denied") in finding.message
    assert result.summary.failed == {STAGING: finding.message}
