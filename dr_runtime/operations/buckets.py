"""S3 prerequisites of AWS Backup, checked per bucket the plans select (docs/coverage-checks.md).

- Versioning must be ``Enabled``: AWS Backup cannot back up a bucket without it (never enabled or
  ``Suspended``), and the job fails every night.
- Continuous backup follows the bucket's changes through S3 -> EventBridge notifications; without
  them continuous backup cannot run (checked only when the S3 plans use continuous backup).

Two read calls per bucket (``GetBucketVersioning``, ``GetBucketNotificationConfiguration``), a few
buckets at a time; the buckets are the ones ``ListBuckets`` returned for this Region, so no
``GetBucketLocation`` is needed. A bucket that cannot be read is reported by name, the rest carry on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import item_reason

VERSIONING = "s3-versioning"
EVENTBRIDGE = "s3-eventbridge"
UNREADABLE = "s3-unreadable"
CHECKS = (VERSIONING, EVENTBRIDGE, UNREADABLE)
# Bounded: botocore's connection pool holds 10 connections per client.
WORKERS = 8


@dataclass(frozen=True)
class Bucket:
    name: str
    arn: str
    backed_up: bool
    """AWS Backup already holds a recovery point of it."""


@dataclass(frozen=True)
class BucketFinding:
    bucket: str
    arn: str
    check: str
    reason: str


def _versioning(s3: Any, bucket: Bucket) -> BucketFinding | None:
    status = s3.get_bucket_versioning(Bucket=bucket.name).get("Status")
    if status == "Enabled":
        return None
    state = "was never enabled" if status is None else f"is {status}"
    return BucketFinding(
        bucket.name,
        bucket.arn,
        VERSIONING,
        f"versioning {state}: AWS Backup cannot back up a bucket unless versioning is Enabled",
    )


def _eventbridge(s3: Any, bucket: Bucket) -> BucketFinding | None:
    notifications = s3.get_bucket_notification_configuration(Bucket=bucket.name)
    if "EventBridgeConfiguration" in notifications:
        return None
    if bucket.backed_up:
        why = "continuous backup cannot follow changes since they were turned off (a tool that rewrites the "
        why += "notification configuration drops them)"
    else:
        why = "continuous backup needs them; AWS Backup's S3 role may turn them on at the first backup"
    return BucketFinding(
        bucket.name, bucket.arn, EVENTBRIDGE, f"S3 -> EventBridge notifications are off: {why}"
    )


def check_bucket(s3: Any, bucket: Bucket, continuous: bool) -> list[BucketFinding]:
    found: list[BucketFinding] = []
    steps = [("versioning", _versioning)]
    if continuous:
        steps.append(("notification configuration", _eventbridge))
    for what, step in steps:
        try:
            finding = step(s3, bucket)
        except (ClientError, BotoCoreError) as error:
            finding = BucketFinding(
                bucket.name, bucket.arn, UNREADABLE, f"cannot read {what}: {item_reason(error)}"
            )
        if finding is not None:
            found.append(finding)
    return found


def check_buckets(
    s3: Any, buckets: Iterable[Bucket], continuous: bool, workers: int = WORKERS
) -> list[BucketFinding]:
    """Findings for ``buckets``, sorted by bucket name; ``continuous``: the S3 plans use continuous backup."""
    ordered: Sequence[Bucket] = sorted(buckets, key=lambda b: b.name)
    if not ordered:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ordered)))) as pool:
        results = list(pool.map(lambda b: check_bucket(s3, b, continuous), ordered))
    return [finding for found in results for finding in found]
