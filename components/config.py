"""Stack configuration: validated once, at the edge, before any resource is registered.

`Pulumi.<stack>.yaml` → `load()` → `StackConfig` (frozen). Components never see raw config. Every
rejection names the config key, the value given and what is allowed, in one message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components import catalog

PROJECT = "aws-dr-backup"
PRODUCTION_STACKS = frozenset({"prod"})

# Limits AWS Backup enforces: docs/aws-facts.md#2-plan-rule-constraints,
# docs/aws-facts.md#3-logically-air-gapped-vaults and docs/aws-facts.md#10-quotas.
MIN_START_WINDOW = 60
MAX_WINDOW = 52_560_000
LAG_MIN_RETENTION = 7
MAX_RETENTION_DAYS = 36_500
MAX_SELECTION_CONDITIONS = 30
# Conditions every selection already spends: the opt-out tag and the cross-region opt-out tag.
_BASE_CONDITIONS = 2

_ACCOUNT = r"^\d{12}$"
_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
_TAG_KEY = r"^[\w.:/=+@ -]+$"
_PREFIX = r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$"
_CLUSTER = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
_BUCKET_PART = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_TOPIC_ARN = r"^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w-]+$"
# What each constrained string must look like, in words, for the error message.
_PATTERN_HELP = {
    _ACCOUNT: "a 12-digit AWS account ID, quoted so YAML keeps it a string",
    _REGION: "an AWS region name such as us-east-1",
    _PREFIX: "3-20 characters: lower-case letters, digits and hyphens, starting with a letter",
    _CLUSTER: "a Kubernetes cluster name (letters, digits, '-' and '_')",
    _TAG_KEY: "a tag key (letters, digits, spaces and _.:/=+-@)",
    _EMAIL: "an e-mail address",
    _TOPIC_ARN: "an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
    _BUCKET_PART: "lower-case letters, digits and hyphens (it becomes part of an S3 bucket name)",
}
AccountId = Annotated[str, StringConstraints(pattern=_ACCOUNT)]
Region = Annotated[str, StringConstraints(pattern=_REGION)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_TAG_KEY)]
Prefix = Annotated[str, StringConstraints(pattern=_PREFIX)]
ClusterName = Annotated[str, StringConstraints(pattern=_CLUSTER)]
# AWS Backup cron: six fields inside cron(...), one of day-of-month/day-of-week is '?'.
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def bridge_bucket_name(prefix: str, cluster_name: str, service: str) -> str:
    return f"{prefix}-{cluster_name}-{service}-snapshots"


def check_cron(expression: str, field: str) -> None:
    match = _CRON.match(expression)
    if match is None:
        raise ValueError(
            f"{field} ({expression!r}) must be an AWS cron expression with six fields, "
            "e.g. 'cron(0 5 ? * * *)'"
        )
    minute, _hour, day_of_month, _, day_of_week, _ = match.groups()
    if "?" not in (day_of_month, day_of_week):
        raise ValueError(f"{field} ({expression!r}) needs '?' in day-of-month or day-of-week")
    if not minute.isdigit() or int(minute) > 59:
        raise ValueError(f"{field} ({expression!r}) must start at a fixed minute 0-59")


class ConfigError(ValueError):
    """Invalid stack configuration; the message names the key, the value and what is allowed."""


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, strict=False
    )


class Layout(StrEnum):
    SPLIT = "split"
    PARTITIONED = "partitioned"


class Environment(StrEnum):
    PRODUCTION = "production"
    STAGING = "staging"


class Accounts(_Model):
    workload: AccountId
    isolated: AccountId
    """The isolated backup account that owns the logically air-gapped vault."""

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.workload == self.isolated:
            raise ValueError(
                f"isolated must differ from workload ({self.workload}): the air-gapped copy only "
                "survives an account compromise in another account"
            )
        return self


class Regions(_Model):
    primary: Region = "us-east-1"
    dr: Region = "us-east-2"

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        if self.primary == self.dr:
            raise ValueError(f"dr must differ from primary ({self.primary}) to survive a regional outage")
        return self


class Schedules(_Model):
    cross_region: str = "cron(0 5 ? * * *)"
    cross_account: str = "cron(0 7 ? * * *)"
    timezone: str = "Etc/UTC"

    @model_validator(mode="after")
    def _cron(self) -> Self:
        for field in ("cross_region", "cross_account"):
            check_cron(getattr(self, field), to_camel(field))
        return self


class Windows(_Model):
    start_minutes: int = Field(default=60, ge=MIN_START_WINDOW, le=MAX_WINDOW)
    completion_minutes: int = Field(default=360, le=MAX_WINDOW)

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.completion_minutes <= self.start_minutes:
            raise ValueError(
                f"completionMinutes ({self.completion_minutes}) must be greater than startMinutes "
                f"({self.start_minutes})"
            )
        return self


class Lifecycle(_Model):
    delete_after_days: int = Field(ge=1, le=MAX_RETENTION_DAYS)
    cold_storage_after_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)

    @model_validator(mode="after")
    def _ninety_day_rule(self) -> Self:
        cold = self.cold_storage_after_days
        if cold is not None and self.delete_after_days < cold + catalog.COLD_STORAGE_MIN_DAYS:
            raise ValueError(
                f"deleteAfterDays ({self.delete_after_days}) must be at least coldStorageAfterDays + "
                f"{catalog.COLD_STORAGE_MIN_DAYS} ({cold + catalog.COLD_STORAGE_MIN_DAYS}): AWS Backup keeps "
                "cold-storage recovery points for 90 days at least"
            )
        return self


class Retention(_Model):
    in_region: Lifecycle = Lifecycle(delete_after_days=1)
    cross_region_copy: Lifecycle = Lifecycle(delete_after_days=3)
    air_gapped_copy: Lifecycle = Lifecycle(delete_after_days=7)
    s3_continuous_days: int = Field(default=catalog.MAX_CONTINUOUS_DAYS, ge=1, le=catalog.MAX_CONTINUOUS_DAYS)


class ShareWith(StrEnum):
    """How the air-gapped vault's RAM share reaches the workload account (docs/ram-sharing.md)."""

    ORGANIZATION = "organization"
    """RAM sharing with AWS Organizations is enabled: no invitation; the share stays inside the organisation."""
    INVITATION = "invitation"
    """It is not: RAM treats the workload account as external and sends an invitation it must accept."""


