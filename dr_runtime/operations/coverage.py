"""Backup coverage report: which resources the plans select and which have a recent recovery point.

It also reports what would silently lose protection or alerts before a job fails
(docs/coverage-checks.md): RDS-managed databases whose backup or maintenance window blocks a plan's
start window, S3 buckets AWS Backup cannot back up, Regions where no CloudTrail trail feeds the
key-threat alert, clusters whose engine does not match the vault they are backed up into, and Regions
where the stack's Audit Manager frameworks evaluate nothing (AWS Config not recording, a failed
deployment).

Run as ``python -m dr_runtime.operations.coverage`` (table, or ``--json``) or as the Lambda handler
``dr_runtime.operations.coverage.handler``. Both publish per-type metrics to the ``AwsDrBackup``
namespace unless told not to.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_model import catalog
from dr_runtime.aws import ClientFactory, client_factory
from dr_runtime.commands import Parser, run_command, run_handler
from dr_runtime.errors import EXIT_OK, item_reason
from dr_runtime.operations import audit_checks, buckets, publish, trails, windows
from dr_runtime.operations import copy_tiers as tiers
from dr_runtime.operations import inventory as inv
from dr_runtime.operations.coverage_settings import (
    ACCOUNT_ID,
    AUDIT,
    CLUSTER_VAULTS,
    DR_REGION,
    FLEET_BUCKET,
    ISOLATED_ACCOUNT,
    KEY_THREAT_CALLS,
    PLAN_START_WINDOWS,
    PREREQUISITE_METRIC,
    PROTECTED_TYPES,
    RECENT_HOURS,
    TRAIL_REGIONS,
    TYPES,
    CoverageConfig,
)
from dr_runtime.operations.selection_verdict import (
    CROSS_REGION_OPT_OUT_TAG_SETTING,
    KUBERNETES_CLUSTERS_SETTING,
    OPT_OUT_TAG_SETTING,
    OPT_OUT_VALUE_SETTING,
    Decision,
    Verdict,
    decide,
    engine_tag_for,
    route_cluster,
)
from dr_runtime.report import LOG, RunSummary
from dr_runtime.settings import (
    scheduled_time,
)

JOB_NAME = "coverage"

# The prerequisite checks, as the report, the metrics' ``Check`` dimension and the run summary name them.
RDS_WINDOWS = "rds-windows"
ENGINE_VAULT = "engine-vault"
CHECKS = (RDS_WINDOWS, *buckets.CHECKS, trails.CHECK, ENGINE_VAULT, *audit_checks.CHECKS)
S3_CHECK = "s3"
"""How ``skipped_checks`` names the bucket checks as a whole."""
RegionalClients = Callable[[str], ClientFactory]
REPORT_SCHEMA = 2
"""2: coverage per copy tier (``tiers``), opted-out resources counted as not covered."""
COPY_JOBS = "copy-jobs"
"""How the run summary names the copy-job listing the copy tiers come from."""


@dataclass
class TypeCoverage:
    total: int = 0
    selected: int = 0
    opted_out: int = 0
    kubernetes_excluded: int = 0
    no_cross_region: int = 0
    recent: int = 0
    not_routed: int = 0
    tiers: dict[tiers.CopyTier, tiers.TierFigure] = field(default_factory=dict)
    """Per copy tier, covered of eligible (``copy_tiers``); filled by ``build_report``."""

    @property
    def eligible(self) -> int:
        """Every resource found but the Kubernetes-owned volumes: opted-out ones count, as not covered."""
        return self.total - self.kubernetes_excluded

    @property
    def coverage_percent(self) -> float:
        """In-Region: recent points of the eligible resources. Only a type with nothing eligible is 100 %
        without a point: an opted-out resource lowers coverage, it never raises it."""
        return tiers.coverage_percent(self.recent, self.eligible)


@dataclass(frozen=True)
class Finding:
    type: str
    arn: str
    name: str
    detail: str
    decision: str | None = None
    """For an excluded resource, the selection's decision code (``Decision``); the fleet report reads it."""


