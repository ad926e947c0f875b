"""The whole program, from validated config to stack outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from components import plan_layout as layout
from components import providers, region_settings
from components.config import Bridge, StackConfig
from components.event_forwarding import EventForwarding, EventForwardingArgs, ForwardedRegion
from components.memorydb_bridge import MemoryDbBridge, MemoryDbBridgeArgs
from components.opensearch_bridge import OpenSearchBridge, OpenSearchBridgeArgs
from components.operations.workload_operations import Operations, OperationsArgs
from components.type_protection import ResourceTypeProtection, ResourceTypeProtectionArgs


@dataclass(frozen=True)
class Protected:
    """What :func:`protect` built: the providers and each type's vaults, keys and plans."""

    places: providers.Providers
    vaults: dict[str, dict[str, pulumi.Output[str]]]
    keys: dict[str, dict[str, pulumi.Output[str]]]
    plans: dict[str, dict[str, pulumi.Output[str]]]
    roles: dict[str, pulumi.Output[str]]
    """Type -> the type's AWS Backup role (backup and restore policies); the restore commands use it."""
    plan_specs: dict[str, tuple[layout.PlanSpec, ...]]
    """Type key -> the plans registered for it, as data (the coverage job checks their start windows)."""


def build(config: StackConfig) -> None:
    """The whole stack: protection, bridges, operations and the stack outputs."""
    protected = protect(config)
    places = protected.places
    if config.isolated_account_role is not None:
        pulumi.log.warn(
            "isolatedAccountRole is no longer used: this stack registers nothing in the isolated account "
            "(the isolated project does, docs/isolated-account.md); remove the setting, a later release "
            "rejects it"
        )
    vaults, keys, plans = protected.vaults, protected.keys, protected.plans

    bridge_buckets = _bridges(config, places.origin)

    pulumi.export("vaultArns", vaults)
    pulumi.export("planIds", plans)
    pulumi.export("restoreRoleArns", protected.roles)
    pulumi.export("airGappedVaultArn", config.air_gapped_vault_arn)
    if config.locked_vault_arn is not None:
        pulumi.export("lockedVaultArn", config.locked_vault_arn)
    if bridge_buckets:
        pulumi.export("bridgeBuckets", bridge_buckets)

    # --- operations (issue 5): alerts, watchdog, coverage, dashboard, restore tests, audit ---------
    air_gapped = pulumi.Output.from_input(config.air_gapped_vault_arn)
    operations = _operations(config, places, vaults, keys, air_gapped, protected.plan_specs)
    pulumi.export("alertTopicArns", operations.topic_arns)
    pulumi.export("operationsDashboard", operations.dashboard_name)

    # --- events out of the account (issue 18): to the verifier's bus, both Regions ---------------
    if config.verifier_event_bus is not None:
        forwarding = _forward_events(config, places, keys, config.verifier_event_bus)
        pulumi.export("eventForwarderRoleArn", forwarding.role_arn)


def protect(config: StackConfig) -> Protected:
    """Providers, the share's acceptance, region settings and every active type's protection.

    The isolated account's vaults are not registered here (docs/isolated-account.md): the copy actions
    name them by the ARNs their names give.

    The offline plan also runs this part alone, with the other layout, for its storage estimate.
    """
    places = providers.create(config)
    tags = dict(config.tags)
    types = config.active_types
    share_arn = config.air_gapped_vault.share_arn
    if share_arn is not None:  # given exactly when shareWith is invitation (StackConfig checks it)
        # The invitation is addressed to the workload account: only its credentials can accept it
        # (docs/ram-sharing.md); the isolated stack creates the share and its invitation.
        aws.ram.ResourceShareAccepter(
            "archive-share-accepter", share_arn=share_arn, opts=pulumi.ResourceOptions(provider=places.origin)
        )
    if config.region_settings.manage:
        for name, provider in (
            ("region-settings-primary", places.origin),
            ("region-settings-dr", places.cross_region),
        ):
            region_settings.own(name, types, config.region_settings, provider)

    vaults: dict[str, dict[str, pulumi.Output[str]]] = {}
    keys: dict[str, dict[str, pulumi.Output[str]]] = {}
    plans: dict[str, dict[str, pulumi.Output[str]]] = {}
    roles: dict[str, pulumi.Output[str]] = {}
    plan_specs: dict[str, tuple[layout.PlanSpec, ...]] = {}
    for rtype in types:
        plan_specs[rtype.key] = layout.plans_for(config, rtype)
        protection = ResourceTypeProtection(
            rtype.key,
            ResourceTypeProtectionArgs(
                resource_type=rtype,
                prefix=config.prefix,
                workload_account=config.accounts.workload,
                isolated_account=config.accounts.isolated,
                primary_region=config.regions.primary,
                dr_region=config.regions.dr,
                plans=plan_specs[rtype.key],
                air_gapped_vault_arn=config.air_gapped_vault_arn,
                locked_vault_arn=config.locked_vault_arn,
                cross_region_provider=places.cross_region,
                tags=tags,
                vault_lock=config.vault_lock,
                deployment_role_arn=config.deployment_role_arn,
                scanner_role_arn=config.scanner_role_arn,
                scan_mode=config.malware_scanning.mode.api_value,
            ),
            opts=pulumi.ResourceOptions(provider=places.origin),
        )
        vaults[rtype.key] = protection.vault_arns
        keys[rtype.key] = protection.key_arns
        plans[rtype.key] = protection.plan_ids
        roles[rtype.key] = protection.role_arn
    return Protected(
        places=places,
        vaults=vaults,
        keys=keys,
        plans=plans,
        roles=roles,
        plan_specs=plan_specs,
    )


