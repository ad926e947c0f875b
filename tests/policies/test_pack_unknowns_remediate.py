"""Preview-time unknowns never crash a rule nor pass silently; Remediate fixes the windows."""

from __future__ import annotations

import pytest

from drplan.graph import UNKNOWN, RegisteredResource
from drplan.policy_client import PolicyPackClient
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations, only

CANNOT = "cannot verify"


def _last_line(message: str) -> str:
    return message.splitlines()[-1]


@pytest.mark.parametrize(
    ("mutated", "policy", "fragment"),
    [
        (
            fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), UNKNOWN),
            "aws-backup-plan-completion-window",
            "rules[0].completionWindow is unknown",
        ),
        (
            fx.mutate(fx.LAG_VAULT, ("minRetentionDays",), UNKNOWN),
            "aws-backup-air-gapped-vault-retention",
            "minRetentionDays is unknown",
        ),
        (
            fx.mutate(fx.ORIGIN_KEY, ("enableKeyRotation",), UNKNOWN),
            "aws-kms-key-rotation",
            "enableKeyRotation is unknown",
        ),
        (
            fx.mutate(fx.LAG_VAULT_POLICY, ("policy",), UNKNOWN),
            "aws-backup-vault-policy-copy-sources",
            "policy is unknown",
        ),
        (
            fx.mutate(fx.SELECTION, ("conditions",), UNKNOWN),
            "aws-backup-selection-dr-opt-out",
            "conditions is unknown",
        ),
    ],
    ids=["completion", "air-gapped-min", "rotation", "vault-policy", "selection-conditions"],
)
def test_unknown_input_is_reported_as_cannot_verify(
    client: PolicyPackClient, mutated: RegisteredResource, policy: str, fragment: str
) -> None:
    result = client.analyze(mutated, graph=fx.graph(mutated))
    violation = only(list(result.violations), policy)
    assert _last_line(violation.message).startswith(f"{CANNOT} ")
    assert f"'{mutated.name}'" in violation.message
    assert fragment in violation.message
    assert violation.urn == mutated.urn


def test_unknown_key_arn_resolved_through_dependencies(client: PolicyPackClient) -> None:
    """At preview a new key's ARN is unknown; the vault's propertyDependencies still name the key."""
    vault = fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), UNKNOWN)
    assert all_violations(client, fx.graph(vault)) == []
    orphan = fx.without_dependencies(vault, "kmsKeyArn")
    violation = only(all_violations(client, fx.graph(orphan)), "aws-backup-cross-account-copy-cmk")
    assert _last_line(violation.message).startswith(f"{CANNOT} backup.Vault 'ebs-origin-vault'")
    assert "kmsKeyArn is unknown at preview" in violation.message


def _unknown_destinations(*indexes: int) -> RegisteredResource:
    plan = fx.PLAN
    for i in indexes:
        plan = fx.mutate(plan, ("rules", 0, "copyActions", i, "destinationVaultArn"), UNKNOWN)
    return plan


def test_unknown_destination_arns(client: PolicyPackClient) -> None:
    """Both destinations unknown: the set {cross-region vault, air-gapped vault} is known from the plan's
    dependencies, so rule 1 decides; which copy goes where is not, so rule 4 says it cannot verify."""
    graph = fx.graph(_unknown_destinations(0, 1))
    violations = all_violations(client, graph)
    assert {v.policy_name for v in violations} == {"aws-backup-air-gapped-copy-retention"}
    assert all(CANNOT in v.message and "could be" in v.message for v in violations)
    vault = fx.without_dependencies(fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), fx.DELETE), "kmsKeyArn")
    decided = client.analyze_stack(fx.graph(_unknown_destinations(0, 1), vault))
    assert [v.policy_name for v in decided.mandatory() if CANNOT not in v.message] == [
        "aws-backup-cross-account-copy-cmk"
    ]


def test_single_unknown_destination_is_resolved(client: PolicyPackClient) -> None:
    assert all_violations(client, fx.graph(_unknown_destinations(1))) == []
    too_short = fx.mutate(
        _unknown_destinations(1), ("rules", 0, "copyActions", 1, "lifecycle", "deleteAfter"), 3.0
    )
    violation = only(all_violations(client, fx.graph(too_short)), "aws-backup-air-gapped-copy-retention")
    assert CANNOT not in violation.message
    assert "outside the vault's [7, 35]" in violation.message


def test_unknown_plan_id_resolved_through_dependencies(client: PolicyPackClient) -> None:
    selection = fx.mutate(fx.SELECTION, ("planId",), UNKNOWN)
    assert all_violations(client, fx.graph(selection)) == []
    orphan = fx.without_dependencies(selection, "planId")
    violation = only(all_violations(client, fx.graph(orphan)), "aws-backup-selection-cross-region-opt-out")
    assert "its plan cannot be identified" in violation.message


def test_unknown_rules_list(client: PolicyPackClient) -> None:
    plan = fx.mutate(fx.PLAN, ("rules",), UNKNOWN)
    names = sorted({v.policy_name for v in all_violations(client, fx.graph(plan)) if CANNOT in v.message})
    assert names == [
        "aws-backup-air-gapped-copy-retention",
        "aws-backup-continuous-retention",
        "aws-backup-continuous-supported-types",
        "aws-backup-cross-account-copy-cmk",
        "aws-backup-lifecycle-cold-storage-minimum",
        "aws-backup-plan-completion-window",
        "aws-backup-plan-schedule-rpo",
        "aws-backup-plan-schedule-valid",
        "aws-backup-plan-start-window",
        "aws-backup-vault-single-resource-type",
    ]


