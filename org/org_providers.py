"""The places the organisation stack deploys to, each pinned to its account."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import role_arn
from org.org_config import PROJECT, OrgConfig


@dataclass(frozen=True)
class Providers:
    management: aws.Provider
    """Management account, primary region: Organizations settings, Backup global settings."""
    management_dr: aws.Provider
    """Management account, DR region: Backup global settings there too."""
    reports: aws.Provider
    """Reports account (isolated or audit), primary region: the fleet bucket."""
    report_plans: aws.Provider
    """Where the job report plans live: the delegated administrator, or the management account."""


def _tags(config: OrgConfig) -> aws.ProviderDefaultTagsArgs:
    return aws.ProviderDefaultTagsArgs(
        tags={**config.tags, "managed-by": "pulumi", "pulumi-project": PROJECT}
    )


def assumed(name: str, config: OrgConfig, account: str, role: str, region: str | None = None) -> aws.Provider:
    """A provider into ``account`` through ``role`` (a name or an ARN there), in ``region`` (default primary)."""
    return aws.Provider(
        name,
        region=region or config.regions.primary,
        # A run with the wrong credentials or role fails before it changes anything.
        allowed_account_ids=[account],
        assume_roles=[
            aws.ProviderAssumeRoleArgs(
                role_arn=role_arn(role, account), session_name=f"{PROJECT}-{pulumi.get_stack()}"
            )
        ],
        default_tags=_tags(config),
    )


def create(config: OrgConfig) -> Providers:
    management = config.accounts.management
    primary = aws.Provider(
        "management",
        region=config.regions.primary,
        allowed_account_ids=[management],
        default_tags=_tags(config),
    )
    delegated, delegated_role = config.accounts.delegated_administrator, config.roles.delegated_administrator
    return Providers(
        management=primary,
        management_dr=aws.Provider(
            "management-dr",
            region=config.regions.dr,
            allowed_account_ids=[management],
            default_tags=_tags(config),
        ),
        reports=assumed("reports", config, config.accounts.reports, config.roles.reports),
        report_plans=primary
        if delegated is None or delegated_role is None
        else assumed("delegated-administrator", config, delegated, delegated_role),
    )