def _operations(
    config: StackConfig,
    places: providers.Providers,
    vaults: dict[str, dict[str, pulumi.Output[str]]],
    keys: dict[str, dict[str, pulumi.Output[str]]],
    air_gapped_vault_arn: pulumi.Output[str],
    plan_specs: dict[str, tuple[layout.PlanSpec, ...]],
) -> Operations:
    """Operations in the workload account: alerts in both regions, everything else in the primary."""
    return Operations(
        "operations",
        OperationsArgs(
            prefix=config.prefix,
            workload_account=config.accounts.workload,
            isolated_account=config.accounts.isolated,
            primary_region=config.regions.primary,
            dr_region=config.regions.dr,
            types=config.active_types,
            vault_arns=vaults,
            key_arns=keys,
            air_gapped_vault_arn=air_gapped_vault_arn,
            dr_provider=places.cross_region,
            settings=config.operations,
            opt_out_tags=config.opt_out_tags,
            completion_window_minutes=config.windows.completion_minutes,
            min_retention_days=config.retention.in_region.delete_after_days,
            timezone=config.schedules.timezone,
            log_retention_days=config.log_retention_days,
            kubernetes_clusters=config.kubernetes_clusters,
            plans=plan_specs,
            tags=dict(config.tags),
        ),
        opts=pulumi.ResourceOptions(provider=places.origin),
    )


def _forward_events(
    config: StackConfig,
    places: providers.Providers,
    keys: dict[str, dict[str, pulumi.Output[str]]],
    bus_arn: str,
) -> EventForwarding:
    primary, dr = config.regions.primary, config.regions.dr
    return EventForwarding(
        "event-forwarding",
        EventForwardingArgs(
            prefix=config.prefix,
            account=config.accounts.workload,
            bus_arn=bus_arn,
            regions=[
                ForwardedRegion(region, [by_region[region] for by_region in keys.values()], provider)
                for region, provider in ((primary, None), (dr, places.cross_region))
            ],
            tags=dict(config.tags),
        ),
        opts=pulumi.ResourceOptions(provider=places.origin),
    )


class _BridgeSettings(TypedDict, total=False):
    prefix: str
    cluster_name: str
    account_id: str
    region: str
    tags: dict[str, str]
    log_retention_days: int
    schedule_expression: str
    opt_out_tag: str


def _bridge_settings(config: StackConfig, bridge: Bridge) -> _BridgeSettings:
    settings: _BridgeSettings = {
        "prefix": config.prefix,
        "cluster_name": bridge.cluster_name,
        "account_id": config.accounts.workload,
        "region": config.regions.primary,
        "tags": dict(config.tags),
        "log_retention_days": config.log_retention_days,
        "opt_out_tag": config.opt_out_tags.all,
    }
    if bridge.schedule is not None:
        settings["schedule_expression"] = bridge.schedule
    return settings


def _bridges(config: StackConfig, origin: pulumi.ProviderResource) -> dict[str, pulumi.Output[str]]:
    """Snapshot bridges in the workload account's primary region; their buckets fall in the S3 plans."""
    buckets: dict[str, pulumi.Output[str]] = {}
    opts = pulumi.ResourceOptions(provider=origin)
    opensearch, memorydb = config.bridges.opensearch, config.bridges.memorydb
    if opensearch is not None:
        bridge = OpenSearchBridge(
            "opensearch-bridge",
            OpenSearchBridgeArgs(
                **_bridge_settings(config, opensearch),
                vpc_subnet_ids=opensearch.vpc_subnet_ids,
                vpc_security_group_ids=opensearch.vpc_security_group_ids,
            ),
            opts=opts,
        )
        buckets["opensearch"] = bridge.bucket_name
    if memorydb is not None:
        memorydb_bridge = MemoryDbBridge(
            "memorydb-bridge",
            MemoryDbBridgeArgs(**_bridge_settings(config, memorydb)),
            opts=opts,
        )
        buckets["memorydb"] = memorydb_bridge.bucket_name
    return buckets
