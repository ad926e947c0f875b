"""API calls and wall time of the coverage inventory for 100, 1,000 and 10,000 resources (stubbed).

Every AWS call is answered by botocore's Stubber (which still validates requests and responses against
the service models); calls are counted with a ``before-call`` hook. Prints figures only.

    .venv/bin/python benchmarks/coverage.py
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dr_runtime.aws import client
from dr_runtime.operations import coverage
from dr_runtime.operations.coverage import CoverageConfig
from dr_runtime.operations.inventory import PAGE_SIZES

REGION = "us-east-1"
ACCOUNT = "111111111111"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SIZES = (100, 1_000, 10_000)
# (operation, items key, response token key, request token key)
PAGING = {
    "get_resources": ("ResourceTagMappingList", "PaginationToken", "PaginationToken"),
    "list_buckets": ("Buckets", "ContinuationToken", "ContinuationToken"),
    "list_tables": ("TableNames", "LastEvaluatedTableName", "ExclusiveStartTableName"),
    "describe_volumes": ("Volumes", "NextToken", "NextToken"),
    "describe_file_systems": ("FileSystems", "NextMarker", "Marker"),
    "describe_db_instances": ("DBInstances", "Marker", "Marker"),
    "describe_db_clusters": ("DBClusters", "Marker", "Marker"),
    "list_protected_resources": ("Results", "NextToken", "NextToken"),
}
SERVICE = {
    "get_resources": "resourcegroupstaggingapi",
    "list_buckets": "s3",
    "list_tables": "dynamodb",
    "describe_volumes": "ec2",
    "describe_file_systems": "efs",
    "describe_db_instances": "rds",
    "describe_db_clusters": "rds",
    "list_protected_resources": "backup",
}
CLUSTER_ENGINES = ("aurora-postgresql", "docdb", "neptune")


def fixture_items(total: int) -> dict[str, list[Any]]:
    """``total`` resources spread over the eight types; every other one tagged, half backed up."""
    per_type = [total // 8 + (1 if i < total % 8 else 0) for i in range(8)]
    s3, ebs, efs, ddb, rds, aurora, docdb, neptune = per_type
    opt_out = [{"Key": "exclude-disaster-recovery-backup", "Value": "true"}]
    items: dict[str, list[Any]] = {op: [] for op in PAGING}
    arns: list[str] = []

    for i in range(s3):
        name = f"bucket-{i:06d}"
        items["list_buckets"].append({"Name": name})
        arns.append(f"arn:aws:s3:::{name}")
        if i % 2:
            items["get_resources"].append({"ResourceARN": arns[-1], "Tags": opt_out})
    for i in range(ddb):
        name = f"table-{i:06d}"
        items["list_tables"].append(name)
        arns.append(f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
        if i % 2:
            items["get_resources"].append({"ResourceARN": arns[-1], "Tags": opt_out})
    for i in range(ebs):
        volume_id = f"vol-{i:017x}"
        items["describe_volumes"].append({"VolumeId": volume_id, "Tags": opt_out if i % 2 else []})
        arns.append(f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{volume_id}")
    for i in range(efs):
        fs_id = f"fs-{i:08x}"
        arn = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/{fs_id}"
        items["describe_file_systems"].append(_file_system(fs_id, arn, opt_out if i % 2 else []))
        arns.append(arn)
    for i in range(rds):
        arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:db-{i:06d}"
        items["describe_db_instances"].append({"DBInstanceIdentifier": f"db-{i:06d}", "DBInstanceArn": arn})
        arns.append(arn)
    for engine, count in zip(CLUSTER_ENGINES, (aurora, docdb, neptune), strict=True):
        for i in range(count):
            name = f"{engine}-{i:06d}"
            arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{name}"
            items["describe_db_clusters"].append(
                {"DBClusterIdentifier": name, "DBClusterArn": arn, "Engine": engine}
            )
            arns.append(arn)
    items["list_protected_resources"] = [
        {"ResourceArn": arn, "LastBackupTime": NOW - timedelta(hours=2)} for arn in arns[::2]
    ]
    return items


def _file_system(fs_id: str, arn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "OwnerId": ACCOUNT,
        "CreationToken": fs_id,
        "FileSystemId": fs_id,
        "FileSystemArn": arn,
        "CreationTime": NOW,
        "LifeCycleState": "available",
        "NumberOfMountTargets": 0,
        "SizeInBytes": {"Value": 0},
        "PerformanceMode": "generalPurpose",
        "Tags": tags,
    }


def stubbed_clients(items: dict[str, list[Any]], calls: Counter[str]) -> Callable[[str], Any]:
    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench")
    made: dict[str, Any] = {}
    stubbers: dict[str, Stubber] = {}

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    def get(service: str) -> Any:
        if service not in made:
            api = client(service, REGION, session)
            # First, so it runs before the Stubber answers and ends the event.
            api.meta.events.register_first("before-call.*.*", count)
            stubbers[service] = Stubber(api)
            made[service] = api
        return made[service]

    for operation in PAGING:  # the order each client sees its operations
        key, token_out, _ = PAGING[operation]  # the request token is the paginator's business
        get(SERVICE[operation])
        stubber = stubbers[SERVICE[operation]]
        size = next(iter(PAGE_SIZES[operation].values()))
        rows = items[operation]
        for start in range(0, max(len(rows), 1), size):
            page: dict[str, Any] = {key: rows[start : start + size]}
            if start + size < len(rows):
                last = rows[start + size - 1]
                page[token_out] = last if isinstance(last, str) else f"token-{start + size}"
            stubber.add_response(operation, page)
    for stubber in stubbers.values():
        stubber.activate()
    return get


def expected_pages(items: dict[str, list[Any]]) -> int:
    return sum(max(1, math.ceil(len(items[op]) / next(iter(PAGE_SIZES[op].values())))) for op in PAGING)


def main() -> None:
    config = CoverageConfig(region=REGION, account_id=ACCOUNT, publish_metrics=False)
    print(f"{'resources':>9}  {'API calls':>9}  {'pages':>5}  {'calls/1k res':>12}  {'wall ms':>8}")
    breakdown: Counter[str] = Counter()
    for total in SIZES:
        items = fixture_items(total)
        calls: Counter[str] = Counter()
        clients = stubbed_clients(items, calls)
        started = time.perf_counter()
        report = coverage.collect(config, clients, NOW)
        elapsed = (time.perf_counter() - started) * 1000
        found = sum(c.total for c in report.per_type.values())
        if found != total or report.failed_types:
            raise SystemExit(f"inventory mismatch: {found} of {total}, failed {report.failed_types}")
        n_calls = sum(calls.values())
        print(
            f"{total:>9,}  {n_calls:>9}  {expected_pages(items):>5}  {1000 * n_calls / total:>12.1f}  {elapsed:>8.0f}"
        )
        breakdown = calls
    print()
    print(f"calls per operation at {SIZES[-1]:,} resources:")
    for operation, n in sorted(breakdown.items()):
        print(f"  {operation:<26} {n:>4}")


if __name__ == "__main__":
    main()
