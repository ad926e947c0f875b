"""The cross-stack checks on stack summaries: each conflict planted and absent, the quotas, the notes."""

from __future__ import annotations

from typing import Any

from drplan import fleet_checks
from drplan.fleet_checks import IsolatedName, StackSummary

ISOLATED = "222222222222"


def summary(stack: str, workload: str, isolated: str = ISOLATED, **changes: Any) -> StackSummary:
    names = (
        IsolatedName(isolated, "us-east-1", "backup vault", f"dr-{stack}-air-gapped"),
        IsolatedName(isolated, "us-east-1", "backup vault policy", f"dr-{stack}-air-gapped"),
        IsolatedName(isolated, "us-east-1", "RAM resource share", f"dr-{stack}-air-gapped-vault"),
    )
    fields: dict[str, Any] = {
        "environment": "production",
        "workload_account": workload,
        "isolated_account": isolated,
        "isolated_names": names,
        "settings": {"retention.airGappedCopy.deleteAfterDays": 7, "layout": "partitioned"},
        **changes,
    }
    return StackSummary(stack, f"Pulumi.{stack}.yaml", 0, "ok", **fields)


def conflicts(findings: list[fleet_checks.Finding], check: str) -> list[fleet_checks.Finding]:
    return [f for f in findings if f.check == check and f.level == fleet_checks.CONFLICT]


def test_a_fleet_of_distinct_accounts_and_names_has_no_conflict() -> None:
    findings = fleet_checks.check([summary("a", "111111111111"), summary("b", "555555555555")])
    assert [f for f in findings if f.level == fleet_checks.CONFLICT] == []


def test_the_same_workload_account_in_two_stacks_names_both() -> None:
    findings = fleet_checks.check(
        [summary("a", "111111111111"), summary("b", "111111111111"), summary("c", "555555555555")]
    )
    (found,) = conflicts(findings, fleet_checks.DUPLICATE_WORKLOAD)
    assert found.stacks == ("a", "b")
    assert "111111111111" in found.message
    assert "a, b" in found.message


def test_an_isolated_account_that_is_another_stacks_workload_names_both() -> None:
    findings = fleet_checks.check(
        [summary("a", "111111111111"), summary("b", ISOLATED, isolated="666666666666")]
    )
    (found,) = conflicts(findings, fleet_checks.ISOLATED_IS_WORKLOAD)
    assert found.stacks == ("a", "b")
    assert ISOLATED in found.message


def test_the_same_name_in_the_isolated_account_names_both_stacks() -> None:
    same = summary("a", "111111111111").isolated_names
    findings = fleet_checks.check(
        [summary("a", "111111111111"), summary("b", "555555555555", isolated_names=same)]
    )
    clashes = conflicts(findings, fleet_checks.NAME_CLASH)
    assert {f.stacks for f in clashes} == {("a", "b")}
    assert {n.kind for n in same} == {f.message.split(" '")[0] for f in clashes}
    # The same name in another isolated account or region is no clash.
    elsewhere = tuple(IsolatedName("777777777777", n.region, n.kind, n.name) for n in same)
    findings = fleet_checks.check(
        [summary("a", "111111111111"), summary("b", "555555555555", isolated_names=elsewhere)]
    )
    assert conflicts(findings, fleet_checks.NAME_CLASH) == []


def test_vaults_above_the_quota_are_a_conflict_and_near_it_a_note() -> None:
    fleet = [summary(f"s{i}", f"{500000000000 + i}") for i in range(5)]
    over = fleet_checks.check(fleet, vault_quota=4)
    (found,) = conflicts(over, fleet_checks.VAULT_QUOTA)
    assert found.stacks == tuple(f"s{i}" for i in range(5))
    assert "5 vaults" in found.message
    assert "quota of 4" in found.message
    near = fleet_checks.check(fleet, vault_quota=6)
    assert conflicts(near, fleet_checks.VAULT_QUOTA) == []
    assert [f.level for f in near if f.check == fleet_checks.VAULT_QUOTA] == [fleet_checks.NOTE]
    assert [f for f in fleet_checks.check(fleet) if f.check == fleet_checks.VAULT_QUOTA] == []


