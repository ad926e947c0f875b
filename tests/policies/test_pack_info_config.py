"""GetAnalyzerInfo and Configure, end to end: what the pack declares, and how an organisation tunes it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drplan.policy_client import PolicyPackClient
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
        assert policy.name.startswith(("aws-backup-", "aws-kms-"))
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
    assert only(all_violations(client, fx.graph(plan_720)), "aws-backup-plan-completion-window")
    client.configure({"aws-backup-plan-completion-window": {"completionWindowMinutes": 720}})
    assert all_violations(client, fx.graph(plan_720)) == []
    violation = only(all_violations(client, fx.graph()), "aws-backup-plan-completion-window")
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


def test_kubernetes_clusters_from_config(client: PolicyPackClient) -> None:
    client.configure({"aws-backup-selection-kubernetes-volumes": {"kubernetesClusterNames": ["prod-eks"]}})
    violation = only(all_violations(client, fx.graph()), "aws-backup-selection-kubernetes-volumes")
    assert violation.urn == fx.SELECTION.urn
    assert "'prod-eks'" in violation.message
    assert "aws:ResourceTag/kubernetes.io/cluster/prod-eks" in violation.message
    excluded = fx.mutate(
        fx.SELECTION,
        ("conditions", 0, "stringNotLikes"),
        [{"key": "aws:ResourceTag/kubernetes.io/cluster/prod-eks", "value": "*"}],
    )
    assert all_violations(client, fx.graph(excluded)) == []
    s3_selection = fx.mutate(fx.SELECTION, ("resources",), ["arn:aws:s3:::*"])
    assert all_violations(client, fx.graph(s3_selection)) == []


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
    with pytest.raises(ValueError, match="unknown policies"):
        client.configure({"no-such-policy": "mandatory"})