@dataclass(frozen=True)
class WindowFinding:
    """An RDS-managed database whose window blocks a plan's start window (or cannot be read)."""

    type: str
    arn: str
    name: str
    reason: str
    plan: str | None = None
    start: str | None = None
    window: str | None = None
    rds_window: str | None = None
    blocked: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class EngineFinding:
    """A cluster backed up (or routed to be backed up) as another engine than it runs."""

    type: str
    arn: str
    name: str
    engine: str
    routed_to: str | None
    last_vault: str | None
    reason: str

    def as_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)


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
    window_conflicts: list[WindowFinding] = field(default_factory=list)
    engine_mismatch: list[EngineFinding] = field(default_factory=list)
    bucket_findings: list[buckets.BucketFinding] = field(default_factory=list)
    trail_coverage: list[trails.TrailCoverage] = field(default_factory=list)
    config_recording: list[audit_checks.RecordingCoverage] = field(default_factory=list)
    framework_findings: list[audit_checks.FrameworkFinding] = field(default_factory=list)
    plan_windows: Mapping[str, tuple[windows.PlanWindows, ...]] | None = None
    skipped_checks: dict[str, str] = field(default_factory=dict)
    """Checks that did not run, and why (a missing setting or a failed listing)."""
    failed_checks: dict[str, str] = field(default_factory=dict)
    """Checks that could not run at all (their listing call failed); they fail the run."""
    selected_buckets: list[buckets.Bucket] = field(default_factory=list)
    """Input to the bucket checks: the selected S3 buckets of this Region."""
    tiers_not_measured: str | None = None
    """Why the copy tiers were not measured (settings missing, the copy-job listing failed); None when they were."""

    def tier_totals(self) -> dict[tiers.CopyTier, tiers.TierFigure]:
        """Per copy tier, over every type."""
        totals = {tier: tiers.TierFigure(measured=True) for tier in tiers.TIERS}
        for counts in self.per_type.values():
            for tier in tiers.TIERS:
                totals[tier] = totals[tier] + counts.tiers.get(tier, tiers.TierFigure(measured=False))
        if self.tiers_not_measured is not None:
            for tier in tiers.COPY_TIERS:
                totals[tier] = tiers.TierFigure(totals[tier].eligible, measured=False)
        return totals

    def findings_per_check(self) -> dict[str, int]:
        """Check -> number of items it reports, for the checks that ran."""
        counts = {
            RDS_WINDOWS: len({f.arn for f in self.window_conflicts}),
            ENGINE_VAULT: len(self.engine_mismatch),
            trails.CHECK: sum(1 for t in self.trail_coverage if not t.covered),
            audit_checks.RECORDING_CHECK: sum(1 for r in self.config_recording if not r.covered),
            audit_checks.FRAMEWORK_CHECK: len(self.framework_findings),
            **{
                check: len({f.bucket for f in self.bucket_findings if f.check == check})
                for check in buckets.CHECKS
            },
        }
        ran = set(CHECKS) - set(self.skipped_checks) - set(self.failed_checks)
        if S3_CHECK in self.skipped_checks or S3_CHECK in self.failed_checks:
            ran -= set(buckets.CHECKS)
        return {check: counts[check] for check in CHECKS if check in ran}

    def as_dict(self) -> dict[str, Any]:
        def findings(items: list[Finding], detail: str) -> list[dict[str, str]]:
            return [
                {
                    "type": f.type,
                    "arn": f.arn,
                    "name": f.name,
                    detail: f.detail,
                    **({} if f.decision is None else {"decision": f.decision}),
                }
                for f in items
            ]

        now = self.generated_at
        return {
            "schema": REPORT_SCHEMA,
            "generated_at": self.generated_at.isoformat(),
            "region": self.region,
            "recent_hours": self.recent_hours,
            "tiers": {tier.value: f.as_dict(now) for tier, f in self.tier_totals().items()},
            "tiers_not_measured": self.tiers_not_measured,
            "types": {
                name: {
                    "total": c.total,
                    "eligible": c.eligible,
                    "selected": c.selected,
                    "opted_out": c.opted_out,
                    "kubernetes_excluded": c.kubernetes_excluded,
                    "no_cross_region": c.no_cross_region,
                    "recent": c.recent,
                    "not_routed": c.not_routed,
                    "coverage_percent": c.coverage_percent,
                    "tiers": {tier.value: f.as_dict(now) for tier, f in c.tiers.items()},
                }
                for name, c in self.per_type.items()
            },
            "drift": findings(self.drift, "last_backup"),
            "excluded": findings(self.excluded, "reason"),
            "no_cross_region": findings(self.no_cross_region, "reason"),
            "failed_types": dict(sorted(self.failed_types.items())),
            "window_conflicts": [f.as_dict() for f in self.window_conflicts],
            "engine_mismatch": [f.as_dict() for f in self.engine_mismatch],
            "bucket_findings": [
                {"bucket": f.bucket, "arn": f.arn, "check": f.check, "reason": f.reason}
                for f in self.bucket_findings
            ],
            "cloudtrail": [
                {"region": t.region, "covered": t.covered, "trail": t.trail, "reason": t.reason}
                for t in self.trail_coverage
            ],
            "config_recording": [
                {"region": r.region, "covered": r.covered, "recorder": r.recorder, "reason": r.reason}
                for r in self.config_recording
            ],
            "audit_frameworks": [
                {"region": f.region, "framework": f.framework, "reason": f.reason}
                for f in self.framework_findings
            ],
            "plan_start_windows": None if self.plan_windows is None else windows.describe(self.plan_windows),
            "prerequisite_findings": self.findings_per_check(),
            "skipped_checks": dict(sorted(self.skipped_checks.items())),
            "failed_checks": dict(sorted(self.failed_checks.items())),
        }


