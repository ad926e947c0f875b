"""Hand-built compliant resources shaped like what the program registers (engine shape: camelCase inputs,
numbers as floats, JSON policies as strings, provider references ``<urn>::<id>``), and one-property
mutation helpers."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from drplan.graph import UNKNOWN, RegisteredResource, StackGraph

STACK = "test"
PROJECT = "aws-dr-backup"
WORKLOAD = "111111111111"
ISOLATED = "222222222222"
DELETE = object()
"""Pass as a mutation value to remove the property."""

DR_TAG = "aws:ResourceTag/exclude-disaster-recovery-backup"
CR_TAG = "aws:ResourceTag/exclude-cross-region-backup"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def provider(name: str, region: str, account: str) -> RegisteredResource:
    return RegisteredResource(
        urn=urn("pulumi:providers:aws", name),
        type="pulumi:providers:aws",
        name=name,
        custom=True,
        inputs={"region": region, "allowedAccountIds": json.dumps([account]), "skipRegionValidation": "true"},
        id=f"{name}-provider-id",
    )


ORIGIN = provider("origin", "us-east-1", WORKLOAD)
DR = provider("cross-region", "us-east-2", WORKLOAD)
ARCHIVE = provider("archive", "us-east-1", ISOLATED)


def ref(p: RegisteredResource) -> str:
    return f"{p.urn}::{p.id}"


def resource(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    prov: RegisteredResource,
    *,
    protect: bool = False,
    deps: dict[str, tuple[RegisteredResource, ...]] | None = None,
) -> RegisteredResource:
    property_dependencies = {k: tuple(d.urn for d in v) for k, v in (deps or {}).items()}
    dependencies = tuple(dict.fromkeys(u for urns in property_dependencies.values() for u in urns))
    return RegisteredResource(
        urn=urn(type_, name),
        type=type_,
        name=name,
        custom=True,
        inputs=inputs,
        provider=ref(prov),
        protect=protect,
        dependencies=dependencies,
        property_dependencies=property_dependencies,
        id=f"{name}-id",
    )


def key_policy(owner: str, copy_account: str | None) -> str:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnerAccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if copy_account:
        statements += [
            {
                "Sid": "CopyAccountsUseKey",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{copy_account}:root"]},
                "Action": [
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:Encrypt",
                    "kms:GenerateDataKey*",
                    "kms:ReEncrypt*",
                ],
                "Resource": "*",
            },
            {
                "Sid": "CopyAccountsGrantOnlyToAwsServices",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{copy_account}:root"]},
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def key(name: str, prov: RegisteredResource, owner: str, copy_account: str | None) -> RegisteredResource:
    return resource(
        "aws:kms/key:Key",
        name,
        {
            "description": f"backup key {name}",
            "enableKeyRotation": True,
            "deletionWindowInDays": 30.0,
            "policy": key_policy(owner, copy_account),
        },
        prov,
        protect=True,
    )


def vault_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


def key_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:kms:{region}:{account}:key/{name}-0000-4000-8000-000000000000"


ORIGIN_KEY = key("ebs-origin-key", ORIGIN, WORKLOAD, ISOLATED)
DR_KEY = key("ebs-cross-region-key", DR, WORKLOAD, None)
ORIGIN_VAULT = resource(
    "aws:backup/vault:Vault",
    "ebs-origin-vault",
    {"name": "dr-test-ebs", "kmsKeyArn": key_arn("us-east-1", WORKLOAD, "ebs-origin"), "forceDestroy": False},
    ORIGIN,
    protect=True,
    deps={"kmsKeyArn": (ORIGIN_KEY,)},
)
DR_VAULT = resource(
    "aws:backup/vault:Vault",
    "ebs-cross-region-vault",
    {"name": "dr-test-ebs", "kmsKeyArn": key_arn("us-east-2", WORKLOAD, "ebs-dr"), "forceDestroy": False},
    DR,
    protect=True,
    deps={"kmsKeyArn": (DR_KEY,)},
)
LAG_VAULT = resource(
    "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault",
    "archive-vault",
    {"name": "dr-test-air-gapped", "minRetentionDays": 7.0, "maxRetentionDays": 35.0},
    ARCHIVE,
    protect=True,
)
LAG_VAULT_POLICY = resource(
    "aws:backup/vaultPolicy:VaultPolicy",
    "archive-vault-policy",
    {
        "backupVaultName": "dr-test-air-gapped",
        "policy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OnlyWorkloadAccountCopiesIn",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{WORKLOAD}:root"},
                        "Action": "backup:CopyIntoBackupVault",
                        "Resource": vault_arn("us-east-1", ISOLATED, "dr-test-air-gapped"),
                    }
                ],
            }
        ),
    },
    ARCHIVE,
    deps={"backupVaultName": (LAG_VAULT,), "policy": (LAG_VAULT,)},
)
PLAN = resource(
    "aws:backup/plan:Plan",
    "ebs-full-plan",
    {
        "name": "dr-test-ebs-full",
        "rules": [
            {
                "ruleName": "full-daily",
                "targetVaultName": "dr-test-ebs",
                "schedule": "cron(0 5 ? * * *)",
                "scheduleExpressionTimezone": "Etc/UTC",
                "startWindow": 60.0,
                "completionWindow": 360.0,
                "lifecycle": {"deleteAfter": 1.0},
                "copyActions": [
                    {
                        "destinationVaultArn": vault_arn("us-east-2", WORKLOAD, "dr-test-ebs"),
                        "lifecycle": {"deleteAfter": 3.0},
                    },
                    {
                        "destinationVaultArn": vault_arn("us-east-1", ISOLATED, "dr-test-air-gapped"),
                        "lifecycle": {"deleteAfter": 7.0},
                    },
                ],
            }
        ],
    },
    ORIGIN,
    deps={"rules": (ORIGIN_VAULT, DR_VAULT, LAG_VAULT)},
)
SELECTION = resource(
    "aws:backup/selection:Selection",
    "ebs-full-selection",
    {
        "name": "dr-test-ebs-full",
        "planId": "ebs-full-plan-id",
        "iamRoleArn": f"arn:aws:iam::{WORKLOAD}:role/dr-test-ebs-AWSBackupRole",
        "resources": ["arn:aws:ec2:*:*:volume/*"],
        "conditions": [
            {
                "stringNotEquals": [
                    {"key": DR_TAG, "value": "true"},
                    {"key": CR_TAG, "value": "true"},
                ]
            }
        ],
    },
    ORIGIN,
    deps={"planId": (PLAN,)},
)

# S3: its own vault, a continuous plan (S3 supports point-in-time backup) and a selection of every bucket.
S3_VAULT = resource(
    "aws:backup/vault:Vault",
    "s3-origin-vault",
    {"name": "dr-test-s3", "kmsKeyArn": key_arn("us-east-1", WORKLOAD, "ebs-origin"), "forceDestroy": False},
    ORIGIN,
    protect=True,
    deps={"kmsKeyArn": (ORIGIN_KEY,)},
)
S3_PLAN = resource(
    "aws:backup/plan:Plan",
    "s3-continuous-plan",
    {
        "name": "dr-test-s3-continuous",
        "rules": [
            {
                "ruleName": "continuous",
                "targetVaultName": "dr-test-s3",
                "schedule": "cron(0 5 ? * * *)",
                "scheduleExpressionTimezone": "Etc/UTC",
                "startWindow": 60.0,
                "completionWindow": 360.0,
                "enableContinuousBackup": True,
                "lifecycle": {"deleteAfter": 35.0},
            }
        ],
    },
    ORIGIN,
    deps={"rules": (S3_VAULT,)},
)
S3_SELECTION = resource(
    "aws:backup/selection:Selection",
    "s3-continuous-selection",
    {
        "name": "dr-test-s3-continuous",
        "planId": "s3-continuous-plan-id",
        "iamRoleArn": f"arn:aws:iam::{WORKLOAD}:role/dr-test-s3-AWSBackupRole",
        "resources": ["arn:aws:s3:::*"],
        "conditions": [{"stringNotEquals": [{"key": DR_TAG, "value": "true"}]}],
    },
    ORIGIN,
    deps={"planId": (S3_PLAN,)},
)
BUCKET = resource("aws:s3/bucket:Bucket", "data-bucket", {"bucket": "dr-test-data", "tags": {}}, ORIGIN)
BUCKET_VERSIONING = resource(
    "aws:s3/bucketVersioning:BucketVersioning",
    "data-bucket-versioning",
    {"bucket": "data-bucket-id", "versioningConfiguration": {"status": "Enabled"}},
    ORIGIN,
    deps={"bucket": (BUCKET,)},
)
BUCKET_OWNERSHIP = resource(
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "data-bucket-ownership",
    {"bucket": "data-bucket-id", "rule": {"objectOwnership": "BucketOwnerEnforced"}},
    ORIGIN,
    deps={"bucket": (BUCKET,)},
)
# MemoryDB snapshot exports need ACLs: BucketOwnerPreferred plus a grant to the regional service principal.
EXPORT_BUCKET = resource(
    "aws:s3/bucket:Bucket", "memorydb-export-bucket", {"bucket": "dr-test-memorydb-exports"}, ORIGIN
)
EXPORT_VERSIONING = resource(
    "aws:s3/bucketVersioning:BucketVersioning",
    "memorydb-export-versioning",
    {"bucket": "dr-test-memorydb-exports", "versioningConfiguration": {"status": "Enabled"}},
    ORIGIN,
    deps={"bucket": (EXPORT_BUCKET,)},
)
EXPORT_OWNERSHIP = resource(
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "memorydb-export-ownership",
    {"bucket": "dr-test-memorydb-exports", "rule": {"objectOwnership": "BucketOwnerPreferred"}},
    ORIGIN,
    deps={"bucket": (EXPORT_BUCKET,)},
)
EXPORT_POLICY = resource(
    "aws:s3/bucketPolicy:BucketPolicy",
    "memorydb-export-policy",
    {
        "bucket": "dr-test-memorydb-exports",
        "policy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "MemoryDbExports",
                        "Effect": "Allow",
                        "Principal": {"Service": "us-east-1.memorydb-snapshot.amazonaws.com"},
                        "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketAcl"],
                        "Resource": [
                            "arn:aws:s3:::dr-test-memorydb-exports",
                            "arn:aws:s3:::dr-test-memorydb-exports/*",
                        ],
                    }
                ],
            }
        ),
    },
    ORIGIN,
    deps={"bucket": (EXPORT_BUCKET,)},
)
# Alerting (rule 13 applies to production stacks only; see ``in_stack``).
JOB_FAILED_PATTERN = {
    "source": ["aws.backup"],
    "$or": [
        {"detail-type": ["Backup Job State Change"], "detail": {"state": ["FAILED", "ABORTED", "EXPIRED"]}},
        {"detail-type": ["Copy Job State Change"], "detail": {"state": ["FAILED", "PARTIAL"]}},
    ],
}
ALERT_RULE = resource(
    "aws:cloudwatch/eventRule:EventRule",
    "backup-failed-rule",
    {"name": "dr-test-backup-failed", "eventPattern": json.dumps(JOB_FAILED_PATTERN)},
    ORIGIN,
)
ALERT_TARGET = resource(
    "aws:cloudwatch/eventTarget:EventTarget",
    "backup-failed-target",
    {"rule": "dr-test-backup-failed", "arn": f"arn:aws:sns:us-east-1:{WORKLOAD}:dr-test-alerts"},
    ORIGIN,
    deps={"rule": (ALERT_RULE,)},
)


def vault_lock(vault: RegisteredResource, prov: RegisteredResource, days: float) -> RegisteredResource:
    """A governance-mode Vault Lock on ``vault`` (its minimum the shortest retention put there)."""
    return resource(
        "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
        f"{vault.name}-lock",
        {"backupVaultName": vault.inputs["name"], "minRetentionDays": days},
        prov,
        deps={"backupVaultName": (vault,)},
    )


ORIGIN_LOCK = vault_lock(ORIGIN_VAULT, ORIGIN, 1.0)
DR_LOCK = vault_lock(DR_VAULT, DR, 3.0)
S3_LOCK = vault_lock(S3_VAULT, ORIGIN, 35.0)

RESOURCES: tuple[RegisteredResource, ...] = (
    ORIGIN,
    DR,
    ARCHIVE,
    ORIGIN_KEY,
    DR_KEY,
    ORIGIN_VAULT,
    DR_VAULT,
    LAG_VAULT,
    LAG_VAULT_POLICY,
    PLAN,
    SELECTION,
    S3_VAULT,
    S3_PLAN,
    S3_SELECTION,
    ORIGIN_LOCK,
    DR_LOCK,
    S3_LOCK,
    BUCKET,
    BUCKET_VERSIONING,
    BUCKET_OWNERSHIP,
    EXPORT_BUCKET,
    EXPORT_VERSIONING,
    EXPORT_OWNERSHIP,
    EXPORT_POLICY,
    ALERT_RULE,
    ALERT_TARGET,
)


def graph(*resources: RegisteredResource) -> StackGraph:
    """The compliant stack, with any given resources replacing the ones with the same URN."""
    by_urn = {r.urn: r for r in resources}
    items = tuple(by_urn.get(r.urn, r) for r in RESOURCES)
    extra = tuple(r for r in resources if r.urn not in {x.urn for x in RESOURCES})
    return StackGraph(stack=STACK, project=PROJECT, resources=items + extra, outputs={})


def _restack(text: str, stack: str) -> str:
    return text.replace(f"urn:pulumi:{STACK}::", f"urn:pulumi:{stack}::")


def in_stack(graph_: StackGraph, stack: str) -> StackGraph:
    """The same graph under another stack name (URNs, references and dependencies renamed)."""
    renamed = tuple(
        replace(
            r,
            urn=_restack(r.urn, stack),
            provider=_restack(r.provider, stack),
            parent=_restack(r.parent, stack),
            dependencies=tuple(_restack(d, stack) for d in r.dependencies),
            property_dependencies={
                k: tuple(_restack(d, stack) for d in v) for k, v in r.property_dependencies.items()
            },
        )
        for r in graph_.resources
    )
    return replace(graph_, stack=stack, resources=renamed)


def without(graph_: StackGraph, *removed: RegisteredResource) -> StackGraph:
    urns = {r.urn for r in removed}
    return replace(graph_, resources=tuple(r for r in graph_.resources if r.urn not in urns))


def mutate(res: RegisteredResource, path: tuple[str | int, ...], value: Any) -> RegisteredResource:
    """A copy of ``res`` with one input changed (``DELETE`` removes it)."""
    inputs = copy.deepcopy(res.inputs)
    target: Any = inputs
    for part in path[:-1]:
        target = target[part]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return replace(res, inputs=inputs)


def with_policy(res: RegisteredResource, edit: Callable[[dict[str, Any]], None]) -> RegisteredResource:
    """A copy of ``res`` whose JSON ``policy`` input was edited by ``edit``."""
    document = json.loads(res.inputs["policy"])
    edit(document)
    return mutate(res, ("policy",), json.dumps(document))


def without_dependencies(res: RegisteredResource, prop: str) -> RegisteredResource:
    deps = dict(res.property_dependencies)
    deps.pop(prop, None)
    remaining = {u for urns in deps.values() for u in urns}
    return replace(
        res, property_dependencies=deps, dependencies=tuple(d for d in res.dependencies if d in remaining)
    )


__all__ = ["DELETE", "UNKNOWN"]
