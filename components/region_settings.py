"""Account-wide AWS Backup region settings: the complete opt-in and management-preference maps.

The provider stores the whole map DescribeRegionSettings returns (every resource type of the region)
as the resource's state, so the program names every type: the protected ones on, the others as
configured. Naming fewer would show a change on every preview after the first apply
(docs/region-settings.md). Aurora, DocumentDB and Neptune are never backed up without their opt-in.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import catalog
from components.config import RegionSettings


def opt_in(
    name: str,
    types: tuple[catalog.ResourceType, ...],
    settings: RegionSettings,
    provider: aws.Provider,
) -> aws.backup.RegionSettings:
    return aws.backup.RegionSettings(
        name,
        resource_type_opt_in_preference=settings.opt_in(types),
        resource_type_management_preference=settings.management(types),
        opts=pulumi.ResourceOptions(provider=provider),
    )
