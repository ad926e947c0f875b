"""What the Organizations management account switches on for the whole fleet (docs/organisation.md).

- AWS Backup global settings: cross-account backup on (every workload stack's air-gapped copy needs
  it), multi-party approval as configured (on by default: the account-compromise runbook's path B needs
  it; a warning on every run when it is off, since the stack then turns it off), delegated-administrator
  sync on when one is registered. All three keys are always sent: the provider reads the whole map back,
  so a key left out shows as a difference on every preview, and the stack therefore owns each of them.
- Trusted access for AWS Backup in AWS Organizations: cross-account monitoring and the organisation's
  job reports, and the precondition for registering a delegated administrator.
- AWS Backup's delegated administrator, when configured.
- RAM sharing with AWS Organizations: the workload stacks' default ``shareWith: organization``.

The organisation-wide switches are kept when this stack is destroyed or stops managing them
(``retain_on_delete``): turning them off would break every workload stack's copies or shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

COMPONENT_TYPE = "aws-dr-backup-org:backup:OrganizationBackup"
BACKUP_SERVICE = "backup.amazonaws.com"
# UpdateGlobalSettings keys (botocore backup model, GlobalSettings documentation).
CROSS_ACCOUNT_BACKUP = "isCrossAccountBackupEnabled"
MULTI_PARTY_APPROVAL = "isMpaEnabled"
DELEGATED_ADMINISTRATOR_SYNC = "isDelegatedAdministratorEnabled"
GLOBAL_SETTING_KEYS = (CROSS_ACCOUNT_BACKUP, MULTI_PARTY_APPROVAL, DELEGATED_ADMINISTRATOR_SYNC)


@dataclass(frozen=True)
class OrganizationBackupArgs:
    regions: Sequence[tuple[str, aws.Provider]]
    """(region, management-account provider) for each region the fleet's backups run in."""
    multi_party_approval: bool
    delegated_administrator: str | None
    cross_account_monitoring: bool
    ram_sharing_with_organization: bool


def global_settings(multi_party_approval: bool, delegated_administrator: bool) -> dict[str, str]:
    """The complete map, values as the API spells them ("true"/"false")."""

    def text(value: bool) -> str:
        return "true" if value else "false"

    return {
        CROSS_ACCOUNT_BACKUP: text(True),
        MULTI_PARTY_APPROVAL: text(multi_party_approval),
        DELEGATED_ADMINISTRATOR_SYNC: text(delegated_administrator),
    }


class OrganizationBackup(pulumi.ComponentResource):
    """Created with the management account's primary-region provider in ``opts``."""

    delegated_administrator: aws.organizations.DelegatedAdministrator | None
    trusted_access: tuple[pulumi.Resource, ...]
    """AWS Backup's trusted access, when this stack owns it: organisation-wide job reports need it first."""

    def __init__(
        self, name: str, args: OrganizationBackupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        trusted: list[pulumi.Resource] = []
        if args.cross_account_monitoring:
            trusted.append(
                aws.organizations.AwsServiceAccess(
                    f"{name}-backup-trusted-access", service_principal=BACKUP_SERVICE, opts=kept
                )
            )
        if args.ram_sharing_with_organization:
            aws.ram.SharingWithOrganization(f"{name}-ram-sharing", opts=kept)

        settings = global_settings(args.multi_party_approval, args.delegated_administrator is not None)
        if not args.multi_party_approval:
            # The stack owns the key: say so on every run instead of reverting a console change quietly.
            pulumi.log.warn(
                f"globalSettings.multiPartyApproval is false: this stack sets {MULTI_PARTY_APPROVAL}=false in "
                "both Regions on every update, turning multi-party approval off even if it was turned on in "
                "the console, and path B of docs/runbooks/account-compromise.md cannot be used; set it to "
                "true to keep it on (docs/organisation.md)",
                resource=self,
            )
        for region, provider in args.regions:
            # AWS does not say whether the flags are per Region (the API is regional): set them in each
            # Region the fleet uses; the same map twice is harmless if they are account-wide.
            aws.backup.GlobalSettings(
                f"{name}-global-settings-{region}",
                global_settings=settings,
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=trusted),
            )

        self.trusted_access = tuple(trusted)
        self.delegated_administrator = None
        if args.delegated_administrator is not None:
            # Organizations registers a delegated administrator only for a service with trusted access.
            self.delegated_administrator = aws.organizations.DelegatedAdministrator(
                f"{name}-delegated-administrator",
                account_id=args.delegated_administrator,
                service_principal=BACKUP_SERVICE,
                opts=pulumi.ResourceOptions(parent=self, depends_on=trusted),
            )
        self.register_outputs({})
