"""Stack configuration: validated once, at the edge, before any resource is registered.

`Pulumi.<stack>.yaml` → `load()` → `StackConfig` (frozen). Components never see raw config. Every
rejection names the config key, the value given and what is allowed, in one message.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
import re
import types
import typing
import zoneinfo
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
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

from components import stagger
from dr_model import backup_selection, catalog, cron
from dr_model.naming import ROLE_ARN, ROLE_NAME, SECURITY_GROUP_ID
from dr_runtime.operations.coverage_settings import DEFAULT_RECENT_HOURS
from dr_runtime.operations.watchdog_settings import (
    DEFAULT_COMPLETION_WINDOW_MINUTES,
    DEFAULT_THRESHOLD_MINUTES,
)
from dr_runtime.operations.watchdog_settings import INTERVAL_MINUTES as WATCHDOG_INTERVAL_MINUTES
from dr_runtime.vault_names import air_gapped_share_name as air_gapped_share_name
from dr_runtime.vault_names import air_gapped_vault_name, locked_vault_name, vault_arn

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

# Tags the providers put on every resource besides the stack's own (docs/config-limits.md).
PROJECT_TAG_KEY = "pulumi-project"
"""Carried by every taggable resource of a workload stack (provider default tags), with the value ``PROJECT``:
the organisation's guardrails find the stacks' backup plans by it (org/scp_documents.py)."""
PROVIDER_TAGS = {"managed-by": "pulumi", PROJECT_TAG_KEY: PROJECT}
MAX_TAGS_PER_RESOURCE = 50
# The operations ledger also carries the opt-out tag itself.
MAX_STACK_TAGS = MAX_TAGS_PER_RESOURCE - len(PROVIDER_TAGS) - 1
RESERVED_TAG_PREFIX = "aws:"
# EventBridge delivers a rule to at most 5 targets; each alert rule spends one on the stack's own topic.
MAX_TARGETS_PER_RULE = 5
# Lambda VpcConfig (botocore lambda model): at most 16 subnets and 5 security groups.
MAX_LAMBDA_SUBNETS = 16
MAX_LAMBDA_SECURITY_GROUPS = 5
S3_RESERVED_STARTS = ("xn--", "sthree-", "amzn-s3-demo-")

_ACCOUNT = r"^[0-9]{12}$"
_TAG_KEY = r"^[\w.:/=+@ -]+$"
_TAG_VALUE = r"^[\w.:/=+@ -]*$"
_PREFIX = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"
_CLUSTER = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
_BUCKET_PART = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
_TOPIC_ARN = r"^arn:aws:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"
_SUBNET = r"^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$"
# Backup vault names, standard and logically air-gapped (botocore backup BackupVaultName).
_VAULT_NAME = r"^[a-zA-Z0-9\-_]{2,50}$"
_BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
# An EventBridge event bus ARN (botocore events EventBusName: 1-256 of [/\.\-_A-Za-z0-9]).
_EVENT_BUS_ARN = r"^arn:aws:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]{1,256}$"
# A RAM resource share ARN: the share's ID is a UUID AWS picks, so it is not spelled from names.
_RAM_SHARE_ARN = r"^arn:aws(?:-[a-z]+)*:ram:[a-z0-9-]+:[0-9]{12}:resource-share/[A-Za-z0-9-]{1,64}$"
# What each constrained string must look like, in words, for the error message.
_PATTERN_HELP = {
    _ACCOUNT: "a 12-digit AWS account ID, quoted so YAML keeps it a string",
    _PREFIX: "3-20 characters: lower-case letters, digits and single hyphens, starting with a letter",
    _CLUSTER: "a Kubernetes cluster name (letters, digits, '-' and '_')",
    _TAG_KEY: "a tag key: letters, digits, spaces and _ . : / = + - @",
    _TAG_VALUE: "a tag value: letters, digits, spaces and _ . : / = + - @",
    _EMAIL: "an e-mail address",
    _TOPIC_ARN: "an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
    _BUCKET_PART: "lower-case letters, digits and single hyphens (it becomes part of an S3 bucket name)",
    _SUBNET: "a subnet ID (subnet- and 8 or 17 hex digits)",
    SECURITY_GROUP_ID: "a security group ID (sg- and 8 or 17 hex digits)",
    _VAULT_NAME: "a backup vault name: 2-50 letters, digits, hyphens and underscores",
    _BUCKET_NAME: "an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens",
    _EVENT_BUS_ARN: "an EventBridge event bus ARN, arn:aws:events:<region>:<12-digit account>:event-bus/<name>",
    _RAM_SHARE_ARN: "a RAM resource share ARN, arn:aws:ram:<region>:<12-digit account>:resource-share/<id>",
}


def _not_reserved(value: str) -> str:
    if value.lower().startswith(RESERVED_TAG_PREFIX):
        raise ValueError(
            f"tag keys and values starting with '{RESERVED_TAG_PREFIX}' (any case) are reserved for AWS"
        )
    return value


@functools.cache
def backup_regions() -> tuple[frozenset[str], str]:
    """Regions of the standard partition where AWS Backup has an endpoint, from botocore's own
    endpoint data (what ``Session().get_available_regions('backup')`` returns), and botocore's version.

    Read from the data file rather than through botocore's resolver: importing that costs ~130 ms.
    """
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        return frozenset(), "not installed"
    package = Path(spec.origin).parent
    data = package / "data" / "endpoints.json"
    text = (
        data.read_bytes()
        if data.is_file()
        else gzip.decompress((package / "data" / "endpoints.json.gz").read_bytes())
    )
    version = re.search(r"__version__ = ['\"]([^'\"]+)", (package / "__init__.py").read_text())
    partition = next(p for p in json.loads(text)["partitions"] if p["partition"] == "aws")
    endpoints = partition["services"]["backup"]["endpoints"]
    regions = frozenset(
        name
        for name, endpoint in endpoints.items()
        if name in partition["regions"] and not endpoint.get("deprecated", False)
    )
    return regions, version.group(1) if version else "unknown"


def _edits(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn ``a`` into ``b``."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _aws_region(value: str) -> str:
    regions, version = backup_regions()
    if value in regions:
        return value
    if not regions:
        raise ValueError(
            "cannot be checked: botocore (requirements.txt), whose endpoint data lists the regions, is missing"
        )
    close = sorted((_edits(value, region), region) for region in regions)
    hint = f" (did you mean {close[0][1]}?)" if close and close[0][0] <= 2 else ""
    raise ValueError(
        f"not an AWS region where AWS Backup runs{hint}; the regions of botocore {version}'s endpoint data are "
        + ", ".join(sorted(regions))
    )


_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*")


def _time_zone(value: str) -> str:
    # Names of the IANA database as zoneinfo.available_timezones() lists them, without its ~100 ms scan.
    named = _ZONE.fullmatch(value) and value not in ("posixrules", "localtime", "Factory")
    if named and value.split("/")[0] not in ("posix", "right"):
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return value
    if value in ("Etc/UTC", "UTC"):
        return value  # the default works even where the machine has no time zone database
    raise ValueError("must be an IANA time zone name such as Etc/UTC, Europe/Berlin or America/New_York")


def _schedule(parse: Callable[[str], object], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            parsed = parse(value)
        except cron.ScheduleError as exc:
            raise ValueError(f"{exc}; allowed: {what}") from None
        if isinstance(parsed, cron.At):
            raise ValueError(f"at(...) runs the job only once; allowed: {what}")
        return value

    return check


def _bucket_safe_prefix(value: str) -> str:
    # Bucket names start with the prefix; S3 reserves these starts (bucketnamingrules.html).
    if f"{value}-".startswith(S3_RESERVED_STARTS):
        raise ValueError(
            f"S3 bucket names cannot start with {' or '.join(S3_RESERVED_STARTS)}; choose another prefix"
        )
    return value


def _each_once(values: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice; list each once")
        seen.add(value)
    return values


AccountId = Annotated[str, StringConstraints(pattern=_ACCOUNT)]
Region = Annotated[str, AfterValidator(_aws_region)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
TagKey = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=_TAG_KEY), AfterValidator(_not_reserved)
]
TagValue = Annotated[
    str, StringConstraints(max_length=256, pattern=_TAG_VALUE), AfterValidator(_not_reserved)
]
Prefix = Annotated[
    str, StringConstraints(min_length=3, max_length=20, pattern=_PREFIX), AfterValidator(_bucket_safe_prefix)
]
ClusterName = Annotated[str, StringConstraints(pattern=_CLUSTER)]
BackupSchedule = Annotated[
    str, AfterValidator(_schedule(cron.parse_backup_cron, "an AWS Backup rule: cron(...), at most hourly"))
]
RestoreSchedule = Annotated[
    str, AfterValidator(_schedule(cron.parse_cron, "AWS Backup restore testing: cron(...)"))
]
JobSchedule = Annotated[
    str, AfterValidator(_schedule(cron.parse_scheduler, "an EventBridge Scheduler cron(...) or rate(...)"))
]


DEFAULT_DEPLOYMENT_ROLE = "aws-dr-backup-deploy"
"""The workload account's deploy role that deploy/pulumi-cloud/README.md has each account create."""


