"""MemoryDB bridge: export recent snapshots of every cluster into the bridge bucket.

A snapshot counts as exported when the bucket holds ``<export-name>-NNNN.rdb`` (MemoryDB writes one such
file per shard). The export name is derived from the source snapshot name alone, so a second run the same
day finds the files (or the export still running) and exports nothing new.

Lambda: ``dr_runtime.bridges.memorydb.handler``. Command: ``python -m dr_runtime.bridges.memorydb``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dr_runtime.aws import ClientFactory, client, client_factory
from dr_runtime.bridges.bucket_preflight import bucket_problem
from dr_runtime.bridges.memorydb_settings import BUCKET, EXPORT_PREFIX, LOOKBACK_DAYS, MemoryDbBridgeConfig
from dr_runtime.commands import Parser, run_command, run_handler
from dr_runtime.errors import EXIT_OK, item_reason, run_reason
from dr_runtime.report import RunSummary, log_event
from dr_runtime.settings import publish_metrics

JOB = "memorydb-snapshot-bridge"
_EXPORT_FILE = re.compile(r"^(?P<name>.+)-\d{4}\.rdb$")
_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def export_name(prefix: str, snapshot: str) -> str:
    """Deterministic per source snapshot, so reruns find the earlier export."""
    return f"{prefix}-{_UNSAFE.sub('-', snapshot).strip('-')}"


def snapshot_day(snapshot: Mapping[str, Any]) -> date | None:
    """The snapshot's UTC day: the earliest shard creation time (only present with ShowDetail=True)."""
    times = [
        shard["SnapshotCreationTime"]
        for shard in snapshot.get("ClusterConfiguration", {}).get("Shards", [])
        if shard.get("SnapshotCreationTime")
    ]
    if not times:
        return None
    earliest: datetime = min(times)
    if earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    return earliest.astimezone(UTC).date()


def exported_names(s3: Any, bucket: str, prefix: str) -> set[str]:
    """Export names already in the bucket, from one listing per run (the bucket only holds ~2 days)."""
    names: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}-"):
        for obj in page.get("Contents", []):
            match = _EXPORT_FILE.match(obj["Key"])
            if match:
                names.add(match["name"])
    return names


def _paginate(memorydb: Any, operation: str, key: str, **params: Any) -> Iterable[dict[str, Any]]:
    for page in memorydb.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


