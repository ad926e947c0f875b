"""Configuration of the isolated account's stack (``isolated/Pulumi.<stack>.yaml``, namespace
``aws-dr-backup-isolated:``).

Validated once, at the edge, as the workload and organisation stacks' config is: frozen pydantic models,
one message per rejection naming the key, the value and what is allowed, raised before any resource is
registered. Account, prefix, region and tag rules, and the air-gapped vault's own settings, are the
workload config's own types (``components/config.py``): each entry of ``workloads`` repeats what that
workload stack's file says, and the fleet plan checks that they agree (``drplan/fleet_checks.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import Field, StrictBool, model_validator

from components import config as stack_config
from components.config import (
    MAX_STACK_TAGS,
    PROVIDER_TAGS,
    AccountId,
    AirGappedVault,
    Prefix,
    Region,
    TagKey,
    TagValue,
)
from dr_runtime import vault_names

PROJECT = "aws-dr-backup-isolated"


class Workload(stack_config._Model):
    """One workload stack whose air-gapped vault (and locked vault) this isolated account keeps."""

    account: AccountId
    """The workload stack's ``accounts.workload``: the one principal of the vault policy and the share."""
    prefix: Prefix
    """The workload stack's ``prefix``: the vault names carry it."""
    region: Region = "us-east-1"
    """The workload stack's ``regions.primary``: the vaults live there."""
    tags: Annotated[dict[TagKey, TagValue], Field(max_length=MAX_STACK_TAGS)] = {}
    """The workload stack's ``tags``: its isolated-account resources carried them, and keep them."""
    air_gapped_vault: AirGappedVault = AirGappedVault()
    """The workload stack's ``airGappedVault`` (retention range, RAM set-up, kept old name)."""
    locked_vault: StrictBool
    """Whether the stack protects a type copied to a locked standard vault (RDS DB instances; every
    production stack does): no default, so that leaving it out cannot drop a vault."""

    @model_validator(mode="after")
    def _tags_the_provider_sets(self) -> Self:
        fixed = sorted(set(PROVIDER_TAGS) & set(self.tags))
        if fixed:
            raise ValueError(
                f"tags must not set {fixed[0]}: the providers set it on every resource "
                f"({', '.join(f'{k}={v}' for k, v in PROVIDER_TAGS.items())}); remove it"
            )
        return self

    @property
    def air_gapped_vault_name(self) -> str:
        return self.air_gapped_vault.name or vault_names.air_gapped_vault_name(self.prefix, self.account)

    @property
    def locked_vault_name(self) -> str:
        return vault_names.locked_vault_name(self.prefix, self.account)


class IsolatedConfig(stack_config._Model):
    """The whole validated configuration of one isolated account's stack."""

    account: AccountId
    """The isolated account itself: the stack's credentials must be this account's."""
    workloads: Annotated[tuple[Workload, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _fleet(self) -> Self:
        seen: dict[str, int] = {}
        names: dict[tuple[str, str], str] = {}
        for index, workload in enumerate(self.workloads):
            if workload.account == self.account:
                raise ValueError(
                    f"workloads.{index}.account ({workload.account}) is the isolated account itself: the "
                    "air-gapped copy only survives an account compromise in another account"
                )
            if workload.account in seen:
                raise ValueError(
                    f"workloads.{index}.account ({workload.account}) is listed twice (also workloads."
                    f"{seen[workload.account]}); list each workload account once"
                )
            seen[workload.account] = index
            for name in (workload.air_gapped_vault_name, workload.locked_vault_name):
                place = (workload.region, name)
                if place in names:
                    raise ValueError(
                        f"workloads.{index} names the vault {name} in {workload.region}, as {names[place]} "
                        "does: vault names are unique in an account and region"
                    )
                names[place] = f"workloads.{index} ({workload.account})"
        return self


def entry_of(config: stack_config.StackConfig) -> Workload:
    """The ``workloads`` entry a workload stack needs in its isolated account's stack: what its own file
    says (the share's ARN, an output of the isolated stack, left out)."""
    return Workload(
        account=config.accounts.workload,
        prefix=config.prefix,
        region=config.regions.primary,
        tags=dict(config.tags),
        air_gapped_vault=config.air_gapped_vault.model_copy(update={"share_arn": None}),
        locked_vault=config.locked_vault_arn is not None,
    )


def spelled(workload: Workload) -> dict[str, Any]:
    """The entry as its file spells it (camelCase keys, defaults filled in), for comparisons and messages."""
    return workload.model_dump(by_alias=True, mode="json", exclude={"air_gapped_vault": {"share_arn"}})


def parse(raw: Mapping[str, Any], stack: str) -> IsolatedConfig:
    """Validate raw config (keys without the project namespace) or raise one ConfigError."""
    return stack_config.validate(IsolatedConfig, raw, stack, PROJECT)
