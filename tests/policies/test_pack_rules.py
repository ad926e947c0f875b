"""Each rule both ways, end to end over gRPC: the compliant stack passes; a one-property mutation is reported
by that policy, on the mutated resource, with a message that names the resource and the fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from drplan.graph import RegisteredResource
from drplan.policy_client import PolicyPackClient
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations


def test_compliant_stack_has_no_violations(client: PolicyPackClient) -> None:
    graph = fx.graph()
    assert all_violations(client, graph) == []
    # The stack rules did look at the stack: the same graph minus the source key's dependency fails.
    broken = fx.graph(
        fx.without_dependencies(fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), fx.DELETE), "kmsKeyArn")
    )
    assert [v.policy_name for v in client.analyze_stack(broken).violations] == [
        "aws-backup-cross-account-copy-cmk"
    ]


def _add_statement(statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document["Statement"].append(statement)

    return edit


def _drop_grant_condition(document: dict[str, Any]) -> None:
    for st in document["Statement"]:
        st.pop("Condition", None)


def _principal(value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document["Statement"][0]["Principal"] = value

    return edit


@dataclass(frozen=True)
class Case:
    id: str
    mutated: RegisteredResource
    policy: str
    fragments: tuple[str, ...]
    """Text the message must contain besides the resource's name and 'Fix:'."""
    also: tuple[str, ...] = ()
    """Other policies the same mutation legitimately trips."""


