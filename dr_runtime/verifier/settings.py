"""The verifier's settings: each field's flag and environment variable, declared once.

The handler and the command read them (``VerifierConfig.from_settings``); the component that deploys the
verifier (not built yet, docs/verifier.md) is to write the function's environment from the same
declarations with ``dr_runtime.settings.environment``. Standard library and ``dr_runtime`` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dr_runtime.errors import ConfigError
from dr_runtime.operations.watchdog_settings import COMPLETION_WINDOW, DEFAULT_COMPLETION_WINDOW_MINUTES
from dr_runtime.settings import (
    FALSE_WORDS,
    TRUE_WORDS,
    Setting,
    check_topic_arn,
    names,
    optional,
    publish_metrics,
    region,
    text,
    whole_number,
)
from dr_runtime.verifier import policy_check
from dr_runtime.verifier.naming import air_gapped_vault_name, locked_vault_name, vault_arn

DEFAULT_INTERVAL_MINUTES = 24 * 60
"""The air-gapped copy runs once a day (``schedules.crossAccount`` in Pulumi.yaml)."""
DEFAULT_MARGIN_MINUTES = 120
"""How long a copy into the isolated account may take after its backup completed, and some slack."""
DEFAULT_DROP_PERCENT = 20
DEFAULT_BASELINE_DAYS = 14
"""Twice the air-gapped copies' 7-day retention: the vault listing alone remembers 7 days."""
DEFAULT_EVIDENCE_PREFIX = "verifier/"
MAX_BASELINE_DAYS = 400

_ACCOUNT = re.compile(r"^\d{12}$")
# components/config.py _PREFIX and _VAULT_NAME (botocore backup BackupVaultName).
_PREFIX = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_VAULT_NAME = re.compile(r"^[a-zA-Z0-9\-_]{2,50}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KEY_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]{0,200}$")

