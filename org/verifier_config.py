"""The ``verifier:`` section of the organisation stack's config (docs/verifier.md, docs/organisation.md).

Optional: without it nothing of the verifier is deployed. Its thresholds default to the runtime's own
defaults (``dr_runtime/verifier/settings.py``), and the runtime's own validation (``VerifierConfig``)
judges the values the function will be given, before any resource is registered; its messages are
restated here in config keys (``verifier.thresholds.dropPercent``) instead of flags.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from components import config as stack_config
from components import documents
from components.config import AccountId, Region, role_arn
from dr_model import cron
from dr_model.naming import ROLE_ARN, ROLE_NAME
from dr_runtime.errors import ConfigError
from dr_runtime.operations.watchdog_settings import COMPLETION_WINDOW, DEFAULT_COMPLETION_WINDOW_MINUTES
from dr_runtime.settings import Setting
from dr_runtime.verifier import policy_check
from dr_runtime.verifier import settings as runtime

if TYPE_CHECKING:
    from org.org_config import OrgConfig

MAX_SCHEDULE_GAP_MINUTES = 6 * 60
"""docs/verifier.md: the verifier runs every 1-6 h; a longer gap eats into the 7-day air-gap budget."""
DEFAULT_SCHEDULE = "rate(6 hours)"
DEFAULT_EVIDENCE_RETENTION_DAYS = 90
MAX_EVIDENCE_RETENTION_DAYS = 3650
"""Object Lock (compliance) keeps every evidence version this long; ten years is far beyond any audit."""
_EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"


def _role(value: str) -> str:
    if not (ROLE_NAME.match(value) or ROLE_ARN.match(value)):
        raise ValueError("must be an IAM role name or a role ARN (arn:aws:iam::<account>:role/<name>)")
    return value


def schedule_gap_minutes(expression: str) -> int:
    """The longest time between two runs of an EventBridge Scheduler expression, in minutes; raises
    ValueError naming what is wrong when it does not run every day or is not an expression at all."""
    try:
        parsed = cron.parse_scheduler(expression)
    except cron.ScheduleError as exc:
        raise ValueError(f"{exc}; allowed: cron(...) or rate(...), at least every 6 hours") from None
    if isinstance(parsed, cron.At):
        raise ValueError(
            "at(...) runs the verifier only once; allowed: cron(...) or rate(...), at least every 6 hours"
        )
    if isinstance(parsed, cron.Rate):
        return parsed.minutes
    skipped = parsed.skipped_days()
    if skipped is not None:
        raise ValueError(f"{skipped}; the verifier must run every day, at least every 6 hours")
    times = parsed.minutes_of_day
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    return max([*gaps, times[0] + 24 * 60 - times[-1]])


def _schedule(value: str) -> str:
    gap = schedule_gap_minutes(value)
    if gap > MAX_SCHEDULE_GAP_MINUTES:
        raise ValueError(
            f"runs only every {gap} minutes at its longest gap; the verifier must run at least every "
            f"{MAX_SCHEDULE_GAP_MINUTES} minutes (6 hours), e.g. rate(6 hours) or cron(15 */6 * * ? *)"
        )
    return value


def vault_policy_template() -> str:
    """The access policy the program gives each of a workload account's vaults in the isolated account
    (``components/archive.py``: the air-gapped and the locked vault alike), built by the program's own
    builder for the placeholders the verifier fills in per vault (``policy_check``)."""
    return documents.to_json(
        documents.copy_into_vault_policy(policy_check.VAULT_ARN, policy_check.WORKLOAD_ACCOUNT)
    )


RoleRef = Annotated[str, AfterValidator(_role)]
VerifierSchedule = Annotated[str, AfterValidator(_schedule)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=_EMAIL)]


class VerifierThresholds(stack_config._Model):
    """When a copy is late and when a drop is a mass drop; the defaults are the runtime's."""

    schedule_interval_minutes: int = runtime.DEFAULT_INTERVAL_MINUTES
    completion_window_minutes: int = DEFAULT_COMPLETION_WINDOW_MINUTES
    margin_minutes: int = runtime.DEFAULT_MARGIN_MINUTES
    drop_percent: int = runtime.DEFAULT_DROP_PERCENT
    baseline_days: int = runtime.DEFAULT_BASELINE_DAYS


