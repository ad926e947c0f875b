"""The whole program, from validated config to stack outputs."""

from __future__ import annotations

import pulumi

from components import layout, providers, region_settings
from components.archive import AirGappedArchive, AirGappedArchiveArgs
from components.config import StackConfig
from components.protection import ResourceTypeProtection, ResourceTypeProtectionArgs


def build(config: StackConfig) -> None:
    places = providers.create(config)
    tags = dict(config.tags)
    archive = AirGappedArchive(
        "archive",
        AirGappedArchiveArgs(
            prefix=config.prefix,
            workload_account=config.accounts.workload,
            min_retention_days=config.air_gapped_vault.min_retention_days,
            max_retention_days=config.air_gapped_vault.max_retention_days,
            accept_share=config.air_gapped_vault.accept_share,
            workload_provider=places.origin,
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(provider=places.archive),
    )
    types = config.active_types
    if config.region_settings.manage:
        region_settings.opt_in("region-settings-primary", types, places.origin)
        region_settings.opt_in("region-settings-dr", types, places.cross_region)

    vaults: dict[str, dict[str, pulumi.Output[str]]] = {}
    plans: dict[str, dict[str, pulumi.Output[str]]] = {}
    for rtype in types:
        protection = ResourceTypeProtection(
            rtype.key,
            ResourceTypeProtectionArgs(
                resource_type=rtype,
                prefix=config.prefix,
                workload_account=config.accounts.workload,
                isolated_account=config.accounts.isolated,
                primary_region=config.regions.primary,
                dr_region=config.regions.dr,
                plans=layout.plans_for(config, rtype),
                air_gapped_vault_arn=archive.vault_arn,
                cross_region_provider=places.cross_region,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(provider=places.origin),
        )
        vaults[rtype.key] = protection.vault_arns
        plans[rtype.key] = protection.plan_ids

    pulumi.export("vaultArns", vaults)
    pulumi.export("planIds", plans)
    pulumi.export("airGappedVaultArn", archive.vault_arn)
    pulumi.export("ramShareArn", archive.share_arn)
