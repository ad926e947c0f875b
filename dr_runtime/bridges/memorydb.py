"""MemoryDB bridge: export recent snapshots of every cluster into the bridge bucket.

A snapshot counts as exported when the bucket holds ``<export-name>-NNNN.rdb`` (MemoryDB writes one such
file per shard). The export name is derived from the source snapshot name alone, so a second run the same
day finds the files (or the export still running) and exports nothing new.

Lambda: ``dr_runtime.bridges.memorydb.handler``. Command: ``python -m dr_runtime.bridges.memorydb``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dr_runtime.aws import client
from dr_runtime.bridges.common import (
    ConfigError,
    bucket_problem,
    cli_main,
    configure_lambda_logging,
    error_text,
    log_event,
    required,
    setting,
)
from dr_runtime.report import RunSummary

JOB = "memorydb-snapshot-bridge"
DEFAULT_EXPORT_PREFIX = "dr-export"
# Today and the two days before: a day missed by failed runs is still caught. It must not exceed the
# bucket's 2-day expiration, or an expired export would be exported again.
DEFAULT_LOOKBACK_DAYS = 2
_EXPORT_FILE = re.compile(r"^(?P<name>.+)-\d{4}\.rdb$")
_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


@dataclass(frozen=True)
class MemoryDbBridgeConfig:
    bucket: str
    region: str
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    export_prefix: str = DEFAULT_EXPORT_PREFIX

    def __post_init__(self) -> None:
        required(self.bucket, "bucket")
        required(self.region, "region")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.bucket):
            # CopySnapshot's TargetBucket pattern.
            raise ConfigError(f"bucket must match ^[A-Za-z0-9._-]+$, got {self.bucket!r}")
        if not 0 <= self.lookback_days <= DEFAULT_LOOKBACK_DAYS:
            raise ConfigError(
                f"lookback_days must be between 0 and {DEFAULT_LOOKBACK_DAYS} (the bucket expiration), "
                f"got {self.lookback_days}"
            )
        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.export_prefix):
            raise ConfigError(
                f"export_prefix must be lowercase letters, digits or '-', got {self.export_prefix!r}"
            )

    @classmethod
    def from_settings(
        cls, environ: Mapping[str, str], args: argparse.Namespace | None = None
    ) -> MemoryDbBridgeConfig:
        def flag(name: str) -> Any:
            return getattr(args, name, None) if args is not None else None

        lookback = setting(
            None if flag("lookback_days") is None else str(flag("lookback_days")),
            environ,
            "DR_MEMORYDB_LOOKBACK_DAYS",
            default=str(DEFAULT_LOOKBACK_DAYS),
        )
        try:
            lookback_days = int(lookback or DEFAULT_LOOKBACK_DAYS)
        except ValueError as exc:
            raise ConfigError(f"lookback days must be an integer, got {lookback!r}") from exc
        return cls(
            bucket=required(
                setting(flag("bucket"), environ, "DR_MEMORYDB_BUCKET"),
                "bucket (--bucket / DR_MEMORYDB_BUCKET)",
            ),
            region=required(
                setting(flag("region"), environ, "AWS_REGION", "AWS_DEFAULT_REGION"),
                "region (--region / AWS_REGION)",
            ),
            lookback_days=lookback_days,
            export_prefix=setting(
                flag("export_prefix"), environ, "DR_MEMORYDB_EXPORT_PREFIX", default=DEFAULT_EXPORT_PREFIX
            )
            or DEFAULT_EXPORT_PREFIX,
        )


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
            summary.failed[item] = error_text(exc)
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
        summary.failed["discovery"] = error_text(exc)
        return summary.finish(metrics)
    for cluster in clusters:
        name = cluster.get("Name", "?")
        try:
            _export_cluster(memorydb, cluster, config, today, exported, summary)
        except Exception as exc:  # one cluster never stops the others
            summary.failed[name] = error_text(exc)
            log_event("cluster-failed", job=JOB, cluster=name, error=summary.failed[name])
    return summary.finish(metrics)


def handler(_event: Mapping[str, Any] | None, _context: Any) -> dict[str, Any]:
    """Lambda entry point. The scheduled event carries nothing: settings come from the environment."""
    configure_lambda_logging()
    return run(MemoryDbBridgeConfig.from_settings(os.environ))


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dr_runtime.bridges.memorydb",
        description="Export recent snapshots of every MemoryDB cluster in the account and region to S3.",
    )
    parser.add_argument("--bucket", help="bridge bucket (env DR_MEMORYDB_BUCKET)")
    parser.add_argument("--region", help="AWS region (env AWS_REGION)")
    parser.add_argument(
        "--lookback-days",
        type=int,
        help=f"days to look back (env DR_MEMORYDB_LOOKBACK_DAYS, default {DEFAULT_LOOKBACK_DAYS})",
    )
    parser.add_argument(
        "--export-prefix",
        help=f"export name prefix (env DR_MEMORYDB_EXPORT_PREFIX, default {DEFAULT_EXPORT_PREFIX})",
    )
    parser.add_argument("--no-metrics", action="store_true", help="do not publish CloudWatch metrics")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    def job(args: argparse.Namespace) -> Callable[[], object]:
        config = MemoryDbBridgeConfig.from_settings(os.environ, args)
        return lambda: run(config, publish_metrics=not args.no_metrics)

    return cli_main(argv, parse_args, job)


if __name__ == "__main__":
    sys.exit(main())