def role_arn(role: str, account: str) -> str:
    """A role given by name (in ``account``) or by ARN, as an ARN."""
    return role if role.startswith("arn:") else f"arn:aws:iam::{account}:role/{role}"


def bridge_bucket_name(prefix: str, cluster_name: str, service: str) -> str:
    return f"{prefix}-{cluster_name}-{service}-snapshots"


class ConfigError(ValueError):
    """Invalid stack configuration; the message names the key, the value and what is allowed."""


class _Model(BaseModel):
    # Strict: an int is an int (not true, not "30", not 30.0) and a bool is true or false. Top-level
    # scalars arrive from the Pulumi engine as strings; parse() converts those before validation.
    # Validators are built when first used (StackConfig's takes in every section it nests), not for each
    # model as its class is defined: a sixth of the config module's import.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        strict=True,
        defer_build=True,
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
    cross_region: BackupSchedule = "cron(0 5 ? * * *)"
    cross_account: BackupSchedule = "cron(0 7 ? * * *)"
    timezone: TimeZone = "Etc/UTC"
    """IANA time zone of every backup and restore-testing schedule."""
    stagger_minutes: int = Field(default=0, ge=0, le=stagger.MAX_WINDOW_MINUTES)
    """Spread the fleet: both rules start later by an offset from the workload account's id within this
    many minutes (``components/stagger.py``); 0, the default, moves nothing."""

    @model_validator(mode="after")
    def _staggerable(self) -> Self:
        if self.stagger_minutes:
            for key, expression in (("crossRegion", self.cross_region), ("crossAccount", self.cross_account)):
                reason = cron.parse_backup_cron(expression).skipped_days()
                if reason is not None:
                    raise ValueError(
                        f"staggerMinutes ({self.stagger_minutes}) needs daily schedules, and {key} "
                        f"{expression!r} is not: {reason}; set staggerMinutes: 0 or a daily {key}"
                    )
        return self

    def staggered(self, expression: str, account: str) -> str:
        """``expression`` as the stack's rules use it: moved by the account's offset when staggered."""
        return stagger.shifted(expression, stagger.offset(account, self.stagger_minutes))


