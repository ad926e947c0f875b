"""The two places one stack deploys to, both pinned to the workload account.

Nothing here reaches the isolated account: its vaults are the isolated project's (``isolated/``,
docs/isolated-account.md), deployed with that account's own credentials."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws

from components.config import PROVIDER_TAGS, StackConfig


@dataclass(frozen=True)
class Providers:
    origin: aws.Provider
    """Workload account, primary region: vaults, plans, selections."""
    cross_region: aws.Provider
    """Workload account, DR region: cross-region vaults and keys."""


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
    )
