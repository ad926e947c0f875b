"""Resource type tokens per concern, as pulumi-aws 7.x registers them (including renamed/aliased types).

A rule lists every token of the resources it concerns. ``tests/policies/test_token_coverage.py``
derives the real token set from the installed pulumi_aws package (type tokens and aliases) and fails
when a list here misses one, so a provider upgrade that adds a V2/renamed type is caught.
"""

from __future__ import annotations

PROVIDER = "pulumi:providers:aws"

# AWS Backup
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
VAULT = "aws:backup/vault:Vault"
AIR_GAPPED_VAULT = "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"
VAULT_POLICY = "aws:backup/vaultPolicy:VaultPolicy"
GLOBAL_SETTINGS = frozenset({"aws:backup/globalSettings:GlobalSettings"})

PLANS = frozenset({PLAN})
SELECTIONS = frozenset({SELECTION})
AIR_GAPPED_VAULTS = frozenset({AIR_GAPPED_VAULT})
STANDARD_VAULTS = frozenset({VAULT})
VAULTS = STANDARD_VAULTS | AIR_GAPPED_VAULTS
VAULT_POLICIES = frozenset({VAULT_POLICY})
VAULT_LOCKS = frozenset({"aws:backup/vaultLockConfiguration:VaultLockConfiguration"})

# KMS: every resource that creates a key (and so has a key policy and a deletion window).
KMS_KEY = "aws:kms/key:Key"
KMS_KEYS = frozenset(
    {
        KMS_KEY,
        "aws:kms/replicaKey:ReplicaKey",
        "aws:kms/externalKey:ExternalKey",
        "aws:kms/replicaExternalKey:ReplicaExternalKey",
    }
)
KMS_KEY_POLICIES = frozenset({"aws:kms/keyPolicy:KeyPolicy"})

# S3 (for the bucket rules): both bucket generations and the separate configuration resources.
S3_BUCKETS = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
S3_VERSIONING = frozenset(
    {"aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"}
)
S3_OWNERSHIP = frozenset({"aws:s3/bucketOwnershipControls:BucketOwnershipControls"})
S3_ACLS = frozenset({"aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"})
S3_LIFECYCLE = frozenset(
    {
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    }
)

S3_BUCKET_POLICIES = frozenset({"aws:s3/bucketPolicy:BucketPolicy"})

# EventBridge (CloudWatch Events in pulumi-aws) rules and their targets, for alerting.
EVENT_RULES = frozenset({"aws:cloudwatch/eventRule:EventRule"})
EVENT_TARGETS = frozenset({"aws:cloudwatch/eventTarget:EventTarget"})


def stack_name(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::...`` -> ``<stack>``."""
    head = urn.split("::", 1)[0]
    return head[len("urn:pulumi:") :] if head.startswith("urn:pulumi:") else ""


def short(type_token: str) -> str:
    """``aws:backup/plan:Plan`` -> ``backup.Plan`` for messages."""
    parts = type_token.split(":")
    if len(parts) == 3:
        module = parts[1].split("/", 1)[0]
        return f"{module}.{parts[2]}"
    return type_token


# AWS Organizations: the organisation stack's guardrails (service and resource control policies).
ORGANIZATION_POLICIES = frozenset({"aws:organizations/policy:Policy"})
ORGANIZATION_POLICY_ATTACHMENTS = frozenset({"aws:organizations/policyAttachment:PolicyAttachment"})
BACKUP_GUARDRAILS = frozenset({"aws-dr-backup-org:organizations:BackupGuardrails"})
"""The organisation stack's component (``org/guardrails.py``), whose inputs are the targets its config names."""
