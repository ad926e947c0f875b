"""API calls and wall time of the coverage job for 100, 1,000 and 10,000 resources (stubbed).

Inventory and CloudTrail calls are answered by botocore's Stubber (which still validates requests and
responses against the service models); S3 by a thread-safe responder, because the per-bucket
prerequisite calls run concurrently and a Stubber answers in queue order. Calls are counted with a
``before-call`` hook. The run includes every prerequisite check with prod's plan start windows. A
second table runs the bucket checks alone with a simulated per-call latency, to show what the
bounded concurrency buys. Prints figures only.

    .venv/bin/python benchmarks/coverage_report.py
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components import plan_layout as layout
from components.config import from_namespaced, parse
from components.operations.coverage_job import plan_start_windows
from dr_runtime.aws import client
from dr_runtime.operations import buckets, coverage, windows
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.operations.inventory import PAGE_SIZES
from drplan.program import read_stack_config, stack_file

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
# Default RDS windows fall in 03:00-11:00 UTC in us-east-1; these cycle through that block.
BACKUP_WINDOWS = ("03:00-03:30", "05:10-05:40", "07:15-07:45", "10:30-11:00")
MAINTENANCE_WINDOWS = ("mon:04:00-mon:04:30", "wed:06:30-wed:07:00", "sun:09:00-sun:09:30")
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org"
SIMULATED_LATENCY_S = 0.02
LATENCY_BUCKETS = 1_000


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
        items["describe_db_instances"].append(
            {"DBInstanceIdentifier": f"db-{i:06d}", "DBInstanceArn": arn, **_windows(i)}
        )
        arns.append(arn)
    for engine, count in zip(CLUSTER_ENGINES, (aurora, docdb, neptune), strict=True):
        for i in range(count):
            name = f"{engine}-{i:06d}"
            arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{name}"
            items["describe_db_clusters"].append(
                {"DBClusterIdentifier": name, "DBClusterArn": arn, "Engine": engine, **_windows(i)}
            )
            arns.append(arn)
    items["list_protected_resources"] = [
        {"ResourceArn": arn, "LastBackupTime": NOW - timedelta(hours=2)} for arn in arns[::2]
    ]
    return items


def _windows(i: int) -> dict[str, Any]:
    return {
        "PreferredBackupWindow": BACKUP_WINDOWS[i % len(BACKUP_WINDOWS)],
        "PreferredMaintenanceWindow": MAINTENANCE_WINDOWS[i % len(MAINTENANCE_WINDOWS)],
        "BackupRetentionPeriod": 7,
    }


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


class S3Responder:
    """Answers the S3 client: ``ListBuckets`` pages and the per-bucket prerequisite calls, from any
    thread; every tenth bucket has versioning suspended. ``latency`` seconds per per-bucket call."""

    def __init__(self, api: Any, bucket_pages: list[dict[str, Any]], latency: float = 0.0) -> None:
        self._pages = {page.get("_token"): page for page in bucket_pages}
        self._latency = latency
        api.meta.events.register("before-parameter-build.s3.*", self._remember)
        api.meta.events.register("before-call.s3.*", self._answer)

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["bench_params"]
        ok = AWSResponse("https://bench", 200, {}, None)
        if model.name == "ListBuckets":
            page = dict(self._pages[params.get("ContinuationToken")])
            page.pop("_token", None)
            return ok, page
        time.sleep(self._latency)
        if model.name == "GetBucketVersioning":
            number = int(params["Bucket"].rsplit("-", 1)[-1])
            return ok, {"Status": "Suspended" if number % 10 == 0 else "Enabled"}
        if model.name == "GetBucketNotificationConfiguration":
            return ok, {"EventBridgeConfiguration": {}}
        raise AssertionError(f"unexpected S3 call {model.name}")


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
            if service != "s3":
                stubbers[service] = Stubber(api)
            made[service] = api
        return made[service]

    for operation in PAGING:  # the order each client sees its operations
        key, token_out, _ = PAGING[operation]  # the request token is the paginator's business
        get(SERVICE[operation])
        size = next(iter(PAGE_SIZES[operation].values()))
        rows = items[operation]
        pages: list[dict[str, Any]] = []
        for start in range(0, max(len(rows), 1), size):
            page: dict[str, Any] = {key: rows[start : start + size]}
            if start + size < len(rows):
                last = rows[start + size - 1]
                page[token_out] = last if isinstance(last, str) else f"token-{start + size}"
            pages.append(page)
        if SERVICE[operation] == "s3":
            tokens = [None, *(p.get(token_out) for p in pages)]
            S3Responder(get("s3"), [{**p, "_token": t} for p, t in zip(pages, tokens, strict=False)])
            continue
        for page in pages:
            stubbers[SERVICE[operation]].add_response(operation, page)
    get("cloudtrail")
    stubbers["cloudtrail"].add_response(
        "describe_trails",
        {
            "trailList": [
                {"Name": "org", "TrailARN": TRAIL_ARN, "HomeRegion": REGION, "IsMultiRegionTrail": True}
            ]
        },
    )
    stubbers["cloudtrail"].add_response("get_trail_status", {"IsLogging": True})
    stubbers["cloudtrail"].add_response(
        "get_event_selectors",
        {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]},
    )
    for stubber in stubbers.values():
        stubber.activate()
    return get


def prod_plan_windows() -> str:
    config = parse(from_namespaced(read_stack_config(stack_file("prod"))), "prod")
    plans = {t.key: layout.plans_for(config, t) for t in config.active_types}
    found = plan_start_windows(config.active_types, plans, config.opt_out_tags.cross_region, NOW.year)
    return json.dumps(windows.describe(found))


def bucket_check_latency() -> None:
    """The bucket checks alone for LATENCY_BUCKETS buckets, each call taking SIMULATED_LATENCY_S."""
    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench")
    print()
    print(
        f"bucket checks for {LATENCY_BUCKETS:,} selected buckets, {SIMULATED_LATENCY_S * 1000:.0f} ms "
        "simulated per call (2 calls a bucket):"
    )
    print(f"{'workers':>7}  {'API calls':>9}  {'wall s':>6}")
    selected = [
        buckets.Bucket(f"bucket-{i:06d}", f"arn:aws:s3:::bucket-{i:06d}", True)
        for i in range(LATENCY_BUCKETS)
    ]
    for workers in (1, buckets.WORKERS):
        api = client("s3", REGION, session)
        calls: Counter[str] = Counter()

        def count(event_name: str, tally: Counter[str] = calls, **_: Any) -> None:
            tally[event_name] += 1

        api.meta.events.register_first("before-call.*.*", count)
        S3Responder(api, [], latency=SIMULATED_LATENCY_S)
        started = time.perf_counter()
        findings = buckets.check_buckets(api, selected, continuous=True, workers=workers)
        elapsed = time.perf_counter() - started
        if len(findings) != LATENCY_BUCKETS // 10:
            raise SystemExit(f"expected {LATENCY_BUCKETS // 10} suspended buckets, got {len(findings)}")
        print(f"{workers:>7}  {sum(calls.values()):>9}  {elapsed:>6.1f}")


def expected_pages(items: dict[str, list[Any]]) -> int:
    return sum(max(1, math.ceil(len(items[op]) / next(iter(PAGE_SIZES[op].values())))) for op in PAGING)


def main() -> None:
    config = CoverageConfig.from_settings(
        {
            "AWS_REGION": REGION,
            "DR_ACCOUNT_ID": ACCOUNT,
            "DR_PUBLISH_METRICS": "false",
            "DR_TRAIL_REGIONS": REGION,
            "DR_KEY_THREAT_CALLS": "DisableKey,ScheduleKeyDeletion",
            windows.SETTING: prod_plan_windows(),
        }
    )
    print("whole job, every check on (pages: the inventory's list calls alone):")
    print(
        f"{'resources':>9}  {'API calls':>9}  {'pages':>5}  {'calls/1k res':>12}  {'wall ms':>8}  "
        f"{'window conflicts':>16}  {'bucket findings':>15}"
    )
    breakdown: Counter[str] = Counter()
    for total in SIZES:
        items = fixture_items(total)
        calls: Counter[str] = Counter()
        clients = stubbed_clients(items, calls)
        started = time.perf_counter()
        report = coverage.collect(config, clients, NOW)
        elapsed = (time.perf_counter() - started) * 1000
        found = sum(c.total for c in report.per_type.values())
        if found != total or report.failed_types or report.failed_checks or report.skipped_checks:
            raise SystemExit(
                f"inventory mismatch: {found} of {total}, failed {report.failed_types} {report.failed_checks}, "
                f"skipped {report.skipped_checks}"
            )
        n_calls = sum(calls.values())
        print(
            f"{total:>9,}  {n_calls:>9}  {expected_pages(items):>5}  {1000 * n_calls / total:>12.1f}  "
            f"{elapsed:>8.0f}  {len(report.window_conflicts):>16}  {len(report.bucket_findings):>15}"
        )
        breakdown = calls
    print()
    print(f"calls per operation at {SIZES[-1]:,} resources:")
    for operation, n in sorted(breakdown.items()):
        print(f"  {operation:<36} {n:>5}")
    bucket_check_latency()


if __name__ == "__main__":
    main()
