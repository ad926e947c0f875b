"""Configuration of the organisation stack (``org/Pulumi.<stack>.yaml``, namespace ``aws-dr-backup-org:``).

Validated once, at the edge, as the workload stacks' config is (``components/config.py``): frozen
pydantic models, one message per rejection naming the key, the value and what is allowed, raised before
any resource is registered. Account, region, tag and prefix rules are the workload config's own types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import AfterValidator, model_validator

from components import config as stack_config
from components.config import ROLE_ARN, ROLE_NAME, AccountId, Prefix, Regions, TagKey, TagValue, role_arn
from dr_runtime import vault_names
from org import scp_documents, verifier_config

PROJECT = "aws-dr-backup-org"

# AWS Organizations identifiers (botocore organizations model: OrganizationId, OrganizationalUnitId).
_ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
_ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# A role ARN as an aws:PrincipalArn pattern: the account always named; the path and name may hold * or ?
# (an IAM Identity Center role's generated suffix), but not be nothing but wildcards.
_EXEMPT_ROLE_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):role/((?:[A-Za-z0-9+=,.@_*?-]+/)*[A-Za-z0-9+=,.@_*?-]{1,64})$"
)

# The jobs reports the organisation view keeps (docs/organisation.md): every backup, copy and restore job.
JOB_REPORT_TEMPLATES = ("BACKUP_JOB_REPORT", "COPY_JOB_REPORT", "RESTORE_JOB_REPORT")
ROOT = "ROOT"
"""A report setting's ``accounts`` value that means every account of the organisation."""


def _organization_id(value: str) -> str:
    if not _ORGANIZATION_ID.match(value):
        raise ValueError("must be an AWS Organizations ID: o- and 10-32 lower-case letters or digits")
    return value


def _ou_id(value: str) -> str:
    if not _OU_ID.match(value):
        raise ValueError("must be an organizational unit ID such as ou-ab12-cd34ef56")
    return value


def _role(value: str) -> str:
    if not (ROLE_NAME.match(value) or ROLE_ARN.match(value)):
        raise ValueError("must be an IAM role name or a role ARN (arn:aws:iam::<account>:role/<name>)")
    return value