class AirGappedVault(_Model):
    min_retention_days: int = Field(default=LAG_MIN_RETENTION, ge=LAG_MIN_RETENTION, le=MAX_RETENTION_DAYS)
    max_retention_days: int = Field(default=35, ge=LAG_MIN_RETENTION, le=MAX_RETENTION_DAYS)
    share_with: ShareWith = ShareWith.ORGANIZATION
    """The organisation's RAM set-up. Default ``organization``: cross-account backup already needs both
    accounts in one organisation, and nothing has to be accepted (docs/ram-sharing.md)."""

    @model_validator(mode="before")
    @classmethod
    def _retired_accept_share(cls, data: Any) -> Any:
        # The boolean could not say which RAM set-up the organisation has; name what replaced it.
        if isinstance(data, Mapping) and "acceptShare" in data:
            raise ValueError(
                f"acceptShare ({data['acceptShare']!r}) is no longer a setting: remove acceptShare and set "
                "shareWith: organization (RAM sharing with AWS Organizations is enabled, nothing to accept) "
                "or shareWith: invitation (it is not; the workload account accepts the share)"
            )
        return data

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.max_retention_days < self.min_retention_days:
            raise ValueError(
                f"maxRetentionDays ({self.max_retention_days}) must be at least minRetentionDays "
                f"({self.min_retention_days})"
            )
        return self


class OptOutTags(_Model):
    all: TagKey = "exclude-disaster-recovery-backup"
    cross_region: TagKey = "exclude-cross-region-backup"
    value: str = "true"


