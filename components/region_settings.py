"""Account-wide AWS Backup region settings: opt the protected types in, DynamoDB advanced features on."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import catalog


def opt_in(
    name: str, types: tuple[catalog.ResourceType, ...], provider: aws.Provider
) -> aws.backup.RegionSettings:
    # Only the protected types are named: UpdateRegionSettings leaves unnamed types as they are, so
    # another team's opt-ins survive. Aurora, DocumentDB and Neptune are never backed up without this.
    return aws.backup.RegionSettings(
        name,
        resource_type_opt_in_preference={t.backup_name: True for t in types},
        resource_type_management_preference={t.backup_name: True for t in types if t.region_management},
        opts=pulumi.ResourceOptions(provider=provider),
    )
