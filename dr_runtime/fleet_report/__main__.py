"""``python -m dr_runtime.fleet_report``: the fleet's coverage at a glance.

Reads every workload account's latest coverage report from the fleet bucket (``--bucket``, read with the
caller's AWS credentials) or from a local copy of it (``--dir``), and prints coverage per account and
type, the unprotected resources with why, and the accounts whose report is missing, stale, unreadable
or incomplete: a table, ``--json`` or ``--html`` (one self-contained page).

Exit codes: 0 every account's report is fresh and complete; 1 some account needs attention (missing,
stale, unreadable or incomplete report); 2 bad flags, or the reports could not be listed at all.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dr_runtime.aws import client
from dr_runtime.fleet_report import merge, render, sources

OK, ATTENTION, INVALID = 0, 1, 2
_ACCOUNT = re.compile(r"^\d{12}$")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dr_runtime.fleet_report",
        description="Merge the workload accounts' latest coverage reports into one fleet picture.",
        epilog="Exit codes: 0 all reports fresh and complete, 1 an account needs attention, 2 bad flags or "
        "the reports could not be listed.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bucket", help="the fleet bucket (the organisation stack's output fleetBucketName)")
    where.add_argument(
        "--dir", type=Path, help="a local copy of the fleet bucket (coverage/<account>/<region>/latest.json)"
    )
    parser.add_argument("--region", help="region of the S3 client for --bucket (default: AWS_REGION)")
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="ACCOUNT",
        help="an account that must have a report (repeat, or comma-separate); others found are shown too",
    )
    parser.add_argument(
        "--max-age-hours",
        type=int,
        default=merge.DEFAULT_MAX_AGE_HOURS,
        help=f"a report older than this is stale (default {merge.DEFAULT_MAX_AGE_HOURS})",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the fleet report as JSON")
    output.add_argument("--html", action="store_true", help="print one self-contained HTML page")
    parser.add_argument("--output", type=Path, help="write to this file instead of standard output")
    return parser


def _expected(parser: argparse.ArgumentParser, values: Sequence[str]) -> list[str]:
    accounts = [part.strip() for value in values for part in value.split(",") if part.strip()]
    for account in accounts:
        if not _ACCOUNT.match(account):
            parser.error(f"--expect {account!r}: must be a 12-digit AWS account ID")
    return accounts


def main(argv: Sequence[str] | None = None, s3: Any = None, now: datetime | None = None) -> int:
    """``s3`` (a boto3 client) and ``now`` let tests run it without AWS and at a fixed time."""
    parser = _parser()
    args = parser.parse_args(argv)
    expected = _expected(parser, args.expect)
    if args.max_age_hours < 1:
        parser.error(f"--max-age-hours {args.max_age_hours}: must be at least 1")
    try:
        found = (
            sources.from_folder(args.dir)
            if args.dir is not None
            else sources.from_bucket(s3 or client("s3", args.region), args.bucket)
        )
    except sources.SourceError as exc:
        print(f"fleet_report: {exc}", file=sys.stderr)
        return INVALID
    report = merge.merge(found, now or datetime.now(UTC), expected, args.max_age_hours)
    text = render.as_json(report) if args.json else render.html(report) if args.html else render.table(report)
    if args.output is not None:
        try:
            args.output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"fleet_report: --output {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return INVALID
    else:
        print(text)
    return ATTENTION if report.attention else OK


if __name__ == "__main__":
    sys.exit(main())