class Verifier(stack_config._Model):
    account: AccountId
    """Where the verifier runs: a security account (recommended) or the isolated account; never a workload."""
    role: RoleRef
    """Assumed in ``account`` to deploy it: a role name or a role ARN there."""
    region: Region | None = None
    """The verifier's Region, which is the Region of the vaults it reads; default ``regions.primary``."""
    isolated_account: AccountId
    """The isolated account owning the workload accounts' air-gapped vaults."""
    isolated_account_role: RoleRef | None = None
    """Assumed in ``isolatedAccount`` to create the vault reader role; default ``roles.reports`` when the
    isolated account is ``accounts.reports``. Not needed when the verifier runs in the isolated account."""
    schedule: VerifierSchedule = DEFAULT_SCHEDULE
    fleet: tuple[str, ...]
    """``<workload account>=<stack prefix>``, one per stack (its ``prefix`` and ``accounts.workload``)."""
    vault_names: tuple[str, ...] = ()
    """``<workload account>=<vault name>`` for a stack with ``airGappedVault.name``."""
    locked_vaults: tuple[AccountId, ...] = ()
    """The fleet's accounts whose stack has a locked vault ``<prefix>-<account>-locked``: it protects a type
    AWS Backup cannot copy into an air-gapped vault (RDS DB instances). Each is verified as a tier of its
    own; a listed account whose vault is missing is a ``no-vault`` finding."""
    vault_retention: tuple[str, ...] = ()
    """``<workload account>=<min days>-<max days>`` for a stack whose ``airGappedVault`` sets another
    retention range than the default; the verifier compares each vault's lock with its account's range."""
    unverified: dict[AccountId, Annotated[str, StringConstraints(min_length=1, max_length=300)]] = {}
    """Workload accounts deliberately left out of ``fleet``, each with the reason (e.g. its vault is in
    another isolated account): every account of ``accounts.workloads`` is in one of the two."""
    thresholds: VerifierThresholds = VerifierThresholds()
    alert_emails: Annotated[tuple[Email, ...], Field(min_length=1)]
    """Who receives the findings and the alarms (each address confirms its subscription once)."""
    evidence_retention_days: Annotated[int, Field(ge=1, le=MAX_EVIDENCE_RETENTION_DAYS)] = (
        DEFAULT_EVIDENCE_RETENTION_DAYS
    )
    """Object Lock (compliance mode) keeps each evidence version this long; older versions then expire."""

    @model_validator(mode="after")
    def _own_fields(self) -> Verifier:
        for key, role, account in (
            ("verifier.role", self.role, self.account),
            ("verifier.isolatedAccountRole", self.isolated_account_role, self.isolated_account),
        ):
            arn = None if role is None else ROLE_ARN.match(role)
            if arn is not None and arn.group(1) != account:
                raise ValueError(f"{key} ({role}) must be a role name or a role ARN in account {account}")
        return self


# The runtime's settings as this section names them (the fleet's messages quote the entry itself).
CONFIG_KEYS: dict[Setting, str] = {
    runtime.FLEET: "verifier.fleet",
    runtime.VAULT_RETENTION: "verifier.vaultRetention",
    runtime.VAULT_NAMES: "verifier.vaultNames",
    runtime.LOCKED_VAULTS: "verifier.lockedVaults",
    runtime.ISOLATED_ACCOUNT: "verifier.isolatedAccount",
    runtime.INTERVAL: "verifier.thresholds.scheduleIntervalMinutes",
    COMPLETION_WINDOW: "verifier.thresholds.completionWindowMinutes",
    runtime.MARGIN: "verifier.thresholds.marginMinutes",
    runtime.DROP_PERCENT: "verifier.thresholds.dropPercent",
    runtime.BASELINE_DAYS: "verifier.thresholds.baselineDays",
}


def _in_config_terms(message: str) -> str:
    for setting, key in CONFIG_KEYS.items():
        message = message.replace(setting.label, key)
    return message


@dataclass(frozen=True)
class VerifierPlan:
    """What the deployment needs, derived once from the validated config."""

    verifier: Verifier
    region: str
    job_reader_account: str
    """The account whose job listings cover the organisation: the delegated administrator, else management."""
    runtime: runtime.VerifierConfig
    """The function's settings, as the handler will read them back (less the bucket and topic)."""

    @property
    def account(self) -> str:
        return self.verifier.account

    @property
    def reads_vaults_itself(self) -> bool:
        """The verifier runs in the isolated account: no vault reader role, its own role reads."""
        return self.verifier.account == self.verifier.isolated_account

    @property
    def reads_jobs_itself(self) -> bool:
        return self.verifier.account == self.job_reader_account

    @property
    def vault_arns(self) -> tuple[str, ...]:
        """Every vault the verifier reads: each account's air-gapped vault, and its locked one if any."""
        arns = []
        for account in self.runtime.fleet:
            arns.append(self.runtime.vault_arn(account))
            locked = self.runtime.locked_vault_arn(account)
            if locked is not None:
                arns.append(locked)
        return tuple(arns)


