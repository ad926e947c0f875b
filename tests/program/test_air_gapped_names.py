"""Everything the isolated stack creates for a workload account is named per workload account, so a fleet
shares one isolated account, and the workload stack's copies name that vault; airGappedVault.name keeps the
vault (and share) of a stack deployed before that."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from drplan.graph import StackGraph
from drplan.program import register_stack
from tests.isolated.isolated_graphs import run_isolated

NS = "aws-dr-backup"
LAG = "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"
POLICY = "aws:backup/vaultPolicy:VaultPolicy"
SHARE = "aws:ram/resourceShare:ResourceShare"


def targets(graph: StackGraph) -> set[str]:
    """Every vault the stack's copy actions name in the isolated account 222222222222."""
    rules = [rule for plan in graph.by_type("aws:backup/plan:Plan") for rule in plan.inputs["rules"]]
    return {
        c["destinationVaultArn"]
        for rule in rules
        for c in rule.get("copyActions", [])
        if ":222222222222:" in c["destinationVaultArn"] or ":444444444444:" in c["destinationVaultArn"]
    }


def names(graph: StackGraph, account: str) -> tuple[str, str, str]:
    """The vault, its policy's vault and the share the isolated stack registers for ``account``."""
    (vault,) = [v for v in graph.by_type(LAG) if v.name == f"archive-{account}-vault"]
    policies = [p for p in graph.by_type(POLICY) if p.parent == vault.parent]
    (share,) = [s for s in graph.by_type(SHARE) if s.name == f"archive-{account}-share"]
    return vault.inputs["name"], policies[0].inputs["backupVaultName"], share.inputs["name"]


def test_default_names_carry_the_workload_account(prod: StackGraph, staging: StackGraph) -> None:
    isolated = run_isolated("isolated-222222222222")
    assert names(isolated, "111111111111") == (
        "dr-prod-111111111111-air-gapped",
        "dr-prod-111111111111-air-gapped",
        "dr-prod-111111111111-air-gapped-vault",
    )
    assert (
        names(run_isolated("isolated-444444444444"), "333333333333")[0]
        == "dr-staging-333333333333-air-gapped"
    )
    # Every copy into the isolated account targets the vault by that name (or the locked vault's).
    base = "arn:aws:backup:us-east-1:222222222222:backup-vault:dr-prod-111111111111"
    assert targets(prod) == {f"{base}-air-gapped", f"{base}-locked"}
    base = "arn:aws:backup:us-east-1:444444444444:backup-vault:dr-staging-333333333333"
    assert targets(staging) == {f"{base}-air-gapped", f"{base}-locked"}


def test_a_kept_name_keeps_the_vault_of_an_earlier_deployment(prod_config: dict[str, Any]) -> None:
    prod_config[f"{NS}:airGappedVault"] = {
        "minRetentionDays": 7,
        "maxRetentionDays": 35,
        "name": "dr-prod-air-gapped",
    }
    graph = register_stack("prod", config=prod_config)
    # The name this project gave before names carried the workload account: the copies go there (the
    # isolated stack keeps that vault and share under it: tests/isolated/test_isolated_program.py).
    assert "arn:aws:backup:us-east-1:222222222222:backup-vault:dr-prod-air-gapped" in targets(graph)
    assert not any("dr-prod-111111111111-air-gapped" in t for t in targets(graph))


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
