"""The isolated account's vaults for one workload account.

The logically air-gapped vault, shared back to the workload account for restores, takes every type AWS
Backup can copy into it. A type it cannot take (``catalog.IsolatedCopy.LOCKED_VAULT``, RDS DB instances)
goes to a standard vault of the same account under a compliance-mode vault lock, encrypted with a
customer-managed key of the isolated account (docs/aws-facts.md#3-logically-air-gapped-vaults, 3.9-3.11).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import documents
from components.config import ShareWith, air_gapped_share_name
from components.keyed_vault import keyed_vault

COMPONENT_TYPE = "aws-dr-backup:backup:AirGappedArchive"


@dataclass(frozen=True)
class AirGappedArchiveArgs:
    vault_name: str
    """Named per workload account (``StackConfig.air_gapped_vault_name``), so stacks share an isolated account."""
    workload_account: str
    min_retention_days: int
    max_retention_days: int
    share_with: ShareWith
    """The organisation's RAM set-up: decides ``allow_external_principals`` and the accepter."""
    isolated_account: str
    region: str
    tags: dict[str, str]
    locked_vault_name: str | None = None
    """The locked standard vault's name (``StackConfig.locked_vault_name``); None: no active type needs it."""


# Days before a vault lock takes effect and can no longer be changed or removed (AWS's minimum is 3; a
# lock with this setting is in compliance mode, one without it in governance mode).
LOCK_CHANGEABLE_DAYS = 3


def locked_key_alias(vault_name: str) -> str:
    """The alias of the locked standard vault's key: the vault's own name."""
    return f"alias/{vault_name}"


class AirGappedArchive(pulumi.ComponentResource):
    """Created with a provider of the isolated account in ``opts``, by the isolated project (``isolated/``).

    The vault is locked in compliance mode by AWS; min/max retention are replace-on-change, and a
    replacement fails once the vault holds recovery points, hence ``protect``.
    """

    def __init__(
        self, name: str, args: AirGappedArchiveArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # AWS-owned key (AWS's recommendation for air-gapped vaults): nothing in the workload account,
        # compromised or not, can disable or schedule deletion of the key that protects the copies.
        vault_name = args.vault_name
        vault = aws.backup.LogicallyAirGappedVault(
            f"{name}-vault",
            name=vault_name,
            min_retention_days=args.min_retention_days,
            max_retention_days=args.max_retention_days,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.backup.VaultPolicy(
            f"{name}-vault-policy",
            backup_vault_name=vault.name,
            policy=vault.arn.apply(
                lambda arn: json.dumps(documents.copy_into_vault_policy(arn, args.workload_account))
            ),
            opts=child,
        )
        # organization: RAM sharing with AWS Organizations is enabled, the workload account (same
        # organisation, as cross-account backup requires) gets the share without an invitation, and the
        # share refuses anyone outside the organisation. invitation: it is not enabled, RAM counts every
        # other account as external (a share refusing external principals rejects the workload account)
        # and sends an invitation that the workload account accepts. docs/ram-sharing.md has the sources.
        invitation = args.share_with is ShareWith.INVITATION
        share = aws.ram.ResourceShare(
            f"{name}-share",
            name=air_gapped_share_name(vault_name),
            allow_external_principals=invitation,
            tags=args.tags,
            opts=child,
        )
        aws.ram.ResourceAssociation(
            f"{name}-share-vault", resource_share_arn=share.arn, resource_arn=vault.arn, opts=child
        )
        # Only the one account: a logically air-gapped vault is shared with accounts, never a whole
        # organisation or OU.
        # With ``invitation`` the association sends the invitation; it is addressed to the workload account,
        # so only that account's credentials can accept it: the workload stack does (components/stack.py).
        aws.ram.PrincipalAssociation(
            f"{name}-share-workload",
            resource_share_arn=share.arn,
            principal=args.workload_account,
            opts=child,
        )
        self.locked_vault: aws.backup.Vault | None = None
        if args.locked_vault_name is not None:
            self.locked_vault = self._locked_vault(name, args, args.locked_vault_name)
        self.vault = vault
        self.vault_arn = vault.arn
        self.vault_name = vault.name
        self.share_arn = share.arn
        self.register_outputs({"vaultArn": vault.arn, "shareArn": share.arn})

    def _locked_vault(self, name: str, args: AirGappedArchiveArgs, vault_name: str) -> aws.backup.Vault:
        """A standard vault in the isolated account that only the workload account copies into.

        Nothing is shared through RAM: a standard vault's recovery points come back by a copy into the
        workload account, started here. The key is the isolated account's: the copy into the vault is
        re-encrypted under it, and the workload account may use it for copies (and the copy back) only.
        """
        protected = pulumi.ResourceOptions(parent=self, protect=True)
        _, vault = keyed_vault(
            self,
            f"{name}-locked",
            vault_name=vault_name,
            key_alias=locked_key_alias(vault_name),
            key_description=f"AWS Backup locked vault key ({vault_name})",
            key_owner=args.isolated_account,
            copy_accounts=(args.workload_account,),
            tags=args.tags,
        )
        # Compliance mode (changeable_for_days set): after the cooling-off days nobody, the isolated
        # account's root included, can delete a recovery point early or loosen the range. The range is
        # the air-gapped vault's, so the one copy retention (retention.airGappedCopy) fits both vaults.
        aws.backup.VaultLockConfiguration(
            f"{name}-locked-vault-lock",
            backup_vault_name=vault.name,
            min_retention_days=args.min_retention_days,
            max_retention_days=args.max_retention_days,
            changeable_for_days=LOCK_CHANGEABLE_DAYS,
            # A vault has one lock configuration: a replacement created first and the old one deleted after
            # would remove the lock just put. Delete first, as the workload vaults' locks do (vault_lock.py).
            opts=pulumi.ResourceOptions.merge(protected, pulumi.ResourceOptions(delete_before_replace=True)),
        )
        aws.backup.VaultPolicy(
            f"{name}-locked-vault-policy",
            backup_vault_name=vault.name,
            policy=vault.arn.apply(
                lambda arn: json.dumps(documents.copy_into_vault_policy(arn, args.workload_account))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return vault
