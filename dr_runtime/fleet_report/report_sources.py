"""Finding the accounts' latest coverage reports: in the fleet bucket, or in a local copy of it.

A local folder mirrors the bucket (``aws s3 sync s3://<fleet bucket>/coverage <folder>/coverage``), so
both are read through the one key layout of :mod:`.layout`. Keys that do not follow it are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
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
    """``<prefix>accounts/<account>/...`` -> the account; None for a key outside the evidence layout."""
    parts = key[len(prefix) :].split("/") if key.startswith(prefix) else []
    if (
        len(parts) >= 3
        and parts[0] == evidence_layout.ACCOUNTS
        and parts[1].isdigit()
        and len(parts[1]) == 12
    ):
        return parts[1]
    return None


@dataclass(frozen=True)
class EvidenceFound:
    """The verifier's evidence per account (``Source.region`` is empty): its last run's (``latest.json``)
    and, when asked for, the newest run's that is at least a given age (``runs/``), for ``fell``."""

    latest: list[Source]
    earlier: list[Source] = field(default_factory=list)


def _evidence_keys(keys: Iterable[str], prefix: str, before: datetime | None) -> tuple[list[str], list[str]]:
    """The latest-evidence keys, and per account the newest run key at or before ``before``."""
    latest: list[str] = []
    newest: dict[str, tuple[datetime, str]] = {}
    for key in keys:
        account = _evidence_account(key, prefix)
        if account is None:
            continue
        if key == evidence_layout.latest_key(prefix, account):
            latest.append(key)
            continue
        if before is None:
            continue
        ran = evidence_layout.run_time(prefix, account, key)
        if ran is not None and ran <= before and (account not in newest or ran > newest[account][0]):
            newest[account] = (ran, key)
    return sorted(latest), sorted(key for _, key in newest.values())


def evidence_from_folder(root: Path, prefix: str, before: datetime | None = None) -> EvidenceFound:
    """The verifier's evidence in a local copy of its bucket; ``before``: also each account's newest run
    at or before that time."""
    base = root / prefix / evidence_layout.ACCOUNTS
    if not root.is_dir():
        raise ConfigError(f"--evidence-dir {root}: no such folder")
    if not base.is_dir():
        raise ConfigError(
            f"--evidence-dir {root}: has no {prefix}{evidence_layout.ACCOUNTS}/ folder; give a copy of the "
            f"verifier's evidence bucket (aws s3 sync s3://<evidence bucket>/{prefix} <folder>/{prefix})"
        )
    keys = (path.relative_to(root).as_posix() for path in base.glob("*/**/*.json"))
    latest, earlier = _evidence_keys(keys, prefix, before)

    def read(found: list[str]) -> list[Source]:
        return [_local_source(root / key, str(_evidence_account(key, prefix)), "") for key in found]

    return EvidenceFound(read(latest), read(earlier))


def evidence_from_bucket(s3: Any, bucket: str, prefix: str, before: datetime | None = None) -> EvidenceFound:
    """The verifier's evidence in its bucket, listed once and read as ``from_bucket`` reads reports."""
    keys = _list(s3, bucket, f"{prefix}{evidence_layout.ACCOUNTS}/", "--evidence-bucket")
    latest, earlier = _evidence_keys(keys, prefix, before)

    def read(found: list[str]) -> list[Source]:
        return _fetch(s3, bucket, [(key, (str(_evidence_account(key, prefix)), "")) for key in found])

    return EvidenceFound(read(latest), read(earlier))


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
    placed = [(key, place) for key in _list(s3, bucket, prefix, flag) if (place := place_of(key)) is not None]
    return _fetch(s3, bucket, placed)


def _list(s3: Any, bucket: str, prefix: str, flag: str) -> list[str]:
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            what = (
                "the organisation stack's fleetBucketName"
                if flag == "--bucket"
                else "the verifier's evidence bucket"
            )
            raise ConfigError(f"{flag} {bucket}: no such bucket ({what})") from None
        raise
    return keys


def _fetch(s3: Any, bucket: str, placed: list[tuple[str, tuple[str, str]]]) -> list[Source]:
    found: list[Source] = []
    for key, place in sorted(placed):
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
