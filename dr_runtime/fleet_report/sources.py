"""Finding the accounts' latest coverage reports: in the fleet bucket, or in a local copy of it.

A local folder mirrors the bucket (``aws s3 sync s3://<fleet bucket>/coverage <folder>/coverage``), so
both are read through the one key layout of :mod:`.layout`. Keys that do not follow it are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.fleet_report import layout
from dr_runtime.fleet_report.merge import Source

# A report is a few hundred kilobytes at most; anything far larger is not one.
MAX_REPORT_BYTES = 20 * 1024 * 1024


class SourceError(RuntimeError):
    """The reports cannot be listed at all (missing folder, bucket not found, access denied)."""


def from_folder(root: Path) -> list[Source]:
    base = root / layout.COVERAGE_PREFIX
    if not root.is_dir():
        raise SourceError(f"--dir {root}: no such folder")
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


def _error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc)


def from_bucket(s3: Any, bucket: str) -> list[Source]:
    """``s3`` is a boto3 S3 client able to list and read ``coverage/`` in ``bucket``."""
    prefix = f"{layout.COVERAGE_PREFIX}/"
    keys: list[tuple[str, tuple[str, str]]] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                place = layout.parse_coverage_key(item["Key"])
                if place is not None:
                    keys.append((item["Key"], place))
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"--bucket {bucket}: cannot list s3://{bucket}/{prefix}: {_error(exc)}") from None
    found: list[Source] = []
    for key, place in sorted(keys):
        location = f"s3://{bucket}/{key}"
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_REPORT_BYTES + 1)
            if len(body) > MAX_REPORT_BYTES:
                found.append(Source(*place, location=location, error=f"larger than {MAX_REPORT_BYTES} bytes"))
            else:
                found.append(Source(*place, location=location, text=body.decode("utf-8")))
        except (ClientError, BotoCoreError, UnicodeDecodeError) as exc:
            found.append(Source(*place, location=location, error=f"cannot read: {_error(exc)}"))
    return found
