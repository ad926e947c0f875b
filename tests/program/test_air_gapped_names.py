"""Everything a stack creates in the isolated account is named per workload account, so a fleet shares one
isolated account; airGappedVault.name keeps the vault (and share) of a stack deployed before that."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from drplan.graph import StackGraph
from drplan.program import register_stack

NS = "aws-dr-backup"
LAG = "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"
POLICY = "aws:backup/vaultPolicy:VaultPolicy"
SHARE = "aws:ram/resourceShare:ResourceShare"


def names(graph: StackGraph) -> tuple[str, str, str]:
    (vault,) = graph.by_type(LAG)
    policies = [p for p in graph.by_type(POLICY) if p.parent == vault.parent]
    (share,) = graph.by_type(SHARE)
    return vault.inputs["name"], policies[0].inputs["backupVaultName"], share.inputs["name"]


def test_default_names_carry_the_workload_account(prod: StackGraph, staging: StackGraph) -> None:
    assert names(prod) == (
        "dr-prod-111111111111-air-gapped",
        "dr-prod-111111111111-air-gapped",
        "dr-prod-111111111111-air-gapped-vault",
    )
    assert names(staging)[0] == "dr-staging-333333333333-air-gapped"
    # Every copy into the isolated account targets the vault by that name.
    arn = "arn:aws:backup:us-east-1:222222222222:backup-vault:dr-prod-111111111111-air-gapped"
    rules = [rule for plan in prod.by_type("aws:backup/plan:Plan") for rule in plan.inputs["rules"]]
    targets = {c["destinationVaultArn"] for rule in rules for c in rule.get("copyActions", [])}
    assert arn in targets


def test_a_kept_name_keeps_the_vault_and_share_of_an_earlier_deployment(prod_config: dict[str, Any]) -> None:
    prod_config[f"{NS}:airGappedVault"] = {
        "minRetentionDays": 7,
        "maxRetentionDays": 35,
        "name": "dr-prod-air-gapped",
    }
    graph = register_stack("prod", config=prod_config)
    # The names this project gave before names carried the workload account.
    assert names(graph) == ("dr-prod-air-gapped", "dr-prod-air-gapped", "dr-prod-air-gapped-vault")


@pytest.mark.parametrize("name", ["dr prod", "x", "a" * 51, "dr.prod"])
def test_a_vault_name_aws_refuses_is_named_before_anything_registers(
    prod_config: dict[str, Any], name: str
) -> None:
    prod_config[f"{NS}:airGappedVault"] = {"name": name}
    recorded: list[Any] = []
    with pytest.raises(
        ConfigError, match=r"airGappedVault\.name = .*2-50 letters, digits, hyphens and underscores"
    ):
        register_stack("prod", config=prod_config, recorder=recorded)
    assert recorded == []