def build_report(
    inventory: inv.Inventory,
    backups: Mapping[str, datetime],
    config: CoverageConfig,
    now: datetime,
    vaults: Mapping[str, str | None] | None = None,
    copies: Mapping[tiers.CopyTier, Mapping[str, datetime]] | None = None,
    tiers_not_measured: str | None = None,
) -> CoverageReport:
    """Coverage per copy tier, drift, exclusions, RDS window conflicts and engine/vault mismatches,
    without AWS calls.

    ``vaults``: resource ARN -> the vault of its last recovery point (``ListProtectedResources``).
    ``copies``: copy tier -> resource ARN -> its newest completed copy (``copy_tiers.newest_copies``);
    None leaves the copy tiers not measured, for the reason ``tiers_not_measured``.
    """
    cutoff = now - timedelta(hours=config.recent_hours)
    per_type = {t: TypeCoverage() for t in config.types if t not in inventory.failures}
    report = CoverageReport(
        generated_at=now,
        region=config.region,
        recent_hours=config.recent_hours,
        per_type=per_type,
        drift=[],
        excluded=[],
        no_cross_region=[],
        failed_types={t: e for t, e in inventory.failures.items() if t in config.types},
        plan_windows=config.plan_windows,
        tiers_not_measured=None if copies is not None else tiers_not_measured or "not measured",
    )
    eligible: dict[str, list[str]] = {t: [] for t in per_type}
    covering: dict[tiers.CopyTier, set[str]] = {tier: set() for tier in tiers.TIERS}
    listed = [catalog.BY_BACKUP_NAME[t] for t in per_type]
    if config.plan_windows is None:
        report.skipped_checks[RDS_WINDOWS] = f"{PLAN_START_WINDOWS.label} is not set"
    elif not any(t.rds_windows and not t.snapshot_ignores_rds_windows for t in listed):
        report.skipped_checks[RDS_WINDOWS] = "no RDS, DocumentDB or Neptune databases were listed"
    if not any(t.cluster_route for t in listed):
        report.skipped_checks[ENGINE_VAULT] = "no Aurora, DocumentDB or Neptune clusters were listed"
    vault_types = {arn: name for name, arn in config.cluster_vaults.items()}
    last_vaults = vaults or {}

    for resource in sorted(inventory.resources, key=lambda r: (r.type, r.arn)):
        counts = per_type.get(resource.type)
        if counts is None:
            continue
        counts.total += 1
        verdict = decide(resource.type, resource.tags, config.selection)
        routed = route_cluster(resource.tags, config.protected_types) if resource.cluster else resource.type
        if verdict.decision.selected and routed is None:
            tag = resource.tags.get(catalog.CLUSTER_ENGINE_TAG)
            verdict = Verdict(
                Decision.NOT_ROUTED,
                f"no protected type's plans take clusters with {catalog.CLUSTER_ENGINE_TAG}={tag or '(none)'}",
            )
        if verdict.decision is not Decision.KUBERNETES_EXCLUDED:
            eligible[resource.type].append(resource.arn)
        if not verdict.decision.selected:
            if verdict.decision is Decision.OPTED_OUT:
                counts.opted_out += 1
            elif verdict.decision is Decision.KUBERNETES_EXCLUDED:
                counts.kubernetes_excluded += 1
            else:
                counts.not_routed += 1
            report.excluded.append(
                Finding(resource.type, resource.arn, resource.name, verdict.reason, verdict.decision.value)
            )
            continue
        counts.selected += 1
        opted_out_of_cross_region = verdict.decision is Decision.SELECTED_NO_CROSS_REGION
        covering[tiers.CopyTier.IN_REGION].add(resource.arn)
        covering[tiers.CopyTier.AIR_GAPPED].add(resource.arn)
        if not opted_out_of_cross_region:
            covering[tiers.CopyTier.CROSS_REGION].add(resource.arn)
        if opted_out_of_cross_region:
            counts.no_cross_region += 1
            report.no_cross_region.append(Finding(resource.type, resource.arn, resource.name, verdict.reason))
        last = backups.get(resource.arn)
        if last is not None and last >= cutoff:
            counts.recent += 1
        else:
            seen = last.astimezone(UTC).isoformat() if last is not None else "never"
            report.drift.append(Finding(resource.type, resource.arn, resource.name, seen))
        if config.plan_windows is not None and routed is not None:
            rules = [
                r for r in config.plan_windows.get(routed, ()) if r.takes_resource(opted_out_of_cross_region)
            ]
            report.window_conflicts.extend(_window_findings(resource, rules))
        if resource.cluster and routed is not None:
            mismatch = _engine_mismatch(
                resource, routed, vault_types.get(last_vaults.get(resource.arn) or ""), config
            )
            if mismatch is not None:
                report.engine_mismatch.append(mismatch)
    points: dict[tiers.CopyTier, Mapping[str, datetime]] = {
        tiers.CopyTier.IN_REGION: backups,
        **(copies or {}),
    }
    for name, counts in per_type.items():
        counts.tiers = {
            tier: tiers.figure(
                eligible[name],
                covering[tier],
                points.get(tier, {}),
                cutoff,
                measured=tier is tiers.CopyTier.IN_REGION or copies is not None,
            )
            for tier in tiers.TIERS
        }
    return report


