"""The coverage report (``dr_runtime.operations.coverage``) as a ScheduledJob on ``coverageSchedule``.

It inventories the primary region, where the plans select resources, and publishes per-type metrics
(``CoveragePercent``, ``UnprotectedResources``, ``SelectedResources``) that the dashboard shows, and
``PrerequisiteFindings`` for what would silently lose protection or alerts (docs/coverage-checks.md).

The job gets the stack's facts as settings computed here, at deployment: each RDS-family plan's start
windows in UTC (from the same ``PlanSpec``s the plans are registered from, cron and time zone
evaluated here so the job does interval arithmetic only), the cluster types' vault ARNs, the active
types and the Regions whose key-threat alert needs a CloudTrail trail.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pulumi

from components import documents
from components.operations.patterns import KEY_THREATENING_CALLS
from components.plan_layout import PlanSpec
from components.scheduled_job import ScheduledJob, ScheduledJobArgs, metrics_statement
from dr_model import catalog, cron
from dr_runtime.operations import audit_settings, publish, windows
from dr_runtime.operations import coverage_settings as job_settings
from dr_runtime.operations import selection_verdict as selection
from dr_runtime.settings import PUBLISH_METRICS, Setting, environment

HANDLER = "dr_runtime.operations.coverage.handler"
# Types whose inventory comes from the tagging API plus a name listing (dr_runtime.operations.inventory).
_TAGGING_API_TYPES = frozenset({"S3", "DynamoDB"})


@dataclass(frozen=True)
class CoverageArgs:
    prefix: str
    account: str
    region: str
    schedule_expression: str
    types: Sequence[catalog.ResourceType]
    recent_hours: int
    opt_out_tag: str
    cross_region_opt_out_tag: str
    opt_out_value: str
    kubernetes_clusters: Sequence[str] = ()
    plans: Mapping[str, Sequence[PlanSpec]] = field(default_factory=dict)
    """Type key -> the plans registered for it (``layout.plans_for``)."""
    vault_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Type key -> its vault in ``region``; the job needs the cluster types' vaults."""
    trail_regions: Sequence[str] = ()
    """Regions with a key-threat alert rule, which only fires while a trail logs KMS calls there."""
    fleet_bucket: str | None = None
    """The organisation's fleet bucket: the job also writes its report there (its own prefix only)."""
    audit_frameworks: Mapping[str, Sequence[tuple[str, Sequence[str]]]] = field(default_factory=dict)
    """Region -> (framework name, control names) of the stack's Audit Manager frameworks: the job checks
    that AWS Config records what they evaluate and that they deployed."""
    dr_region: str | None = None
    """The stack's DR Region: copy jobs into it count for the cross-region tier."""
    isolated_account: str | None = None
    """The isolated account: copy jobs into it count for the air-gapped tier."""
    tags: Mapping[str, str] = field(default_factory=dict)
    log_retention_days: int = 30


