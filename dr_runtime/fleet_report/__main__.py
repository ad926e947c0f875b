"""``python -m dr_runtime.fleet_report``: the fleet's coverage at a glance.

Reads every workload account's latest coverage report from the fleet bucket (``--bucket``, read with the
caller's AWS credentials) or from a local copy of it (``--dir``), and prints coverage per account and
type, the unprotected resources with why, and the accounts whose report is missing, stale, unreadable
or incomplete: a table, ``--json`` or ``--html`` (one self-contained page).

Exit codes (those of ``dr_runtime.errors``): 0 every account's report is fresh and complete; 1 an
account needs attention (its report is missing, stale, unreadable or incomplete); 2 a bad flag, a
missing folder or bucket; 3 AWS could not be used (no or rejected credentials, access denied, ...).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from dr_runtime.aws import client
from dr_runtime.commands import run_command
from dr_runtime.errors import EXIT_ITEMS_FAILED, EXIT_OK, ConfigError
from dr_runtime.fleet_report import formats as render
from dr_runtime.fleet_report import merge
from dr_runtime.fleet_report import report_sources as sources
from dr_runtime.settings import REGION, region

JOB = "fleet_report"
_ACCOUNT = re.compile(r"^\d{12}$")
EXIT_CODES_HELP = (
    "exit codes: 0 every report fresh and complete; 1 an account needs attention (missing, stale, unreadable "
    "or incomplete report); 2 bad flag, missing folder or bucket; 3 AWS unavailable: no or rejected "
    "credentials, access denied, throttled after retries, endpoint unreachable"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line and exit 2 through run_command, like every other command here.
        raise ConfigError(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m dr_runtime.fleet_report",
        description="Merge the workload accounts' latest coverage reports into one fleet picture.",
        epilog=EXIT_CODES_HELP,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bucket", help="the fleet bucket (the organisation stack's output fleetBucketName)")
    where.add_argument(
        "--dir", type=Path, help="a local copy of the fleet bucket (coverage/<account>/<region>/latest.json)"
    )
    REGION.add_to(parser)
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="ACCOUNT",
        help="an account that must have a report (repeat, or comma-separate); others found are shown too",
    )
    parser.add_argument(
        "--expect-from",
        type=Path,
        metavar="STACK_FILE",
        help="expect every workload account of the organisation stack's file (org/Pulumi.<stack>.yaml, "
        "accounts.workloads): the accounts its fleet bucket admits",
    )
    parser.add_argument(
        "--max-age-hours",
        type=int,
        default=merge.DEFAULT_MAX_AGE_HOURS,
        help=f"a report older than this is stale (default {merge.DEFAULT_MAX_AGE_HOURS})",
    )
    parser.add_argument(
        "--as-of",
        metavar="TIME",
        help="judge staleness as of this ISO 8601 time with a zone, e.g. 2026-11-20T09:30:00+00:00 (default: now)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the fleet report as JSON")
    output.add_argument("--html", action="store_true", help="print one self-contained HTML page")
    parser.add_argument("--output", type=Path, help="write to this file instead of standard output")
    return parser


def _expected(values: Sequence[str]) -> list[str]:
    accounts = [part.strip() for value in values for part in value.split(",") if part.strip()]
    for account in accounts:
        if not _ACCOUNT.match(account):
            raise ConfigError(f"--expect {account!r}: must be a 12-digit AWS account ID")
    return accounts


def _as_of(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ConfigError(
            f"--as-of {text!r}: must be an ISO 8601 time with a zone, e.g. 2026-11-20T09:30:00+00:00"
        )
    return parsed.astimezone(UTC)


def _organisation_workloads(path: Path) -> list[str]:
    """``accounts.workloads`` of an organisation stack file, validated as the organisation stack does."""
    # Imported here: only this flag needs the stack's config model (pydantic) and the YAML reader.
    from components.config import ConfigError as StackConfigError
    from components.config import from_namespaced
    from dr_runtime.yaml_documents import YamlFileError, load_yaml
    from org.org_config import PROJECT, parse

    try:
        document = load_yaml(path)
    except YamlFileError as exc:
        raise ConfigError(f"--expect-from {exc}") from None
    values = document.get("config") if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise ConfigError(f"--expect-from {path}: no 'config' mapping (not a Pulumi stack file)")
    try:
        config = parse(from_namespaced(values, PROJECT), path.name)
    except StackConfigError as exc:
        raise ConfigError(f"--expect-from {path}: {exc}") from None
    return list(config.accounts.workloads)


def main(argv: Sequence[str] | None = None, s3: Any = None, now: datetime | None = None) -> int:
    """``s3`` (a boto3 client) and ``now`` let tests run it without AWS and at a fixed time."""
    return run_command(JOB, lambda: _command(argv, s3, now))


def _command(argv: Sequence[str] | None, s3: Any, now: datetime | None) -> int:
    args = _parser().parse_args(argv)
    expected = _expected(args.expect)
    if args.expect_from is not None:
        expected += [a for a in _organisation_workloads(args.expect_from) if a not in expected]
    if args.max_age_hours < 1:
        raise ConfigError(f"--max-age-hours {args.max_age_hours}: must be at least 1")
    as_of = _as_of(args.as_of) if args.as_of is not None else now or datetime.now(UTC)
    if args.dir is not None:
        found = sources.from_folder(args.dir)
    else:
        found = sources.from_bucket(s3 or client("s3", region(os.environ, args, profile=True)), args.bucket)
    report = merge.merge(found, as_of, expected, args.max_age_hours)
    text = render.as_json(report) if args.json else render.html(report) if args.html else render.table(report)
    if args.output is None:
        print(text)
    else:
        try:
            args.output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--output {args.output}: {exc.strerror or exc}") from None
    return EXIT_ITEMS_FAILED if report.attention else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