def _window_findings(resource: inv.Resource, rules: Sequence[windows.PlanWindows]) -> list[WindowFinding]:
    rtype = catalog.BY_BACKUP_NAME.get(resource.type)
    if rtype is None or not rtype.rds_windows or rtype.snapshot_ignores_rds_windows or not rules:
        return []
    try:
        found = windows.conflicts(rules, resource.backup_window, resource.maintenance_window)
    except windows.WindowFormatError as error:
        return [WindowFinding(resource.type, resource.arn, resource.name, f"cannot check: {error}")]
    return [
        WindowFinding(
            resource.type,
            resource.arn,
            resource.name,
            c.reason,
            plan=c.plan,
            start=c.start,
            window=c.window,
            rds_window=c.rds_window,
            blocked=c.blocked,
        )
        for c in found
    ]


def _engine_mismatch(
    resource: inv.Resource, routed: str, vault_type: str | None, config: CoverageConfig
) -> EngineFinding | None:
    """Drift for an Aurora, DocumentDB or Neptune cluster routed, or last backed up, as another engine."""
    engine_type = resource.type
    rtype = catalog.BY_BACKUP_NAME.get(engine_type)
    if rtype is None or rtype.cluster_route is None:
        return None  # Multi-AZ DB clusters: no engine of their own among the routed types
    problems: list[str] = []
    if routed != engine_type:
        tag = catalog.CLUSTER_ENGINE_TAG
        wanted = engine_tag_for(engine_type)
        current = resource.tags.get(tag)
        if engine_type not in config.protected_types:
            fix = f"{engine_type} is not protected by this stack"
        elif wanted is None:
            fix = f"remove {tag}={current}"
        else:
            fix = f"tag it {tag}={wanted}"
        problems.append(f"{tag}={current or '(none)'} routes it to the {routed} plans and vault; {fix}")
    if vault_type is not None and vault_type != engine_type:
        problems.append(f"its last recovery point is in the {vault_type} vault")
    if not problems:
        return None
    return EngineFinding(
        engine_type,
        resource.arn,
        resource.name,
        resource.engine or "",
        routed,
        vault_type,
        f"engine {resource.engine} ({engine_type}): " + "; ".join(problems),
    )