FLEET = Setting(
    "--fleet",
    "DR_VERIFIER_FLEET",
    "comma-separated <workload account>=<stack prefix>, one per stack of the fleet (required)",
)
VAULT_NAMES = Setting(
    "--vault-name",
    "DR_VERIFIER_VAULT_NAMES",
    "comma-separated <workload account>=<vault name> for a stack that kept an older vault name "
    "(airGappedVault.name); default <prefix>-<account>-air-gapped",
)
LOCKED_VAULTS = Setting(
    "--locked-vault-accounts",
    "DR_VERIFIER_LOCKED_VAULT_ACCOUNTS",
    "comma-separated workload accounts of --fleet whose stack has a locked vault "
    "<prefix>-<account>-locked (it protects a type AWS Backup cannot copy into an air-gapped vault, e.g. "
    "RDS DB instances); each is read and verified as a tier of its own",
)
VAULT_POLICY = Setting(
    "--vault-policy",
    "DR_VERIFIER_VAULT_POLICY",
    "the vault access policy the program builds, as JSON with the placeholders "
    f"{policy_check.VAULT_ARN} and {policy_check.WORKLOAD_ACCOUNT}; each vault's policy is compared with it "
    "(required by the handler; without it the command does not check the policies)",
)
VAULT_RETENTION = Setting(
    "--vault-retention",
    "DR_VERIFIER_VAULT_RETENTION",
    "comma-separated <workload account>=<min days>-<max days>: the retention range of the account's vaults "
    "in the isolated account (airGappedVault.minRetentionDays/maxRetentionDays); a vault whose lock has "
    "another range is a finding. An account not listed: the range is not compared",
)
MPA_TEAM_REQUIRED = Setting(
    "--mpa-team-required",
    "DR_VERIFIER_MPA_TEAM_REQUIRED",
    "true: every air-gapped vault must have a multi-party approval team (the organisation's "
    "globalSettings.multiPartyApproval); default false",
)
ISOLATED_ACCOUNT = Setting(
    "--isolated-account", "DR_VERIFIER_ISOLATED_ACCOUNT", "the isolated account owning the vaults (required)"
)
DELEGATED_ADMIN = Setting(
    "--delegated-admin-account",
    "DR_VERIFIER_DELEGATED_ADMIN_ACCOUNT",
    "the AWS Backup delegated administrator whose job listings cover the organisation (required)",
)
VAULT_READER_ROLE = Setting(
    "--vault-reader-role",
    "DR_VERIFIER_VAULT_READER_ROLE",
    "read-only role in the isolated account; default: the verifier's own credentials are that account's",
)
JOB_READER_ROLE = Setting(
    "--job-reader-role",
    "DR_VERIFIER_JOB_READER_ROLE",
    "read-only role in the delegated administrator; default: the own credentials are that account's",
)
INTERVAL = Setting(
    "--schedule-interval-minutes",
    "DR_VERIFIER_SCHEDULE_INTERVAL_MINUTES",
    f"minutes between two air-gapped copies of a resource (default {DEFAULT_INTERVAL_MINUTES})",
)
MARGIN = Setting(
    "--margin-minutes",
    "DR_VERIFIER_MARGIN_MINUTES",
    f"slack on top of interval and completion window (default {DEFAULT_MARGIN_MINUTES})",
)
DROP_PERCENT = Setting(
    "--drop-percent",
    "DR_VERIFIER_DROP_PERCENT",
    f"alert when an account's fresh resources fall more than this share below its baseline "
    f"(default {DEFAULT_DROP_PERCENT})",
)
BASELINE_DAYS = Setting(
    "--baseline-days",
    "DR_VERIFIER_BASELINE_DAYS",
    f"days a resource stays in an account's baseline after its last air-gapped copy "
    f"(default {DEFAULT_BASELINE_DAYS})",
)
EVIDENCE_BUCKET = Setting(
    "--evidence-bucket",
    "DR_VERIFIER_EVIDENCE_BUCKET",
    "S3 bucket for evidence and baselines; required by the handler, without it the command keeps nothing",
)
EVIDENCE_PREFIX = Setting(
    "--evidence-prefix",
    "DR_VERIFIER_EVIDENCE_PREFIX",
    f"key prefix in the evidence bucket (default {DEFAULT_EVIDENCE_PREFIX})",
)
TOPIC = Setting(
    "--topic-arn",
    "DR_VERIFIER_TOPIC_ARN",
    "SNS topic for findings; required by the handler, without it the command lists only",
)

SETTINGS = (
    FLEET,
    VAULT_NAMES,
    LOCKED_VAULTS,
    VAULT_POLICY,
    VAULT_RETENTION,
    MPA_TEAM_REQUIRED,
    ISOLATED_ACCOUNT,
    DELEGATED_ADMIN,
    VAULT_READER_ROLE,
    JOB_READER_ROLE,
    INTERVAL,
    COMPLETION_WINDOW,
    MARGIN,
    DROP_PERCENT,
    BASELINE_DAYS,
    EVIDENCE_BUCKET,
    EVIDENCE_PREFIX,
    TOPIC,
)
"""Every setting the command takes as a flag (besides ``--region`` and ``--no-metrics``)."""


@dataclass(frozen=True)
class FleetAccount:
    """One workload account of the fleet and the names of its vaults in the isolated account."""

    account_id: str
    vault_name: str
    """The logically air-gapped vault."""
    locked_vault_name: str | None = None
    """The locked standard vault, or None when the account's stack has none."""
    retention: tuple[int, int] | None = None
    """The vaults' (min, max) retention days as the stack sets them; None: not compared."""