def test_more_invitations_than_may_be_pending_is_a_note() -> None:
    count = fleet_checks.RAM_PENDING_INVITATIONS + 1
    fleet = [summary(f"s{i}", f"{500000000000 + i}", shares_by_invitation=True) for i in range(count)]
    notes = [f for f in fleet_checks.check(fleet) if f.check == fleet_checks.RAM_INVITATIONS]
    assert [f.level for f in notes] == [fleet_checks.NOTE]
    fleet[0] = summary("s0", "500000000000", shares_by_invitation=False)
    assert [f for f in fleet_checks.check(fleet) if f.check == fleet_checks.RAM_INVITATIONS] == []


def test_a_production_stack_that_differs_from_the_shared_settings_is_a_note() -> None:
    different = {"retention.airGappedCopy.deleteAfterDays": 14, "layout": "partitioned"}
    fleet = [
        summary("a", "111111111111"),
        summary("b", "555555555555"),
        summary("c", "666666666666", settings=different),
        summary("d", "777777777777", environment="staging", settings={"layout": "split"}),
    ]
    notes = [f for f in fleet_checks.check(fleet) if f.check == fleet_checks.SHARED_SETTINGS]
    assert [(f.level, f.stacks) for f in notes] == [(fleet_checks.NOTE, ("c",))]
    assert "retention.airGappedCopy.deleteAfterDays = 14 (fleet: 7" in notes[0].message
    # A project-level value is the fleet's shared value even where most stacks differ from it.
    project = {"retention.airGappedCopy.deleteAfterDays": 14}
    notes = [f for f in fleet_checks.check(fleet, project=project) if f.check == fleet_checks.SHARED_SETTINGS]
    assert [f.stacks for f in notes] == [("a",), ("b",)]
    assert "from Pulumi.yaml" in notes[0].message


def test_stacks_that_did_not_run_take_no_part_in_the_checks() -> None:
    invalid = StackSummary("b", "Pulumi.b.yaml", 2, "invalid-config", "bad")
    assert fleet_checks.check([summary("a", "111111111111"), invalid]) == []


def test_flatten_reads_the_leaves_under_the_shared_paths() -> None:
    config = {
        "retention": {"inRegion": {"deleteAfterDays": 1, "coldStorageAfterDays": None}},
        "layout": "split",
        "prefix": "dr-a",
    }
    assert fleet_checks.flatten(config, ("retention", "layout", "windows")) == {
        "retention.inRegion.coldStorageAfterDays": None,
        "retention.inRegion.deleteAfterDays": 1,
        "layout": "split",
    }


def test_quota_findings_over_many_stacks_name_a_few_and_count_the_rest() -> None:
    """22 stacks: each quota finding says how many stacks and names the first five, not all of them (the
    full list is the finding's ``stacks``, in --json)."""
    fleet = [summary(f"s{i:02d}", f"{500000000000 + i}", shares_by_invitation=True) for i in range(22)]
    findings = [
        *fleet_checks.check(fleet, vault_quota=21, ram_share_quota=21),
        *fleet_checks.check(fleet, vault_quota=26, ram_share_quota=26),
    ]
    quota_checks = {fleet_checks.VAULT_QUOTA, fleet_checks.RAM_SHARE_QUOTA}
    found = [f for f in findings if f.check in quota_checks]
    assert sorted((f.check, f.level) for f in found) == sorted(
        (check, level) for check in quota_checks for level in (fleet_checks.CONFLICT, fleet_checks.NOTE)
    )
    invitations = [f for f in findings if f.check == fleet_checks.RAM_INVITATIONS]
    assert invitations
    for finding in [*found, *invitations]:
        assert "s00, s01, s02, s03, s04 and 17 more" in finding.message, finding.message
        assert "s05" not in finding.message
        assert len(finding.stacks) == 22
    assert all("(22 stacks: s00" in f.message for f in found)
