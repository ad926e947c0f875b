"""``python -m dr_runtime.fleet_report``: the fleet's coverage at a glance.

Reads every workload account's latest coverage report from the fleet bucket (``--bucket``, read with the
caller's AWS credentials) or from a local copy of it (``--dir``), and prints coverage per account and
type, the unprotected resources with why, and the accounts whose report is missing, stale, unreadable
or incomplete: a table, ``--json`` or ``--html`` (one self-contained page).

With ``--evidence-bucket`` (or ``--evidence-dir``) it reads the verifier's evidence too and shows each
tier's coverage and RPO as ``verified`` (preferred) or ``self-reported`` (docs/verifier.md, "In the
fleet report").

Exit codes (those of ``dr_runtime.errors``): 0 every account's report is fresh and complete and every
tier at 100 %; 1 an account needs attention (below 100 % in a tier, fell, disagrees with the verifier,
its report or evidence missing, stale, unreadable or incomplete); 2 a bad flag, a
missing folder or bucket; 3 AWS could not be used (no or rejected credentials, access denied, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from dr_runtime.aws import client
from dr_runtime.commands import run_command
from dr_runtime.errors import EXIT_ITEMS_FAILED, EXIT_OK, ConfigError
from dr_runtime.fleet_report import formats as render
from dr_runtime.fleet_report import merge
from dr_runtime.fleet_report import report_sources as sources
from dr_runtime.settings import REGION, region
from dr_runtime.verifier.settings import DEFAULT_EVIDENCE_PREFIX

_PREFIX = re.compile(r"^([A-Za-z0-9!_.*'()-]+/)*$")

JOB = "fleet_report"
_ACCOUNT = re.compile(r"^\d{12}$")
EXIT_CODES_HELP = (
    "exit codes: 0 every report fresh and complete, every tier at 100 %; 1 an account needs attention "
    "(below 100 % in a tier, fell, disagrees with the verifier, missing/stale/unreadable report or "
    "evidence); 2 bad flag, missing folder or bucket; 3 AWS unavailable: no or rejected credentials, "
    "access denied, throttled after retries, endpoint unreachable"
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
    evidence = parser.add_mutually_exclusive_group()
    evidence.add_argument(
        "--evidence-bucket",
        help="the verifier's evidence bucket: its figures are shown as verified and preferred; an account "
        "without evidence there needs attention",
    )
    evidence.add_argument(
        "--evidence-dir",
        type=Path,
        help="a local copy of the verifier's evidence bucket (instead of --evidence-bucket)",
    )
    parser.add_argument(
        "--evidence-prefix",
        default=DEFAULT_EVIDENCE_PREFIX,
        help=f"the verifier's key prefix in its bucket (default {DEFAULT_EVIDENCE_PREFIX})",
    )
    parser.add_argument(
        "--max-evidence-age-hours",
        type=int,
        default=merge.DEFAULT_MAX_EVIDENCE_AGE_HOURS,
        help=f"evidence older than this is stale and not used (default {merge.DEFAULT_MAX_EVIDENCE_AGE_HOURS})",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        metavar="REPORT_JSON",
        help="a previous fleet report's --json output: a tier that fell by more than --fall-points needs "
        "attention (default: with evidence, the verifier's run --fall-window-hours earlier)",
    )
    parser.add_argument(
        "--fall-window-hours",
        type=int,
        default=merge.DEFAULT_FALL_WINDOW_HOURS,
        help="without --previous, compare each account's verified figures with the verifier's newest run at "
        f"least this many hours before --as-of (default {merge.DEFAULT_FALL_WINDOW_HOURS})",
    )
    parser.add_argument(
        "--fall-points",
        type=float,
        default=merge.DEFAULT_FALL_POINTS,
        help=f"percentage points a tier may drop since --previous (default {merge.DEFAULT_FALL_POINTS:g})",
    )
    parser.add_argument(
        "--disagree-points",
        type=float,
        default=merge.DEFAULT_DISAGREE_POINTS,
        help="percentage points self-reported and verified figures of a tier may differ "
        f"(default {merge.DEFAULT_DISAGREE_POINTS:g})",
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


def _previous(path: Path) -> dict[str, dict[str, float]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--previous {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--previous {path}: not JSON ({exc})") from None
    try:
        return merge.previous_figures(document, str(path))
    except merge.ReportFormatError as exc:
        raise ConfigError(f"--previous {exc}") from None


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
    if args.fall_window_hours < 1:
        raise ConfigError(f"--fall-window-hours {args.fall_window_hours}: must be at least 1")
    if args.max_evidence_age_hours < 1:
        raise ConfigError(f"--max-evidence-age-hours {args.max_evidence_age_hours}: must be at least 1")
    for flag, value in (("--fall-points", args.fall_points), ("--disagree-points", args.disagree_points)):
        if not 0 <= value <= 100:
            raise ConfigError(f"{flag} {value:g}: must be between 0 and 100 percentage points")
    if not _PREFIX.match(args.evidence_prefix):
        raise ConfigError(
            f"--evidence-prefix {args.evidence_prefix!r}: must be empty or end with '/' "
            f"(the verifier's prefix, e.g. {DEFAULT_EVIDENCE_PREFIX})"
        )
    previous = _previous(args.previous) if args.previous is not None else None
    as_of = _as_of(args.as_of) if args.as_of is not None else now or datetime.now(UTC)
    if args.dir is not None:
        found = sources.from_folder(args.dir)
    else:
        s3 = s3 or client("s3", region(os.environ, args, profile=True))
        found = sources.from_bucket(s3, args.bucket)
    found_evidence = None
    # The evidence's own history stands in for a previous report: the verifier's runs a window back.
    before = None if previous is not None else as_of - timedelta(hours=args.fall_window_hours)
    if args.evidence_dir is not None:
        found_evidence = sources.evidence_from_folder(args.evidence_dir, args.evidence_prefix, before)
    elif args.evidence_bucket is not None:
        s3 = s3 or client("s3", region(os.environ, args, profile=True))
        found_evidence = sources.evidence_from_bucket(s3, args.evidence_bucket, args.evidence_prefix, before)
    thresholds = merge.Thresholds(args.max_evidence_age_hours, args.fall_points, args.disagree_points)
    report = merge.merge(
        found,
        as_of,
        expected,
        args.max_age_hours,
        evidence=None if found_evidence is None else found_evidence.latest,
        previous=previous,
        thresholds=thresholds,
        earlier=() if found_evidence is None else found_evidence.earlier,
    )
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
