"""Finding the accounts' latest coverage reports: in the fleet bucket, or in a local copy of it.

A local folder mirrors the bucket (``aws s3 sync s3://<fleet bucket>/coverage <folder>/coverage``), so
both are read through the one key layout of :mod:`.layout`. Keys that do not follow it are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import ConfigError, item_reason
from dr_runtime.fleet_report import bucket_layout as layout
from dr_runtime.fleet_report.merge import Source

# A report is a few hundred kilobytes at most; anything far larger is not one.
MAX_REPORT_BYTES = 20 * 1024 * 1024


def from_folder(root: Path) -> list[Source]:
    base = root / layout.COVERAGE_PREFIX
    if not root.is_dir():
        raise ConfigError(f"--dir {root}: no such folder")
    if not base.is_dir():
        # Most likely the coverage folder itself, or the wrong folder: say so rather than report no accounts.
        raise ConfigError(
            f"--dir {root}: has no {layout.COVERAGE_PREFIX}/ folder; give the folder that holds it, a copy of "
            f"the fleet bucket (aws s3 sync s3://<fleet bucket>/{layout.COVERAGE_PREFIX} <folder>/{layout.COVERAGE_PREFIX})"
        )
    found: list[Source] = []
    for path in sorted(base.glob(f"*/*/{layout.LATEST}")):
        key = path.relative_to(root).as_posix()
        place = layout.parse_coverage_key(key)
        if place is None:
            continue
        try:
            found.append(Source(*place, location=str(path), text=path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            found.append(Source(*place, location=str(path), error=f"cannot read: {exc}"))
    return found


def from_bucket(s3: Any, bucket: str) -> list[Source]:
    """``s3`` is a boto3 S3 client able to list and read ``coverage/`` in ``bucket``.

    A bucket that does not exist is a bad ``--bucket``; any other listing error stops the run (the
    command reports it as ``dr_runtime.errors`` classifies it); a report that cannot be read makes only
    its account unreadable, unless the cause stops every call (credentials, endpoint).
    """
    prefix = f"{layout.COVERAGE_PREFIX}/"
    keys: list[tuple[str, tuple[str, str]]] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                place = layout.parse_coverage_key(item["Key"])
                if place is not None:
                    keys.append((item["Key"], place))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            raise ConfigError(
                f"--bucket {bucket}: no such bucket (the organisation stack's fleetBucketName)"
            ) from None
        raise
    found: list[Source] = []
    for key, place in sorted(keys):
        location = f"s3://{bucket}/{key}"
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_REPORT_BYTES + 1)
            if len(body) > MAX_REPORT_BYTES:
                found.append(Source(*place, location=location, error=f"larger than {MAX_REPORT_BYTES} bytes"))
            else:
                found.append(Source(*place, location=location, text=body.decode("utf-8")))
        except (ClientError, BotoCoreError) as exc:
            found.append(Source(*place, location=location, error=f"cannot read: {item_reason(exc)}"))
        except UnicodeDecodeError as exc:
            found.append(Source(*place, location=location, error=f"not UTF-8 text: {exc.reason}"))
    return found
