"""Every workload stack's vaults are kept by its isolated account's stack, and back (issue 19 item 3,
docs/isolated-account.md): ``fleet_checks.isolated_stacks`` over the repository's stacks, each difference
planted, and the names the fleet's quota and clash checks count held equal to the isolated stacks' graphs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import StackConfig, from_namespaced, parse
from drplan import fleet_checks, isolated_fleet
from drplan.fleet_checks import CONFLICT, ISOLATED_STACKS, NOTE, Finding, IsolatedStack, StackSummary
from drplan.graph import StackGraph
from drplan.places import Places
from drplan.program import REPO, read_stack_config, stack_file
from isolated import isolated_config
from tests.isolated.isolated_graphs import STACKS, WORKLOAD_STACKS, run_isolated

NS = f"{isolated_config.PROJECT}:"


def workload_config(stack: str) -> StackConfig:
    return parse(from_namespaced(read_stack_config(stack_file(stack))), stack)


def summary(stack: str, config: StackConfig | None = None) -> StackSummary:
    config = config or workload_config(stack)
    return StackSummary(
        stack,
        f"Pulumi.{stack}.yaml",
        0,
        "ok",
        workload_account=config.accounts.workload,
        isolated_account=config.accounts.isolated,
        isolated_names=fleet_checks.isolated_names(config),
        isolated_entry=isolated_config.spelled(isolated_config.entry_of(config)),
    )


@pytest.fixture(scope="module")
def summaries() -> list[StackSummary]:
    return [summary(stack) for stack in WORKLOAD_STACKS]


@pytest.fixture(scope="module")
def repository_isolated() -> list[IsolatedStack]:
    stacks, problems = isolated_fleet.load(REPO)
    assert problems == []
    assert stacks is not None
    return stacks


def of_check(findings: list[Finding], level: str) -> list[Finding]:
    return [f for f in findings if f.check == ISOLATED_STACKS and f.level == level]


def test_the_repositorys_stacks_and_isolated_stacks_agree(
    summaries: list[StackSummary], repository_isolated: list[IsolatedStack]
) -> None:
    assert sorted(i.account for i in repository_isolated) == sorted(STACKS.values())
    findings = fleet_checks.isolated_stacks(summaries, repository_isolated)
    assert findings == []


def test_a_stack_without_its_isolated_stack_is_a_conflict(
    summaries: list[StackSummary], repository_isolated: list[IsolatedStack]
) -> None:
    kept = [i for i in repository_isolated if i.account != "444444444444"]
    (finding,) = of_check(fleet_checks.isolated_stacks(summaries, kept), CONFLICT)
    assert finding.stacks == ("staging",)
    assert "isolated/Pulumi.isolated-444444444444.yaml" in finding.message


def test_a_stack_without_its_entry_is_a_conflict_giving_the_entry(
    summaries: list[StackSummary], repository_isolated: list[IsolatedStack]
) -> None:
    edited = [
        IsolatedStack(i.file, i.account, {a: e for a, e in i.entries.items() if a != "555555555555"})
        for i in repository_isolated
    ]
    (finding,) = of_check(fleet_checks.isolated_stacks(summaries, edited), CONFLICT)
    assert finding.stacks == ("payments",)
    assert "no workloads entry for 555555555555" in finding.message
    assert '"prefix": "dr-payments"' in finding.message


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"prefix": "dr-prod-2"}, "prefix"),
        ({"region": "eu-west-1"}, "region"),
        ({"tags": {"environment": "production"}}, "tags"),
        ({"lockedVault": False}, "lockedVault"),
        ({"airGappedVault": {"minRetentionDays": 8}}, "airGappedVault.minRetentionDays"),
        ({"airGappedVault": {"shareWith": "invitation"}}, "airGappedVault.shareWith"),
    ],
)
def test_each_differing_value_is_a_conflict_naming_it(
    summaries: list[StackSummary], change: dict[str, Any], named: str, tmp_path: Path
) -> None:
    """Through the file, as the fleet plan reads it: the isolated project's own validation fills defaults."""
    directory = tmp_path / "isolated"
    shutil.copytree(REPO / "isolated", directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = directory / "Pulumi.isolated-222222222222.yaml"
    document = yaml.safe_load(path.read_text())
    entry = next(w for w in document["config"][f"{NS}workloads"] if w["account"] == "111111111111")
    entry.update(change)
    path.write_text(yaml.safe_dump(document))
    stacks, problems = isolated_fleet.load(tmp_path)
    assert problems == []
    assert stacks is not None
    found = of_check(fleet_checks.isolated_stacks(summaries, stacks), CONFLICT)
    assert [f.stacks for f in found] == [("prod",)], [f.message for f in found]
    assert found[0].message.startswith(
        f"isolated/Pulumi.isolated-222222222222.yaml workloads entry 111111111111: {named} is"
    )


def test_an_entry_no_stack_copies_into_is_a_note_not_a_conflict(
    summaries: list[StackSummary], repository_isolated: list[IsolatedStack]
) -> None:
    """Removing it would try to delete a locked vault with recovery points: the fleet says so and goes on."""
    without_analytics = [s for s in summaries if s.stack != "analytics"]
    findings = fleet_checks.isolated_stacks(without_analytics, repository_isolated)
    assert of_check(findings, CONFLICT) == []
    (note,) = of_check(findings, NOTE)
    assert "keeps the vaults of 666666666666" in note.message
    assert "remove the entry only after its recovery points have expired" in note.message


def test_a_stack_copying_into_another_isolated_account_is_caught_both_ways(
    repository_isolated: list[IsolatedStack],
) -> None:
    config = workload_config("analytics")
    moved = config.model_copy(
        update={"accounts": config.accounts.model_copy(update={"isolated": "444444444444"})}
    )
    findings = fleet_checks.isolated_stacks([summary("analytics", moved)], repository_isolated)
    (conflict,) = of_check(findings, CONFLICT)
    assert "no workloads entry for 666666666666" in conflict.message
    assert any("keeps the vaults of 666666666666" in n.message for n in of_check(findings, NOTE))


def test_an_invalid_isolated_file_is_one_finding_naming_it(tmp_path: Path) -> None:
    directory = tmp_path / "isolated"
    shutil.copytree(REPO / "isolated", directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = directory / "Pulumi.isolated-444444444444.yaml"
    path.write_text(path.read_text().replace('account: "333333333333"', 'account: "33333"'))
    stacks, problems = isolated_fleet.load(tmp_path)
    assert stacks is not None
    assert len(stacks) == 1
    (problem,) = problems
    assert problem.level == CONFLICT
    assert problem.message.startswith("isolated/Pulumi.isolated-444444444444.yaml: cannot be compared")
    assert "workloads.0.account" in problem.message


def test_a_project_without_an_isolated_project_is_not_compared(tmp_path: Path) -> None:
    assert isolated_fleet.load(tmp_path) == (None, [])
    assert fleet_checks.check([summary("prod")], isolated=None) == []


def _graph_names(graph: StackGraph) -> set[fleet_checks.IsolatedName]:
    kinds = {
        "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault": (fleet_checks.VAULT_KIND, "name"),
        "aws:backup/vault:Vault": (fleet_checks.VAULT_KIND, "name"),
        "aws:backup/vaultPolicy:VaultPolicy": (fleet_checks.VAULT_POLICY_KIND, "backupVaultName"),
        "aws:ram/resourceShare:ResourceShare": (fleet_checks.SHARE_KIND, "name"),
    }
    places = Places(graph)
    names = set()
    for resource in graph.resources:
        if resource.type in kinds:
            kind, key = kinds[resource.type]
            place = places.of(resource)
            names.add(fleet_checks.IsolatedName(place.account, place.region, kind, resource.inputs[key]))
    return names


@pytest.mark.parametrize("isolated_stack", sorted(STACKS))
def test_the_names_the_fleet_counts_are_the_isolated_stacks_own(
    isolated_stack: str, summaries: list[StackSummary]
) -> None:
    """The clash and quota checks count what each workload stack needs in the isolated account from its
    config; the isolated stack registers exactly those, no more."""
    wanted = {n for s in summaries if WORKLOAD_STACKS[s.stack][1] == isolated_stack for n in s.isolated_names}
    assert wanted
    assert _graph_names(run_isolated(isolated_stack)) == wanted