def _role_arn(value: str) -> str:
    if not ROLE_ARN.match(value):
        raise ValueError("must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    return value


def _guardrail_target(value: str) -> str:
    if not (_OU_ID.match(value) or _ROOT_ID.match(value) or _ACCOUNT_ID.match(value)):
        raise ValueError(
            "must be an organizational unit ID (ou-ab12-cd34ef56), the root's ID (r-ab12) or a 12-digit "
            "account ID, quoted"
        )
    return value


def _exempt_role(value: str) -> str:
    if ROLE_NAME.match(value):
        return value
    arn = _EXEMPT_ROLE_ARN.match(value)
    if arn is None:
        raise ValueError(
            "must be an IAM role name or a role ARN naming its account (arn:aws:iam::<12 digits>:role/<name>); "
            "a wildcard account would exempt the role in every account"
        )
    if not arn.group(3).rsplit("/", 1)[-1].strip("*?"):
        raise ValueError("names no role: a name of wildcards only would exempt every role of the account")
    return value


OrganizationId = Annotated[str, AfterValidator(_organization_id)]
OrganizationalUnitId = Annotated[str, AfterValidator(_ou_id)]
RoleRef = Annotated[str, AfterValidator(_role)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]
GuardrailTarget = Annotated[str, AfterValidator(_guardrail_target)]
ExemptRole = Annotated[str, AfterValidator(_exempt_role)]


def _once(key: str, values: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{key} lists {value} twice; list each once")
        seen.add(value)


class Accounts(stack_config._Model):
    management: AccountId
    """The Organizations management account: the credentials the stack runs with."""
    reports: AccountId
    """Owns the fleet bucket (job reports and coverage reports): the isolated account or an audit account."""
    delegated_administrator: AccountId | None = None
    """Registered as AWS Backup's delegated administrator; the job reports are created there when set."""
    workloads: tuple[AccountId, ...] = ()
    """Workload accounts whose coverage job may publish its report to the fleet bucket."""

    @model_validator(mode="after")
    def _roles(self) -> Self:
        if self.reports == self.management:
            raise ValueError(
                f"reports must differ from management ({self.management}): the reports outlive a compromise of "
                "the management account only in another account (the isolated or an audit account)"
            )
        if self.delegated_administrator == self.management:
            raise ValueError(
                f"delegatedAdministrator must differ from management ({self.management}): AWS Organizations "
                "cannot register the management account as a delegated administrator"
            )
        seen: set[str] = set()
        for account in self.workloads:
            if account in seen:
                raise ValueError(f"workloads lists {account} twice; list each account once")
            seen.add(account)
        return self


class Roles(stack_config._Model):
    reports: RoleRef
    """Assumed in ``accounts.reports`` to create the fleet bucket: a role name or a role ARN there."""
    delegated_administrator: RoleRef | None = None
    """Assumed in ``accounts.delegatedAdministrator`` to create the job reports there."""


class GlobalSettings(stack_config._Model):
    multi_party_approval: bool = True
    """``isMpaEnabled``, owned by this stack: ``true`` lets an approval team (set up in AWS Organizations'
    multi-party approval, with IAM Identity Center) be associated with a logically air-gapped vault, what
    path B of docs/runbooks/account-compromise.md needs; ``false`` turns it off on every ``pulumi up``,
    whatever the console says (docs/organisation.md)."""


class JobReports(stack_config._Model):
    enabled: bool = True
    organization_units: tuple[OrganizationalUnitId, ...] = ()
    """Limit the reports to these OUs; empty: every account of the organisation (``ROOT``)."""
    create_reports_role: bool = True
    """Create the reports service-linked role in the account that owns the report plans."""


class CoverageBucket(stack_config._Model):
    reader_roles: tuple[RoleArn, ...] = ()
    """Role ARNs in the organisation, besides the bucket's own account, that may read the coverage reports."""


class Guardrails(stack_config._Model):
    """Service control policies that keep the product's backup resources out of a workload admin's reach
    (docs/guardrails.md)."""

    enabled: bool | None = None
    """Default: on when ``targets`` lists anything."""
    targets: tuple[GuardrailTarget, ...] = ()
    """Where the policies are attached: OU IDs, the root's ID, or account IDs. Attach to a test OU first."""
    exempt_roles: tuple[ExemptRole, ...] = ()
    """The deployment roles that may still change the protected resources: role ARNs, or role names, which
    stand for that role in every account the config knows (``accounts.workloads``, ``isolatedAccounts`` and
    the account targets)."""
    prefixes: tuple[Prefix, ...] = ()
    """The workload stacks' ``prefix`` values (each ``Pulumi.<stack>.yaml``): the names to protect."""
    isolated_accounts: tuple[AccountId, ...] = ()
    """The isolated accounts of the fleet: the only other accounts recovery points may be copied to."""

    @property
    def active(self) -> bool:
        return bool(self.targets) if self.enabled is None else self.enabled

    @model_validator(mode="after")
    def _complete(self) -> Self:
        for key, values in (
            ("targets", self.targets),
            ("exemptRoles", self.exempt_roles),
            ("prefixes", self.prefixes),
            ("isolatedAccounts", self.isolated_accounts),
        ):
            _once(key, values)
        if not self.active:
            return self
        for key, values, what in (
            ("targets", self.targets, "list the OUs, root or accounts to attach the policies to"),
            (
                "exemptRoles",
                self.exempt_roles,
                "list the deployment roles; without one, no deployment could update the stacks again",
            ),
            ("prefixes", self.prefixes, "list the workload stacks' prefixes, which name what is protected"),
            (
                "isolatedAccounts",
                self.isolated_accounts,
                "list the fleet's isolated accounts; without them no copy could leave its own account",
            ),
        ):
            if not values:
                raise ValueError(f"{key} is empty but the guardrails are enabled: {what}")
        return self


class OrgConfig(stack_config._Model):
    """The whole validated configuration of the organisation stack."""

    prefix: Prefix
    organization_id: OrganizationId
    """Scopes every cross-account grant of the fleet bucket (``aws:PrincipalOrgID``)."""
    accounts: Accounts
    roles: Roles
    regions: Regions = Regions()
    tags: dict[TagKey, TagValue] = {}
    global_settings: GlobalSettings = GlobalSettings()
    cross_account_monitoring: bool = True
    """Trusted access for AWS Backup in AWS Organizations: organisation-wide job monitoring and reports."""
    ram_sharing_with_organization: bool = True
    """Turn on RAM sharing with AWS Organizations (the workload stacks' ``shareWith: organization``)."""
    job_reports: JobReports = JobReports()
    coverage_bucket: CoverageBucket = CoverageBucket()
    verifier: verifier_config.Verifier | None = None
    """The air-gap verifier, deployed outside every workload account (docs/verifier.md); off when absent."""
    guardrails: Guardrails = Guardrails()

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        accounts, roles = self.accounts, self.roles
        if accounts.delegated_administrator is not None and roles.delegated_administrator is None:
            raise ValueError(
                "roles.delegatedAdministrator is required with accounts.delegatedAdministrator: the job reports "
                "are created in the delegated administrator account, through that role"
            )
        if accounts.delegated_administrator is None and roles.delegated_administrator is not None:
            raise ValueError(
                "roles.delegatedAdministrator is set but accounts.delegatedAdministrator is not: set both or "
                "remove the role"
            )
        if self.accounts.delegated_administrator is not None and not self.cross_account_monitoring:
            raise ValueError(
                "crossAccountMonitoring is false, but accounts.delegatedAdministrator is set: AWS Organizations "
                "registers a delegated administrator only for a service with trusted access"
            )
        if self.job_reports.enabled and not self.cross_account_monitoring:
            raise ValueError(
                "crossAccountMonitoring is false, but jobReports.enabled is true: organisation-wide job reports "
                "need AWS Backup's trusted access; turn monitoring on or the reports off"
            )
        for key, role, account in (
            ("roles.reports", roles.reports, accounts.reports),
            ("roles.delegatedAdministrator", roles.delegated_administrator, accounts.delegated_administrator),
        ):
            arn = None if role is None else ROLE_ARN.match(role)
            if arn is not None and arn.group(1) != account:
                raise ValueError(f"{key} ({role}) must be a role name or a role ARN in account {account}")
        self._check_guardrails()
        return self

    @model_validator(mode="after")
    def _verifier_fits_the_accounts(self) -> Self:
        verifier_config.plan(self)
        return self

    def _check_guardrails(self) -> None:
        guardrails = self.guardrails
        if not guardrails.active:
            return
        if self.accounts.management in guardrails.targets:
            raise ValueError(
                f"guardrails.targets lists the management account ({self.accounts.management}): SCPs never "
                "bind the management account, so attaching them there protects nothing"
            )
        try:
            scp_documents.policies(self.guardrail_scope)
        except scp_documents.GuardrailSizeError as exc:
            raise ValueError(f"guardrails: {exc}") from None

    @property
    def guardrail_accounts(self) -> tuple[str, ...]:
        """Every account a role name in ``guardrails.exemptRoles`` stands for, sorted."""
        guardrails = self.guardrails
        targets = (t for t in guardrails.targets if _ACCOUNT_ID.match(t))
        return tuple(sorted({*self.accounts.workloads, *guardrails.isolated_accounts, *targets}))

    @property
    def guardrail_scope(self) -> scp_documents.GuardrailScope:
        partition = vault_names.partition(self.regions.primary)
        exempt: list[str] = []
        for role in self.guardrails.exempt_roles:
            if ROLE_NAME.match(role):
                exempt += (
                    f"arn:{partition}:iam::{account}:role/{role}" for account in self.guardrail_accounts
                )
            else:
                exempt.append(role)
        return scp_documents.GuardrailScope(
            partition=partition,
            prefixes=self.guardrails.prefixes,
            exempt_principal_arns=tuple(dict.fromkeys(exempt)),
            isolated_accounts=self.guardrails.isolated_accounts,
        )

    @property
    def reports_role_arn(self) -> str:
        return role_arn(self.roles.reports, self.accounts.reports)

    @property
    def report_plan_account(self) -> str:
        """Where the job report plans live: the delegated administrator if there is one (AWS's advice to
        keep daily work out of the management account), else the management account."""
        return self.accounts.delegated_administrator or self.accounts.management

    @property
    def report_accounts(self) -> tuple[str, ...]:
        return () if self.job_reports.organization_units else (ROOT,)


def parse(raw: Mapping[str, Any], stack: str) -> OrgConfig:
    """Validate raw config (keys without the project namespace) or raise one ConfigError."""
    return stack_config.validate(OrgConfig, raw, stack, PROJECT)
