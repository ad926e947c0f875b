"""The three places one stack deploys to, each pinned to its account."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import PROVIDER_TAGS, StackConfig


@dataclass(frozen=True)
class Providers:
    origin: aws.Provider
    """Workload account, primary region: vaults, plans, selections."""
    cross_region: aws.Provider
    """Workload account, DR region: cross-region vaults and keys."""
    archive: aws.Provider
    """Isolated backup account, primary region: the air-gapped vault."""


def _tags(config: StackConfig) -> aws.ProviderDefaultTagsArgs:
    return aws.ProviderDefaultTagsArgs(tags={**config.tags, **PROVIDER_TAGS})


def create(config: StackConfig) -> Providers:
    workload = config.accounts.workload
    return Providers(
        origin=aws.Provider(
            "origin",
            region=config.regions.primary,
            # A stack run with the wrong credentials fails before touching anything.
            allowed_account_ids=[workload],
            default_tags=_tags(config),
        ),
        cross_region=aws.Provider(
            "cross-region",
            region=config.regions.dr,
            allowed_account_ids=[workload],
            default_tags=_tags(config),
        ),
        archive=aws.Provider(
            "archive",
            region=config.regions.primary,
            allowed_account_ids=[config.accounts.isolated],
            assume_roles=[
                aws.ProviderAssumeRoleArgs(
                    role_arn=config.isolated_role_arn,
                    session_name=f"aws-dr-backup-{pulumi.get_stack()}",
                )
            ],
            default_tags=_tags(config),
        ),
    )