def _aligned(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]


def _tier_cell(figure: tiers.TierFigure, now: datetime) -> str:
    if figure.percent is None:
        return "not measured"
    rpo = figure.as_dict(now)["rpo_hours"]
    return f"{figure.covered}/{figure.eligible} {figure.percent:.2f}%" + (
        "" if rpo is None else f" RPO {rpo:.1f} h"
    )


def render_table(report: CoverageReport) -> str:
    header = ("TYPE", "TOTAL", "SELECTED", "OPTED-OUT", "K8S-EXCL", "NO-XREGION", "RECENT", "COVERED")
    rows: list[tuple[str, ...]] = [header]
    for name, c in report.per_type.items():
        counts = (c.total, c.selected, c.opted_out, c.kubernetes_excluded, c.no_cross_region, c.recent)
        rows.append((name, *(str(v) for v in counts), f"{c.coverage_percent:.2f}%"))
    lines = _aligned(rows)
    lines.append("")
    lines.append("Coverage per copy tier (covered / eligible, RPO = age of the oldest newest point):")
    tier_rows: list[tuple[str, ...]] = [("TYPE", *(f"{t.value.upper()}" for t in tiers.TIERS))]
    now = report.generated_at
    rows_of: list[tuple[str, Mapping[tiers.CopyTier, tiers.TierFigure]]] = [
        *((name, c.tiers) for name, c in report.per_type.items()),
        ("ALL", report.tier_totals()),
    ]
    for name, figures in rows_of:
        tier_rows.append((name, *(_tier_cell(figures[t], now) for t in tiers.TIERS)))
    lines.extend(_aligned(tier_rows))
    if report.tiers_not_measured is not None:
        lines.append(f"Copy tiers not measured: {report.tiers_not_measured}")
    lines.append("")
    lines.append(
        f"Drift (selected, no recovery point in the last {report.recent_hours} h): {len(report.drift)}"
    )
    lines.extend(f"  {f.type:<10}  {f.arn}  last backup: {f.detail}" for f in report.drift)
    lines.append(
        f"Excluded (opt-out tag or Kubernetes-owned; an opted-out resource counts as not covered): "
        f"{len(report.excluded)}"
    )
    lines.extend(f"  {f.type:<10}  {f.arn}  {f.detail}" for f in report.excluded)
    lines.append(f"Protected without cross-Region copy: {len(report.no_cross_region)}")
    lines.extend(f"  {f.type:<10}  {f.arn}" for f in report.no_cross_region)
    lines.append(
        f"RDS windows blocking a plan's start window: {len({f.arn for f in report.window_conflicts})} databases"
    )
    lines.extend(f"  {f.type:<10}  {f.arn}  {f.reason}" for f in report.window_conflicts)
    lines.append(f"Clusters whose engine does not match their vault: {len(report.engine_mismatch)}")
    lines.extend(f"  {f.type:<10}  {f.arn}  {f.reason}" for f in report.engine_mismatch)
    lines.append(
        f"S3 buckets AWS Backup cannot protect as planned: {len({f.bucket for f in report.bucket_findings})}"
    )
    lines.extend(f"  {f.bucket}  {f.check}: {f.reason}" for f in report.bucket_findings)
    lines.append("CloudTrail for the key-threat alert:")
    lines.extend(
        f"  {t.region:<10}  {'ok' if t.covered else 'MISSING'}: {t.reason}" for t in report.trail_coverage
    )
    lines.append("AWS Config recording for the Audit Manager frameworks:")
    lines.extend(
        f"  {r.region:<10}  {'ok' if r.covered else 'MISSING'}: {r.reason}" for r in report.config_recording
    )
    lines.append(f"Audit Manager frameworks that evaluate nothing: {len(report.framework_findings)}")
    lines.extend(f"  {f.region:<10}  {f.framework}: {f.reason}" for f in report.framework_findings)
    for name, why in sorted(report.skipped_checks.items()):
        lines.append(f"Check {name} skipped: {why}")
    for name, error in sorted(report.failed_types.items()):
        lines.append(f"FAILED to list {name}: {error}")
    for name, error in sorted(report.failed_checks.items()):
        lines.append(f"FAILED check {name}: {error}")
    return "\n".join(lines)


