"""A backup vault with a customer-managed key of its own: the shape of every standard vault here.

The key rotates, waits the longest deletion window, and has an alias; key and vault are ``protect``ed (they
hold every recovery point: never deleted by a stray ``pulumi destroy``). Resource names are
``<name>-key``, ``<name>-key-alias`` and ``<name>-vault``: the workload vaults (``type_protection.py``) and
the isolated account's locked vault (``archive.py``) are built here under the names they always had.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import documents


def keyed_vault(
    parent: pulumi.Resource,
    name: str,
    *,
    vault_name: str,
    key_alias: str,
    key_description: str,
    key_owner: str,
    copy_accounts: Sequence[str],
    tags: Mapping[str, str],
    provider: pulumi.ProviderResource | None = None,
) -> tuple[aws.kms.Key, aws.backup.Vault]:
    """The key (owned by ``key_owner``, usable by ``copy_accounts`` for copies) and the vault it encrypts."""
    protected = pulumi.ResourceOptions(parent=parent, provider=provider, protect=True)
    key = aws.kms.Key(
        f"{name}-key",
        description=key_description,
        enable_key_rotation=True,
        deletion_window_in_days=documents.KEY_DELETION_WINDOW_DAYS,
        policy=json.dumps(documents.key_policy(key_owner, tuple(copy_accounts))),
        tags=dict(tags),
        opts=protected,
    )
    aws.kms.Alias(
        f"{name}-key-alias",
        name=key_alias,
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    vault = aws.backup.Vault(
        f"{name}-vault",
        name=vault_name,
        kms_key_arn=key.arn,
        force_destroy=False,
        tags=dict(tags),
        opts=protected,
    )
    return key, vault