def vault_retention(verifier: Verifier) -> tuple[str, ...]:
    """``vaultRetention``'s entries as given, and ``<account>=<min>-<max>`` of the stacks' default range
    (``components/config.py`` ``AirGappedVault``) for every other fleet account."""
    given = {entry.partition("=")[0].strip() for entry in verifier.vault_retention}
    default = stack_config.AirGappedVault()
    others = (
        f"{account}={default.min_retention_days}-{default.max_retention_days}"
        for account in (entry.partition("=")[0].strip() for entry in verifier.fleet)
        if account not in given
    )
    return (*verifier.vault_retention, *others)


def reader_role_name(prefix: str, what: str) -> str:
    return f"{prefix}-verifier-{what}-reader"


def plan(org: OrgConfig) -> VerifierPlan | None:
    """The verifier's plan, or None when the section is absent; raises ValueError naming the key."""
    verifier = org.verifier
    if verifier is None:
        return None
    accounts = org.accounts
    workloads = set(accounts.workloads)
    for key, account in (
        ("verifier.account", verifier.account),
        ("verifier.isolatedAccount", verifier.isolated_account),
    ):
        if account in workloads:
            raise ValueError(
                f"{key} = {account!r}: must not be a workload account of accounts.workloads; the verifier "
                "watches those from outside (a security account, or the isolated account)"
            )
    if verifier.isolated_account_role is None and verifier.isolated_account not in (
        accounts.reports,
        verifier.account,
    ):
        raise ValueError(
            f"verifier.isolatedAccountRole is required: verifier.isolatedAccount ({verifier.isolated_account}) "
            f"is neither accounts.reports ({accounts.reports}) nor verifier.account, so the stack needs a role "
            "there to create the vault reader role"
        )
    region = verifier.region or org.regions.primary
    job_reader_account = org.report_plan_account
    try:
        fleet = runtime.fleet_accounts(verifier.fleet, verifier.vault_names)
    except ConfigError as exc:
        raise ValueError(_in_config_terms(str(exc))) from None
    listed = {entry.account_id for entry in fleet}
    for account in verifier.unverified:
        if account in listed:
            raise ValueError(
                f"verifier.unverified has {account}, which verifier.fleet lists too: an account is verified "
                "or left out, not both"
            )
        if account not in workloads:
            raise ValueError(
                f"verifier.unverified has {account}, which is not in accounts.workloads: list only workload "
                "accounts left out of verifier.fleet"
            )
    missing = sorted(workloads - listed - set(verifier.unverified))
    if missing:
        raise ValueError(
            f"verifier.fleet misses {', '.join(missing)} of accounts.workloads: add each as "
            "<account>=<stack prefix>, or to verifier.unverified with the reason"
        )
    extra = sorted(listed - workloads)
    if extra:
        raise ValueError(
            f"verifier.fleet lists {', '.join(extra)}, not in accounts.workloads: the fleet is the "
            "organisation's workload accounts; add them there or remove them here"
        )
    try:
        # After the fleet's own checks, so that a fleet missing accounts is reported as that.
        fleet = runtime.fleet_accounts(
            verifier.fleet, verifier.vault_names, verifier.locked_vaults, vault_retention(verifier)
        )
    except ConfigError as exc:
        raise ValueError(_in_config_terms(str(exc))) from None
    thresholds = verifier.thresholds
    prefix = org.prefix
    try:
        settings = runtime.VerifierConfig(
            region=region,
            fleet=fleet,
            isolated_account=verifier.isolated_account,
            delegated_admin_account=job_reader_account,
            vault_reader_role=None
            if verifier.account == verifier.isolated_account
            else role_arn(reader_role_name(prefix, "vault"), verifier.isolated_account),
            job_reader_role=None
            if verifier.account == job_reader_account
            else role_arn(reader_role_name(prefix, "job"), job_reader_account),
            interval_minutes=thresholds.schedule_interval_minutes,
            completion_window_minutes=thresholds.completion_window_minutes,
            margin_minutes=thresholds.margin_minutes,
            drop_percent=thresholds.drop_percent,
            baseline_days=thresholds.baseline_days,
            vault_policy=vault_policy_template(),
            mpa_team_required=org.global_settings.multi_party_approval,
        )
    except ConfigError as exc:
        raise ValueError(_in_config_terms(str(exc))) from None
    return VerifierPlan(
        verifier=verifier, region=region, job_reader_account=job_reader_account, runtime=settings
    )
