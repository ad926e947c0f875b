"""The isolated account's program: for every workload account of its config, the resources the workload
stacks registered there before (``components/archive.py``), with the same names and inputs.

One provider per workload account, pinned to the isolated account and to that workload's primary region,
carrying that stack's tags as default tags, as the workload stack's ``archive`` provider did; no role is
assumed: the stack runs with the isolated account's own credentials. Names carry the workload account
(``archive-<account>``, its children ``archive-<account>-vault``, ...) because one stack holds every
account's resources; docs/isolated-account.md moves the existing ones here under these names.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.archive import AirGappedArchive, AirGappedArchiveArgs
from components.config import PROVIDER_TAGS
from isolated.isolated_config import IsolatedConfig, Workload


def archive_name(workload_account: str) -> str:
    """The logical name of one workload account's archive component and of its provider here."""
    return f"archive-{workload_account}"


def provider(config: IsolatedConfig, workload: Workload) -> aws.Provider:
    return aws.Provider(
        archive_name(workload.account),
        region=workload.region,
        # A run with another account's credentials fails before touching anything.
        allowed_account_ids=[config.account],
        default_tags=aws.ProviderDefaultTagsArgs(tags={**workload.tags, **PROVIDER_TAGS}),
    )


def archive(config: IsolatedConfig, workload: Workload) -> AirGappedArchive:
    vault = workload.air_gapped_vault
    return AirGappedArchive(
        archive_name(workload.account),
        AirGappedArchiveArgs(
            vault_name=workload.air_gapped_vault_name,
            workload_account=workload.account,
            isolated_account=config.account,
            region=workload.region,
            min_retention_days=vault.min_retention_days,
            max_retention_days=vault.max_retention_days,
            # An invitation is accepted by the workload stack, with its own credentials.
            share_with=vault.share_with,
            tags=dict(workload.tags),
            locked_vault_name=workload.locked_vault_name if workload.locked_vault else None,
        ),
        opts=pulumi.ResourceOptions(provider=provider(config, workload)),
    )


def build(config: IsolatedConfig) -> None:
    vaults: dict[str, pulumi.Output[str]] = {}
    shares: dict[str, pulumi.Output[str]] = {}
    locked: dict[str, pulumi.Output[str]] = {}
    for workload in config.workloads:
        built = archive(config, workload)
        vaults[workload.account] = built.vault_arn
        shares[workload.account] = built.share_arn
        if built.locked_vault is not None:
            locked[workload.account] = built.locked_vault.arn
    pulumi.export("airGappedVaultArns", vaults)
    pulumi.export("ramShareArns", shares)
    pulumi.export("lockedVaultArns", locked)
