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
    on: RegisteredResource | None = None
    """The resource the violation is reported on, when not the mutated one (stack rules)."""

    @property
    def subject(self) -> RegisteredResource:
        return self.on or self.mutated


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
        # tagged resources of every type reach the vault, RDS DB instances (no air-gapped copy) among them
        also=("aws-backup-vault-single-resource-type", "aws-backup-air-gapped-supported-types"),
    ),
    Case(
        "rds-into-air-gapped-vault",
        fx.mutate(fx.SELECTION, ("resources",), ["arn:aws:rds:*:*:db:*"]),
        "aws-backup-air-gapped-supported-types",
        ("can pick RDS", "cannot copy RDS into", "compliance-mode vault lock"),
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


S3_RULE = ("rules", 0)
EBS_COPY = ("rules", 0, "copyActions", 0, "lifecycle")


def _memorydb_principal(service: str) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        document["Statement"][0]["Principal"] = {"Service": service}

    return edit


CASES += [
    Case(
        "continuous-selection-of-everything",
        fx.mutate(fx.S3_SELECTION, ("resources",), ["*"]),
        "aws-backup-continuous-supported-types",
        ("continuous rule 'continuous'", "EBS", "DynamoDB", "arn:aws:s3:::*"),
        also=("aws-backup-vault-single-resource-type",),
    ),
    Case(
        "continuous-selection-of-ec2",
        fx.mutate(fx.S3_SELECTION, ("resources",), ["arn:aws:ec2:*"]),
        "aws-backup-continuous-supported-types",
        ("can also pick EBS, EC2",),
        also=("aws-backup-vault-single-resource-type",),
    ),
    Case(
        "continuous-retention-36",
        fx.mutate(fx.S3_PLAN, (*S3_RULE, "lifecycle", "deleteAfter"), 36.0),
        "aws-backup-continuous-retention",
        ("36 days", "at most 35"),
    ),
    Case(
        "continuous-keep-forever",
        fx.mutate(fx.S3_PLAN, (*S3_RULE, "lifecycle"), fx.DELETE),
        "aws-backup-continuous-retention",
        ("sets no lifecycle.deleteAfter", "delete_after=N"),
    ),
    Case(
        "continuous-cold-storage",
        fx.mutate(fx.S3_PLAN, (*S3_RULE, "lifecycle", "coldStorageAfter"), 7.0),
        "aws-backup-continuous-retention",
        ("cannot use cold storage", "remove cold_storage_after"),
        also=("aws-backup-lifecycle-cold-storage-minimum",),
    ),
    Case(
        "copy-cold-storage-gap",
        fx.mutate(fx.PLAN, EBS_COPY, {"coldStorageAfter": 30.0, "deleteAfter": 100.0}),
        "aws-backup-lifecycle-cold-storage-minimum",
        ("rule 'full-daily' copyActions[0]", "deletes after 100", "at least 120"),
    ),
    Case(
        "rule-cold-storage-gap",
        fx.mutate(fx.PLAN, ("rules", 0, "lifecycle"), {"coldStorageAfter": 10.0, "deleteAfter": 30.0}),
        "aws-backup-lifecycle-cold-storage-minimum",
        ("rule 'full-daily' lifecycle", "at least 100"),
    ),
    Case(
        "two-types-into-one-vault",
        fx.mutate(fx.S3_PLAN, (*S3_RULE, "targetVaultName"), "dr-test-ebs"),
        "aws-backup-vault-single-resource-type",
        ("receives 2 resource types", "EBS (from backup.Selection 'ebs-full-selection')", "S3", "own vault"),
        on=fx.ORIGIN_VAULT,
    ),
    Case(
        "bucket-versioning-suspended",
        fx.mutate(fx.BUCKET_VERSIONING, ("versioningConfiguration", "status"), "Suspended"),
        "aws-s3-bucket-backup-versioning",
        ("backup.Selection 's3-continuous-selection' backs it up", "'Suspended'", "status='Enabled'"),
        on=fx.BUCKET,
    ),
    Case(
        "bucket-versioning-configures-another-bucket",
        fx.mutate(
            fx.without_dependencies(fx.mutate(fx.BUCKET_VERSIONING, ("bucket",), "someone-else"), "bucket"),
            ("versioningConfiguration", "status"),
            "Enabled",
        ),
        "aws-s3-bucket-backup-versioning",
        ("no BucketVersioning resource",),
        on=fx.BUCKET,
    ),
    Case(
        "bucket-acls-object-writer",
        fx.mutate(fx.BUCKET_OWNERSHIP, ("rule", "objectOwnership"), "ObjectWriter"),
        "aws-s3-bucket-backup-acls-disabled",
        ("ObjectWriter", "object_ownership='BucketOwnerEnforced'"),
        on=fx.BUCKET,
    ),
    Case(
        "bucket-owner-preferred-without-memorydb",
        fx.mutate(fx.BUCKET_OWNERSHIP, ("rule", "objectOwnership"), "BucketOwnerPreferred"),
        "aws-s3-bucket-backup-acls-disabled",
        ("only a bucket receiving MemoryDB", "us-east-1.memorydb-snapshot.amazonaws.com"),
        on=fx.BUCKET,
    ),
    Case(
        "memorydb-bucket-object-writer",
        fx.mutate(fx.EXPORT_OWNERSHIP, ("rule", "objectOwnership"), "ObjectWriter"),
        "aws-s3-bucket-backup-acls-disabled",
        ("never allowed, not even for MemoryDB",),
        on=fx.EXPORT_BUCKET,
    ),
    Case(
        "memorydb-bucket-grant-to-another-service",
        fx.with_policy(fx.EXPORT_POLICY, _memorydb_principal("es.amazonaws.com")),
        "aws-s3-bucket-backup-acls-disabled",
        ("no bucket policy grants the service principal us-east-1.memorydb-snapshot.amazonaws.com",),
        on=fx.EXPORT_BUCKET,
    ),
    Case(
        "memorydb-bucket-grant-in-another-region",
        fx.with_policy(fx.EXPORT_POLICY, _memorydb_principal("us-west-2.memorydb-snapshot.amazonaws.com")),
        "aws-s3-bucket-backup-acls-disabled",
        ("BucketOwnerPreferred",),
        on=fx.EXPORT_BUCKET,
    ),
    Case(
        "schedule-rate",
        fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "rate(1 day)"),
        "aws-backup-plan-schedule-valid",
        ("'rate(1 day)'", "not rate(...)", "cron(0 5 ? * * *)"),
    ),
    Case(
        "schedule-five-fields",
        fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(0 5 ? * *)"),
        "aws-backup-plan-schedule-valid",
        ("has 5 fields",),
    ),
    Case(
        "schedule-no-question-mark",
        fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(0 5 * * * *)"),
        "aws-backup-plan-schedule-valid",
        ("exactly one of day-of-month and day-of-week must be '?'",),
    ),
    Case(
        "schedule-every-15-minutes",
        fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(0/15 * ? * * *)"),
        "aws-backup-plan-schedule-valid",
        ("at most hourly",),
    ),
    Case(
        "schedule-weekly",
        fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(0 5 ? * MON *)"),
        "aws-backup-plan-schedule-rpo",
        ("day-of-week 'MON'", "more than 24 hours apart", "every day"),
    ),
    Case(
        "schedule-weekdays",
        fx.mutate(fx.S3_PLAN, ("rules", 0, "schedule"), "cron(0 5 ? * MON-FRI *)"),
        "aws-backup-plan-schedule-rpo",
        ("rule 'continuous'", "MON-FRI"),
    ),
    Case(
        "schedule-monthly",
        fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(0 5 1 * ? *)"),
        "aws-backup-plan-schedule-rpo",
        ("day-of-month '1'",),
    ),
    Case(
        "schedule-last-day",
        fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(0 5 L * ? *)"),
        "aws-backup-plan-schedule-rpo",
        ("day-of-month 'L'",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mutation_is_reported(client: PolicyPackClient, case: Case) -> None:
    violations = all_violations(client, fx.graph(case.mutated))
    assert {v.policy_name for v in violations} == {case.policy, *case.also}, [v.message for v in violations]
    (violation,) = [v for v in violations if v.policy_name == case.policy]
    assert violation.urn == case.subject.urn
    assert f"'{case.subject.name}'" in violation.message
    assert "Fix:" in violation.message
    for fragment in case.fragments:
        assert fragment in violation.message
    info = client.info().policy(case.policy)
    assert violation.enforcement_level == info.enforcement_level
    assert violation.message.startswith(info.description)


def test_every_policy_has_a_reporting_case(client: PolicyPackClient) -> None:
    covered = {c.policy for c in CASES} | {
        "aws-backup-selection-kubernetes-volumes",  # config test covers it
        # production-only stack rules: tests/policies/test_pack_production.py
        "aws-backup-production-coverage",
        "aws-backup-production-failure-alerts",
        # needs cluster selections of several vaults: the real prod graph (test_program_graph.py)
        "aws-backup-selection-cluster-engine-exclusive",
        # the organisation stack's rules, over its real graph: tests/policies/test_pack_org.py
        "aws-backup-global-settings-cross-account",
        "aws-s3-bucket-policy-org-scoped",
        # the organisation stack's attachments, over its real and mutated graphs: test_pack_guardrails.py
        "aws-organizations-guardrails-attached",
        # a vault losing its lock (a resource removed, not mutated): tests/policies/test_pack_vault_lock.py
        "aws-backup-vault-locked",
    }
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