def _inventory_statements(region: str, account: str, type_names: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    unscoped: list[str] = []  # actions without resource-level permissions
    if type_names & _TAGGING_API_TYPES:
        unscoped.append("tag:GetResources")
    if "S3" in type_names:
        unscoped.append("s3:ListAllMyBuckets")
    if "DynamoDB" in type_names:
        unscoped.append("dynamodb:ListTables")
    if "EBS" in type_names:
        unscoped.append("ec2:DescribeVolumes")
    if unscoped:
        out.append({"Sid": "ListResources", "Effect": "Allow", "Action": sorted(unscoped), "Resource": "*"})
    if "EFS" in type_names:
        out.append(
            documents.allow(
                "ListFileSystems",
                "elasticfilesystem:DescribeFileSystems",
                f"arn:aws:elasticfilesystem:{region}:{account}:file-system/*",
            )
        )
    if "RDS" in type_names:
        out.append(
            documents.allow(
                "ListDbInstances", "rds:DescribeDBInstances", f"arn:aws:rds:{region}:{account}:db:*"
            )
        )
    # Multi-AZ DB clusters count as RDS, so the cluster listing serves RDS as well as the cluster engines.
    if type_names & {"RDS", "Aurora", "DocumentDB", "Neptune"}:
        out.append(
            documents.allow(
                "ListDbClusters", "rds:DescribeDBClusters", f"arn:aws:rds:{region}:{account}:cluster:*"
            )
        )
    return out


def _prerequisite_statements(account: str, type_names: set[str], trails: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if "S3" in type_names:
        out.append(
            {
                "Sid": "ReadBucketPrerequisites",
                "Effect": "Allow",
                # GetBucketNotification authorizes GetBucketNotificationConfiguration.
                "Action": ["s3:GetBucketNotification", "s3:GetBucketVersioning"],
                "Resource": "arn:aws:s3:::*",
                "Condition": {"StringEquals": {"s3:ResourceAccount": account}},
            }
        )
    if trails:
        out.append(
            {"Sid": "ListTrails", "Effect": "Allow", "Action": "cloudtrail:DescribeTrails", "Resource": "*"}
        )
        out.append(
            {
                "Sid": "ReadTrails",
                "Effect": "Allow",
                "Action": ["cloudtrail:GetEventSelectors", "cloudtrail:GetTrailStatus"],
                # A multi-Region or organization trail keeps its home Region and account in its ARN.
                "Resource": "arn:aws:cloudtrail:*:*:trail/*",
            }
        )
    return out


def audit_regions(
    frameworks: Mapping[str, Sequence[tuple[str, Sequence[str]]]],
) -> tuple[audit_settings.AuditRegion, ...]:
    """Per Region, the frameworks to describe and the AWS Config resource types their controls need."""
    return tuple(
        audit_settings.AuditRegion(
            region,
            tuple(name for name, _ in found),
            audit_settings.recorded_types(c for _, controls in found for c in controls),
        )
        for region, found in frameworks.items()
    )


def _audit_statements(account: str, regions: Sequence[audit_settings.AuditRegion]) -> list[dict[str, Any]]:
    if not regions:
        return []
    return [
        # The recorder listings take no resource-level permissions.
        documents.allow(
            "ReadConfigRecorders",
            ["config:DescribeConfigurationRecorderStatus", "config:DescribeConfigurationRecorders"],
            "*",
        ),
        documents.allow(
            "ReadAuditFrameworks",
            "backup:DescribeFramework",
            # A framework's ARN ends in its name and a generated suffix.
            [
                f"arn:aws:backup:{r.region}:{account}:framework:{name}-*"
                for r in regions
                for name in r.frameworks
            ],
        ),
    ]


def statements(
    region: str,
    account: str,
    types: Sequence[catalog.ResourceType],
    trail_regions: Sequence[str] = (),
    fleet_bucket: str | None = None,
    audit: Sequence[audit_settings.AuditRegion] = (),
    copy_tiers: bool = False,
) -> list[dict[str, Any]]:
    """Exactly the calls the handler makes for ``types``: recovery points, inventory, prerequisite
    checks, metrics, the report written to the fleet bucket when there is one, and the account's own
    copy jobs when the copy tiers are measured (``ListCopyJobs`` takes no resource: ``*``)."""
    names = {t.backup_name for t in types}
    return [
        documents.allow("ReadProtectedResources", "backup:ListProtectedResources", "*"),
        *([documents.allow("ReadCopyJobs", "backup:ListCopyJobs", "*")] if copy_tiers else []),
        *_inventory_statements(region, account, names),
        *_prerequisite_statements(account, names, bool(trail_regions)),
        *_audit_statements(account, audit),
        *([] if fleet_bucket is None else [publish.put_statement(fleet_bucket, account)]),
        metrics_statement(),
    ]


def weekdays(expression: str) -> frozenset[int] | None:
    """The days of the week (``date.weekday()``: 0 = Monday) a cron may fire on; ``None`` for any.

    Only a plain day-of-week list or range narrows it (``MON-FRI``, ``2,4``). A day-of-month, month or
    year restriction leaves every weekday possible, since over the months each date falls on each
    weekday; so do the special days ``6L`` and ``2#1``, which the grammar does not resolve to a set.
    """
    days = cron.parse_cron(expression).days_of_week
    if days is None or len(days) == 7:
        return None
    # AWS numbers the days 1 (SUN) to 7 (SAT).
    return frozenset((day + 5) % 7 for day in days)


def utc_starts(expression: str, timezone: str, year: int) -> dict[int, frozenset[int]]:
    """UTC minute of day -> UTC weekdays (0 = Monday) on which a rule may start, over ``year``.

    Evaluated on every date of ``year`` in ``timezone`` (config has checked both), so a zone with
    daylight saving time yields both of its UTC start times, and a start that crosses midnight in UTC
    lands on the right weekday.
    """
    # Config accepts the UTC names even where the machine has no time zone database.
    zone: tzinfo = UTC if timezone in ("Etc/UTC", "UTC") else ZoneInfo(timezone)
    times = cron.parse_cron(expression).minutes_of_day
    days = weekdays(expression)
    found: dict[int, set[int]] = defaultdict(set)
    day = date(year, 1, 1)
    while day.year == year:
        if days is None or day.weekday() in days:
            for minute in times:
                local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
                start = local.astimezone(UTC)
                found[start.hour * 60 + start.minute].add(start.weekday())
        day += timedelta(days=1)
    return {minute: frozenset(found[minute]) for minute in sorted(found)}


def _takes(spec: PlanSpec, cross_region_opt_out_tag: str) -> windows.Takes:
    for condition in spec.selection.conditions:
        if condition.key == cross_region_opt_out_tag:
            if condition.operator == "string_equals":
                return windows.Takes.WITH_OPT_OUT
            return windows.Takes.WITHOUT_OPT_OUT
    return windows.Takes.ALL


def plan_start_windows(
    types: Sequence[catalog.ResourceType],
    plans: Mapping[str, Sequence[PlanSpec]],
    cross_region_opt_out_tag: str,
    year: int,
) -> dict[str, tuple[windows.PlanWindows, ...]]:
    """Per RDS-family type, its plans' start windows in UTC, for ``DR_PLAN_START_WINDOWS``.

    Aurora is included although its snapshots ignore the windows: RDS Multi-AZ DB clusters share its
    ARN pattern and land in its plans. A cron is evaluated over every day of ``year`` in the rule's time
    zone (``utc_starts``), so both daylight-saving offsets appear.
    """
    result: dict[str, tuple[windows.PlanWindows, ...]] = {}
    for rtype in types:
        if not rtype.rds_windows:
            continue
        rules: list[windows.PlanWindows] = []
        for spec in plans.get(rtype.key, ()):
            starts = utc_starts(spec.rule.schedule, spec.rule.timezone, year)
            rules.append(
                windows.PlanWindows(
                    plan=spec.key,
                    takes=_takes(spec, cross_region_opt_out_tag),
                    start_minutes=spec.rule.start_window,
                    starts=tuple(windows.PlanStart(minute, days) for minute, days in starts.items()),
                    continuous=spec.rule.continuous,
                )
            )
        result[rtype.backup_name] = tuple(rules)
    return result


def _compact(document: Any) -> str:
    # Lambda allows 4 KB of environment variables in all; no spaces.
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def function_name(prefix: str) -> str:
    return f"{prefix}-backup-coverage"


def create(name: str, args: CoverageArgs, opts: pulumi.ResourceOptions | None = None) -> ScheduledJob:
    start_windows = plan_start_windows(
        args.types, args.plans, args.cross_region_opt_out_tag, datetime.now(UTC).year
    )
    cluster_vaults = pulumi.Output.from_input(
        {
            t.backup_name: args.vault_arns[t.key]
            for t in args.types
            if t.cluster_route and t.key in args.vault_arns
        }
    ).apply(_compact)
    audit = audit_regions(args.audit_frameworks)
    tier_settings: dict[Setting, pulumi.Input[str]] = {}
    if args.dr_region is not None and args.isolated_account is not None:
        tier_settings = {
            job_settings.DR_REGION: args.dr_region,
            job_settings.ISOLATED_ACCOUNT: args.isolated_account,
        }
    copy_tiers = bool(tier_settings)
    return ScheduledJob(
        name,
        ScheduledJobArgs(
            function_name=function_name(args.prefix),
            handler=HANDLER,
            schedule_expression=args.schedule_expression,
            schedule_input='{"time": "<aws.scheduler.scheduled-time>"}',
            account_id=args.account,
            description="Reports AWS Backup coverage per resource type and publishes coverage metrics",
            environment=environment(
                {
                    job_settings.TYPES: ",".join(t.backup_name for t in args.types),
                    job_settings.RECENT_HOURS: str(args.recent_hours),
                    selection.OPT_OUT_TAG_SETTING: args.opt_out_tag,
                    selection.CROSS_REGION_OPT_OUT_TAG_SETTING: args.cross_region_opt_out_tag,
                    selection.OPT_OUT_VALUE_SETTING: args.opt_out_value,
                    selection.KUBERNETES_CLUSTERS_SETTING: ",".join(args.kubernetes_clusters),
                    # Saves an STS call per run and the permission question with it.
                    job_settings.ACCOUNT_ID: args.account,
                    PUBLISH_METRICS: "true",
                    job_settings.PROTECTED_TYPES: ",".join(t.backup_name for t in args.types),
                    job_settings.PLAN_START_WINDOWS: _compact(windows.describe(start_windows)),
                    job_settings.CLUSTER_VAULTS: cluster_vaults,
                    job_settings.TRAIL_REGIONS: ",".join(args.trail_regions),
                    job_settings.KEY_THREAT_CALLS: ",".join(KEY_THREATENING_CALLS),
                    **({} if args.fleet_bucket is None else {job_settings.FLEET_BUCKET: args.fleet_bucket}),
                    **({} if not audit else {job_settings.AUDIT: _compact(audit_settings.describe(audit))}),
                    **tier_settings,
                }
            ),
            policy_statements=statements(
                args.region,
                args.account,
                args.types,
                args.trail_regions,
                args.fleet_bucket,
                audit,
                copy_tiers=copy_tiers,
            ),
            # Listing every bucket, volume and table of a large account takes minutes.
            timeout_seconds=900,
            memory_mb=512,
            log_retention_days=args.log_retention_days,
            tags=args.tags,
        ),
        opts=opts,
    )
