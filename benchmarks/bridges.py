"""AWS API calls per run of the snapshot bridges for 1, 10 and 100 domains / clusters (stubbed).

Every AWS call is answered by botocore's Stubber (requests and responses still checked against the
service models) and counted with a ``before-call`` hook registered ahead of the Stubber. OpenSearch
domain endpoints are answered in memory; their requests are counted separately (they are not AWS API
calls, but they are what a domain sees). Each fleet is run twice on the same day. Prints figures only.

    .venv/bin/python benchmarks/bridges.py
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dr_runtime.aws import client
from dr_runtime.bridges import memorydb, opensearch
from dr_runtime.bridges.memorydb import export_name
from dr_runtime.bridges.memorydb_settings import MemoryDbBridgeConfig
from dr_runtime.bridges.opensearch import DomainResponse, SignedDomainClient
from dr_runtime.bridges.opensearch_settings import OpenSearchBridgeConfig

REGION = "us-east-1"
ACCOUNT = "111111111111"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
FLEETS = (1, 10, 100)
CLUSTER_PAGE = 50
SHARDS = 2
OS_CONFIG = OpenSearchBridgeConfig(
    bucket="dr-bench-opensearch-snapshots", region=REGION, role_arn=f"arn:aws:iam::{ACCOUNT}:role/dr-snapshot"
)
MDB_CONFIG = MemoryDbBridgeConfig(bucket="dr-bench-memorydb-snapshots", region=REGION)


class InMemoryDomains(SignedDomainClient):
    """The domain snapshot API in memory: same requests as the signed client, no network."""

    def __init__(self) -> None:
        super().__init__(lambda: None, REGION)
        self.repositories: dict[tuple[str, str], Any] = {}
        self.snapshots: set[tuple[str, str]] = set()

    def request(self, method: str, host: str, path: str, body: Any = None) -> DomainResponse:
        self.requests += 1
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            key = (host, parts[1])
            if method == "PUT":
                self.repositories[key] = body
                return DomainResponse(200, {"acknowledged": True})
            if key in self.repositories:
                return DomainResponse(200, {parts[1]: self.repositories[key]})
            return DomainResponse(404, {"error": {"type": "repository_missing_exception"}})
        key = (host, parts[2])
        if method == "PUT":
            self.snapshots.add(key)
            return DomainResponse(200, {"accepted": True})
        if key in self.snapshots:
            return DomainResponse(200, {"snapshots": [{"snapshot": parts[2], "state": "SUCCESS"}]})
        return DomainResponse(404, {"error": {"type": "snapshot_missing_exception"}})


def counted(session: boto3.session.Session, service: str, counts: Counter[str]) -> tuple[Any, Stubber]:
    aws_client = client(service, REGION, session)

    def count(model: Any, **_kwargs: Any) -> None:
        counts[f"{service}:{model.name}"] += 1

    # Registered before the Stubber's own before-call handler, so it runs first.
    aws_client.meta.events.register("before-call.*.*", count)
    return aws_client, Stubber(aws_client)


def opensearch_runs(fleet: int) -> list[dict[str, Any]]:
    session = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
    )
    names = [f"search-{index:03d}" for index in range(fleet)]
    domains = InMemoryDomains()
    results = []
    for _run in range(2):
        counts: Counter[str] = Counter()
        os_client, os_stub = counted(session, "opensearch", counts)
        s3, s3_stub = counted(session, "s3", counts)
        cloudwatch, cw_stub = counted(session, "cloudwatch", counts)
        os_stub.add_response(
            "list_domain_names",
            {"DomainNames": [{"DomainName": n, "EngineType": "OpenSearch"} for n in names]},
        )
        for start in range(0, fleet, opensearch.DESCRIBE_BATCH):
            batch = names[start : start + opensearch.DESCRIBE_BATCH]
            os_stub.add_response(
                "describe_domains",
                {
                    "DomainStatusList": [
                        {
                            "DomainId": f"{ACCOUNT}/{n}",
                            "DomainName": n,
                            "ARN": f"arn:aws:es:{REGION}:{ACCOUNT}:domain/{n}",
                            "ClusterConfig": {},
                            "Endpoint": f"{n}.{REGION}.es.amazonaws.com",
                        }
                        for n in batch
                    ]
                },
            )
        s3_stub.add_response("head_bucket", {})
        cw_stub.add_response("put_metric_data", {})
        before = domains.requests
        with os_stub, s3_stub, cw_stub:
            summary = opensearch.run(
                OS_CONFIG,
                session=session,
                opensearch=os_client,
                s3=s3,
                cloudwatch=cloudwatch,
                domain_client=domains,
                now=NOW,
            )
        results.append(
            {"calls": sum(counts.values()), "http": domains.requests - before, **summary["counts"]}
        )
    return results


def _snapshot(name: str, cluster: str, days_ago: int) -> dict[str, Any]:
    created = NOW - timedelta(days=days_ago, hours=6)
    return {
        "Name": name,
        "Status": "available",
        "Source": "system",
        "ClusterConfiguration": {
            "Name": cluster,
            "Shards": [{"Name": f"{i:04d}", "SnapshotCreationTime": created} for i in range(1, SHARDS + 1)],
        },
    }


def memorydb_runs(fleet: int) -> list[dict[str, Any]]:
    session = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
    )
    clusters = [f"cache-{index:03d}" for index in range(fleet)]
    bucket_keys: list[str] = []
    results = []
    for _run in range(2):
        counts: Counter[str] = Counter()
        mdb, mdb_stub = counted(session, "memorydb", counts)
        s3, s3_stub = counted(session, "s3", counts)
        cloudwatch, cw_stub = counted(session, "cloudwatch", counts)
        s3_stub.add_response("head_bucket", {})
        keys = list(bucket_keys)
        for start in range(0, max(len(keys), 1), 1000):
            page: dict[str, Any] = {"Contents": [{"Key": k} for k in keys[start : start + 1000]]}
            if start + 1000 < len(keys):
                page.update(IsTruncated=True, NextContinuationToken=f"t{start}")
            s3_stub.add_response("list_objects_v2", page)
        for start in range(0, fleet, CLUSTER_PAGE):
            response: dict[str, Any] = {
                "Clusters": [
                    {"Name": c, "DataTiering": "false"} for c in clusters[start : start + CLUSTER_PAGE]
                ]
            }
            if start + CLUSTER_PAGE < fleet:
                response["NextToken"] = f"page-{start}"
            mdb_stub.add_response("describe_clusters", response)
        for cluster in clusters:
            snapshots = [
                _snapshot(f"{cluster}-today", cluster, 0),
                _snapshot(f"{cluster}-yesterday", cluster, 1),
            ]
            mdb_stub.add_response("describe_snapshots", {"Snapshots": snapshots})
            for snapshot in sorted(s["Name"] for s in snapshots):
                target = export_name(MDB_CONFIG.export_prefix, snapshot)
                if not any(key.startswith(f"{target}-") for key in bucket_keys):
                    mdb_stub.add_response(
                        "copy_snapshot", {"Snapshot": {"Name": target, "Status": "copying"}}
                    )
        cw_stub.add_response("put_metric_data", {})
        with mdb_stub, s3_stub, cw_stub:
            summary = memorydb.run(MDB_CONFIG, memorydb=mdb, s3=s3, cloudwatch=cloudwatch, now=NOW)
        # What MemoryDB writes when the exports finish: one .rdb per shard.
        for item in summary["done"]:
            target = item.split("->")[1]
            bucket_keys.extend(f"{target}-{shard:04d}.rdb" for shard in range(1, SHARDS + 1))
        results.append({"calls": sum(counts.values()), "http": 0, **summary["counts"]})
    return results


def report(job: str, runner: Callable[[int], list[dict[str, Any]]]) -> None:
    first_calls: dict[int, int] = {}
    second_exported = 0
    for fleet in FLEETS:
        first, second = runner(fleet)
        first_calls[fleet] = first["calls"]
        second_exported += second["done"]
        for label, run in (("first", first), ("same day", second)):
            print(
                f"{job:<11} {fleet:>5} {label:<9} {run['calls']:>9} {run['calls'] / fleet:>10.2f} "
                f"{run['http']:>12} {run['done']:>9} {run['skipped']:>8} {run['failed']:>7}"
            )
    per_item = [first_calls[fleet] / fleet for fleet in FLEETS]
    growth = first_calls[100] / first_calls[10]
    # Linear (or better) growth: the cost per item never rises as the fleet grows.
    linear = all(later <= earlier + 1e-9 for earlier, later in pairwise(per_item))
    print(
        f"{job}: calls x{growth:.1f} from 10 to 100 items, per item "
        f"{' -> '.join(f'{value:.2f}' for value in per_item)}: "
        f"{'grows at most linearly' if linear else 'GROWS FASTER THAN LINEARLY'}; "
        f"second run the same day exported {second_exported} "
        f"({'nothing new' if second_exported == 0 else 'NOT IDEMPOTENT'})"
    )


def main() -> None:
    logging.getLogger("aws_dr_backup").setLevel(logging.WARNING)
    print(
        f"{'job':<11} {'fleet':>5} {'run':<9} {'API calls':>9} {'calls/item':>10} "
        f"{'domain HTTP':>12} {'exported':>9} {'skipped':>8} {'failed':>7}"
    )
    report("opensearch", opensearch_runs)
    report("memorydb", memorydb_runs)


if __name__ == "__main__":
    main()