class TypeToggle(_Model):
    active: bool = True


# Region-settings value of every resource type the stack does not protect, unless otherTypes /
# otherManagement name it: AWS's own value for an account that starts using AWS Backup in a region.
REGION_SETTINGS_OTHER_DEFAULT = True


def _check_known(keys: Mapping[str, bool], known: tuple[str, ...], what: str) -> None:
    for key in keys:
        if key not in known:
            raise ValueError(f"{key!r} {what}; allowed: {', '.join(known)}")


class RegionSettings(_Model):
    manage: bool = True
    """Own the account's AWS Backup region settings in both regions: the whole opt-in and
    management-preference maps (docs/region-settings.md). Turn off where another stack owns them."""
    other_types: dict[str, StrictBool] = {}
    """Opt-in of types the stack does not protect, by AWS Backup name; unnamed ones are
    ``REGION_SETTINGS_OTHER_DEFAULT``. Protected types are always opted in."""
    other_management: dict[str, StrictBool] = {}
    """Full-management preference of types the stack does not protect (CloudFormation, DSQL, ...)."""

    @field_validator("other_types")
    @classmethod
    def _known_types(cls, value: dict[str, bool]) -> dict[str, bool]:
        _check_known(
            value, catalog.REGION_SETTINGS_OPT_IN_TYPES, "is not a resource type of the region settings"
        )
        return value

    @field_validator("other_management")
    @classmethod
    def _known_management(cls, value: dict[str, bool]) -> dict[str, bool]:
        _check_known(value, catalog.REGION_SETTINGS_MANAGEMENT_TYPES, "has no management preference")
        return value


# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
MAX_BUCKET_NAME = 63
WATCHDOG_INTERVAL_MINUTES = 15


class Bridge(_Model):
    """A snapshot bridge for a service AWS Backup cannot protect."""

    cluster_name: Annotated[str, StringConstraints(pattern=_BUCKET_PART)]
    """Names the bucket ``<prefix>-<clusterName>-<service>-snapshots``."""
    schedule: str | None = None
    """EventBridge Scheduler expression; the bridge's default when unset."""
    vpc_subnet_ids: tuple[str, ...] = ()
    vpc_security_group_ids: tuple[str, ...] = ()


class Bridges(_Model):
    opensearch: Bridge | None = None
    memorydb: Bridge | None = None


class Alerts(_Model):
    emails: tuple[Annotated[str, StringConstraints(pattern=_EMAIL)], ...] = ()
    topic_arns: tuple[Annotated[str, StringConstraints(pattern=_TOPIC_ARN)], ...] = ()
    """Existing SNS topics that receive every alert too (e.g. a paging integration)."""


class RestoreTesting(_Model):
    enabled: bool = True
    schedule: str = "cron(0 10 ? * SAT *)"
    start_window_hours: int = Field(default=24, ge=1, le=168)
    selection_window_days: int = Field(default=7, ge=1, le=365)
    validation_window_hours: int = Field(default=4, ge=0, le=168)

    @model_validator(mode="after")
    def _cron(self) -> Self:
        check_cron(self.schedule, "schedule")
        return self


class Operations(_Model):
    alerts: Alerts = Alerts()
    create_reports_role: bool = True
    """Create the Backup Audit Manager reports service-linked role; turn off where the account has it."""
    long_running_job_minutes: int = Field(default=330, ge=15)
    """Alert when a backup or copy job has run longer than this; must be below the completion window."""
    coverage_schedule: str = "cron(0 9 * * ? *)"
    recent_backup_hours: int = Field(default=26, ge=1, le=24 * 35)
    restore_testing: RestoreTesting = RestoreTesting()
    audit: bool = True

    @model_validator(mode="after")
    def _cron(self) -> Self:
        check_cron(self.coverage_schedule, "coverageSchedule")
        return self


