"""Finding the accounts' latest coverage reports: in the fleet bucket, or in a local copy of it.

A local folder mirrors the bucket (``aws s3 sync s3://<fleet bucket>/coverage <folder>/coverage``), so
both are read through the one key layout of :mod:`.layout`. Keys that do not follow it are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import ConfigError, item_reason
from dr_runtime.fleet_report import bucket_layout as layout
from dr_runtime.fleet_report.merge import Source
from dr_runtime.verifier import evidence_layout

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
        found.append(_local_source(path, *place))
    return found


def _local_source(path: Path, account: str, region: str) -> Source:
    """A local report or evidence file as a source: its text, or why it cannot be read."""
    try:
        return Source(account, region, location=str(path), text=path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return Source(account, region, location=str(path), error=f"cannot read: {exc}")


def _evidence_account(key: str, prefix: str) -> str | None:
    """``<prefix>accounts/<account>/latest.json`` -> the account; None for any other key."""
    parts = key[len(prefix) :].split("/") if key.startswith(prefix) else []
    if len(parts) == 3 and parts[0] == evidence_layout.ACCOUNTS and parts[2] == layout.LATEST:
        account = parts[1]
        if account.isdigit() and len(account) == 12 and key == evidence_layout.latest_key(prefix, account):
            return account
    return None


def evidence_from_folder(root: Path, prefix: str) -> list[Source]:
    """The verifier's latest evidence per account in a local copy of its bucket (``region`` is empty)."""
    base = root / prefix / evidence_layout.ACCOUNTS
    if not root.is_dir():
        raise ConfigError(f"--evidence-dir {root}: no such folder")
    if not base.is_dir():
        raise ConfigError(
            f"--evidence-dir {root}: has no {prefix}{evidence_layout.ACCOUNTS}/ folder; give a copy of the "
            f"verifier's evidence bucket (aws s3 sync s3://<evidence bucket>/{prefix} <folder>/{prefix})"
        )
    found: list[Source] = []
    for path in sorted(base.glob(f"*/{layout.LATEST}")):
        account = _evidence_account(path.relative_to(root).as_posix(), prefix)
        if account is None:
            continue
        found.append(_local_source(path, account, ""))
    return found


def evidence_from_bucket(s3: Any, bucket: str, prefix: str) -> list[Source]:
    """The verifier's latest evidence per account in its bucket, read as ``from_bucket`` reads reports."""
    return _read(
        s3,
        bucket,
        f"{prefix}{evidence_layout.ACCOUNTS}/",
        "--evidence-bucket",
        lambda key: None if (account := _evidence_account(key, prefix)) is None else (account, ""),
    )


def from_bucket(s3: Any, bucket: str) -> list[Source]:
    """``s3`` is a boto3 S3 client able to list and read ``coverage/`` in ``bucket``.

    A bucket that does not exist is a bad ``--bucket``; any other listing error stops the run (the
    command reports it as ``dr_runtime.errors`` classifies it); a report that cannot be read makes only
    its account unreadable, unless the cause stops every call (credentials, endpoint).
    """
    return _read(s3, bucket, f"{layout.COVERAGE_PREFIX}/", "--bucket", layout.parse_coverage_key)


def _read(
    s3: Any, bucket: str, prefix: str, flag: str, place_of: Callable[[str], tuple[str, str] | None]
) -> list[Source]:
    keys: list[tuple[str, tuple[str, str]]] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                place = place_of(item["Key"])
                if place is not None:
                    keys.append((item["Key"], place))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            what = (
                "the organisation stack's fleetBucketName"
                if flag == "--bucket"
                else "the verifier's evidence bucket"
            )
            raise ConfigError(f"{flag} {bucket}: no such bucket ({what})") from None
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
