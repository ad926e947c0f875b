"""Backup coverage report: which resources the plans select and which have a recent recovery point.

Run as ``python -m dr_runtime.operations.coverage`` (table, or ``--json``) or as the Lambda handler
``dr_runtime.operations.coverage.handler``. Both publish per-type metrics to the ``AwsDrBackup``
namespace unless told not to.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dr_runtime.aws import ClientFactory, client_factory
from dr_runtime.commands import Parser, run_command, run_handler
from dr_runtime.errors import EXIT_OK, NO_REGION, ConfigError
from dr_runtime.operations import inventory as inv
from dr_runtime.operations.selection import (
    CROSS_REGION_OPT_OUT_TAG_SETTING,
    KUBERNETES_CLUSTERS_SETTING,
    OPT_OUT_TAG_SETTING,
    OPT_OUT_VALUE_SETTING,
    Decision,
    SelectionConfig,
    decide,
)
from dr_runtime.report import LOG, RunSummary
from dr_runtime.settings import (
    Setting,
    names,
    optional,
    publish_metrics,
    region,
    scheduled_time,
    text,
    whole_number,
)

JOB_NAME = "coverage"
_ACCOUNT_ID = re.compile(r"^\d{12}$")

TYPES = Setting(
    "--types", "DR_COVERAGE_TYPES", f"comma-separated subset of {','.join(inv.ALL_TYPES)} (default all)"
)
RECENT_HOURS = Setting(
    "--recent-hours", "DR_COVERAGE_RECENT_HOURS", "age in hours of a recent recovery point (default 26)"
)
ACCOUNT_ID = Setting("--account-id", "DR_ACCOUNT_ID", "account ID in the ARNs built (default: from STS)")


@dataclass(frozen=True)
class CoverageConfig:
    region: str
    types: tuple[str, ...] = inv.ALL_TYPES
    recent_hours: int = 26
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    account_id: str | None = None
    publish_metrics: bool = True

    def __post_init__(self) -> None:
        if not self.region:
            raise ConfigError(NO_REGION)
        unknown = sorted(set(self.types) - set(inv.ALL_TYPES))
        if unknown or not self.types:
            raise ConfigError(
                f"{TYPES.label} = {','.join(self.types)!r}: allowed types are {', '.join(inv.ALL_TYPES)} "
                "(at least one)"
            )
        if self.recent_hours < 1:
            raise ConfigError(f"{RECENT_HOURS.label} = {self.recent_hours}: must be at least 1")
        if self.account_id is not None and not _ACCOUNT_ID.match(self.account_id):
            raise ConfigError(f"{ACCOUNT_ID.label} = {self.account_id!r}: must be 12 digits")

    @classmethod
    def from_settings(cls, env: Mapping[str, str], args: Any = None) -> CoverageConfig:
        """From the environment (the handler) or flags over the environment (the command)."""
        return cls(
            # The command also finds the region of the AWS profile, as the AWS CLI does.
            region=region(env, args, profile=args is not None),
            types=names(TYPES, env, args, inv.ALL_TYPES),
            recent_hours=whole_number(RECENT_HOURS, env, args, 26),
            selection=SelectionConfig(
                opt_out_tag=text(OPT_OUT_TAG_SETTING, env, args, SelectionConfig.opt_out_tag),
                cross_region_opt_out_tag=text(
                    CROSS_REGION_OPT_OUT_TAG_SETTING, env, args, SelectionConfig.cross_region_opt_out_tag
                ),
                kubernetes_clusters=names(KUBERNETES_CLUSTERS_SETTING, env, args),
                opt_out_value=text(OPT_OUT_VALUE_SETTING, env, args, SelectionConfig.opt_out_value),
            ),
            account_id=optional(ACCOUNT_ID, env, args),
            publish_metrics=publish_metrics(env, args),
        )


@dataclass
class TypeCoverage:
    total: int = 0
    selected: int = 0
    opted_out: int = 0
    kubernetes_excluded: int = 0
    no_cross_region: int = 0
    recent: int = 0

    @property
    def coverage_percent(self) -> float:
        # Nothing selected means nothing left unprotected; 100 keeps a "< 100" alarm quiet.
        return 100.0 if self.selected == 0 else round(100.0 * self.recent / self.selected, 2)


@dataclass(frozen=True)
class Finding:
    type: str
    arn: str
    name: str
    detail: str


@dataclass
class CoverageReport:
    generated_at: datetime
    region: str
    recent_hours: int
    per_type: dict[str, TypeCoverage]
    drift: list[Finding]
    excluded: list[Finding]
    no_cross_region: list[Finding]
    failed_types: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        def findings(items: list[Finding], detail: str) -> list[dict[str, str]]:
            return [{"type": f.type, "arn": f.arn, "name": f.name, detail: f.detail} for f in items]

        return {
            "generated_at": self.generated_at.isoformat(),
            "region": self.region,
            "recent_hours": self.recent_hours,
            "types": {
                name: {
                    "total": c.total,
                    "selected": c.selected,
                    "opted_out": c.opted_out,
                    "kubernetes_excluded": c.kubernetes_excluded,
                    "no_cross_region": c.no_cross_region,
                    "recent": c.recent,
                    "coverage_percent": c.coverage_percent,
                }
                for name, c in self.per_type.items()
            },
            "drift": findings(self.drift, "last_backup"),
            "excluded": findings(self.excluded, "reason"),
            "no_cross_region": findings(self.no_cross_region, "reason"),
            "failed_types": dict(sorted(self.failed_types.items())),
        }


def build_report(
    inventory: inv.Inventory,
    backups: Mapping[str, datetime],
    config: CoverageConfig,
    now: datetime,
) -> CoverageReport:
    cutoff = now - timedelta(hours=config.recent_hours)
    per_type = {t: TypeCoverage() for t in config.types if t not in inventory.failures}
    drift: list[Finding] = []
    excluded: list[Finding] = []
    no_cross_region: list[Finding] = []

    for resource in sorted(inventory.resources, key=lambda r: (r.type, r.arn)):
        counts = per_type.get(resource.type)
        if counts is None:
            continue
        counts.total += 1
        verdict = decide(resource.type, resource.tags, config.selection)
        if verdict.decision is Decision.OPTED_OUT:
            counts.opted_out += 1
            excluded.append(Finding(resource.type, resource.arn, resource.name, verdict.reason))
            continue
        if verdict.decision is Decision.KUBERNETES_EXCLUDED:
            counts.kubernetes_excluded += 1
            excluded.append(Finding(resource.type, resource.arn, resource.name, verdict.reason))
            continue
        counts.selected += 1
        if verdict.decision is Decision.SELECTED_NO_CROSS_REGION:
            counts.no_cross_region += 1
            no_cross_region.append(Finding(resource.type, resource.arn, resource.name, verdict.reason))
        last = backups.get(resource.arn)
        if last is not None and last >= cutoff:
            counts.recent += 1
        else:
            seen = last.astimezone(UTC).isoformat() if last is not None else "never"
            drift.append(Finding(resource.type, resource.arn, resource.name, seen))

    return CoverageReport(
        generated_at=now,
        region=config.region,
        recent_hours=config.recent_hours,
        per_type=per_type,
        drift=drift,
        excluded=excluded,
        no_cross_region=no_cross_region,
        failed_types={t: e for t, e in inventory.failures.items() if t in config.types},
    )


def render_table(report: CoverageReport) -> str:
    header = ("TYPE", "TOTAL", "SELECTED", "OPTED-OUT", "K8S-EXCL", "NO-XREGION", "RECENT", "COVERED")
    rows: list[tuple[str, ...]] = [header]
    for name, c in report.per_type.items():
        counts = (c.total, c.selected, c.opted_out, c.kubernetes_excluded, c.no_cross_region, c.recent)
        rows.append((name, *(str(v) for v in counts), f"{c.coverage_percent:.2f}%"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.append("")
    lines.append(
        f"Drift (selected, no recovery point in the last {report.recent_hours} h): {len(report.drift)}"
    )
    lines.extend(f"  {f.type:<10}  {f.arn}  last backup: {f.detail}" for f in report.drift)
    lines.append(f"Excluded (opt-out tag or Kubernetes-owned): {len(report.excluded)}")
    lines.extend(f"  {f.type:<10}  {f.arn}  {f.detail}" for f in report.excluded)
    lines.append(f"Protected without cross-Region copy: {len(report.no_cross_region)}")
    lines.extend(f"  {f.type:<10}  {f.arn}" for f in report.no_cross_region)
    for name, error in sorted(report.failed_types.items()):
        lines.append(f"FAILED to list {name}: {error}")
    return "\n".join(lines)


def metric_data(report: CoverageReport) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = []
    for name, c in report.per_type.items():
        dims = [{"Name": "ResourceType", "Value": name}]
        for metric, value, unit in (
            ("CoveragePercent", c.coverage_percent, "Percent"),
            ("UnprotectedResources", float(c.selected - c.recent), "Count"),
            ("SelectedResources", float(c.selected), "Count"),
        ):
            data.append({"MetricName": metric, "Dimensions": dims, "Value": value, "Unit": unit})
    return data


def collect(config: CoverageConfig, clients: ClientFactory, now: datetime) -> CoverageReport:
    # Recovery points first: without them no type can be judged, so fail before the inventory.
    backups = inv.last_backups(clients("backup"))
    found = inv.collect_inventory(clients, config.region, config.types, config.account_id)
    return build_report(found, backups, config, now)


def finish(report: CoverageReport, config: CoverageConfig, clients: ClientFactory) -> dict[str, Any]:
    """Log the run summary, then publish the coverage metrics and the run counts; raises
    ``JobFailedError`` when a type could not be listed (see ``RunSummary.finish``)."""
    summary = RunSummary(job=JOB_NAME)
    summary.done.extend(report.per_type)
    summary.failed.update(report.failed_types)
    cloudwatch = clients("cloudwatch") if config.publish_metrics else None
    return summary.finish(cloudwatch, metric_data(report))


def handler(event: Any, _context: Any) -> dict[str, Any]:
    """Lambda entry point: configured by environment variables; returns the JSON report."""
    return run_handler(JOB_NAME, lambda: _scheduled_run(event))


def _scheduled_run(event: Any) -> dict[str, Any]:
    config = CoverageConfig.from_settings(os.environ)
    clients = client_factory(config.region)
    report = collect(config, clients, scheduled_time(event))
    result = report.as_dict()
    LOG.info(json.dumps({"event": "coverage-report", **result}))
    finish(report, config, clients)
    return result


def parser() -> Parser:
    command = Parser(
        prog="python -m dr_runtime.operations.coverage",
        description="Report AWS Backup coverage of the protected resource types in one account and Region.",
    )
    for setting in (
        TYPES,
        RECENT_HOURS,
        OPT_OUT_TAG_SETTING,
        CROSS_REGION_OPT_OUT_TAG_SETTING,
        OPT_OUT_VALUE_SETTING,
        ACCOUNT_ID,
    ):
        setting.add_to(command)
    KUBERNETES_CLUSTERS_SETTING.add_to(command, action="append", default=None)
    command.add_argument("--json", action="store_true", help="print the report as JSON")
    return command


def main(argv: Sequence[str] | None = None, clients: ClientFactory | None = None) -> int:
    """Command entry point; the exit codes are those of ``dr_runtime.errors``."""
    return run_command(JOB_NAME, lambda: _command(argv, clients))


def _command(argv: Sequence[str] | None, clients: ClientFactory | None) -> int:
    args = parser().parse_args(argv)
    config = CoverageConfig.from_settings(os.environ, args)
    clients = clients or client_factory(config.region)
    report = collect(config, clients, datetime.now(UTC))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    else:
        print(render_table(report))
    finish(report, config, clients)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
