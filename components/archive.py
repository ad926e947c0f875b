"""The isolated account's logically air-gapped vault, shared back to the workload account for restores."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import documents
from components.config import ShareWith, air_gapped_share_name

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
    workload_provider: aws.Provider
    """Provider of the workload account, which accepts the RAM invitation (``invitation`` only)."""
    tags: dict[str, str]


class AirGappedArchive(pulumi.ComponentResource):
    """Created with the archive provider (isolated account) in ``opts``.

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
        principal = aws.ram.PrincipalAssociation(
            f"{name}-share-workload",
            resource_share_arn=share.arn,
            principal=args.workload_account,
            opts=child,
        )
        if invitation:
            # The invitation exists once the principal is associated; it is addressed to the workload
            # account, so only that account's credentials can accept it.
            aws.ram.ResourceShareAccepter(
                f"{name}-share-accepter",
                share_arn=principal.resource_share_arn,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.workload_provider, depends_on=[principal]
                ),
            )
        self.vault = vault
        self.vault_arn = vault.arn
        self.known_vault_arn = documents.vault_arn(args.region, args.isolated_account, vault_name)
        self.vault_name = vault.name
        self.share_arn = share.arn
        self.register_outputs({"vaultArn": vault.arn, "shareArn": share.arn})