class StackConfig(_Model):
    """The whole validated configuration of one stack."""

    environment: Environment
    accounts: Accounts
    regions: Regions = Regions()
    isolated_account_role: str
    """Role the archive provider assumes in the isolated account: a name or a full role ARN."""
    prefix: Prefix
    tags: dict[TagKey, Annotated[str, StringConstraints(max_length=256)]] = {}
    layout: Layout = Layout.PARTITIONED
    schedules: Schedules = Schedules()
    windows: Windows = Windows()
    retention: Retention = Retention()
    air_gapped_vault: AirGappedVault = AirGappedVault()
    opt_out_tags: OptOutTags = OptOutTags()
    kubernetes_clusters: tuple[ClusterName, ...] = ()
    resource_types: dict[str, TypeToggle] = {}
    region_settings: RegionSettings = RegionSettings()
    bridges: Bridges = Bridges()
    operations: Operations = Operations()
    log_retention_days: int = 30
    """Retention of every scheduled job's logs (bridges, watchdog, coverage)."""

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        unknown = sorted(set(self.resource_types) - set(catalog.TYPE_KEYS))
        if unknown:
            raise ValueError(
                f"resourceTypes has unknown type {unknown[0]!r}; allowed: {', '.join(catalog.TYPE_KEYS)}"
            )
        if self.environment is Environment.PRODUCTION:
            off = [k for k, t in self.resource_types.items() if not t.active]
            if off:
                raise ValueError(
                    f"resourceTypes.{off[0]}.active is false, but a production stack protects every "
                    "resource type: remove the toggle"
                )
        copy = self.retention.air_gapped_copy
        vault = self.air_gapped_vault
        if not vault.min_retention_days <= copy.delete_after_days <= vault.max_retention_days:
            raise ValueError(
                f"retention.airGappedCopy.deleteAfterDays ({copy.delete_after_days}) must lie within the "
                f"air-gapped vault's retention range [{vault.min_retention_days}, {vault.max_retention_days}] "
                "or every copy into it fails"
            )
        if copy.cold_storage_after_days is not None:
            raise ValueError(
                "retention.airGappedCopy.coldStorageAfterDays must be unset: recovery points in the "
                "air-gapped vault stay in warm storage"
            )
        budget = MAX_SELECTION_CONDITIONS - _BASE_CONDITIONS
        if len(self.kubernetes_clusters) > budget:
            raise ValueError(
                f"kubernetesClusters has {len(self.kubernetes_clusters)} entries; at most {budget} fit in "
                f"one backup selection ({MAX_SELECTION_CONDITIONS} conditions)"
            )
        opt_outs = {self.opt_out_tags.all, self.opt_out_tags.cross_region} & set(self.tags)
        if opt_outs:
            raise ValueError(
                f"tags must not set {sorted(opt_outs)[0]}: the providers apply stack tags to every resource, "
                "so the stack's own buckets would opt out of their protection"
            )
        s3_active = self.resource_types.get("s3", TypeToggle()).active
        if not s3_active and (self.bridges.opensearch or self.bridges.memorydb):
            raise ValueError(
                "resourceTypes.s3.active is false, but bridges are configured: their snapshot buckets are "
                "only protected by the S3 plans; switch S3 on or remove the bridges"
            )
        threshold = self.operations.long_running_job_minutes
        if threshold + WATCHDOG_INTERVAL_MINUTES > self.windows.completion_minutes:
            raise ValueError(
                f"operations.longRunningJobMinutes ({threshold}) must be at most windows.completionMinutes "
                f"({self.windows.completion_minutes}) minus the watchdog's {WATCHDOG_INTERVAL_MINUTES}-minute "
                "interval: AWS cancels a job at the completion window, so a watchdog run must see it first"
            )
        regions = {self.regions.primary, self.regions.dr}
        for arn in self.operations.alerts.topic_arns:
            if arn.split(":")[3] not in regions:
                raise ValueError(
                    f"operations.alerts.topicArns has {arn}: EventBridge delivers only to topics in the rule's "
                    f"own region, so it must be in {self.regions.primary} or {self.regions.dr}"
                )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"logRetentionDays ({self.log_retention_days}) must be one of CloudWatch Logs' periods: "
                + ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
            )
        for service, bridge in (("opensearch", self.bridges.opensearch), ("memorydb", self.bridges.memorydb)):
            if bridge is not None:
                bucket = bridge_bucket_name(self.prefix, bridge.cluster_name, service)
                if len(bucket) > MAX_BUCKET_NAME:
                    raise ValueError(
                        f"bridges.{service}.clusterName ({bridge.cluster_name}) makes the bucket name {bucket} "
                        f"{len(bucket)} characters long; S3 allows {MAX_BUCKET_NAME}"
                    )
        role = self.isolated_account_role
        if role.startswith("arn:"):
            match = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):role/[\w+=,.@/-]+", role)
            if match is None or match.group(1) != self.accounts.isolated:
                raise ValueError(
                    f"isolatedAccountRole ({role}) must be a role name or a role ARN in the isolated "
                    f"account {self.accounts.isolated}"
                )
        elif not _ROLE_NAME.match(role):
            raise ValueError(f"isolatedAccountRole ({role!r}) must be an IAM role name or role ARN")
        return self

    @model_validator(mode="after")
    def _region_settings_leave_protected_types_alone(self) -> Self:
        active = self.active_types
        for key, named, protected in (
            ("otherTypes", self.region_settings.other_types, {t.backup_name for t in active}),
            (
                "otherManagement",
                self.region_settings.other_management,
                {t.backup_name for t in active if t.region_management},
            ),
        ):
            for name in sorted(set(named) & protected):
                raise ValueError(
                    f"regionSettings.{key}.{name} ({named[name]!r}): {name} is protected by this stack, which "
                    "always turns it on; remove it"
                )
        return self

    @property
    def active_types(self) -> tuple[catalog.ResourceType, ...]:
        return tuple(t for t in catalog.CATALOG if self.resource_types.get(t.key, TypeToggle()).active)

    @property
    def isolated_role_arn(self) -> str:
        role = self.isolated_account_role
        return role if role.startswith("arn:") else f"arn:aws:iam::{self.accounts.isolated}:role/{role}"


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown setting; check the spelling against README 'Configuration'"
    if kind == "missing":
        return "required setting is missing"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        return f"must be {_PATTERN_HELP.get(pattern, f'a string matching {pattern}')}"
    if kind == "string_type":
        return "must be a string (quote it in the stack file)"
    return str(error["msg"]).removeprefix("Value error, ")


