"""GetAnalyzerInfo and Configure, end to end: what the pack declares, and how an organisation tunes it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drplan.graph import RegisteredResource
from drplan.policy_client import PolicyPackClient
from drplan.policy_config import PolicyConfigError
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations, only

DESIGN_CARD = {
    "aws-backup-cross-account-copy-cmk",
    "aws-backup-plan-completion-window",
    "aws-backup-air-gapped-vault-retention",
}


def test_info_lists_every_policy_with_description_remediation_and_schema(client: PolicyPackClient) -> None:
    info = client.info()
    assert info.name == "aws-dr-backup"
    assert info.supports_config
    assert len(info.policies) >= 17
    for policy in info.policies:
        assert policy.name.startswith(("aws-backup-", "aws-kms-", "aws-s3-", "aws-organizations-"))
        assert "Fix:" in policy.description, policy.name
        assert policy.remediation_steps, policy.name
        assert policy.kind in {"resource", "stack"}
        assert policy.config_schema["exemptions"]["type"] == "array"
        for key, schema in policy.config_schema.items():
            assert "default" in schema, (policy.name, key)
            assert "description" in schema, (policy.name, key)
    levels = {p.name: p.enforcement_level for p in info.policies}
    assert {levels[name] for name in DESIGN_CARD} == {"mandatory"}
    assert levels["aws-backup-selection-single-condition-block"] == "advisory"
    assert info.policy("aws-backup-cross-account-copy-cmk").kind == "stack"
    assert info.policy("aws-backup-air-gapped-copy-retention").kind == "stack"


def test_schema_defaults_are_the_design_thresholds(client: PolicyPackClient) -> None:
    info = client.info()
    assert (
        info.policy("aws-backup-plan-completion-window").config_schema["completionWindowMinutes"]["default"]
        == 360
    )
    assert info.policy("aws-backup-plan-start-window").config_schema["minStartWindowMinutes"]["default"] == 60
    assert (
        info.policy("aws-backup-air-gapped-vault-retention").config_schema["airGappedMinRetentionDays"][
            "default"
        ]
        == 7
    )
    assert (
        info.policy("aws-kms-key-deletion-window").config_schema["minKeyDeletionWindowDays"]["default"] == 30
    )


def test_threshold_override(client: PolicyPackClient) -> None:
    plan_720 = fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), 720.0)
    s3_plan_720 = fx.mutate(fx.S3_PLAN, ("rules", 0, "completionWindow"), 720.0)
    assert only(all_violations(client, fx.graph(plan_720)), "aws-backup-plan-completion-window")
    client.configure({"aws-backup-plan-completion-window": {"completionWindowMinutes": 720}})
    assert all_violations(client, fx.graph(plan_720, s3_plan_720)) == []
    violation = only(all_violations(client, fx.graph(s3_plan_720)), "aws-backup-plan-completion-window")
    assert violation.urn == fx.PLAN.urn
    assert "requires exactly 720" in violation.message


def test_air_gapped_minimum_override(client: PolicyPackClient) -> None:
    client.configure({"aws-backup-air-gapped-vault-retention": {"airGappedMinRetentionDays": 14}})
    violation = only(all_violations(client, fx.graph()), "aws-backup-air-gapped-vault-retention")
    assert "at least 14 days" in violation.message


def test_exemption_by_name_pattern(client: PolicyPackClient) -> None:
    unprotected = replace(fx.ORIGIN_VAULT, protect=False)
    assert only(all_violations(client, fx.graph(unprotected)), "aws-backup-deletion-protection")
    client.configure({"aws-backup-deletion-protection": {"exemptions": ["ebs-origin-*"]}})
    assert all_violations(client, fx.graph(unprotected)) == []
    # narrow: another unprotected vault is still reported
    other = replace(fx.DR_VAULT, protect=False)
    assert (
        only(all_violations(client, fx.graph(unprotected, other)), "aws-backup-deletion-protection").urn
        == other.urn
    )


def test_exemption_by_urn_pattern_for_a_stack_rule(client: PolicyPackClient) -> None:
    vault = fx.without_dependencies(fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), fx.DELETE), "kmsKeyArn")
    assert only(all_violations(client, fx.graph(vault)), "aws-backup-cross-account-copy-cmk")
    client.configure(
        {
            "aws-backup-cross-account-copy-cmk": {
                "exemptions": ["urn:pulumi:test::*::aws:backup/vault:Vault::ebs-origin-vault"]
            }
        }
    )
    assert all_violations(client, fx.graph(vault)) == []


def test_exemption_of_one_policy_leaves_the_others(client: PolicyPackClient) -> None:
    client.configure({"aws-kms-key-rotation": {"exemptions": ["ebs-origin-key"]}})
    key = replace(fx.mutate(fx.ORIGIN_KEY, ("enableKeyRotation",), False), protect=False)
    assert {v.policy_name for v in all_violations(client, fx.graph(key))} == {
        "aws-backup-deletion-protection"
    }


@pytest.mark.parametrize(("level", "expected"), [("advisory", ["advisory"]), ("disabled", [])])
def test_enforcement_level_override(client: PolicyPackClient, level: str, expected: list[str]) -> None:
    client.configure({"aws-kms-key-rotation": level})
    key = fx.mutate(fx.ORIGIN_KEY, ("enableKeyRotation",), False)
    assert [v.enforcement_level for v in all_violations(client, fx.graph(key))] == expected


def test_all_sets_every_level_and_a_policys_entry_wins(client: PolicyPackClient) -> None:
    client.configure({"all": "advisory", "aws-kms-key-rotation": "mandatory"})
    key = fx.mutate(fx.ORIGIN_KEY, ("enableKeyRotation",), False)
    unprotected = replace(fx.ORIGIN_VAULT, protect=False)
    levels = {v.policy_name: v.enforcement_level for v in all_violations(client, fx.graph(key, unprotected))}
    assert levels == {"aws-kms-key-rotation": "mandatory", "aws-backup-deletion-protection": "advisory"}


def test_kubernetes_clusters_from_config(client: PolicyPackClient) -> None:
    assert all_violations(client, fx.graph()) == []  # no clusters configured: nothing to exclude
    client.configure({"aws-backup-selection-kubernetes-volumes": {"kubernetesClusters": ["prod-eks"]}})
    violation = only(all_violations(client, fx.graph()), "aws-backup-selection-kubernetes-volumes")
    assert violation.urn == fx.SELECTION.urn
    assert violation.enforcement_level == "mandatory"
    assert "Kubernetes cluster 'prod-eks'" in violation.message
    assert (
        "SelectionConditionStringNotEqualArgs(key='aws:ResourceTag/kubernetes.io/cluster/prod-eks', value='owned')"
        in (violation.message)
    )
    key = "aws:ResourceTag/kubernetes.io/cluster/prod-eks"
    not_equals = fx.SELECTION.inputs["conditions"][0]["stringNotEquals"]
    excluded = fx.mutate(
        fx.SELECTION, ("conditions", 0, "stringNotEquals"), [*not_equals, {"key": key, "value": "owned"}]
    )
    assert all_violations(client, fx.graph(excluded)) == []
    s3_selection = fx.mutate(fx.SELECTION, ("resources",), ["arn:aws:s3:::*"])
    assert all_violations(client, fx.graph(s3_selection)) == []


@pytest.mark.parametrize(
    ("operator", "value"),
    [("stringNotLikes", "*"), ("stringNotEquals", "shared"), ("stringEquals", "owned")],
    ids=["not-like-any", "not-equals-shared", "equals-owned"],
)
def test_kubernetes_exclusion_must_be_not_equals_owned(
    client: PolicyPackClient, operator: str, value: str
) -> None:
    """Only the form the program builds counts: StringNotEquals <cluster key> = 'owned'."""
    client.configure({"aws-backup-selection-kubernetes-volumes": {"kubernetesClusters": ["prod-eks"]}})
    key = "aws:ResourceTag/kubernetes.io/cluster/prod-eks"
    existing = fx.SELECTION.inputs["conditions"][0].get(operator, [])
    other = fx.mutate(fx.SELECTION, ("conditions", 0, operator), [*existing, {"key": key, "value": value}])
    violation = only(all_violations(client, fx.graph(other)), "aws-backup-selection-kubernetes-volumes")
    assert f"(found {operator} {value!r} on that key)" in violation.message
    assert f"StringNotEquals {key} = 'owned'" in violation.message


@pytest.mark.parametrize(
    "selection",
    [
        fx.mutate(fx.SELECTION, ("resources",), ["*"]),
        fx.mutate(fx.SELECTION, ("resources",), ["arn:aws:ec2:*:*:*"]),
        fx.mutate(
            fx.mutate(fx.SELECTION, ("resources",), []),
            ("selectionTags",),
            [{"type": "STRINGEQUALS", "key": "backup", "value": "daily"}],
        ),
    ],
    ids=["star", "all-ec2", "selection-tags"],
)
def test_kubernetes_exclusion_applies_to_every_selection_reaching_ebs(
    client: PolicyPackClient, selection: RegisteredResource
) -> None:
    client.configure({"aws-backup-selection-kubernetes-volumes": {"kubernetesClusters": ["prod-eks"]}})
    violations = all_violations(client, fx.graph(selection))
    assert [v.urn for v in violations if v.policy_name == "aws-backup-selection-kubernetes-volumes"] == [
        selection.urn
    ]
    ebs_elsewhere = fx.mutate(selection, ("notResources",), ["arn:aws:ec2:*:*:volume/*"])
    assert not [v for v in all_violations(client, fx.graph(ebs_elsewhere)) if "kubernetes" in v.policy_name]


def test_allowed_copy_source_accounts(client: PolicyPackClient) -> None:
    client.configure(
        {"aws-backup-vault-policy-copy-sources": {"allowedCopySourceAccounts": ["222222222222"]}}
    )
    violation = only(all_violations(client, fx.graph()), "aws-backup-vault-policy-copy-sources")
    assert "account 111111111111, which is not in allowedCopySourceAccounts" in violation.message
    client.configure(
        {"aws-backup-vault-policy-copy-sources": {"allowedCopySourceAccounts": ["111111111111"]}}
    )
    assert all_violations(client, fx.graph()) == []


def test_configure_rejects_unknown_policy(client: PolicyPackClient) -> None:
    with pytest.raises(PolicyConfigError, match="no-such-policy: not a policy of this pack"):
        client.configure({"no-such-policy": "mandatory"})


def test_new_policies_declare_their_defaults(client: PolicyPackClient) -> None:
    info = client.info()
    schema = info.policy("aws-backup-selection-cluster-engine-exclusive").config_schema
    assert schema["clusterEngineTagKey"]["default"] == "dr-backup-engine"
    assert schema["clusterEngineTagValues"]["default"] == {"DocumentDB": "documentdb", "Neptune": "neptune"}
    coverage = info.policy("aws-backup-production-coverage").config_schema
    assert coverage["productionStacks"]["default"] == ["prod", "prod-*", "production*"]
    assert coverage["requiredResourceTypes"]["default"] == [
        "S3",
        "EBS",
        "EFS",
        "DynamoDB",
        "RDS",
        "Aurora",
        "DocumentDB",
        "Neptune",
    ]
    assert info.policy("aws-backup-plan-schedule-rpo").config_schema["maxRpoHours"]["default"] == 24
    assert (
        info.policy("aws-backup-continuous-retention").config_schema["maxContinuousRetentionDays"]["default"]
        == 35
    )
    assert "MemoryDB" in info.policy("aws-s3-bucket-backup-acls-disabled").description
    for name in ("aws-backup-production-coverage", "aws-backup-production-failure-alerts"):
        assert info.policy(name).kind == "stack"
        assert info.policy(name).enforcement_level == "mandatory"


def test_continuous_types_override(client: PolicyPackClient) -> None:
    client.configure({"aws-backup-continuous-supported-types": {"continuousBackupResourceTypes": ["RDS"]}})
    violation = only(all_violations(client, fx.graph()), "aws-backup-continuous-supported-types")
    assert violation.urn == fx.S3_SELECTION.urn
    assert "can also pick S3" in violation.message


def test_continuous_retention_override(client: PolicyPackClient) -> None:
    client.configure({"aws-backup-continuous-retention": {"maxContinuousRetentionDays": 14}})
    violation = only(all_violations(client, fx.graph()), "aws-backup-continuous-retention")
    assert "35 days" in violation.message
    assert "at most 14" in violation.message


def test_rpo_override(client: PolicyPackClient) -> None:
    client.configure({"aws-backup-plan-schedule-rpo": {"maxRpoHours": 12}})
    violations = [
        v for v in all_violations(client, fx.graph()) if v.policy_name == "aws-backup-plan-schedule-rpo"
    ]
    assert {v.urn for v in violations} == {fx.PLAN.urn, fx.S3_PLAN.urn}
    assert all("up to 24 hours between backups" in v.message for v in violations)
    twice = fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(30 0/12 ? * * *)")
    remaining = [
        v.urn
        for v in all_violations(client, fx.graph(twice))
        if v.policy_name == "aws-backup-plan-schedule-rpo"
    ]
    assert remaining == [fx.S3_PLAN.urn]


def test_schedule_exemption(client: PolicyPackClient) -> None:
    weekly = fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(0 5 ? * SUN *)")
    client.configure({"aws-backup-plan-schedule-rpo": {"exemptions": ["ebs-full-*"]}})
    assert all_violations(client, fx.graph(weekly)) == []


def test_bucket_exemptions_and_opt_out(client: PolicyPackClient) -> None:
    writer = fx.mutate(fx.BUCKET_OWNERSHIP, ("rule", "objectOwnership"), "ObjectWriter")
    client.configure({"aws-s3-bucket-backup-acls-disabled": {"exemptions": ["data-bucket"]}})
    assert all_violations(client, fx.graph(writer)) == []
    # A bucket carrying the (configured) opt-out tag is out of scope even if a selection would pick it.
    opted_out = fx.mutate(fx.BUCKET, ("tags",), {"no-backup": "true"})
    client.configure({})
    assert only(all_violations(client, fx.graph(writer, opted_out)), "aws-s3-bucket-backup-acls-disabled")
    client.configure({"aws-s3-bucket-backup-acls-disabled": {"drOptOutTagKey": "no-backup"}})
    assert all_violations(client, fx.graph(writer, opted_out)) == []


def test_bucket_outside_every_selection_is_not_checked(client: PolicyPackClient) -> None:
    writer = fx.mutate(fx.BUCKET_OWNERSHIP, ("rule", "objectOwnership"), "ObjectWriter")
    narrow = fx.mutate(fx.S3_SELECTION, ("resources",), ["arn:aws:s3:::dr-test-memorydb-*"])
    assert all_violations(client, fx.graph(writer, narrow)) == []
    assert only(all_violations(client, fx.graph(writer)), "aws-s3-bucket-backup-acls-disabled")


@pytest.mark.parametrize("token", ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"])
def test_inline_versioning_on_both_bucket_generations(client: PolicyPackClient, token: str) -> None:
    graph = fx.without(fx.graph(), fx.BUCKET_VERSIONING)
    bucket = replace(fx.BUCKET, type=token, urn=fx.BUCKET.urn.replace("aws:s3/bucket:Bucket", token))
    ownership = replace(
        fx.BUCKET_OWNERSHIP, property_dependencies={"bucket": (bucket.urn,)}, dependencies=(bucket.urn,)
    )
    swapped = replace(
        graph,
        resources=tuple(
            {fx.BUCKET.urn: bucket, fx.BUCKET_OWNERSHIP.urn: ownership}.get(r.urn, r) for r in graph.resources
        ),
    )
    violation = only(all_violations(client, swapped), "aws-s3-bucket-backup-versioning")
    assert violation.urn == bucket.urn
    assert "no BucketVersioning resource" in violation.message
    enabled = fx.mutate(bucket, ("versioning",), {"enabled": True})
    fixed = replace(
        swapped, resources=tuple(enabled if r.urn == bucket.urn else r for r in swapped.resources)
    )
    assert all_violations(client, fixed) == []
    disabled = fx.mutate(bucket, ("versioning",), {"enabled": False})
    off = replace(swapped, resources=tuple(disabled if r.urn == bucket.urn else r for r in swapped.resources))
    assert "enabled=false" in only(all_violations(client, off), "aws-s3-bucket-backup-versioning").message