class Windows(_Model):
    start_minutes: int = Field(default=60, ge=MIN_START_WINDOW, le=MAX_WINDOW)
    completion_minutes: int = Field(default=DEFAULT_COMPLETION_WINDOW_MINUTES, le=MAX_WINDOW)

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
    share_arn: Annotated[str, StringConstraints(pattern=_RAM_SHARE_ARN)] | None = None
    """``invitation`` only, and required there: the share the isolated stack created for this account (its
    output ``ramShareArns``, this account's entry), which this stack accepts with the workload account's
    credentials (docs/isolated-account.md)."""
    name: Annotated[str, StringConstraints(pattern=_VAULT_NAME)] | None = None
    """The vault's name in the isolated account; default ``<prefix>-<workload account>-air-gapped``. An
    air-gapped vault cannot be renamed in place (it is protected and locked): a stack deployed before
    names carried the account keeps its vault with ``name: <prefix>-air-gapped``."""

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


class VaultLockMode(StrEnum):
    """How the workload vaults are locked (docs/guardrails.md#vault-lock-on-the-workload-vaults)."""

    GOVERNANCE = "governance"
    """A principal allowed ``backup:DeleteBackupVaultLockConfiguration`` may still remove the lock; no one
    else can delete a recovery point early or shorten its lifecycle."""
    COMPLIANCE = "compliance"
    """After ``changeableForDays`` the lock can no longer be changed or removed by anyone, root included."""


# Vault Lock limits (botocore 1.43.11 PutBackupVaultLockConfigurationInput; docs/aws-facts.md#3-logically-air-gapped-vaults, 3.12-3.13):
# a 72-hour cooling-off, so at least 3 days of grace; grace and retention at most 36,500 days; a minimum
# retention of at least 1 day.
MIN_LOCK_CHANGEABLE_DAYS = 3
MIN_LOCK_RETENTION_DAYS = 1