def _pairs(setting: Setting, entries: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for entry in entries:
        account, sep, value = entry.partition("=")
        account, value = account.strip(), value.strip()
        if not sep or not _ACCOUNT.match(account) or not value:
            raise ConfigError(
                f"{setting.label}: entry {entry!r} must be <12-digit account>=<value>, "
                f"e.g. 111111111111=dr-prod"
            )
        pairs.append((account, value))
    seen: set[str] = set()
    for account, _value in pairs:
        if account in seen:
            raise ConfigError(f"{setting.label}: account {account} is given twice")
        seen.add(account)
    return pairs


_RETENTION = re.compile(r"^(\d{1,5})-(\d{1,5})$")


def _retention(pairs: list[tuple[str, str]], prefixes: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    ranges: dict[str, tuple[int, int]] = {}
    for account, value in pairs:
        if account not in prefixes:
            raise ConfigError(
                f"{VAULT_RETENTION.label}: account {account} is not in {FLEET.label} "
                f"({', '.join(sorted(prefixes))})"
            )
        match = _RETENTION.match(value)
        if match is None or int(match[1]) < 1 or int(match[2]) < int(match[1]):
            raise ConfigError(
                f"{VAULT_RETENTION.label}: {value!r} of {account} must be <min days>-<max days>, whole "
                "numbers with 1 <= min <= max, e.g. 7-35"
            )
        ranges[account] = (int(match[1]), int(match[2]))
    return ranges


def fleet_accounts(
    fleet: tuple[str, ...],
    vault_names: tuple[str, ...],
    locked: tuple[str, ...] = (),
    retention: tuple[str, ...] = (),
) -> tuple[FleetAccount, ...]:
    """``<account>=<prefix>`` entries, with ``<account>=<vault name>`` overrides, the accounts with a
    locked vault and ``<account>=<min>-<max>`` retention ranges, as vaults to read."""
    prefixes = dict(_pairs(FLEET, fleet))
    if not prefixes:
        raise ConfigError(f"{FLEET.label} is required: comma-separated <workload account>=<stack prefix>")
    for account, prefix in prefixes.items():
        if not _PREFIX.match(prefix):
            raise ConfigError(
                f"{FLEET.label}: prefix {prefix!r} of {account} must be lower-case letters, digits and "
                "single hyphens, starting with a letter (the stack's prefix)"
            )
    overrides = dict(_pairs(VAULT_NAMES, vault_names))
    for account, name in overrides.items():
        if account not in prefixes:
            raise ConfigError(
                f"{VAULT_NAMES.label}: account {account} is not in {FLEET.label} "
                f"({', '.join(sorted(prefixes))})"
            )
        if not _VAULT_NAME.match(name):
            raise ConfigError(
                f"{VAULT_NAMES.label}: {name!r} of {account} must be a backup vault name: 2-50 letters, "
                "digits, hyphens and underscores"
            )
    ranges = _retention(_pairs(VAULT_RETENTION, retention), prefixes)
    seen: set[str] = set()
    for account in locked:
        if not _ACCOUNT.match(account) or account not in prefixes:
            raise ConfigError(
                f"{LOCKED_VAULTS.label}: {account!r} must be a workload account of {FLEET.label} "
                f"({', '.join(sorted(prefixes))})"
            )
        if account in seen:
            raise ConfigError(f"{LOCKED_VAULTS.label}: account {account} is given twice")
        seen.add(account)
    accounts = []
    for account, prefix in sorted(prefixes.items()):
        locked_name = locked_vault_name(prefix, account) if account in seen else None
        if locked_name is not None and not _VAULT_NAME.match(locked_name):
            raise ConfigError(
                f"{LOCKED_VAULTS.label}: prefix {prefix!r} makes the locked vault name {locked_name!r} of "
                f"{account} longer than a backup vault name allows (50)"
            )
        name = overrides.get(account) or air_gapped_vault_name(prefix, account)
        if not _VAULT_NAME.match(name):
            raise ConfigError(
                f"{FLEET.label}: prefix {prefix!r} makes the vault name {name!r} of {account} longer than "
                f"a backup vault name allows (50); give the vault's name with {VAULT_NAMES.label}"
            )
        accounts.append(FleetAccount(account, name, locked_name, ranges.get(account)))
    return tuple(accounts)


@dataclass(frozen=True)
class VerifierConfig:
    region: str
    fleet: tuple[FleetAccount, ...]
    isolated_account: str
    delegated_admin_account: str
    vault_reader_role: str | None = None
    job_reader_role: str | None = None
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES
    completion_window_minutes: int = DEFAULT_COMPLETION_WINDOW_MINUTES
    margin_minutes: int = DEFAULT_MARGIN_MINUTES
    drop_percent: int = DEFAULT_DROP_PERCENT
    baseline_days: int = DEFAULT_BASELINE_DAYS
    evidence_bucket: str | None = None
    evidence_prefix: str = DEFAULT_EVIDENCE_PREFIX
    topic_arn: str | None = None
    publish_metrics: bool = True
    vault_policy: str | None = None
    """The built policy's template (``policy_check``); None: the policies are not compared."""
    mpa_team_required: bool = False
    """Every air-gapped vault must have a multi-party approval team (``MpaApprovalTeamArn``)."""

    def __post_init__(self) -> None:
        for setting, account in (
            (ISOLATED_ACCOUNT, self.isolated_account),
            (DELEGATED_ADMIN, self.delegated_admin_account),
        ):
            if not _ACCOUNT.match(account):
                raise ConfigError(f"{setting.label} = {account!r}: must be a 12-digit AWS account ID")
        if any(entry.account_id == self.isolated_account for entry in self.fleet):
            raise ConfigError(
                f"{FLEET.label} holds {ISOLATED_ACCOUNT.label} = {self.isolated_account}: the isolated "
                "account keeps the copies and is not a workload account"
            )
        for setting, role, account in (
            (VAULT_READER_ROLE, self.vault_reader_role, self.isolated_account),
            (JOB_READER_ROLE, self.job_reader_role, self.delegated_admin_account),
        ):
            if role is None:
                continue
            match = _ROLE_ARN.match(role)
            if match is None:
                raise ConfigError(
                    f"{setting.label} = {role!r}: must be an IAM role ARN, arn:aws:iam::<account>:role/<name>"
                )
            if match["account"] != account:
                raise ConfigError(
                    f"{setting.label} = {role!r}: must be a role in account {account}, not {match['account']}"
                )
        for setting, value, low, high in (
            (INTERVAL, self.interval_minutes, 1, None),
            (COMPLETION_WINDOW, self.completion_window_minutes, 1, None),
            (MARGIN, self.margin_minutes, 0, None),
            (DROP_PERCENT, self.drop_percent, 1, 99),
            (BASELINE_DAYS, self.baseline_days, 1, MAX_BASELINE_DAYS),
        ):
            if value < low or (high is not None and value > high):
                allowed = f"at least {low}" if high is None else f"between {low} and {high}"
                raise ConfigError(f"{setting.label} = {value}: must be {allowed}")
        if self.baseline_days * 24 * 60 <= self.stale_after_minutes:
            raise ConfigError(
                f"{BASELINE_DAYS.label} = {self.baseline_days}: must be longer than "
                f"{INTERVAL.label} + {COMPLETION_WINDOW.label} + {MARGIN.label} = "
                f"{self.stale_after_minutes} minutes, or every copy leaves the baseline before it is late"
            )
        if self.evidence_bucket is not None and (
            not _BUCKET.match(self.evidence_bucket) or ".." in self.evidence_bucket
        ):
            raise ConfigError(
                f"{EVIDENCE_BUCKET.label} = {self.evidence_bucket!r}: must be an S3 bucket name "
                "(3-63 lower-case letters, digits, dots and hyphens)"
            )
        if not _KEY_PREFIX.match(self.evidence_prefix) or self.evidence_prefix.startswith("/"):
            raise ConfigError(
                f"{EVIDENCE_PREFIX.label} = {self.evidence_prefix!r}: must be an S3 key prefix of at most "
                "200 letters, digits and !_.*'()/- not starting with '/'"
            )
        if self.vault_policy is not None:
            try:
                policy_check.parse_template(self.vault_policy)
            except policy_check.PolicyTemplateError as error:
                shown = self.vault_policy if len(self.vault_policy) <= 80 else self.vault_policy[:77] + "..."
                raise ConfigError(
                    f"{VAULT_POLICY.label} = {shown!r}: {error}; allowed: a JSON policy document with "
                    f"{policy_check.VAULT_ARN} and {policy_check.WORKLOAD_ACCOUNT} where the vault's ARN "
                    "and the workload account go"
                ) from None
        check_topic_arn(TOPIC, self.topic_arn)

    @property
    def stale_after_minutes(self) -> int:
        """An account's newest air-gapped copy older than this is late: interval + window + margin."""
        return self.interval_minutes + self.completion_window_minutes + self.margin_minutes

    def vault_arn(self, account: FleetAccount) -> str:
        return vault_arn(self.region, self.isolated_account, account.vault_name)

    def locked_vault_arn(self, account: FleetAccount) -> str | None:
        name = account.locked_vault_name
        return None if name is None else vault_arn(self.region, self.isolated_account, name)

    @property
    def policy_template(self) -> dict[str, Any] | None:
        return None if self.vault_policy is None else policy_check.parse_template(self.vault_policy)

    @property
    def key_prefix(self) -> str:
        """The evidence prefix with one trailing slash, or empty."""
        stripped = self.evidence_prefix.strip("/")
        return f"{stripped}/" if stripped else ""

    @classmethod
    def from_settings(cls, env: Mapping[str, str], args: Any = None) -> VerifierConfig:
        """From the environment (the handler) or flags over the environment (the command)."""
        isolated = optional(ISOLATED_ACCOUNT, env, args)
        delegated = optional(DELEGATED_ADMIN, env, args)
        if isolated is None:
            raise ConfigError(f"{ISOLATED_ACCOUNT.label} is required")
        if delegated is None:
            raise ConfigError(f"{DELEGATED_ADMIN.label} is required")
        return cls(
            region=region(env, args, profile=args is not None),
            fleet=fleet_accounts(
                names(FLEET, env, args),
                names(VAULT_NAMES, env, args),
                names(LOCKED_VAULTS, env, args),
                names(VAULT_RETENTION, env, args),
            ),
            isolated_account=isolated,
            delegated_admin_account=delegated,
            vault_reader_role=optional(VAULT_READER_ROLE, env, args),
            job_reader_role=optional(JOB_READER_ROLE, env, args),
            interval_minutes=whole_number(INTERVAL, env, args, DEFAULT_INTERVAL_MINUTES),
            completion_window_minutes=whole_number(
                COMPLETION_WINDOW, env, args, DEFAULT_COMPLETION_WINDOW_MINUTES
            ),
            margin_minutes=whole_number(MARGIN, env, args, DEFAULT_MARGIN_MINUTES),
            drop_percent=whole_number(DROP_PERCENT, env, args, DEFAULT_DROP_PERCENT),
            baseline_days=whole_number(BASELINE_DAYS, env, args, DEFAULT_BASELINE_DAYS),
            evidence_bucket=optional(EVIDENCE_BUCKET, env, args),
            evidence_prefix=text(EVIDENCE_PREFIX, env, args, DEFAULT_EVIDENCE_PREFIX),
            topic_arn=optional(TOPIC, env, args),
            publish_metrics=publish_metrics(env, args),
            vault_policy=optional(VAULT_POLICY, env, args),
            mpa_team_required=_flag(MPA_TEAM_REQUIRED, env, args),
        )


def _flag(setting: Setting, env: Mapping[str, str], args: Any) -> bool:
    raw = setting.raw(env, args)
    if raw is None or raw.strip().lower() in FALSE_WORDS:
        return False
    if raw.strip().lower() in TRUE_WORDS:
        return True
    raise ConfigError(f"{setting.label} = {raw!r}: must be true or false")