def test_remediate_sets_the_windows(client: PolicyPackClient) -> None:
    client.configure(
        {"aws-backup-plan-completion-window": "remediate", "aws-backup-plan-start-window": "remediate"}
    )
    bad = fx.mutate(
        fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), 480.0), ("rules", 0, "startWindow"), 30.0
    )
    remediations = client.remediate(bad, graph=fx.graph(bad))
    assert [r.policy_name for r in remediations] == [
        "aws-backup-plan-completion-window",
        "aws-backup-plan-start-window",
    ]
    final = remediations[-1].properties
    assert final is not None
    assert final["rules"][0]["completionWindow"] == 360
    assert final["rules"][0]["startWindow"] == 60
    assert final["rules"][0]["copyActions"] == bad.inputs["rules"][0]["copyActions"]
    fixed = fx.mutate(bad, ("rules",), final["rules"])
    assert all_violations(client, fx.graph(fixed)) == []
    # Analyze still reports an unremediated plan, at mandatory level.
    assert {v.enforcement_level for v in client.analyze(bad).violations} == {"mandatory"}


def test_remediate_leaves_compliant_and_unknown_plans_alone(client: PolicyPackClient) -> None:
    client.configure(
        {"aws-backup-plan-completion-window": "remediate", "aws-backup-plan-start-window": "remediate"}
    )
    assert client.remediate(fx.PLAN) == []
    assert client.remediate(fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), UNKNOWN)) == []


def test_remediation_only_when_enabled(client: PolicyPackClient) -> None:
    bad = fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), 480.0)
    assert client.remediate(bad) == []


@pytest.mark.parametrize(
    ("mutated", "policy", "fragment"),
    [
        (
            fx.mutate(fx.S3_PLAN, ("rules", 0, "enableContinuousBackup"), UNKNOWN),
            "aws-backup-continuous-retention",
            "rules[0].enableContinuousBackup is unknown",
        ),
        (
            fx.mutate(fx.PLAN, ("rules", 0, "copyActions", 0, "lifecycle", "coldStorageAfter"), UNKNOWN),
            "aws-backup-lifecycle-cold-storage-minimum",
            "rules[0].copyActions[0].lifecycle.coldStorageAfter is unknown",
        ),
        (
            fx.mutate(fx.PLAN, ("rules", 0, "schedule"), UNKNOWN),
            "aws-backup-plan-schedule-rpo",
            "rules[0].schedule is unknown",
        ),
        (
            fx.mutate(fx.PLAN, ("rules", 0, "schedule"), UNKNOWN),
            "aws-backup-plan-schedule-valid",
            "rules[0].schedule is unknown",
        ),
    ],
    ids=["continuous-flag", "cold-storage", "schedule-rpo", "schedule-valid"],
)
def test_unknown_plan_input_is_reported_as_cannot_verify(
    client: PolicyPackClient, mutated: RegisteredResource, policy: str, fragment: str
) -> None:
    violation = only(list(client.analyze(mutated, graph=fx.graph(mutated)).violations), policy)
    assert _last_line(violation.message).startswith(f"{CANNOT} backup.Plan '{mutated.name}'")
    assert fragment in violation.message


def test_unknown_selection_resources_in_stack_rules(client: PolicyPackClient) -> None:
    selection = fx.mutate(fx.S3_SELECTION, ("resources",), UNKNOWN)
    violations = client.analyze_stack(fx.graph(selection)).violations
    assert {v.policy_name for v in violations} == {
        "aws-backup-continuous-supported-types",
        "aws-backup-vault-single-resource-type",
        "aws-backup-selection-cluster-engine-exclusive",
        "aws-backup-air-gapped-supported-types",
    }
    assert all(
        _last_line(v.message).startswith(f"{CANNOT} backup.Selection 's3-continuous-selection'")
        for v in violations
    )
    assert all("resources is unknown at preview" in v.message for v in violations)


def test_unknown_bucket_scope_only_matters_for_a_failing_bucket(client: PolicyPackClient) -> None:
    """Buckets whose scope is unknown pass if they comply anyway, and cannot be verified otherwise."""
    tags_unknown = fx.mutate(fx.BUCKET, ("tags",), UNKNOWN)
    assert client.analyze_stack(fx.graph(tags_unknown)).violations == ()
    writer = fx.mutate(fx.BUCKET_OWNERSHIP, ("rule", "objectOwnership"), "ObjectWriter")
    violation = only(
        list(client.analyze_stack(fx.graph(tags_unknown, writer)).violations),
        "aws-s3-bucket-backup-acls-disabled",
    )
    assert _last_line(violation.message).startswith(f"{CANNOT} s3.Bucket 'data-bucket'")
    assert "tags is unknown at preview" in violation.message
    unnamed = fx.mutate(fx.BUCKET, ("bucket",), UNKNOWN)
    narrow = fx.mutate(fx.S3_SELECTION, ("resources",), ["arn:aws:s3:::dr-test-*"])
    violation = only(
        list(client.analyze_stack(fx.graph(unnamed, narrow, writer)).violations),
        "aws-s3-bucket-backup-acls-disabled",
    )
    assert "its name is unknown at preview" in violation.message


def test_unknown_ownership_is_cannot_verify(client: PolicyPackClient) -> None:
    ownership = fx.mutate(fx.BUCKET_OWNERSHIP, ("rule", "objectOwnership"), UNKNOWN)
    violation = only(
        list(client.analyze_stack(fx.graph(ownership)).violations), "aws-s3-bucket-backup-acls-disabled"
    )
    assert _last_line(violation.message).startswith(
        f"{CANNOT} s3.Bucket 'data-bucket': rule.objectOwnership is unknown"
    )
