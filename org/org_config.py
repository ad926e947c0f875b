"""Configuration of the organisation stack (``org/Pulumi.<stack>.yaml``, namespace ``aws-dr-backup-org:``).

Validated once, at the edge, as the workload stacks' config is (``components/config.py``): frozen
pydantic models, one message per rejection naming the key, the value and what is allowed, raised before
any resource is registered. Account, region, tag and prefix rules are the workload config's own types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, model_validator

from components import config as stack_config
from components.config import AccountId, Prefix, Regions, TagKey, TagValue, role_arn
from dr_model import backup_selection
from dr_model.naming import ROLE_ARN, ROLE_NAME
from dr_runtime import vault_names
from dr_runtime.fleet_report import bucket_layout
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
    opt_out_tags: Literal["deny", "detect"] = "deny"
    """Who may set the workload stacks' opt-out tags. ``deny`` (the default, because an opt-out silently
    removes a resource from every backup): an SCP refuses any request carrying one of ``optOutTagKeys`` to
    everyone but the exempt roles. ``detect``: no statement; the coverage report counts opted-out resources
    and the verifier watches the air-gapped copies, so an opt-out is noticed, not prevented."""
    opt_out_tag_keys: tuple[TagKey, ...] = (
        backup_selection.DEFAULT_OPT_OUT_TAG,
        backup_selection.DEFAULT_CROSS_REGION_OPT_OUT_TAG,
    )
    """Every workload stack's ``optOutTags.all`` and ``optOutTags.crossRegion`` (default: the stacks'
    defaults). The organisation stack cannot read the workload stacks' files, so they are config."""
    isolated_targets: tuple[GuardrailTarget, ...] = ()
    """Where the isolated-account policies are attached: the isolated accounts, the reports account and the
    delegated administrator (account IDs), or an OU holding only those. Empty: not attached."""
    isolated_exempt_roles: tuple[ExemptRole, ...] = ()
    """The deployers of the isolated accounts: a role name stands for that role in ``isolatedAccounts``,
    ``accounts.reports`` and ``accounts.delegatedAdministrator``; an ARN must be in one of them. The roles
    the organisation stack itself assumes there are exempt too."""
    resource_control_policy: bool = False
    """Also build the resource control policy on the backup keys (``RESOURCE_CONTROL_POLICY``), attached to
    ``targets`` and ``isolatedTargets``. Off by default: the policy type must be enabled first
    (docs/guardrails.md#enabling-the-policy-types)."""

    @property
    def active(self) -> bool:
        return bool(self.targets) if self.enabled is None else self.enabled

    @property
    def denied_opt_out_keys(self) -> tuple[str, ...]:
        return self.opt_out_tag_keys if self.opt_out_tags == "deny" else ()

    @model_validator(mode="after")
    def _complete(self) -> Self:
        for key, values in (
            ("targets", self.targets),
            ("exemptRoles", self.exempt_roles),
            ("prefixes", self.prefixes),
            ("isolatedAccounts", self.isolated_accounts),
            ("optOutTagKeys", self.opt_out_tag_keys),
            ("isolatedTargets", self.isolated_targets),
            ("isolatedExemptRoles", self.isolated_exempt_roles),
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
        if self.opt_out_tags == "deny" and not self.opt_out_tag_keys:
            raise ValueError(
                "optOutTagKeys is empty but optOutTags is deny: list the stacks' opt-out tag keys, or choose "
                "detect"
            )
        if self.isolated_targets and not self.isolated_exempt_roles:
            raise ValueError(
                "isolatedExemptRoles is empty but isolatedTargets is set: list the isolated accounts' "
                "deployers; without one, no deployment could change an air-gapped vault or its share again"
            )
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
        self._check_exempt_accounts()
        isolated_homes = set(self.isolated_guardrail_accounts)
        for target in guardrails.isolated_targets:
            if _ACCOUNT_ID.match(target) and target not in isolated_homes:
                raise ValueError(
                    f"guardrails.isolatedTargets lists {target}, which is not an isolated account, the reports "
                    f"account or the delegated administrator ({', '.join(sorted(isolated_homes))}): the "
                    "isolated-account statements exempt only those accounts' deployers"
                )
            if target == self.accounts.management:
                raise ValueError(
                    f"guardrails.isolatedTargets lists the management account ({target}): SCPs never bind it"
                )
        try:
            scp_documents.policies(self.guardrail_scope)
            if guardrails.isolated_targets:
                scp_documents.isolated_policies(self.isolated_guardrail_scope)
        except scp_documents.GuardrailSizeError as exc:
            raise ValueError(f"guardrails: {exc}") from None

    def _check_exempt_accounts(self) -> None:
        """An exempt role ARN must be in an account the config lists for its statements: a role elsewhere
        is either a typo or a principal that has no business changing the protected resources."""
        for key, roles, accounts in (
            ("guardrails.exemptRoles", self.guardrails.exempt_roles, self.guardrail_accounts),
            (
                "guardrails.isolatedExemptRoles",
                self.guardrails.isolated_exempt_roles,
                self.isolated_guardrail_accounts,
            ),
        ):
            for role in roles:
                arn = _EXEMPT_ROLE_ARN.match(role)
                if arn is not None and arn.group(2) not in accounts:
                    raise ValueError(
                        f"{key} lists {role}, in account {arn.group(2)}, which the config does not list for "
                        f"these statements; allowed: {', '.join(accounts)}"
                    )

    @property
    def isolated_guardrail_accounts(self) -> tuple[str, ...]:
        """The accounts the isolated-account statements are for: the isolated accounts, the reports account
        and the delegated administrator, sorted."""
        delegated = self.accounts.delegated_administrator
        return tuple(
            sorted(
                {
                    *self.guardrails.isolated_accounts,
                    self.accounts.reports,
                    *(() if delegated is None else (delegated,)),
                }
            )
        )

    def _expand(self, roles: tuple[str, ...], accounts: tuple[str, ...], partition: str) -> list[str]:
        exempt: list[str] = []
        for role in roles:
            if ROLE_NAME.match(role):
                exempt += (f"arn:{partition}:iam::{account}:role/{role}" for account in accounts)
            else:
                exempt.append(role)
        return exempt

    @property
    def isolated_guardrail_scope(self) -> scp_documents.IsolatedScope:
        partition = vault_names.partition(self.regions.primary)
        exempt = self._expand(
            self.guardrails.isolated_exempt_roles, self.isolated_guardrail_accounts, partition
        )
        # The roles this stack assumes in those accounts: without them its own next update would be refused.
        own = [(self.roles.reports, self.accounts.reports)]
        if self.accounts.delegated_administrator is not None and self.roles.delegated_administrator:
            own.append((self.roles.delegated_administrator, self.accounts.delegated_administrator))
        verifier = self.verifier
        if verifier is not None and verifier.isolated_account_role is not None:
            own.append((verifier.isolated_account_role, verifier.isolated_account))
        exempt += (role_arn(role, account) for role, account in own)
        buckets = [bucket_layout.bucket_name(self.prefix, self.accounts.reports, self.regions.primary)]
        if self.job_reports.enabled:
            buckets.append(
                bucket_layout.job_reports_bucket_name(
                    self.prefix, self.report_plan_account, self.regions.primary
                )
            )
        return scp_documents.IsolatedScope(
            partition=partition,
            prefixes=self.guardrails.prefixes,
            exempt_principal_arns=tuple(dict.fromkeys(exempt)),
            reader_roles=(verifier_config.reader_role_name(self.prefix, scp_documents.ANY),),
            buckets=tuple(buckets),
        )

    @property
    def key_perimeter(self) -> scp_documents.KeyPerimeter:
        return scp_documents.KeyPerimeter(
            prefixes=self.guardrails.prefixes, organization_id=self.organization_id
        )

    @property
    def rcp_targets(self) -> tuple[str, ...]:
        """Where the key RCP is attached: every workload and isolated target, each once."""
        return tuple(dict.fromkeys((*self.guardrails.targets, *self.guardrails.isolated_targets)))

    @property
    def guardrail_accounts(self) -> tuple[str, ...]:
        """Every account a role name in ``guardrails.exemptRoles`` stands for, sorted."""
        guardrails = self.guardrails
        targets = (t for t in guardrails.targets if _ACCOUNT_ID.match(t))
        return tuple(sorted({*self.accounts.workloads, *guardrails.isolated_accounts, *targets}))

    @property
    def guardrail_scope(self) -> scp_documents.GuardrailScope:
        partition = vault_names.partition(self.regions.primary)
        exempt = self._expand(self.guardrails.exempt_roles, self.guardrail_accounts, partition)
        return scp_documents.GuardrailScope(
            partition=partition,
            prefixes=self.guardrails.prefixes,
            exempt_principal_arns=tuple(dict.fromkeys(exempt)),
            isolated_accounts=self.guardrails.isolated_accounts,
            opt_out_tag_keys=self.guardrails.denied_opt_out_keys,
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