def metric_data(report: CoverageReport) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = []
    for name, c in report.per_type.items():
        dims = [{"Name": "ResourceType", "Value": name}]
        for metric, value, unit in (
            ("CoveragePercent", c.coverage_percent, "Percent"),
            ("UnprotectedResources", float(c.eligible - c.recent), "Count"),
            ("SelectedResources", float(c.selected), "Count"),
            ("ExcludedResources", float(c.opted_out + c.not_routed), "Count"),
        ):
            data.append({"MetricName": metric, "Dimensions": dims, "Value": value, "Unit": unit})
        data.extend(_tier_metrics(c.tiers, report.generated_at, dims))
    data.extend(_tier_metrics(report.tier_totals(), report.generated_at, []))
    per_check = report.findings_per_check()
    for check, count in per_check.items():
        data.append(
            {
                "MetricName": PREREQUISITE_METRIC,
                "Dimensions": [{"Name": "Check", "Value": check}],
                "Value": float(count),
                "Unit": "Count",
            }
        )
    if per_check:
        # The total, without dimensions, is what the prerequisites alarm watches.
        data.append(
            {"MetricName": "PrerequisiteFindings", "Value": float(sum(per_check.values())), "Unit": "Count"}
        )
    return data


TIER_COVERAGE_METRIC = "TierCoveragePercent"
TIER_RPO_METRIC = "TierRpoHours"