def _location(loc: tuple[int | str, ...]) -> str:
    # Pydantic reports the failing model-validator's own location; with aliases the path is camelCase.
    return ".".join(str(part) for part in loc)


def _value_at(raw: Mapping[str, Any], loc: tuple[int | str, ...]) -> Any:
    value: Any = raw
    for part in loc:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list | tuple) and isinstance(part, int) and 0 <= part < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def parse(raw: Mapping[str, Any], stack: str) -> StackConfig:
    """Validate raw config (keys without the project namespace) or raise one ConfigError."""
    try:
        config = StackConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = _describe(error)
            if not loc:
                # Whole-stack checks name their keys in the message itself.
                lines.append(f"{PROJECT}:{message}")
                continue
            given = _value_at(raw, loc)
            shown = "" if given is None or isinstance(given, Mapping) else f" = {given!r}"
            lines.append(f"{PROJECT}:{_location(loc)}{shown}: {message}")
        raise ConfigError(f"Invalid configuration for stack '{stack}':\n  " + "\n  ".join(lines)) from None
    if stack in PRODUCTION_STACKS and config.environment is not Environment.PRODUCTION:
        raise ConfigError(
            f"Invalid configuration for stack '{stack}':\n  {PROJECT}:environment = "
            f"{config.environment.value!r}: stack '{stack}' must be 'production'"
        )
    return config


def from_namespaced(values: Mapping[str, Any]) -> dict[str, Any]:
    """Keep this project's keys (``aws-dr-backup:x``), dropping the namespace; ignore other namespaces."""
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
