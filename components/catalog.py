"""Every fact that differs between protected resource types, in one place.

Plain data with no Pulumi import, so config validation, components, the offline plan and the
runtime jobs can all ask it. Sources: docs/aws-facts.md#1-selection-semantics,
docs/aws-facts.md#2-plan-rule-constraints, docs/aws-facts.md#4-cross-account-copies-and-kms and
docs/aws-facts.md#6-s3.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Aurora, DocumentDB and Neptune clusters all have `arn:aws:rds:<region>:<acct>:cluster:<id>` ARNs, and
# AWS Backup conditions can only test tags. This tag routes a cluster to the DocumentDB or Neptune
# plans; a cluster without it (or with any other value) is protected as Aurora, so none falls through.
CLUSTER_ENGINE_TAG = "dr-backup-engine"
RDS_CLUSTER_ARN = "arn:aws:rds:*:*:cluster:*"
# Kubernetes (EKS, the AWS EBS CSI driver) tags the volumes a cluster owns `kubernetes.io/cluster/<name>: owned`.
KUBERNETES_CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"

S3_BACKUP_POLICY = "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup"
S3_RESTORE_POLICY = "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore"
BACKUP_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
RESTORE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"

# Longest retention AWS Backup accepts for continuous (point-in-time) backups.
MAX_CONTINUOUS_DAYS = 35
# DeleteAfterDays must exceed MoveToColdStorageAfterDays by at least this much.
COLD_STORAGE_MIN_DAYS = 90


class Encryption(StrEnum):
    """Which key protects a recovery point (AWS Backup 'encryption' page)."""

    VAULT_KEY = "vault-key"
    """Fully managed types: AWS Backup re-encrypts with the vault's key."""
    SOURCE_KEY = "source-key"
    """The snapshot keeps the source resource's key: it must be a customer-managed key to copy cross-account."""


@dataclass(frozen=True)
class ClusterRoute:
    """Which rds clusters a type takes: those tagged with one value, or those tagged with none of others."""

    equals: str | None = None
    not_equals: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceType:
    key: str
    """Config and naming key (lower case, no separators)."""
    label: str
    backup_name: str
    """AWS Backup's own name for the type: region settings, restore testing, audit scopes."""
    selection_arns: tuple[str, ...]
    encryption: Encryption
    supports_continuous: bool
    continuous_cross_account: bool
    """Use continuous backup for the rule that copies to the air-gapped vault."""
    managed_policies: tuple[str, ...] = (BACKUP_POLICY, RESTORE_POLICY)
    cluster_route: ClusterRoute | None = None
    kubernetes_volumes: bool = False
    """EBS only: volumes owned by a configured Kubernetes cluster are never selected."""
    region_management: bool = False
    """The type is a key of the region settings' management-preference map (full AWS Backup
    management: vault-key encryption, and for DynamoDB the advanced features); the stack sets it on."""


_DOCDB = "documentdb"
_NEPTUNE = "neptune"

CATALOG: tuple[ResourceType, ...] = (
    ResourceType(
        key="s3",
        label="S3",
        backup_name="S3",
        selection_arns=("arn:aws:s3:::*",),
        encryption=Encryption.VAULT_KEY,
        supports_continuous=True,
        continuous_cross_account=True,
        managed_policies=(BACKUP_POLICY, RESTORE_POLICY, S3_BACKUP_POLICY, S3_RESTORE_POLICY),
    ),
    ResourceType(
        key="ebs",
        label="EBS",
        backup_name="EBS",
        selection_arns=("arn:aws:ec2:*:*:volume/*",),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        kubernetes_volumes=True,
    ),
    ResourceType(
        key="efs",
        label="EFS",
        backup_name="EFS",
        selection_arns=("arn:aws:elasticfilesystem:*:*:file-system/*",),
        encryption=Encryption.VAULT_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        region_management=True,
    ),
    ResourceType(
        key="dynamodb",
        label="DynamoDB",
        backup_name="DynamoDB",
        selection_arns=("arn:aws:dynamodb:*:*:table/*",),
        # With advanced features on (region settings), DynamoDB backups take the vault key.
        encryption=Encryption.VAULT_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        region_management=True,
    ),
    ResourceType(
        key="rds",
        label="RDS",
        backup_name="RDS",
        # DB instances only: cluster members are backed up through their cluster.
        selection_arns=("arn:aws:rds:*:*:db:*",),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=True,
        continuous_cross_account=False,
    ),
    ResourceType(
        key="aurora",
        label="Aurora",
        backup_name="Aurora",
        selection_arns=(RDS_CLUSTER_ARN,),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=True,
        continuous_cross_account=False,
        cluster_route=ClusterRoute(not_equals=(_DOCDB, _NEPTUNE)),
    ),
    ResourceType(
        key="documentdb",
        label="DocumentDB",
        backup_name="DocumentDB",
        selection_arns=(RDS_CLUSTER_ARN,),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        cluster_route=ClusterRoute(equals=_DOCDB),
    ),
    ResourceType(
        key="neptune",
        label="Neptune",
        backup_name="Neptune",
        selection_arns=(RDS_CLUSTER_ARN,),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        cluster_route=ClusterRoute(equals=_NEPTUNE),
    ),
)

# AWS Backup region settings. DescribeRegionSettings returns a key for every resource type the region
# supports, and the provider keeps that whole map as its state, so a program naming fewer keys shows a
# diff on every preview; UpdateRegionSettings rejects a key the region does not support. The stack
# therefore names exactly these keys: the map AWS returns in us-east-1 and us-east-2 (sources and how
# to refresh the lists with `aws backup describe-region-settings`: docs/region-settings.md).
REGION_SETTINGS_OPT_IN_TYPES: tuple[str, ...] = (
    "Aurora",
    "CloudFormation",
    "DocumentDB",
    "DSQL",
    "DynamoDB",
    "EBS",
    "EC2",
    "EFS",
    "EKS",
    "FSx",
    "Neptune",
    "RDS",
    "Redshift",
    "Redshift Serverless",
    "S3",
    "SAP HANA on Amazon EC2",
    "Storage Gateway",
    "Timestream",
    "VirtualMachine",
)
REGION_SETTINGS_MANAGEMENT_TYPES: tuple[str, ...] = ("CloudFormation", "DSQL", "DynamoDB", "EFS")

BY_KEY: dict[str, ResourceType] = {t.key: t for t in CATALOG}
TYPE_KEYS: tuple[str, ...] = tuple(BY_KEY)


def get(key: str) -> ResourceType:
    return BY_KEY[key]