def _tier_metrics(
    figures: Mapping[tiers.CopyTier, tiers.TierFigure], now: datetime, dims: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Per copy tier (dimension ``Tier``, with the type's when given) its coverage and RPO; none for a
    tier not measured or without a point, so an alarm on them sees missing data, not a good value."""
    data: list[dict[str, Any]] = []
    for tier, found in figures.items():
        where = [*dims, {"Name": "Tier", "Value": tier.value}]
        values = found.as_dict(now)
        if values["coverage_percent"] is not None:
            data.append(
                {
                    "MetricName": TIER_COVERAGE_METRIC,
                    "Dimensions": where,
                    "Value": values["coverage_percent"],
                    "Unit": "Percent",
                }
            )
        if values["rpo_hours"] is not None:
            data.append(
                {
                    "MetricName": TIER_RPO_METRIC,
                    "Dimensions": where,
                    "Value": values["rpo_hours"],
                    "Unit": "None",
                }
            )
    return data


def collect(
    config: CoverageConfig,
    clients: ClientFactory,
    now: datetime,
    regional: RegionalClients | None = None,
) -> CoverageReport:
    """The report for ``config.region``; ``regional`` makes clients for the other trail Regions."""
    # Recovery points first: without them no type can be judged, so fail before the inventory.
    protected = inv.protected_resources(clients("backup"))
    found = inv.collect_inventory(clients, config.region, config.types, config.account_id)
    copies, not_measured = _copies(config, clients, now)
    report = build_report(
        found,
        {arn: p.last_backup for arn, p in protected.items()},
        config,
        now,
        vaults={arn: p.vault_arn for arn, p in protected.items()},
        copies=copies,
        tiers_not_measured=not_measured,
    )
    report.selected_buckets = [
        buckets.Bucket(r.name, r.arn, r.arn in protected)
        for r in found.resources
        if r.type == inv.S3 and decide(r.type, r.tags, config.selection).decision.selected
    ]
    _check_buckets(report, config, clients)
    _check_trails(report, config, clients, regional or client_factory)
    _check_audit(report, config, clients, regional or client_factory)
    return report


def _copies(
    config: CoverageConfig, clients: ClientFactory, now: datetime
) -> tuple[dict[tiers.CopyTier, dict[str, datetime]] | None, str | None]:
    """The newest copy per tier and resource, or why the copy tiers cannot be measured."""
    if config.dr_region is None or config.isolated_account is None:
        missing = [
            s.label
            for s, v in ((DR_REGION, config.dr_region), (ISOLATED_ACCOUNT, config.isolated_account))
            if v is None
        ]
        return None, f"{' and '.join(missing)} not set"
    account = config.account_id or str(clients("sts").get_caller_identity()["Account"])
    where = tiers.Destinations(account, config.dr_region, config.isolated_account)
    try:
        jobs = tiers.list_copy_jobs(clients("backup"), now)
    except (ClientError, BotoCoreError) as error:
        return None, f"the copy jobs could not be listed: {item_reason(error)}"
    return tiers.newest_copies(jobs, where), None


def _check_buckets(report: CoverageReport, config: CoverageConfig, clients: ClientFactory) -> None:
    if inv.S3 not in config.types:
        report.skipped_checks[S3_CHECK] = "S3 is not among the reported types"
    elif inv.S3 in report.failed_types:
        report.skipped_checks[S3_CHECK] = "the buckets could not be listed"
    else:
        continuous = catalog.BY_BACKUP_NAME[inv.S3].continuous_cross_account
        report.bucket_findings = buckets.check_buckets(clients("s3"), report.selected_buckets, continuous)


def _check_trails(
    report: CoverageReport, config: CoverageConfig, clients: ClientFactory, regional: RegionalClients
) -> None:
    if not config.trail_regions:
        report.skipped_checks[trails.CHECK] = f"{TRAIL_REGIONS.label} is not set"
        return
    errors: list[str] = []
    for trail_region in config.trail_regions:
        factory = clients if trail_region == config.region else regional(trail_region)
        try:
            report.trail_coverage.append(
                trails.coverage(factory("cloudtrail"), trail_region, config.key_threat_calls)
            )
        except (ClientError, BotoCoreError) as error:
            errors.append(f"{trail_region}: {item_reason(error)}")
    if errors:
        report.failed_checks[trails.CHECK] = "; ".join(errors)


def _check_audit(
    report: CoverageReport, config: CoverageConfig, clients: ClientFactory, regional: RegionalClients
) -> None:
    if not config.audit:
        for check in audit_checks.CHECKS:
            report.skipped_checks[check] = f"{AUDIT.label} is not set"
        return
    errors: list[str] = []
    for place in config.audit:
        factory = clients if place.region == config.region else regional(place.region)
        try:
            report.config_recording.append(
                audit_checks.recording(factory("config"), place.region, place.resource_types)
            )
        except (ClientError, BotoCoreError) as error:
            errors.append(f"{place.region}: {item_reason(error)}")
        report.framework_findings.extend(
            audit_checks.frameworks(factory("backup"), place.region, place.frameworks)
        )
    if errors:
        report.failed_checks[audit_checks.RECORDING_CHECK] = "; ".join(errors)


def finish(report: CoverageReport, config: CoverageConfig, clients: ClientFactory) -> dict[str, Any]:
    """Write the report to the fleet bucket (when configured), log the run summary, then publish the
    coverage metrics and the run counts; raises ``JobFailedError`` when a type could not be listed, a
    check could not run at all or the report could not be written (see ``RunSummary.finish``)."""
    summary = RunSummary(job=JOB_NAME)
    summary.done.extend(report.per_type)
    summary.done.extend(report.findings_per_check())
    summary.failed.update(report.failed_types)
    summary.failed.update({f"check:{name}": error for name, error in report.failed_checks.items()})
    summary.skipped.update({f"check:{name}": why for name, why in report.skipped_checks.items()})
    if report.tiers_not_measured is None:
        summary.done.append(COPY_JOBS)
    elif config.dr_region is not None and config.isolated_account is not None:
        # Configured but unreadable: a copy tier nobody can see fails the run, like a type not listed.
        summary.failed[COPY_JOBS] = report.tiers_not_measured
    else:
        summary.skipped[COPY_JOBS] = report.tiers_not_measured
    if config.fleet_bucket is not None and config.account_id is not None:
        # A report the organisation cannot see fails the run (and its alarm), like a type not listed.
        try:
            where = publish.publish(
                clients("s3"), config.fleet_bucket, config.account_id, config.region, report.as_dict()
            )
        except (ClientError, BotoCoreError) as error:
            summary.failed[publish.SUMMARY_ITEM] = f"{config.fleet_bucket}: {item_reason(error)}"
        else:
            summary.done.append(publish.SUMMARY_ITEM)
            LOG.info(json.dumps({"event": "coverage-published", "location": where}))
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
        PROTECTED_TYPES,
        PLAN_START_WINDOWS,
        CLUSTER_VAULTS,
        KEY_THREAT_CALLS,
        FLEET_BUCKET,
        AUDIT,
        DR_REGION,
        ISOLATED_ACCOUNT,
    ):
        setting.add_to(command)
    KUBERNETES_CLUSTERS_SETTING.add_to(command, action="append", default=None)
    TRAIL_REGIONS.add_to(command, action="append", default=None)
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
