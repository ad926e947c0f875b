"""Every fact that differs between protected resource types, in one place.

Plain data with no Pulumi import, so config validation, components, the offline plan and the
runtime jobs can all ask it. Sources: docs/aws-facts.md#1-selection-semantics,
docs/aws-facts.md#2-plan-rule-constraints, docs/aws-facts.md#3-logically-air-gapped-vaults,
docs/aws-facts.md#4-cross-account-copies-and-kms and docs/aws-facts.md#6-s3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# Kubernetes (EKS, the AWS EBS CSI driver) tags the volumes a cluster owns `kubernetes.io/cluster/<name>: owned`.
from dr_model.backup_selection import KUBERNETES_CLUSTER_TAG_PREFIX as KUBERNETES_CLUSTER_TAG_PREFIX

# Aurora, DocumentDB and Neptune clusters all have `arn:aws:rds:<region>:<acct>:cluster:<id>` ARNs, and
# AWS Backup conditions can only test tags. This tag routes a cluster to the DocumentDB or Neptune
# plans; a cluster without it (or with any other value) is protected as Aurora, so none falls through.
CLUSTER_ENGINE_TAG = "dr-backup-engine"
RDS_CLUSTER_ARN = "arn:aws:rds:*:*:cluster:*"

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


class IsolatedCopy(StrEnum):
    """Which vault of the isolated account holds a type's copy (docs/aws-facts.md#3-logically-air-gapped-vaults, 3.9)."""

    AIR_GAPPED = "air-gapped"
    """The workload account's logically air-gapped vault (shared back through RAM)."""
    LOCKED_VAULT = "locked-vault"
    """AWS Backup cannot copy the type into a logically air-gapped vault: a standard vault under a
    compliance-mode vault lock, encrypted with a customer-managed key of the isolated account."""


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
    isolated_copy: IsolatedCopy
    """Where the copy in the isolated account goes: the air-gapped vault, or the locked standard vault for a
    type AWS Backup cannot copy into an air-gapped vault."""
    managed_policies: tuple[str, ...] = (BACKUP_POLICY, RESTORE_POLICY)
    cluster_route: ClusterRoute | None = None
    kubernetes_volumes: bool = False
    """EBS only: volumes owned by a configured Kubernetes cluster are never selected."""
    region_management: bool = False
    """The type is a key of the region settings' management-preference map (full AWS Backup
    management: vault-key encryption, and for DynamoDB the advanced features); the stack sets it on."""
    rds_windows: bool = False
    """Its resources are RDS-managed databases with a daily backup window and a weekly maintenance window
    (``DescribeDBInstances``/``DescribeDBClusters``)."""
    snapshot_ignores_rds_windows: bool = False
    """AWS Backup may start its snapshots inside those windows. For the other RDS-managed types a snapshot
    scheduled in the hour before or during either window fails (docs/rds-windows.md)."""
    malware_scan: bool = False
    """GuardDuty Malware Protection for AWS Backup scans its recovery points (S3, EBS; EC2 AMIs too, not a
    type here), when the stack's ``malwareScanning`` is on (docs/malware-scanning.md)."""


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
        isolated_copy=IsolatedCopy.AIR_GAPPED,
        managed_policies=(BACKUP_POLICY, RESTORE_POLICY, S3_BACKUP_POLICY, S3_RESTORE_POLICY),
        malware_scan=True,
    ),
    ResourceType(
        key="ebs",
        label="EBS",
        backup_name="EBS",
        selection_arns=("arn:aws:ec2:*:*:volume/*",),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        isolated_copy=IsolatedCopy.AIR_GAPPED,
        kubernetes_volumes=True,
        malware_scan=True,
    ),
    ResourceType(
        key="efs",
        label="EFS",
        backup_name="EFS",
        selection_arns=("arn:aws:elasticfilesystem:*:*:file-system/*",),
        encryption=Encryption.VAULT_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        isolated_copy=IsolatedCopy.AIR_GAPPED,
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
        isolated_copy=IsolatedCopy.AIR_GAPPED,
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
        isolated_copy=IsolatedCopy.LOCKED_VAULT,
        rds_windows=True,
    ),
    ResourceType(
        key="aurora",
        label="Aurora",
        backup_name="Aurora",
        selection_arns=(RDS_CLUSTER_ARN,),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=True,
        continuous_cross_account=False,
        isolated_copy=IsolatedCopy.AIR_GAPPED,
        cluster_route=ClusterRoute(not_equals=(_DOCDB, _NEPTUNE)),
        rds_windows=True,
        snapshot_ignores_rds_windows=True,
    ),
    ResourceType(
        key="documentdb",
        label="DocumentDB",
        backup_name="DocumentDB",
        selection_arns=(RDS_CLUSTER_ARN,),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        isolated_copy=IsolatedCopy.AIR_GAPPED,
        cluster_route=ClusterRoute(equals=_DOCDB),
        rds_windows=True,
    ),
    ResourceType(
        key="neptune",
        label="Neptune",
        backup_name="Neptune",
        selection_arns=(RDS_CLUSTER_ARN,),
        encryption=Encryption.SOURCE_KEY,
        supports_continuous=False,
        continuous_cross_account=False,
        isolated_copy=IsolatedCopy.AIR_GAPPED,
        cluster_route=ClusterRoute(equals=_NEPTUNE),
        rds_windows=True,
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
BY_BACKUP_NAME: dict[str, ResourceType] = {t.backup_name: t for t in CATALOG}
BACKUP_NAMES: tuple[str, ...] = tuple(BY_BACKUP_NAME)
"""Every type's AWS Backup name, in catalog order."""


# The Audit Manager control RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT is evaluated by per-type AWS Config
# rules (<type>_RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT). Of the catalog's types AWS Config has one for these
# only (Aurora's evaluates AWS::RDS::DBCluster); none was found for DynamoDB, RDS, DocumentDB or Neptune
# (docs/aws-facts.md#7-audit-manager, 7.11).
AIR_GAPPED_CONFIG_RULE_TYPES: tuple[str, ...] = ("S3", "EBS", "EFS", "Aurora")


def air_gapped_audit_types(types: Iterable[ResourceType]) -> tuple[ResourceType, ...]:
    """The types among ``types`` the air-gapped Audit Manager control can evaluate: they go into the
    air-gapped vault and AWS Config has a rule for them."""
    return tuple(
        t
        for t in types
        if t.isolated_copy is IsolatedCopy.AIR_GAPPED and t.backup_name in AIR_GAPPED_CONFIG_RULE_TYPES
    )


def locked_vault_types(types: Iterable[ResourceType]) -> tuple[ResourceType, ...]:
    """The types among ``types`` whose isolated copy goes to the locked standard vault."""
    return tuple(t for t in types if t.isolated_copy is IsolatedCopy.LOCKED_VAULT)


def get(key: str) -> ResourceType:
    return BY_KEY[key]


def claimed_engine_values(active: Iterable[ResourceType]) -> frozenset[str]:
    """The ``CLUSTER_ENGINE_TAG`` values an active type takes for itself."""
    return frozenset(t.cluster_route.equals for t in active if t.cluster_route and t.cluster_route.equals)


def takes_cluster(rtype: ResourceType, engine_tag: str | None, active: Iterable[ResourceType]) -> bool:
    """Whether ``rtype``'s selections take an rds cluster whose ``CLUSTER_ENGINE_TAG`` is ``engine_tag``.

    Only values another *active* type claims are excluded from the default route, so with DocumentDB
    switched off a cluster tagged for it falls back to the default type's plans instead of to none.
    """
    route = rtype.cluster_route
    if route is None:
        return False
    if route.equals is not None:
        return engine_tag == route.equals
    claimed = claimed_engine_values(active)
    return engine_tag not in {value for value in route.not_equals if value in claimed}


def cluster_route(engine_tag: str | None, active: Iterable[ResourceType]) -> ResourceType | None:
    """The active type whose plans and vault take an rds cluster tagged ``engine_tag`` (None: no tag)."""
    types = tuple(active)
    return next((t for t in types if takes_cluster(t, engine_tag, types)), None)
