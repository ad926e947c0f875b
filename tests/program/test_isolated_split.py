"""The workload stacks let go of the isolated account (issue 19 item 3, docs/isolated-account.md).

``baselines/before-isolated-split.json`` was written from the program one commit before the split (main at
fbdeb8e, ``python -m tests.program.graph_baseline``). Against it, for every example stack:

- exactly the resources the workload stack registered in the isolated account are gone: the ``archive``
  provider, the ``archive`` component and its children (the isolated stack now registers them,
  tests/isolated/test_migration.py);
- everything else keeps its URN, type, inputs (the plans' copy actions byte for byte), ``protect``, parent
  and provider, and nothing is added;
- the plans lose only their ``dependsOn`` edges to the isolated account's vaults, which changes no input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drplan.graph import RegisteredResource, StackGraph
from drplan.program import register_stack
from tests.program.graph_baseline import STACKS, digest, moved_to_isolated, snapshot

BASELINE = Path(__file__).parent / "baselines" / "before-isolated-split.json"
PLAN = "aws:backup/plan:Plan"


@pytest.fixture(scope="module")
def before() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(BASELINE.read_text())
    return loaded


@pytest.fixture(scope="module")
def graphs() -> dict[str, StackGraph]:
    return {stack: register_stack(stack) for stack in STACKS}


def split(old: dict[str, str], now: dict[str, str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """(gone and moved, gone otherwise, changed, added) URNs between two digest maps."""
    gone = sorted(set(old) - set(now))
    return (
        [u for u in gone if moved_to_isolated(u)],
        [u for u in gone if not moved_to_isolated(u)],
        sorted(u for u in set(old) & set(now) if old[u] != now[u]),
        sorted(set(now) - set(old)),
    )


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_isolated_accounts_resources_leave_and_nothing_else_changes(
    stack: str, before: dict[str, Any], graphs: dict[str, StackGraph]
) -> None:
    old, now = before[stack]["digests"], snapshot(graphs[stack])["digests"]
    moved, lost, changed, added = split(old, now)
    # The old layout had them all: provider, component, air-gapped vault, its policy, share, its two
    # associations and (every example stack protects RDS) the locked vault, key, alias, lock and policy.
    assert len(moved) == 12, moved
    assert any(u.endswith("::archive") and "pulumi:providers:aws" in u for u in moved)
    assert lost == [], f"{stack}: no longer registered: {lost[:3]}"
    assert changed == [], f"{stack}: inputs, protect, parent or provider changed: {changed[:3]}"
    assert added == [], f"{stack}: registered anew: {added[:3]}"
    assert not any(moved_to_isolated(r.urn) for r in graphs[stack].resources)


def test_plans_keep_their_copy_actions_and_lose_only_the_isolated_dependencies(
    graphs: dict[str, StackGraph],
) -> None:
    graph = graphs["prod"]
    plans = graph.by_type(PLAN)
    assert plans
    for plan in plans:
        # Copy actions still name the isolated account's vaults, by the ARN their names give.
        targets = [c["destinationVaultArn"] for r in plan.inputs["rules"] for c in r.get("copyActions", [])]
        assert any(":222222222222:backup-vault:dr-prod-111111111111-" in t for t in targets), plan.name
        assert all(not moved_to_isolated(d) for d in plan.dependencies), plan.name


def test_the_comparison_catches_a_changed_copy_action_and_a_kept_archive(
    graphs: dict[str, StackGraph],
) -> None:
    """Not vacuous: a plan whose copy action moved gets another digest; an archive resource still there counts
    as not moved."""
    graph = graphs["prod"]
    now = snapshot(graph)["digests"]
    plan = next(p for p in graph.by_type(PLAN) if p.name == "ebs-full-plan")
    rules = json.loads(json.dumps(plan.inputs["rules"]))
    rules[0]["copyActions"][-1]["destinationVaultArn"] += "-2"
    edited = RegisteredResource(**{**plan.__dict__, "inputs": {**plan.inputs, "rules": rules}})
    _, _, changed, _ = split(now, {**now, plan.urn: digest(edited)})
    assert changed == [plan.urn]
    archive = "urn:pulumi:prod::aws-dr-backup::aws-dr-backup:backup:AirGappedArchive::archive"
    moved, lost, _, added = split({**now, archive: "x"}, {**now, archive: "x"})
    assert (moved, lost, added) == ([], [], [])
    moved, _, _, _ = split({**now, archive: "x"}, now)
    assert moved == [archive]
    kept = "urn:pulumi:prod::aws-dr-backup::aws:backup/vault:Vault::somewhere-else"
    _, lost, _, _ = split({**now, kept: "x"}, now)
    assert lost == [kept]