def _export_cluster(
    memorydb: Any,
    cluster: Mapping[str, Any],
    config: MemoryDbBridgeConfig,
    today: date,
    exported: set[str],
    summary: RunSummary,
) -> None:
    name = cluster["Name"]
    if cluster.get("DataTiering") == "true":
        summary.skipped[name] = (
            "data tiering is enabled: MemoryDB cannot export snapshots of data-tiering clusters"
        )
        log_event("cluster-skipped", job=JOB, cluster=name, reason=summary.skipped[name])
        return
    first_day = today - timedelta(days=config.lookback_days)
    snapshots = list(
        _paginate(memorydb, "describe_snapshots", "Snapshots", ClusterName=name, ShowDetail=True)
    )
    present = {snapshot["Name"] for snapshot in snapshots}
    candidates = [
        snapshot
        for snapshot in snapshots
        # Our own export copies can appear in the listing while they run; never export an export.
        if not snapshot["Name"].startswith(f"{config.export_prefix}-")
        and snapshot.get("Status") == "available"
        and (day := snapshot_day(snapshot)) is not None
        and first_day <= day <= today
    ]
    if not candidates:
        summary.skipped[name] = f"no available snapshot since {first_day.isoformat()}"
        log_event("cluster-skipped", job=JOB, cluster=name, reason=summary.skipped[name])
        return
    for snapshot in sorted(candidates, key=lambda item: str(item["Name"])):
        source = snapshot["Name"]
        item = f"{name}/{source}"
        target = export_name(config.export_prefix, source)
        if target in exported:
            summary.skipped[item] = f"already exported as {target}"
            continue
        if target in present:
            summary.skipped[item] = f"export {target} is still running"
            continue
        try:
            memorydb.copy_snapshot(
                SourceSnapshotName=source, TargetSnapshotName=target, TargetBucket=config.bucket
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "SnapshotAlreadyExistsFault":
                summary.skipped[item] = f"export {target} is still running"
                continue
            summary.failed[item] = item_reason(exc)
            log_event("export-failed", job=JOB, cluster=name, snapshot=source, error=summary.failed[item])
            continue
        exported.add(target)
        summary.done.append(f"{item}->{target}")
        log_event(
            "export-started", job=JOB, cluster=name, snapshot=source, export=target, bucket=config.bucket
        )


def run(
    config: MemoryDbBridgeConfig,
    *,
    session: Any = None,
    memorydb: Any = None,
    s3: Any = None,
    cloudwatch: Any = None,
    now: datetime | None = None,
    publish_metrics: bool = True,
) -> dict[str, Any]:
    """One run over all clusters; raises ``JobFailedError`` (after logging and publishing) on any failure."""
    if session is None and (memorydb is None or s3 is None or (publish_metrics and cloudwatch is None)):
        import boto3

        session = boto3.session.Session()
    memorydb = memorydb or client("memorydb", config.region, session)
    s3 = s3 or client("s3", config.region, session)
    if publish_metrics and cloudwatch is None:
        cloudwatch = client("cloudwatch", config.region, session)
    metrics = cloudwatch if publish_metrics else None
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    summary = RunSummary(JOB)

    problem = bucket_problem(s3, config.bucket)
    if problem:
        summary.failed[f"bucket:{config.bucket}"] = problem
        return summary.finish(metrics)
    try:
        exported = exported_names(s3, config.bucket, config.export_prefix)
        clusters = list(_paginate(memorydb, "describe_clusters", "Clusters"))
    except Exception as exc:
        summary.failed["discovery"] = run_reason(exc)
        return summary.finish(metrics)
    for cluster in clusters:
        name = cluster.get("Name", "?")
        try:
            _export_cluster(memorydb, cluster, config, today, exported, summary)
        except Exception as exc:  # one cluster never stops the others (unless no call can succeed)
            summary.failed[name] = item_reason(exc)
            log_event("cluster-failed", job=JOB, cluster=name, error=summary.failed[name])
    return summary.finish(metrics)


def handler(_event: Mapping[str, Any] | None, _context: Any) -> dict[str, Any]:
    """Lambda entry point. The scheduled event carries nothing: settings come from the environment."""

    def scheduled_run() -> dict[str, Any]:
        config = MemoryDbBridgeConfig.from_settings(os.environ)
        return run(config, publish_metrics=publish_metrics(os.environ))

    return run_handler(JOB, scheduled_run)


def parser() -> Parser:
    command = Parser(
        prog="python -m dr_runtime.bridges.memorydb",
        description="Export recent snapshots of every MemoryDB cluster in the account and region to S3.",
    )
    for setting in (BUCKET, LOOKBACK_DAYS, EXPORT_PREFIX):
        setting.add_to(command)
    return command


def main(argv: Sequence[str] | None = None, clients: ClientFactory | None = None) -> int:
    """Command entry point; the exit codes are those of ``dr_runtime.errors``."""

    def command() -> int:
        args = parser().parse_args(argv)
        config = MemoryDbBridgeConfig.from_settings(os.environ, args)
        made = clients or client_factory(config.region)
        metrics = publish_metrics(os.environ, args)
        run(
            config,
            memorydb=made("memorydb"),
            s3=made("s3"),
            cloudwatch=made("cloudwatch") if metrics else None,
            publish_metrics=metrics,
        )
        return EXIT_OK

    return run_command(JOB, command)


if __name__ == "__main__":
    sys.exit(main())