def _between(low: int, high: int, unit: str, why: str = "") -> Callable[[int], int]:
    """A whole number from ``low`` to ``high`` ``unit``; the message says the range and, if given, why."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be {low} to {high} {unit}" + (f" ({why})" if why else ""))
        return value

    return check


class ScanMode(StrEnum):
    """How GuardDuty scans a recovery point (``PlanRuleScanAction.ScanMode``)."""

    INCREMENTAL = "incremental"
    """Only what changed since the last scanned recovery point of the resource (the first one in full)."""
    FULL = "full"
    """The whole recovery point every time."""

    @property
    def api_value(self) -> str:
        return {"incremental": "INCREMENTAL_SCAN", "full": "FULL_SCAN"}[self.value]


class MalwareScanning(_Model):
    """GuardDuty Malware Protection for AWS Backup on the recovery points of the types it scans (S3, EBS).
    Off by default: GuardDuty bills every scan by the data it reads (docs/malware-scanning.md)."""

    enabled: bool = False
    scanner_role: str | None = None
    """Required when enabled: the role GuardDuty assumes to read the recovery points (a name or a role ARN
    in the workload account; it trusts ``malware-protection.guardduty.amazonaws.com``), created outside the
    stack with the permissions GuardDuty documents."""
    mode: ScanMode = ScanMode.INCREMENTAL


class VaultLock(_Model):
    """The Vault Lock on every workload-side vault (each type's vault in both regions)."""

    mode: VaultLockMode = VaultLockMode.GOVERNANCE
    changeable_for_days: (
        Annotated[
            int,
            AfterValidator(
                _between(
                    MIN_LOCK_CHANGEABLE_DAYS,
                    MAX_RETENTION_DAYS,
                    "days",
                    "AWS Backup's 72-hour cooling-off makes 3 the least grace period",
                )
            ),
        ]
        | None
    ) = None
    """Compliance mode only, and required there: the days before the lock becomes immutable."""
    min_retention_days: (
        Annotated[
            int,
            AfterValidator(
                _between(MIN_LOCK_RETENTION_DAYS, MAX_RETENTION_DAYS, "days", "AWS Backup Vault Lock's range")
            ),
        ]
        | None
    ) = None
    """Default: per vault, the shortest retention any rule or copy action of the stack gives a recovery point
    there. Given, it applies to every workload vault and must not exceed the stack's shortest retention."""
    max_retention_days: (
        Annotated[
            int,
            AfterValidator(
                _between(MIN_LOCK_RETENTION_DAYS, MAX_RETENTION_DAYS, "days", "AWS Backup Vault Lock's range")
            ),
        ]
        | None
    ) = None
    """Default: none. Given, every workload vault refuses jobs keeping a recovery point longer; it must not be
    below the stack's longest retention."""

    @model_validator(mode="after")
    def _grace_only_in_compliance(self) -> Self:
        if self.mode is VaultLockMode.COMPLIANCE and self.changeable_for_days is None:
            raise ValueError(
                "mode is compliance but changeableForDays is not set: give the grace period before the lock "
                f"becomes immutable ({MIN_LOCK_CHANGEABLE_DAYS} to {MAX_RETENTION_DAYS} days)"
            )
        if self.mode is VaultLockMode.GOVERNANCE and self.changeable_for_days is not None:
            raise ValueError(
                f"changeableForDays ({self.changeable_for_days}) is set but mode is governance: AWS Backup "
                "treats a lock with a grace period as compliance mode; set mode: compliance or remove it"
            )
        low, high = self.min_retention_days, self.max_retention_days
        if low is not None and high is not None and high < low:
            raise ValueError(f"maxRetentionDays ({high}) must be at least minRetentionDays ({low})")
        return self


class OptOutTags(_Model):
    all: TagKey = backup_selection.DEFAULT_OPT_OUT_TAG
    cross_region: TagKey = backup_selection.DEFAULT_CROSS_REGION_OPT_OUT_TAG
    value: Annotated[TagValue, StringConstraints(min_length=1)] = backup_selection.DEFAULT_OPT_OUT_VALUE

    @model_validator(mode="after")
    def _distinct_keys(self) -> Self:
        if self.all == self.cross_region:
            raise ValueError(
                f"all and crossRegion are both {self.all!r}: a resource could not opt out of the cross-region "
                "copy alone; give them different keys"
            )
        for field, key in (("all", self.all), ("crossRegion", self.cross_region)):
            if key == catalog.CLUSTER_ENGINE_TAG or key.startswith(catalog.KUBERNETES_CLUSTER_TAG_PREFIX):
                raise ValueError(
                    f"{field} ({key!r}) is a tag the selections already read for another purpose; choose "
                    "another key"
                )
        return self


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


class Bridge(_Model):
    """A snapshot bridge for a service AWS Backup cannot protect."""

    cluster_name: Annotated[str, StringConstraints(pattern=_BUCKET_PART)]
    """Names the bucket ``<prefix>-<clusterName>-<service>-snapshots``."""
    schedule: JobSchedule | None = None
    """EventBridge Scheduler expression; the bridge's default when unset."""


class VpcBridge(Bridge):
    """A bridge whose function may run inside a VPC (OpenSearch domains that are VPC-only)."""

    vpc_subnet_ids: Annotated[
        tuple[Annotated[str, StringConstraints(pattern=_SUBNET)], ...],
        Field(max_length=MAX_LAMBDA_SUBNETS),
        AfterValidator(_each_once),
    ] = ()
    vpc_security_group_ids: Annotated[
        tuple[Annotated[str, StringConstraints(pattern=SECURITY_GROUP_ID)], ...],
        Field(max_length=MAX_LAMBDA_SECURITY_GROUPS),
        AfterValidator(_each_once),
    ] = ()

    @model_validator(mode="after")
    def _together(self) -> Self:
        if bool(self.vpc_subnet_ids) != bool(self.vpc_security_group_ids):
            given, missing = (
                ("vpcSubnetIds", "vpcSecurityGroupIds")
                if self.vpc_subnet_ids
                else ("vpcSecurityGroupIds", "vpcSubnetIds")
            )
            raise ValueError(
                f"{given} is set but {missing} is not: a function in a VPC needs both its subnets and its "
                "security groups; give both or neither"
            )
        return self


class Bridges(_Model):
    opensearch: VpcBridge | None = None
    memorydb: Bridge | None = None
    """MemoryDB's export runs through its API, never inside a VPC: no VPC settings."""


class Alerts(_Model):
    emails: Annotated[
        tuple[Annotated[str, StringConstraints(max_length=254, pattern=_EMAIL)], ...],
        AfterValidator(_each_once),
    ] = ()
    topic_arns: Annotated[
        tuple[Annotated[str, StringConstraints(pattern=_TOPIC_ARN)], ...], AfterValidator(_each_once)
    ] = ()
    """Existing SNS topics that receive every alert too (e.g. a paging integration)."""


# Restore time objective per resource (minutes) and the largest this config takes: AWS documents no
# maximum for the control's maxRestoreTime; a week is far beyond any restore test's windows.
RESTORE_TIME_TARGET_MINUTES = 240
MAX_RESTORE_TIME_TARGET_MINUTES = 7 * 24 * 60


# A restore-testing selection's validation window: the Terraform AWS provider that pulumi-aws bridges refuses
# anything outside 1-168 hours when the engine checks the inputs (docs/aws-facts.md, 8.3).
VALIDATION_WINDOW_HOURS = (1, 168)


class RestoreTesting(_Model):
    enabled: bool = True
    schedule: RestoreSchedule = "cron(0 10 ? * SAT *)"
    start_window_hours: int = Field(default=24, ge=1, le=168)
    selection_window_days: int = Field(default=7, ge=1, le=365)
    validation_window_hours: Annotated[int, AfterValidator(_between(*VALIDATION_WINDOW_HOURS, "hours"))] = 4
    """How long a restored resource is kept for validation before AWS deletes it (docs/aws-facts.md, 8.3)."""
    target_minutes: int = Field(default=RESTORE_TIME_TARGET_MINUTES, ge=1, le=MAX_RESTORE_TIME_TARGET_MINUTES)
    """Restore time objective per resource: Audit Manager's RESTORE_TIME_FOR_RESOURCES_MEET_TARGET
    control compares each tested restore's measured time with it."""


class Operations(_Model):
    alerts: Alerts = Alerts()
    create_reports_role: bool = True
    """Create the Backup Audit Manager reports service-linked role; turn off where the account has it."""
    long_running_job_minutes: int = Field(default=DEFAULT_THRESHOLD_MINUTES, ge=WATCHDOG_INTERVAL_MINUTES)
    """Alert when a backup or copy job has run longer than this; must be below the completion window."""
    coverage_schedule: JobSchedule = "cron(0 9 * * ? *)"
    recent_backup_hours: int = Field(default=DEFAULT_RECENT_HOURS, ge=1, le=24 * 35)
    restore_testing: RestoreTesting = RestoreTesting()
    audit: bool = True
    fleet_bucket: Annotated[str, StringConstraints(pattern=_BUCKET_NAME)] | None = None
    """The organisation stack's fleet bucket (its output ``fleetBucketName``): the coverage job also writes
    its report there, under this account's own prefix (docs/organisation.md)."""


class StackConfig(_Model):
    """The whole validated configuration of one stack."""

    environment: Environment
    accounts: Accounts
    isolated_account: AccountId | None = None
    """The fleet's isolated account, for ``Pulumi.yaml``: it fills ``accounts.isolated`` in every stack that
    gives only its workload account; ``accounts.isolated``, where a stack gives it, wins."""
    regions: Regions = Regions()
    isolated_account_role: str | None = None
    """Retired, accepted and ignored for one release: a workload stack no longer reaches the isolated
    account, whose resources the isolated project registers (docs/isolated-account.md). Still checked when
    given, so a typo is not silently kept; the program warns that it is unused."""
    deployment_role: str = DEFAULT_DEPLOYMENT_ROLE
    """The role ``pulumi up`` runs as in the workload account (a name or a role ARN there): the only principal
    besides the backup roles that the workload vaults' access policies let delete recovery points, change
    their lifecycle or the policy itself (docs/guardrails.md#vault-lock-on-the-workload-vaults)."""
    prefix: Prefix
    tags: Annotated[dict[TagKey, TagValue], Field(max_length=MAX_STACK_TAGS)] = {}
    layout: Layout = Layout.PARTITIONED
    schedules: Schedules = Schedules()
    windows: Windows = Windows()
    retention: Retention = Retention()
    air_gapped_vault: AirGappedVault = AirGappedVault()
    vault_lock: VaultLock = VaultLock()
    malware_scanning: MalwareScanning = MalwareScanning()
    opt_out_tags: OptOutTags = OptOutTags()
    kubernetes_clusters: Annotated[tuple[ClusterName, ...], AfterValidator(_each_once)] = ()
    resource_types: dict[str, TypeToggle] = {}
    region_settings: RegionSettings = RegionSettings()
    bridges: Bridges = Bridges()
    operations: Operations = Operations()
    log_retention_days: int = 30
    """Retention of every scheduled job's logs (bridges, watchdog, coverage)."""
    verifier_event_bus: Annotated[str, StringConstraints(pattern=_EVENT_BUS_ARN)] | None = None
    """The verifier's event bus (the organisation stack's output ``verifierEventBusArn``): both Regions'
    AWS Backup events and vault-key calls are forwarded there (``components/event_forwarding.py``). Set
    once for the fleet in Pulumi.yaml; required for a production stack; unset, nothing is forwarded."""

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
        fixed = sorted(set(PROVIDER_TAGS) & set(self.tags))
        if fixed:
            raise ValueError(
                f"tags must not set {fixed[0]}: the providers set it on every resource "
                f"({', '.join(f'{k}={v}' for k, v in PROVIDER_TAGS.items())}); remove it"
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
        for region in sorted(regions):
            here = [arn for arn in self.operations.alerts.topic_arns if arn.split(":")[3] == region]
            if len(here) > MAX_TARGETS_PER_RULE - 1:
                raise ValueError(
                    f"operations.alerts.topicArns has {len(here)} topics in {region}; at most "
                    f"{MAX_TARGETS_PER_RULE - 1} fit, since an EventBridge rule has {MAX_TARGETS_PER_RULE} targets "
                    "and one is the stack's own topic"
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
        if self.isolated_account_role is not None:
            _check_role("isolatedAccountRole", self.isolated_account_role, "isolated", self.accounts.isolated)
        self._check_share_to_accept()
        _check_role("deploymentRole", self.deployment_role, "workload", self.accounts.workload)
        self._check_malware_scanning()
        self._check_vault_lock()
        return self

    def _check_malware_scanning(self) -> None:
        scanning = self.malware_scanning
        if scanning.scanner_role is not None:
            _check_role(
                "malwareScanning.scannerRole", scanning.scanner_role, "workload", self.accounts.workload
            )
        if scanning.enabled and scanning.scanner_role is None:
            raise ValueError(
                "malwareScanning.enabled is true but malwareScanning.scannerRole is not set: name the role "
                "GuardDuty assumes to read the recovery points (a name or a role ARN in the workload account)"
            )

    @property
    def scanner_role_arn(self) -> str | None:
        """The GuardDuty scanner role when malware scanning is on; None when it is off."""
        scanning = self.malware_scanning
        if not scanning.enabled or scanning.scanner_role is None:
            return None
        return role_arn(scanning.scanner_role, self.accounts.workload)

    def _check_share_to_accept(self) -> None:
        vault = self.air_gapped_vault
        arn = vault.share_arn
        if vault.share_with is ShareWith.INVITATION and arn is None:
            raise ValueError(
                "airGappedVault.shareArn is missing: with shareWith: invitation this stack accepts the share "
                "the isolated stack created (its output ramShareArns, this account's entry); give that ARN"
            )
        if vault.share_with is ShareWith.ORGANIZATION and arn is not None:
            raise ValueError(
                f"airGappedVault.shareArn ({arn}) is set, but with shareWith: organization there is no "
                "invitation to accept; remove it"
            )
        if arn is not None:
            region, account = arn.split(":")[3:5]
            if (region, account) != (self.regions.primary, self.accounts.isolated):
                raise ValueError(
                    f"airGappedVault.shareArn ({arn}) must be a share of the isolated account "
                    f"{self.accounts.isolated} in {self.regions.primary}, where the air-gapped vault is"
                )

    def _check_vault_lock(self) -> None:
        lock = self.vault_lock
        shortest, longest = self.workload_retention_days
        if lock.min_retention_days is not None and lock.min_retention_days > shortest:
            raise ValueError(
                f"vaultLock.minRetentionDays ({lock.min_retention_days}) must be at most {shortest}, the shortest "
                "retention this stack gives a recovery point in a workload vault (retention.inRegion, "
                "retention.crossRegionCopy, retention.s3ContinuousDays): a locked vault fails every job that "
                "keeps a recovery point for less than its minimum"
            )
        if lock.max_retention_days is not None and lock.max_retention_days < longest:
            raise ValueError(
                f"vaultLock.maxRetentionDays ({lock.max_retention_days}) must be at least {longest}, the longest "
                "retention this stack gives a recovery point in a workload vault: a locked vault fails every "
                "job that keeps a recovery point for longer than its maximum"
            )

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

    @model_validator(mode="after")
    def _events_leave_the_account(self) -> Self:
        # Last of the whole-stack checks, so that a stack file with another mistake is told that one first.
        bus = self.verifier_event_bus
        if bus is None:
            if self.environment is Environment.PRODUCTION:
                raise ValueError(
                    "verifierEventBus is required for a production stack: its AWS Backup events and vault-key "
                    "calls must leave the account for the verifier's bus (the organisation stack's output "
                    "verifierEventBusArn); set it once for the fleet in Pulumi.yaml"
                )
            return self
        region, account = bus.split(":")[3:5]
        if account == self.accounts.workload:
            raise ValueError(
                f"verifierEventBus ({bus}) is in this stack's workload account {account}: it must be the "
                "verifier's account (the organisation stack's verifier.account), outside the workload account"
            )
        try:
            _aws_region(region)
        except ValueError as exc:
            raise ValueError(f"verifierEventBus ({bus}) has the region {region!r}: {exc}") from None
        return self

    @property
    def active_types(self) -> tuple[catalog.ResourceType, ...]:
        return tuple(t for t in catalog.CATALOG if self.resource_types.get(t.key, TypeToggle()).active)

    @property
    def air_gapped_vault_name(self) -> str:
        return self.air_gapped_vault.name or air_gapped_vault_name(self.prefix, self.accounts.workload)

    @property
    def locked_vault_name(self) -> str:
        return locked_vault_name(self.prefix, self.accounts.workload)

    @property
    def air_gapped_vault_arn(self) -> str:
        """The air-gapped vault in the isolated account, which the isolated stack registers
        (docs/isolated-account.md): this stack's copy actions, pack facts and plan name it by this ARN."""
        return vault_arn(self.regions.primary, self.accounts.isolated, self.air_gapped_vault_name)

    @property
    def locked_vault_arn(self) -> str | None:
        """The locked standard vault there, when an active type copies to one (``None`` otherwise)."""
        if not catalog.locked_vault_types(self.active_types):
            return None
        return vault_arn(self.regions.primary, self.accounts.isolated, self.locked_vault_name)

    @property
    def deployment_role_arn(self) -> str:
        return role_arn(self.deployment_role, self.accounts.workload)

    @property
    def workload_retention_days(self) -> tuple[int, int]:
        """(shortest, longest) days any rule or copy action may keep a recovery point in a workload vault: the
        in-region rules, the cross-region copies and, when an active type backs up continuously, its rules.
        Each vault's own lock takes the exact value from its plans (``plan_layout.retention_into``)."""
        retention = self.retention
        days = [retention.in_region.delete_after_days, retention.cross_region_copy.delete_after_days]
        if any(t.continuous_cross_account for t in self.active_types):
            days.append(retention.s3_continuous_days)
        return min(days), max(days)


def _check_role(key: str, role: str, which: str, account: str) -> None:
    """A role given by name, or by ARN in ``account`` (the stack's ``which`` account)."""
    if role.startswith("arn:"):
        match = ROLE_ARN.match(role)
        if match is None or match.group(1) != account:
            raise ValueError(
                f"{key} ({role}) must be a role name or a role ARN in the {which} account {account}"
            )
    elif not ROLE_NAME.match(role):
        raise ValueError(f"{key} ({role!r}) must be an IAM role name or role ARN")


_MISSING = object()
_M = TypeVar("_M", bound=BaseModel)


def _describe(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        return "unknown setting; check the spelling against README 'Configuration'"
    if kind == "missing":
        return "required setting is missing"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"must be {_PATTERN_HELP.get(pattern, f'a string matching {pattern}')}"
    if kind == "string_type":
        return "must be a string (quote it in the stack file)"
    if kind == "int_type":
        return "must be a whole number (not true/false, not a decimal, not text)"
    if kind == "bool_type":
        return "must be true or false"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a mapping of settings (key: value lines), see README 'Configuration'"
    if kind in ("tuple_type", "list_type"):
        return "must be a list"
    if kind == "too_long":
        return f"has {ctx.get('actual_length')} entries; at most {ctx.get('max_length')} are allowed"
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        return "must not be empty"
    return str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")


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
            return _MISSING
    return value


def _show(value: Any) -> str:
    """A value as the stack file spells it: null, true/false, numbers, quoted strings."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value) if isinstance(value, str | int | float) else json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _scalar_type(annotation: Any) -> type | None:
    """``int`` or ``bool`` for a field holding one (optionally ``| None``), else ``None``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _scalar_type(kinds[0]) if len(kinds) == 1 else None
    return annotation if annotation in (int, bool) else None


def from_engine(raw: Mapping[str, Any], model: type[BaseModel] | None = None) -> dict[str, Any]:
    """The Pulumi engine hands every top-level scalar to the program as a string ("30", "true"); turn
    those back into the int or bool the field holds. Values inside objects keep their JSON types."""
    values = dict(raw)
    for name, field in (model or StackConfig).model_fields.items():
        key = field.alias or name
        value = values.get(key)
        kind = _scalar_type(field.annotation)
        if not isinstance(value, str) or kind is None:
            continue
        if kind is int and re.fullmatch(r"-?[0-9]{1,18}", value):
            values[key] = int(value)
        elif kind is bool and value in ("true", "false"):
            values[key] = value == "true"
    return values


def _shared_isolated_account(values: dict[str, Any]) -> dict[str, Any]:
    """``isolatedAccount`` (the fleet's, from Pulumi.yaml) fills ``accounts.isolated`` where a stack gives
    only its workload account."""
    accounts, shared = values.get("accounts"), values.get("isolatedAccount")
    if isinstance(accounts, Mapping) and "isolated" not in accounts and isinstance(shared, str):
        return {**values, "accounts": {**accounts, "isolated": shared}}
    return values


def _invalid(stack: str, lines: list[str]) -> ConfigError:
    return ConfigError(f"Invalid configuration for stack '{stack}':\n  " + "\n  ".join(lines))


def _messages(exc: ValidationError, raw: Mapping[str, Any], project: str) -> list[str]:
    """One line per error: ``<project>:<key> = <value>: <what is allowed>``."""
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = _describe(error)
        if not loc:
            # Whole-stack checks name their keys in the message itself.
            lines.append(f"{project}:{message}")
            continue
        if loc[-1] == "[key]":
            # A mapping's key is wrong (e.g. a tag key): name the mapping and show the key.
            lines.append(f"{project}:{_location(loc[:-2])} has the key {_show(loc[-2])}: {message}")
            continue
        if project == PROJECT and loc == ("accounts", "isolated") and error["type"] == "missing":
            message += ": give it here, or once for the whole fleet as isolatedAccount in Pulumi.yaml"
        given = _value_at(raw, loc)
        shown = "" if given is _MISSING or isinstance(given, Mapping) else f" = {_show(given)}"
        lines.append(f"{project}:{_location(loc)}{shown}: {message}")
    return lines


def validate(model: type[_M], raw: Mapping[str, Any], stack: str, project: str = PROJECT) -> _M:
    """Validate raw config (keys without the ``project`` namespace) against ``model`` or raise one
    ConfigError; shared by every Pulumi project of this repository (``org/org_config.py`` too).

    ``raw`` is what the engine hands the program (top-level scalars as strings, objects decoded from
    JSON) or the stack file's values themselves; both give the same result.
    """
    values = from_engine(raw, model)
    try:
        # Validated as JSON so that strict mode keeps lists as lists and enum names as strings.
        return model.model_validate_json(json.dumps(values, default=str))
    except ValidationError as exc:
        raise _invalid(stack, _messages(exc, raw, project)) from None


def parse(raw: Mapping[str, Any], stack: str) -> StackConfig:
    """Validate raw config (keys without the project namespace) or raise one ConfigError."""
    config = validate(StackConfig, _shared_isolated_account(dict(raw)), stack)
    if stack in PRODUCTION_STACKS and config.environment is not Environment.PRODUCTION:
        raise _invalid(
            stack,
            [f"{PROJECT}:environment = {config.environment.value!r}: stack '{stack}' must be 'production'"],
        )
    return config


def reject_empty(raw: Mapping[str, Any], stack: str, project: str = PROJECT) -> None:
    """Top-level keys left empty (YAML null) in a stack file: Pulumi hands the program an empty string
    for them, which would be reported as ''; name them as the file spells them instead."""
    empty = [key for key, value in raw.items() if value is None]
    if empty:
        raise _invalid(
            stack,
            [
                f"{project}:{key} = null: no value given (Pulumi reads it as an empty string); set a value "
                "or remove the key"
                for key in empty
            ],
        )


def from_namespaced(values: Mapping[str, Any], project: str = PROJECT) -> dict[str, Any]:
    """Keep the project's keys (``aws-dr-backup:x``), dropping the namespace; ignore other namespaces."""
    prefix = f"{project}:"
    return {k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)}