COPY_LAG = ("rules", 0, "copyActions", 1, "lifecycle", "deleteAfter")
CASES = [
    Case(
        "source-vault-without-key",
        fx.without_dependencies(fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), fx.DELETE), "kmsKeyArn"),
        "aws-backup-cross-account-copy-cmk",
        ("source of a cross-account copy", "aws/backup", "kms_key_arn"),
    ),
    Case(
        "source-vault-aws-managed-key",
        fx.without_dependencies(
            fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), "arn:aws:kms:us-east-1:111111111111:alias/aws/backup"),
            "kmsKeyArn",
        ),
        "aws-backup-cross-account-copy-cmk",
        ("AWS-managed key", "alias/aws/backup"),
    ),
    Case(
        "completion-window-480",
        fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), 480.0),
        "aws-backup-plan-completion-window",
        ("completionWindow 480", "completion_window=360"),
    ),
    Case(
        "completion-window-default",
        fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), fx.DELETE),
        "aws-backup-plan-completion-window",
        ("AWS default 10080", "completion_window=360"),
    ),
    Case(
        "start-window-30",
        fx.mutate(fx.PLAN, ("rules", 0, "startWindow"), 30.0),
        "aws-backup-plan-start-window",
        ("startWindow 30", "start_window=60"),
    ),
    Case(
        "start-window-not-below-completion",
        fx.mutate(fx.PLAN, ("rules", 0, "startWindow"), 360.0),
        "aws-backup-plan-start-window",
        ("completionWindow 360", "start_window=60"),
    ),
    Case(
        "air-gapped-min-3",
        fx.mutate(fx.LAG_VAULT, ("minRetentionDays",), 3.0),
        "aws-backup-air-gapped-vault-retention",
        ("minRetentionDays is 3", "min_retention_days=7"),
    ),
    Case(
        "air-gapped-max-below-min",
        fx.mutate(fx.LAG_VAULT, ("maxRetentionDays",), 5.0),
        "aws-backup-air-gapped-vault-retention",
        ("maxRetentionDays 5", "max_retention_days >= min_retention_days"),
        also=("aws-backup-air-gapped-copy-retention",),
    ),
    Case(
        "copy-into-air-gapped-too-short",
        fx.mutate(fx.PLAN, COPY_LAG, 3.0),
        "aws-backup-air-gapped-copy-retention",
        ("copyActions[1]", "'archive-vault'", "3 days", "[7, 35]", "delete_after"),
    ),
    Case(
        "copy-into-air-gapped-without-retention",
        fx.mutate(fx.PLAN, ("rules", 0, "copyActions", 1, "lifecycle"), fx.DELETE),
        "aws-backup-air-gapped-copy-retention",
        ("sets no lifecycle.deleteAfter",),
    ),
    Case(
        "key-policy-wildcard",
        fx.with_policy(
            fx.ORIGIN_KEY,
            _add_statement({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}),
        ),
        "aws-kms-key-policy-no-wildcard-principal",
        ("principal '*'", "instead of '*'"),
    ),
    Case(
        "key-policy-aws-wildcard",
        fx.with_policy(
            fx.ORIGIN_KEY,
            _add_statement(
                {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "kms:Decrypt", "Resource": "*"}
            ),
        ),
        "aws-kms-key-policy-no-wildcard-principal",
        ("principal '*'",),
    ),
    Case(
        "key-grant-without-condition",
        fx.with_policy(fx.ORIGIN_KEY, _drop_grant_condition),
        "aws-kms-key-cross-account-grant",
        ("222222222222", "kms:GrantIsForAWSResource"),
    ),
    Case(
        "key-rotation-off",
        fx.mutate(fx.ORIGIN_KEY, ("enableKeyRotation",), False),
        "aws-kms-key-rotation",
        ("rotation is off", "enable_key_rotation=True"),
    ),
    Case(
        "key-deletion-window-7",
        fx.mutate(fx.ORIGIN_KEY, ("deletionWindowInDays",), 7.0),
        "aws-kms-key-deletion-window",
        ("deletionWindowInDays is 7", "deletion_window_in_days=30"),
    ),
    Case(
        "vault-policy-copy-in-from-anyone",
        fx.with_policy(fx.LAG_VAULT_POLICY, _principal("*")),
        "aws-backup-vault-policy-copy-sources",
        ("backup:CopyIntoBackupVault from principal '*'", "named source accounts"),
    ),
    Case(
        "vault-policy-copy-in-not-an-account",
        fx.with_policy(fx.LAG_VAULT_POLICY, _principal({"AWS": "AIDAEXAMPLEUSERID"})),
        "aws-backup-vault-policy-copy-sources",
        ("does not name an account",),
    ),
    Case(
        "selection-without-dr-opt-out",
        fx.mutate(fx.SELECTION, ("conditions", 0, "stringNotEquals"), [{"key": fx.CR_TAG, "value": "true"}]),
        "aws-backup-selection-dr-opt-out",
        ("exclude-disaster-recovery-backup", "string_not_equals"),
    ),
    Case(
        "selection-opt-out-without-prefix",
        fx.mutate(
            fx.SELECTION, ("conditions", 0, "stringNotEquals", 0, "key"), "exclude-disaster-recovery-backup"
        ),
        "aws-backup-selection-dr-opt-out",
        ("must be exactly 'aws:ResourceTag/exclude-disaster-recovery-backup'",),
    ),
    Case(
        "selection-without-cross-region-opt-out",
        fx.mutate(fx.SELECTION, ("conditions", 0, "stringNotEquals"), [{"key": fx.DR_TAG, "value": "true"}]),
        "aws-backup-selection-cross-region-opt-out",
        ("exclude-cross-region-backup", "copies from us-east-1 to us-east-2"),
    ),
    Case(
        "selection-tags-with-resources",
        fx.mutate(
            fx.SELECTION, ("selectionTags",), [{"type": "STRINGEQUALS", "key": "backup", "value": "true"}]
        ),
        "aws-backup-selection-no-tag-union",
        ("OR-s them", "conditions"),
    ),
    Case(
        "selection-conditions-only",
        fx.mutate(fx.SELECTION, ("resources",), fx.DELETE),
        "aws-backup-selection-not-conditions-only",
        ("conditions alone are rejected", "resources=['*']"),
    ),
    Case(
        "selection-two-condition-blocks",
        fx.mutate(
            fx.SELECTION,
            ("conditions",),
            [
                {"stringNotEquals": [{"key": fx.DR_TAG, "value": "true"}]},
                {"stringNotEquals": [{"key": fx.CR_TAG, "value": "true"}]},
            ],
        ),
        "aws-backup-selection-single-condition-block",
        ("2 condition blocks",),
    ),
    Case(
        "vault-not-protected",
        replace(fx.ORIGIN_VAULT, protect=False),
        "aws-backup-deletion-protection",
        ("not protected", "protect=True"),
    ),
    Case(
        "air-gapped-vault-not-protected",
        replace(fx.LAG_VAULT, protect=False),
        "aws-backup-deletion-protection",
        ("not protected",),
    ),
    Case(
        "key-not-protected",
        replace(fx.DR_KEY, protect=False),
        "aws-backup-deletion-protection",
        ("not protected",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mutation_is_reported(client: PolicyPackClient, case: Case) -> None:
    violations = all_violations(client, fx.graph(case.mutated))
    assert {v.policy_name for v in violations} == {case.policy, *case.also}, [v.message for v in violations]
    (violation,) = [v for v in violations if v.policy_name == case.policy]
    assert violation.urn == case.mutated.urn
    assert f"'{case.mutated.name}'" in violation.message
    assert "Fix:" in violation.message
    for fragment in case.fragments:
        assert fragment in violation.message
    info = client.info().policy(case.policy)
    assert violation.enforcement_level == info.enforcement_level
    assert violation.message.startswith(info.description)


def test_every_policy_has_a_reporting_case(client: PolicyPackClient) -> None:
    covered = {c.policy for c in CASES} | {"aws-backup-selection-kubernetes-volumes"}  # config test covers it
    assert covered == {p.name for p in client.info().policies}


def test_rotation_does_not_apply_to_asymmetric_keys(client: PolicyPackClient) -> None:
    signing = fx.mutate(
        fx.mutate(fx.ORIGIN_KEY, ("enableKeyRotation",), False), ("customerMasterKeySpec",), "RSA_2048"
    )
    assert client.analyze(fx.mutate(signing, ("keyUsage",), "SIGN_VERIFY"), graph=fx.graph()).violations == ()


def test_vault_policy_organisation_condition(client: PolicyPackClient) -> None:
    def read_with_org(document: dict[str, Any]) -> None:
        document["Statement"].append(
            {
                "Sid": "OrgReads",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "backup:DescribeBackupVault",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg"}},
            }
        )

    compliant = fx.with_policy(fx.LAG_VAULT_POLICY, read_with_org)
    assert client.analyze(compliant, graph=fx.graph()).violations == ()

    def read_without_org(document: dict[str, Any]) -> None:
        read_with_org(document)
        del document["Statement"][-1]["Condition"]

    reported = client.analyze(fx.with_policy(fx.LAG_VAULT_POLICY, read_without_org), graph=fx.graph())
    (violation,) = reported.violations
    assert "'OrgReads' allows principal '*'" in violation.message
    assert "aws:PrincipalOrgID" in violation.message


def test_key_policy_given_as_invalid_json_is_reported(client: PolicyPackClient) -> None:
    broken = fx.mutate(fx.ORIGIN_KEY, ("policy",), "{not json")
    names = {v.policy_name for v in client.analyze(broken, graph=fx.graph()).violations}
    assert names == {"aws-kms-key-policy-no-wildcard-principal", "aws-kms-key-cross-account-grant"}


def test_copy_to_same_account_does_not_need_a_customer_key(client: PolicyPackClient) -> None:
    """Rule 1 concerns cross-account copies only: a plan that copies cross-region in-account passes without a CMK."""
    plan = fx.mutate(fx.PLAN, ("rules", 0, "copyActions"), [fx.PLAN.inputs["rules"][0]["copyActions"][0]])
    vault = fx.without_dependencies(fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), fx.DELETE), "kmsKeyArn")
    assert client.analyze_stack(fx.graph(plan, vault)).violations == ()


def test_cross_account_key_known_by_config(client: PolicyPackClient) -> None:
    external = "arn:aws:kms:us-east-1:111111111111:key/external-0000"
    vault = fx.without_dependencies(fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), external), "kmsKeyArn")
    (violation,) = client.analyze_stack(fx.graph(vault)).violations
    assert violation.message.splitlines()[-1].startswith("cannot verify backup.Vault 'ebs-origin-vault'")
    assert "customerManagedKeyArns" in violation.message
    client.configure(
        {
            "aws-backup-cross-account-copy-cmk": {
                "customerManagedKeyArns": ["arn:aws:kms:*:111111111111:key/external-*"]
            }
        }
    )
    assert client.analyze_stack(fx.graph(vault)).violations == ()


def test_message_json_is_not_mangled() -> None:
    """The fixtures' JSON policies stay valid JSON after mutation helpers (guards the tests themselves)."""
    edited = fx.with_policy(fx.LAG_VAULT_POLICY, _principal("*"))
    assert json.loads(edited.inputs["policy"])["Statement"][0]["Principal"] == "*"
