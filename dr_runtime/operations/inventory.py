"""Inventory of the protected resource types in one account and Region, and their last backups.

Every list call is paginated at its largest page size, so the number of calls grows with pages, not
with resources. The service list calls are the source of truth for *which* resources exist, because
the Resource Groups Tagging API's ``GetResources`` does not return resources that were never tagged.
EC2, EFS and RDS return tags inline; S3 ``ListBuckets`` and DynamoDB ``ListTables`` return names only,
so their tags come from one ``GetResources`` stream filtered to those two types (a resource missing
there has no tags). That avoids one tag call per bucket or table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_model import catalog
from dr_runtime.aws import ClientFactory
from dr_runtime.errors import item_reason

# Resource types by AWS Backup's names for them, from the catalog the plans are built from.
S3 = catalog.get("s3").backup_name
EBS = catalog.get("ebs").backup_name
EFS = catalog.get("efs").backup_name
DYNAMODB = catalog.get("dynamodb").backup_name
RDS = catalog.get("rds").backup_name
AURORA = catalog.get("aurora").backup_name
DOCUMENTDB = catalog.get("documentdb").backup_name
NEPTUNE = catalog.get("neptune").backup_name
ALL_TYPES = catalog.BACKUP_NAMES

# describe_db_clusters returns Aurora, DocumentDB, Neptune and Multi-AZ DB clusters alike.
CLUSTER_ENGINE_TYPES: Mapping[str, str] = {
    "aurora": AURORA,
    "aurora-mysql": AURORA,
    "aurora-postgresql": AURORA,
    "docdb": DOCUMENTDB,
    "neptune": NEPTUNE,
}
# Multi-AZ DB clusters (engine mysql/postgres) are RDS, not Aurora: report them under RDS so they are
# visible rather than dropped.
OTHER_CLUSTER_TYPE = RDS
CLUSTER_TYPES = frozenset({AURORA, DOCUMENTDB, NEPTUNE, OTHER_CLUSTER_TYPE})

TAGGING_TYPE_FILTERS: Mapping[str, str] = {S3: "s3", DYNAMODB: "dynamodb:table"}

PAGE_SIZES = {
    "get_resources": {"ResourcesPerPage": 100},
    "list_buckets": {"MaxBuckets": 10000},
    "describe_volumes": {"MaxResults": 1000},
    "describe_file_systems": {"MaxItems": 100},
    "list_tables": {"Limit": 100},
    "describe_db_instances": {"MaxRecords": 100},
    "describe_db_clusters": {"MaxRecords": 100},
    "list_protected_resources": {"MaxResults": 1000},
    "list_backup_jobs": {"MaxResults": 1000},
    "list_copy_jobs": {"MaxResults": 1000},
}
GONE_STATES = frozenset({"deleting", "deleted"})


@dataclass(frozen=True)
class Resource:
    type: str
    """By what the resource is (a cluster's ``Engine``), not by which plans take it."""
    arn: str
    name: str
    tags: Mapping[str, str]
    cluster: bool = False
    """An rds cluster: the ``dr-backup-engine`` tag routes it to one type's plans."""
    engine: str | None = None
    backup_window: str | None = None
    """RDS ``PreferredBackupWindow``; ``None`` when the database takes no automated backups."""
    maintenance_window: str | None = None
    """RDS ``PreferredMaintenanceWindow``."""


@dataclass(frozen=True)
class Protected:
    """What ``ListProtectedResources`` says about a resource AWS Backup has backed up."""

    last_backup: datetime
    vault_arn: str | None = None


@dataclass
class Inventory:
    resources: list[Resource] = field(default_factory=list)
    # resource type -> error, for types whose listing failed (their counts would be wrong, not zero)
    failures: dict[str, str] = field(default_factory=dict)


def pages(api: Any, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of ``operation``; the request sets the operation's largest page size."""
    paginator = api.get_paginator(operation)
    yield from paginator.paginate(**PAGE_SIZES.get(operation, {}), **params)


def tag_dict(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags or ()}


def _error_text(error: Exception) -> str:
    """Why a listing failed; a cause that stops every call (no credentials...) stops the run instead."""
    return item_reason(error)


def collect_inventory(
    clients: ClientFactory,
    region: str,
    types: Sequence[str] = ALL_TYPES,
    account_id: str | None = None,
) -> Inventory:
    """All resources of ``types`` in ``region``; a failing source marks its types failed, not empty."""
    wanted = set(types)
    inventory = Inventory()
    context = _Context(clients, region, account_id)

    for source_types, source in SOURCES:
        covered = source_types & wanted
        if not covered:
            continue
        try:
            found = [r for r in source(context, covered) if r.type in wanted]
        except (ClientError, BotoCoreError) as error:
            for resource_type in covered:
                inventory.failures[resource_type] = _error_text(error)
            continue
        inventory.resources.extend(found)
    return inventory


class _Context:
    def __init__(self, clients: ClientFactory, region: str, account_id: str | None) -> None:
        self.clients = clients
        self.region = region
        self._account_id = account_id

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = str(self.clients("sts").get_caller_identity()["Account"])
        return self._account_id

    def partition(self, service: str) -> str:
        return str(self.clients(service).meta.partition)


def _tagged_by_api(context: _Context, wanted: AbstractSet[str]) -> Iterator[Resource]:
    tags_by_arn: dict[str, dict[str, str]] = {}
    filters = sorted(TAGGING_TYPE_FILTERS[t] for t in wanted)
    for page in pages(
        context.clients("resourcegroupstaggingapi"), "get_resources", ResourceTypeFilters=filters
    ):
        for mapping in page.get("ResourceTagMappingList", []):
            tags_by_arn[mapping["ResourceARN"]] = tag_dict(mapping.get("Tags"))

    if S3 in wanted:
        partition = context.partition("s3")
        # BucketRegion keeps the listing to buckets in this Region, the ones this Region's plans protect.
        for page in pages(context.clients("s3"), "list_buckets", BucketRegion=context.region):
            for bucket in page.get("Buckets", []):
                if bucket.get("BucketRegion", context.region) != context.region:
                    continue
                arn = bucket.get("BucketArn") or f"arn:{partition}:s3:::{bucket['Name']}"
                yield Resource(S3, arn, bucket["Name"], tags_by_arn.get(arn, {}))

    if DYNAMODB in wanted:
        partition = context.partition("dynamodb")
        for page in pages(context.clients("dynamodb"), "list_tables"):
            for name in page.get("TableNames", []):
                arn = f"arn:{partition}:dynamodb:{context.region}:{context.account_id}:table/{name}"
                yield Resource(DYNAMODB, arn, name, tags_by_arn.get(arn, {}))


def _ebs_volumes(context: _Context, _wanted: AbstractSet[str]) -> Iterator[Resource]:
    partition = context.partition("ec2")
    live = [{"Name": "status", "Values": ["creating", "available", "in-use"]}]
    for page in pages(context.clients("ec2"), "describe_volumes", Filters=live):
        for volume in page.get("Volumes", []):
            volume_id = volume["VolumeId"]
            arn = f"arn:{partition}:ec2:{context.region}:{context.account_id}:volume/{volume_id}"
            yield Resource(EBS, arn, volume_id, tag_dict(volume.get("Tags")))


def _efs_file_systems(context: _Context, _wanted: AbstractSet[str]) -> Iterator[Resource]:
    for page in pages(context.clients("efs"), "describe_file_systems"):
        for fs in page.get("FileSystems", []):
            if fs.get("LifeCycleState") in GONE_STATES:
                continue
            yield Resource(
                EFS, fs["FileSystemArn"], fs.get("Name") or fs["FileSystemId"], tag_dict(fs.get("Tags"))
            )


def _backup_window(database: Mapping[str, Any]) -> str | None:
    # With a retention of 0 RDS takes no automated backups, so nothing runs in the window.
    if database.get("BackupRetentionPeriod", 1) == 0:
        return None
    window = database.get("PreferredBackupWindow")
    return str(window) if window else None


def _rds_instances(context: _Context, _wanted: AbstractSet[str]) -> Iterator[Resource]:
    for page in pages(context.clients("rds"), "describe_db_instances"):
        for db in page.get("DBInstances", []):
            # Cluster members are backed up through their cluster, which the cluster listing reports.
            if db.get("DBClusterIdentifier") or db.get("DBInstanceStatus") in GONE_STATES:
                continue
            yield Resource(
                RDS,
                db["DBInstanceArn"],
                db["DBInstanceIdentifier"],
                tag_dict(db.get("TagList")),
                engine=db.get("Engine"),
                backup_window=_backup_window(db),
                maintenance_window=db.get("PreferredMaintenanceWindow"),
            )


def _rds_clusters(context: _Context, _wanted: AbstractSet[str]) -> Iterator[Resource]:
    for page in pages(context.clients("rds"), "describe_db_clusters"):
        for cluster in page.get("DBClusters", []):
            if cluster.get("Status") in GONE_STATES:
                continue
            engine = cluster.get("Engine", "")
            yield Resource(
                CLUSTER_ENGINE_TYPES.get(engine, OTHER_CLUSTER_TYPE),
                cluster["DBClusterArn"],
                cluster["DBClusterIdentifier"],
                tag_dict(cluster.get("TagList")),
                cluster=True,
                engine=engine or None,
                backup_window=_backup_window(cluster),
                maintenance_window=cluster.get("PreferredMaintenanceWindow"),
            )


# Each lister and the AWS Backup types it finds; every type of the catalog has one
# (tests/test_type_registry.py), or coverage would report it at 100 % of nothing.
SOURCES: tuple[tuple[frozenset[str], Callable[[_Context, AbstractSet[str]], Iterator[Resource]]], ...] = (
    (frozenset({S3, DYNAMODB}), _tagged_by_api),
    (frozenset({EBS}), _ebs_volumes),
    (frozenset({EFS}), _efs_file_systems),
    (frozenset({RDS}), _rds_instances),
    (frozenset(CLUSTER_TYPES), _rds_clusters),
)


def protected_resources(backup: Any) -> dict[str, Protected]:
    """Resource ARN -> last backup time and vault, for every resource AWS Backup has backed up here."""
    found: dict[str, Protected] = {}
    for page in pages(backup, "list_protected_resources"):
        for item in page.get("Results", []):
            when = item.get("LastBackupTime")
            if when is not None:
                found[item["ResourceArn"]] = Protected(when, item.get("LastBackupVaultArn"))
    return found


def last_backups(backup: Any) -> dict[str, datetime]:
    """Resource ARN -> ``LastBackupTime`` for every resource AWS Backup has backed up in this Region."""
    return {arn: item.last_backup for arn, item in protected_resources(backup).items()}
