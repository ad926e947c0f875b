"""The fleet check that the verifier's fleet (the org stack's ``verifier`` section) is the workload stacks'
accounts, both ways: on summaries, and through ``python -m drplan --all`` with an org stack file beside
generated stacks (and the repository's own)."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import from_namespaced, parse
from dr_runtime.vault_names import air_gapped_vault_name
from drplan import fleet, fleet_checks, verifier_fleet
from drplan.fleet_checks import VERIFIER_FLEET, StackSummary, VerifierFleet
from drplan.program import REPO, read_stack_config
from tests.fleet.stacks import write_stack

ISOLATED = "222222222222"
ORG_NS = "aws-dr-backup-org:"
ORG_FILE = REPO / "org" / "Pulumi.management.yaml"
ALPHA, BETA = "555555555555", "666666666666"


def summary(
    stack: str, workload: str, *, prefix: str | None = None, isolated: str = ISOLATED
) -> StackSummary:
    prefix = prefix or f"dr-{stack}"
    return StackSummary(
        stack,
        f"Pulumi.{stack}.yaml",
        0,
        "ok",
        environment="production",
        workload_account=workload,
        isolated_account=isolated,
        prefix=prefix,
        air_gapped_vault=air_gapped_vault_name(prefix, workload),
    )


def verifier(entries: dict[str, str], unverified: dict[str, str] | None = None) -> VerifierFleet:
    return VerifierFleet(
        file="org/Pulumi.management.yaml",
        vaults={a: (ISOLATED, air_gapped_vault_name(p, a)) for a, p in entries.items()},
        prefixes=entries,
        unverified=unverified or {},
    )


def found(
    findings: list[fleet_checks.Finding], level: str = fleet_checks.CONFLICT
) -> list[fleet_checks.Finding]:
    return [f for f in findings if f.check == VERIFIER_FLEET and f.level == level]


STACKS = [summary("alpha", ALPHA), summary("beta", BETA)]


def test_a_verifier_fleet_equal_to_the_stacks_passes() -> None:
    assert found(fleet_checks.check(STACKS, verifiers=[verifier({ALPHA: "dr-alpha", BETA: "dr-beta"})])) == []


def test_without_an_org_verifier_the_check_has_nothing_to_compare() -> None:
    assert found(fleet_checks.check(STACKS)) == []


def test_a_stack_missing_from_the_verifier_fleet_is_a_conflict_naming_it_and_the_key() -> None:
    conflicts = found(fleet_checks.check(STACKS, verifiers=[verifier({ALPHA: "dr-alpha"})]))
    assert [f.stacks for f in conflicts] == [("beta",)]
    assert f"beta (workload account {BETA}) is not verified" in conflicts[0].message
    assert "org/Pulumi.management.yaml verifier.fleet lacks" in conflicts[0].message


def test_a_verifier_account_without_a_stack_is_a_conflict() -> None:
    extra = "777777777777"
    fleet_ = verifier({ALPHA: "dr-alpha", BETA: "dr-beta", extra: "dr-gone"})
    conflicts = found(fleet_checks.check(STACKS, verifiers=[fleet_]))
    assert len(conflicts) == 1
    assert f"lists {extra}, which no workload stack plans" in conflicts[0].message


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"prefix": "dr-other"}, "prefix"),
        ({"isolated_account": "444444444444"}, "isolated account"),
        ({"air_gapped_vault": "kept-vault-name"}, "air-gapped vault"),
    ],
)
def test_a_verified_account_read_with_another_name_or_place_is_a_conflict(
    change: dict[str, Any], what: str
) -> None:
    stack = dataclasses.replace(STACKS[1], **change)
    conflicts = found(
        fleet_checks.check([STACKS[0], stack], verifiers=[verifier({ALPHA: "dr-alpha", BETA: "dr-beta"})])
    )
    assert [f.stacks for f in conflicts] == [("beta",)]
    assert f"reads {BETA} with {what}" in conflicts[0].message


def test_an_unverified_account_with_its_reason_is_a_note_and_without_a_stack_a_conflict() -> None:
    reason = "copies into another isolated account"
    findings = fleet_checks.check(STACKS, verifiers=[verifier({ALPHA: "dr-alpha"}, {BETA: reason})])
    assert found(findings) == []
    notes = found(findings, fleet_checks.NOTE)
    assert [f.stacks for f in notes] == [("beta",)]
    assert reason in notes[0].message
    stale = fleet_checks.check(
        STACKS, verifiers=[verifier({ALPHA: "dr-alpha", BETA: "dr-beta"}, {"777777777777": "x"})]
    )
    assert ["unverified lists 777777777777" in f.message for f in found(stale)] == [True]


# --- through the command ------------------------------------------------------------------------------


def write_org(directory: Path, fleet_entries: list[str], workloads: list[str]) -> None:
    """The repository's org stack file with its own workload accounts and verifier fleet."""
    config = copy.deepcopy(yaml.safe_load(ORG_FILE.read_text())["config"])
    config[f"{ORG_NS}accounts"]["workloads"] = workloads
    section = config[f"{ORG_NS}verifier"]
    section["fleet"] = fleet_entries
    section["lockedVaults"] = []
    section["unverified"] = {}
    org = directory / "org"
    org.mkdir(exist_ok=True)
    (org / "Pulumi.management.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))


def run(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> tuple[int, str]:
    code = fleet.main(["--all", "--project-dir", str(directory), "--workers", "1", "--no-policy", *extra])
    out, _ = capsys.readouterr()
    return code, out


@pytest.fixture
def two_stacks(tmp_path: Path) -> Path:
    write_stack(tmp_path, "alpha", ALPHA)
    write_stack(tmp_path, "beta", BETA)
    return tmp_path


def test_the_command_passes_a_verifier_fleet_equal_to_the_stacks(
    two_stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_org(two_stacks, [f"{ALPHA}=dr-alpha", f"{BETA}=dr-beta"], [ALPHA, BETA])
    code, out = run(capsys, two_stacks, "--json")
    document = json.loads(out)
    assert code == 0, document["exit"]
    assert {c["check"]: c["ok"] for c in document["checks"]}[VERIFIER_FLEET] is True


def test_the_command_exits_1_with_a_readable_line_when_a_stack_is_not_verified(
    two_stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_org(two_stacks, [f"{ALPHA}=dr-alpha"], [ALPHA])
    code, out = run(capsys, two_stacks)
    assert code == 1
    assert "CONFLICT  the verifier's fleet (org stack) is the workload stacks' accounts, both ways" in out
    assert f"beta (workload account {BETA}) is not verified" in out


def test_an_org_stack_file_that_does_not_validate_is_named(two_stacks: Path) -> None:
    write_org(two_stacks, [f"{ALPHA}=dr-alpha"], [ALPHA, BETA])  # beta neither verified nor unverified
    fleets, problems = verifier_fleet.load(two_stacks)
    assert fleets == []
    assert [p.check for p in problems] == [VERIFIER_FLEET]
    assert problems[0].message.startswith("org/Pulumi.management.yaml: ")
    assert "verifier.fleet misses 666666666666" in problems[0].message


def test_the_repositorys_org_verifier_fleet_is_its_stacks() -> None:
    fleets, problems = verifier_fleet.load(REPO)
    assert problems == []
    assert len(fleets) == 1
    summaries = []
    for path in sorted(REPO.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        config = parse(from_namespaced(read_stack_config(path)), stack)
        summaries.append(
            StackSummary(
                stack,
                path.name,
                0,
                "ok",
                workload_account=config.accounts.workload,
                isolated_account=config.accounts.isolated,
                prefix=config.prefix,
                air_gapped_vault=config.air_gapped_vault_name,
            )
        )
    findings = fleet_checks.verifier_fleet(summaries, fleets[0])
    assert [f for f in findings if f.level == fleet_checks.CONFLICT] == []
