"""Operations (issue 5): alerts, the long-running-job watchdog, coverage, dashboard, restore tests, audit.

``Operations`` composes the modules of this package; see README.md here for what runs where and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.config import Operations as OperationsConfig
from components.config import OptOutTags
from components.operations import alarms, alerts, dashboard
from components.operations import coverage_job as coverage
from components.operations import watchdog_job as watchdog
from components.operations.audit import Audit, AuditArgs, frameworks_by_region
from components.operations.restore_testing import (
    SUPPORTED_TYPES,
    RestorePlanSpec,
    RestoreTesting,
    RestoreTestingArgs,
)
from components.plan_layout import PlanSpec
from dr_model import catalog
from dr_model.naming import region_code
from dr_runtime.operations.watchdog_settings import INTERVAL_MINUTES as WATCHDOG_INTERVAL_MINUTES

COMPONENT_TYPE = "aws-dr-backup:operations:Operations"
# Alarm periods: the watchdog runs every 15 minutes, coverage about daily.
_WATCHDOG_ALARM_PERIOD = WATCHDOG_INTERVAL_MINUTES * 60
_COVERAGE_ALARM_PERIOD = 3600


@dataclass(frozen=True)
class OperationsArgs:
    prefix: str
    workload_account: str
    isolated_account: str
    primary_region: str
    dr_region: str
    types: tuple[catalog.ResourceType, ...]
    """The active resource types."""
    vault_arns: Mapping[str, Mapping[str, pulumi.Input[str]]]
    """Type key -> region -> vault ARN (``ResourceTypeProtection.vault_arns``)."""
    key_arns: Mapping[str, Mapping[str, pulumi.Input[str]]]
    """Type key -> region -> vault key ARN (``ResourceTypeProtection.key_arns``)."""
    air_gapped_vault_arn: pulumi.Input[str]
    dr_provider: pulumi.ProviderResource
    """Workload account, DR region (the component's own provider is the primary region's)."""
    settings: OperationsConfig
    """The stack's ``operations`` block, validated (its defaults are stated there only)."""
    opt_out_tags: OptOutTags
    completion_window_minutes: int
    """The plans' completion window (the stack's ``windows.completionMinutes``)."""
    min_retention_days: int
    """The plans' in-region retention: the audit's minimum-retention controls check it."""
    timezone: str
    """The stack's schedule time zone; restore tests run in it."""
    log_retention_days: int
    kubernetes_clusters: tuple[str, ...] = ()
    plans: Mapping[str, tuple[PlanSpec, ...]] = field(default_factory=dict)
    """Type key -> its plans as registered (``layout.plans_for``); the coverage job checks them."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        regions = {self.primary_region, self.dr_region}
        if len(regions) != 2:
            raise ValueError("primary_region and dr_region must differ")
        keys = {t.key for t in self.types}
        for label, per_type in (("vault_arns", self.vault_arns), ("key_arns", self.key_arns)):
            if set(per_type) != keys:
                raise ValueError(f"{label} must name exactly the active types {sorted(keys)}")
            for key, by_region in per_type.items():
                if set(by_region) != regions:
                    raise ValueError(f"{label}[{key!r}] must have an entry for {sorted(regions)}")

    def vaults_in(self, region: str) -> dict[str, pulumi.Input[str]]:
        """Type label -> vault ARN in ``region``."""
        return {t.label: self.vault_arns[t.key][region] for t in self.types}


class Operations(pulumi.ComponentResource):
    """Create with the primary region's provider (workload account) in ``opts``."""

    topic_arns: dict[str, pulumi.Output[str]]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        primary, dr = args.primary_region, args.dr_region
        ops, restore = args.settings, args.settings.restore_testing

        channels: dict[str, alerts.RegionAlerts] = {}
        for region, provider in ((primary, None), (dr, args.dr_provider)):
            channels[region] = alerts.RegionAlerts(
                alerts.alerts_name(region),
                alerts.RegionAlertsArgs(
                    prefix=args.prefix,
                    account=args.workload_account,
                    region=region,
                    emails=ops.alerts.emails,
                    external_topic_arns=tuple(
                        arn for arn in ops.alerts.topic_arns if alerts.topic_region(arn) == region
                    ),
                    key_arns=[args.key_arns[t.key][region] for t in args.types],
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
        alert_topic = channels[primary]

        watchdog_job, _ledger = watchdog.create(
            "watchdog",
            watchdog.WatchdogArgs(
                prefix=args.prefix,
                account=args.workload_account,
                region=primary,
                topic_arn=alert_topic.topic_arn,
                topic_key_arn=alert_topic.key_arn,
                threshold_minutes=ops.long_running_job_minutes,
                completion_window_minutes=args.completion_window_minutes,
                # The ledger holds alert markers only; the DynamoDB plans would otherwise copy it.
                ledger_tags={**tags, args.opt_out_tags.all: args.opt_out_tags.value},
                tags=tags,
                log_retention_days=args.log_retention_days,
            ),
            opts=child,
        )
        audit_args = (
            AuditArgs(
                prefix=args.prefix,
                account=args.workload_account,
                region=primary,
                dr_region=dr,
                isolated_account=args.isolated_account,
                types=args.types,
                min_retention_days=args.min_retention_days,
                # A daily point may finish up to a completion window after it was scheduled.
                recovery_point_max_age_hours=ops.recent_backup_hours
                + -(-args.completion_window_minutes // 60),
                create_reports_role=ops.create_reports_role,
                restore_time_target_minutes=restore.target_minutes if restore.enabled else None,
                restore_types=[t for t in args.types if t.backup_name in SUPPORTED_TYPES],
                dr_provider=args.dr_provider,
                tags=tags,
            )
            if ops.audit
            else None
        )
        coverage_job = coverage.create(
            "coverage",
            coverage.CoverageArgs(
                prefix=args.prefix,
                account=args.workload_account,
                region=primary,
                schedule_expression=ops.coverage_schedule,
                types=args.types,
                recent_hours=ops.recent_backup_hours,
                opt_out_tag=args.opt_out_tags.all,
                cross_region_opt_out_tag=args.opt_out_tags.cross_region,
                opt_out_value=args.opt_out_tags.value,
                kubernetes_clusters=args.kubernetes_clusters,
                plans=args.plans,
                vault_arns={t.key: args.vault_arns[t.key][primary] for t in args.types},
                # Both regions have a key-threat rule (alerts.RegionAlerts).
                trail_regions=(primary, dr),
                fleet_bucket=ops.fleet_bucket,
                # The job checks that AWS Config records what the frameworks evaluate, and that they deployed.
                audit_frameworks={} if audit_args is None else frameworks_by_region(audit_args),
                # The copy tiers: copy jobs into the DR Region and into the isolated account.
                dr_region=dr,
                isolated_account=args.isolated_account,
                tags=tags,
                log_retention_days=args.log_retention_days,
            ),
            opts=child,
        )
        same_account_primary = [
            arn
            for arn in ops.alerts.topic_arns
            if alerts.topic_region(arn) == primary and alerts.topic_account(arn) == args.workload_account
        ]
        alarm_actions: list[pulumi.Input[str]] = [alert_topic.topic_arn, *same_account_primary]
        alarms.create(
            "alarms",
            args.prefix,
            alarm_actions,
            {
                "watchdog": (watchdog_job.function_name, _WATCHDOG_ALARM_PERIOD),
                "coverage": (coverage_job.function_name, _COVERAGE_ALARM_PERIOD),
            },
            tags,
            opts=child,
        )
        alarms.prerequisites("alarms", args.prefix, alarm_actions, tags, opts=child)

        board = dashboard.create(
            "dashboard",
            args.prefix,
            primary,
            [dashboard.DashboardType(label=t.label, backup_name=t.backup_name) for t in args.types],
            {region: args.vaults_in(region) for region in (primary, dr)},
            opts=child,
        )

        if restore.enabled:
            RestoreTesting(
                "restore-testing",
                RestoreTestingArgs(
                    prefix=args.prefix,
                    account=args.workload_account,
                    types=args.types,
                    plans=(
                        RestorePlanSpec(
                            key=region_code(primary),
                            vault_arns=list(args.vaults_in(primary).values()),
                            provider=None,
                            continuous=any(t.continuous_cross_account for t in args.types),
                        ),
                        RestorePlanSpec(
                            key=region_code(dr),
                            vault_arns=list(args.vaults_in(dr).values()),
                            provider=args.dr_provider,
                        ),
                        # Shared to this account through RAM; tests what an account-compromise
                        # recovery restores from.
                        RestorePlanSpec(
                            key="air_gapped", vault_arns=[args.air_gapped_vault_arn], provider=None
                        ),
                    ),
                    schedule=restore.schedule,
                    timezone=args.timezone,
                    start_window_hours=restore.start_window_hours,
                    selection_window_days=restore.selection_window_days,
                    validation_window_hours=restore.validation_window_hours,
                    opt_out_tag=args.opt_out_tags.all,
                    opt_out_value=args.opt_out_tags.value,
                    tags=tags,
                ),
                opts=child,
            )

        framework_arn: pulumi.Output[str] | None = None
        if audit_args is not None:
            audit = Audit("audit", audit_args, opts=child)
            framework_arn = audit.framework_arn

        self.topic_arns = {region: channel.topic_arn for region, channel in channels.items()}
        self.dashboard_name = board.dashboard_name
        self.register_outputs(
            {
                "topicArns": self.topic_arns,
                "dashboardName": self.dashboard_name,
                "frameworkArn": framework_arn,
            }
        )
