"""Backup coverage report: which resources the plans select and which have a recent recovery point.

Run as ``python -m dr_runtime.operations.coverage`` (table, or ``--json``) or as the Lambda handler
``dr_runtime.operations.coverage.handler``. Both publish per-type metrics to the ``AwsDrBackup``
namespace unless told not to.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dr_runtime.operations import inventory as inv
from dr_runtime.operations.selection import Decision, SelectionConfig, decide
from dr_runtime.operations.settings import (
    ClientFactory,
    ConfigError,
    client_factory,
    configure_logging,
    env_bool,
    env_int,
    env_list,
    env_str,
    scheduled_time,
)
from dr_runtime.report import LOG, METRIC_NAMESPACE, JobFailedError, RunSummary

JOB_NAME = "coverage"
# PutMetricData accepts more today; 20 per call is the long-standing limit and costs one extra call.
METRICS_PER_CALL = 20


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
            raise ConfigError("region (AWS_REGION or --region) is required")
        unknown = sorted(set(self.types) - set(inv.ALL_TYPES))
        if unknown:
            raise ConfigError(f"types: unknown {', '.join(unknown)}; known: {', '.join(inv.ALL_TYPES)}")
        if not self.types:
            raise ConfigError("types must name at least one resource type")
        if self.recent_hours < 1:
            raise ConfigError(f"recent_hours must be at least 1, got {self.recent_hours}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CoverageConfig:
        return cls(
            region=env_str(env, "AWS_REGION") or env_str(env, "AWS_DEFAULT_REGION") or "",
            types=env_list(env, "DR_COVERAGE_TYPES", inv.ALL_TYPES),
            recent_hours=env_int(env, "DR_COVERAGE_RECENT_HOURS", 26),
            selection=SelectionConfig(
                opt_out_tag=env_str(env, "DR_OPT_OUT_TAG", SelectionConfig.opt_out_tag) or "",
                cross_region_opt_out_tag=env_str(
                    env, "DR_CROSS_REGION_OPT_OUT_TAG", SelectionConfig.cross_region_opt_out_tag
                )
                or "",
                kubernetes_clusters=env_list(env, "DR_KUBERNETES_CLUSTERS"),
                opt_out_value=env_str(env, "DR_OPT_OUT_VALUE", SelectionConfig.opt_out_value) or "",
            ),
            account_id=env_str(env, "DR_ACCOUNT_ID"),
            publish_metrics=env_bool(env, "DR_PUBLISH_METRICS", True),
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


def publish_metrics(cloudwatch: Any, report: CoverageReport) -> None:
    data = metric_data(report)
    for start in range(0, len(data), METRICS_PER_CALL):
        cloudwatch.put_metric_data(
            Namespace=METRIC_NAMESPACE, MetricData=data[start : start + METRICS_PER_CALL]
        )


def collect(config: CoverageConfig, clients: ClientFactory, now: datetime) -> CoverageReport:
    # Recovery points first: without them no type can be judged, so fail before the inventory.
    backups = inv.last_backups(clients("backup"))
    found = inv.collect_inventory(clients, config.region, config.types, config.account_id)
    return build_report(found, backups, config, now)


def finish(report: CoverageReport, config: CoverageConfig, clients: ClientFactory) -> dict[str, Any]:
    """Publish metrics and the run summary; raises ``JobFailedError`` when a type could not be listed."""
    summary = RunSummary(job=JOB_NAME)
    summary.done.extend(report.per_type)
    summary.failed.update(report.failed_types)
    cloudwatch = clients("cloudwatch") if config.publish_metrics else None
    if cloudwatch is not None:
        publish_metrics(cloudwatch, report)
    return summary.finish(cloudwatch)


def handler(event: Any, _context: Any) -> dict[str, Any]:
    """Lambda entry point: configured by environment variables; returns the JSON report."""
    configure_logging()
    config = CoverageConfig.from_env(os.environ)
    clients = client_factory(config.region)
    report = collect(config, clients, scheduled_time(event))
    result = report.as_dict()
    LOG.info(json.dumps({"event": "coverage-report", **result}))
    finish(report, config, clients)
    return result


def parse_args(argv: Sequence[str] | None, env: Mapping[str, str]) -> tuple[CoverageConfig, bool]:
    parser = argparse.ArgumentParser(
        prog="python -m dr_runtime.operations.coverage",
        description="Report AWS Backup coverage of the protected resource types in one account and Region.",
    )
    parser.add_argument("--region", help="Region to inventory (default: AWS_REGION)")
    parser.add_argument(
        "--types", help=f"comma-separated subset of {','.join(inv.ALL_TYPES)} (DR_COVERAGE_TYPES)"
    )
    parser.add_argument(
        "--recent-hours", type=int, help="age of a recent recovery point (DR_COVERAGE_RECENT_HOURS, 26)"
    )
    parser.add_argument("--opt-out-tag", help="tag key that opts out entirely (DR_OPT_OUT_TAG)")
    parser.add_argument("--cross-region-opt-out-tag", help="tag key that skips the cross-Region copy")
    parser.add_argument(
        "--kubernetes-cluster",
        action="append",
        default=None,
        help="cluster whose owned EBS volumes are excluded; repeat per cluster (DR_KUBERNETES_CLUSTERS)",
    )
    parser.add_argument("--account-id", help="account ID for built ARNs (default: from STS)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-metrics", action="store_true", help="do not publish CloudWatch metrics")
    args = parser.parse_args(argv)

    overrides = dict(env)
    for key, value in (
        ("AWS_REGION", args.region),
        ("DR_COVERAGE_TYPES", args.types),
        ("DR_COVERAGE_RECENT_HOURS", None if args.recent_hours is None else str(args.recent_hours)),
        ("DR_OPT_OUT_TAG", args.opt_out_tag),
        ("DR_CROSS_REGION_OPT_OUT_TAG", args.cross_region_opt_out_tag),
        (
            "DR_KUBERNETES_CLUSTERS",
            None if args.kubernetes_cluster is None else ",".join(args.kubernetes_cluster),
        ),
        ("DR_ACCOUNT_ID", args.account_id),
    ):
        if value is not None:
            overrides[key] = value
    if args.no_metrics:
        overrides["DR_PUBLISH_METRICS"] = "false"
    try:
        config = CoverageConfig.from_env(overrides)
    except ConfigError as error:
        parser.error(str(error))
    return config, bool(args.json)


def main(argv: Sequence[str] | None = None, clients: ClientFactory | None = None) -> int:
    """Command entry point; exit status 1 when a type could not be listed, 2 on bad settings."""
    configure_logging()
    config, as_json = parse_args(argv, os.environ)
    clients = clients or client_factory(config.region)
    report = collect(config, clients, datetime.now(UTC))
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    else:
        print(render_table(report))
    try:
        finish(report, config, clients)
    except JobFailedError as error:
        print(str(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
