"""Account-wide AWS Backup region settings: the complete opt-in and management-preference maps.

The provider stores the whole map DescribeRegionSettings returns (every resource type of the region)
as the resource's state, so the program names every type: the protected ones on, the others as
configured. Naming fewer would show a change on every preview after the first apply
(docs/region-settings.md). Aurora, DocumentDB and Neptune are never backed up without their opt-in.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.config import REGION_SETTINGS_OTHER_DEFAULT, RegionSettings
from dr_model import catalog


def _complete(keys: tuple[str, ...], protected: set[str], others: Mapping[str, bool]) -> dict[str, bool]:
    return {k: k in protected or others.get(k, REGION_SETTINGS_OTHER_DEFAULT) for k in keys}


def opt_in_map(types: tuple[catalog.ResourceType, ...], settings: RegionSettings) -> dict[str, bool]:
    """Every opt-in key AWS returns: protected types on, the others from ``otherTypes`` or the default."""
    protected = {t.backup_name for t in types}
    return _complete(catalog.REGION_SETTINGS_OPT_IN_TYPES, protected, settings.other_types)


def management_map(types: tuple[catalog.ResourceType, ...], settings: RegionSettings) -> dict[str, bool]:
    """Every management-preference key AWS returns, built like ``opt_in_map``."""
    protected = {t.backup_name for t in types if t.region_management}
    return _complete(catalog.REGION_SETTINGS_MANAGEMENT_TYPES, protected, settings.other_management)


def own(
    name: str,
    types: tuple[catalog.ResourceType, ...],
    settings: RegionSettings,
    provider: aws.Provider,
) -> aws.backup.RegionSettings:
    return aws.backup.RegionSettings(
        name,
        resource_type_opt_in_preference=opt_in_map(types, settings),
        resource_type_management_preference=management_map(types, settings),
        opts=pulumi.ResourceOptions(provider=provider),
    )
