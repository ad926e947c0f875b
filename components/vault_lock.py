"""The Vault Lock of one workload vault, and the access policy that keeps it and the recovery points in place.

The lock refuses, to everyone, deleting a recovery point before it expires or shortening its lifecycle; in
governance mode a principal allowed ``backup:DeleteBackupVaultLockConfiguration`` can still remove it, so the
access policy denies that (and deleting points, changing lifecycles, changing the policy) to every principal but
the vault's backup role and the deployment role (docs/guardrails.md#vault-lock-on-the-workload-vaults).

Resource names are ``<name>-vault-lock`` and ``<name>-vault-policy`` next to the vault ``<name>-vault`` (the
cross-region vault's policy keeps the URN it always had); adding them changes neither a vault's URN nor its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import documents
from components.config import VaultLock, VaultLockMode


@dataclass(frozen=True)
class VaultLockArgs:
    vault: aws.backup.Vault
    settings: VaultLock
    shortest_retention_days: int
    """The shortest ``deleteAfterDays`` the stack's plans give a recovery point in this vault
    (``plan_layout.retention_into``): the lock's minimum unless ``settings.min_retention_days`` is given."""
    exempt_roles: Sequence[str]
    """ARNs the access policy still lets delete and loosen: the vault's backup role and the deployment role."""
    copy_source_account: str | None = None
    """An account that copies into this vault (the cross-region vault: the workload account itself)."""
    provider: pulumi.ProviderResource | None = None


def lock_vault(
    parent: pulumi.Resource, name: str, args: VaultLockArgs
) -> tuple[aws.backup.VaultLockConfiguration, aws.backup.VaultPolicy]:
    """Lock the vault ``<name>-vault`` and give it its access policy (``<name>-vault-lock``, ``-vault-policy``).

    The lock's arguments all force a replacement (the provider has no update for it), and a replacement that
    created the new lock before deleting the old one would delete the lock just put on the same vault, so the
    old one goes first. A compliance lock is ``protect``ed: after its grace period AWS refuses to remove it.
    """
    settings = args.settings
    compliance = settings.mode is VaultLockMode.COMPLIANCE
    minimum = settings.min_retention_days or args.shortest_retention_days
    lock = aws.backup.VaultLockConfiguration(
        f"{name}-vault-lock",
        backup_vault_name=args.vault.name,
        min_retention_days=minimum,
        max_retention_days=settings.max_retention_days,
        changeable_for_days=settings.changeable_for_days if compliance else None,
        opts=pulumi.ResourceOptions(
            parent=parent, provider=args.provider, delete_before_replace=True, protect=compliance
        ),
    )
    exempt = list(args.exempt_roles)
    policy = aws.backup.VaultPolicy(
        f"{name}-vault-policy",
        backup_vault_name=args.vault.name,
        policy=args.vault.arn.apply(
            lambda arn: documents.to_json(
                documents.workload_vault_policy(arn, exempt, copy_source_account=args.copy_source_account)
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=args.provider),
    )
    return lock, policy
