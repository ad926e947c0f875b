"""``python -m drplan --all`` / ``--stacks`` as a user runs it: the repository's fleet, and conflicts planted
in small temporary fleets (planned in this process with ``--workers 1 --no-policy`` to stay fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from drplan import fleet, fleet_workers
from tests.fleet.stacks import LARGE_FLEET, large_fleet_stacks, make_fleet_command, write_stack

REPO = Path(__file__).resolve().parents[2]
ISOLATED = "222222222222"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = fleet.main([*args, "--workers", "1", "--no-policy", "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


@pytest.fixture(scope="module")
def repo_fleet() -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The repository's stacks as `make fleet` plans them: in worker processes, with the policy pack and
    each stack's pack config (the organisation's with its facts, or its own file)."""
    done = subprocess.run(
        [sys.executable, "-m", "drplan", *make_fleet_command(), "--json", "--progress"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return done, json.loads(done.stdout)


def test_the_repositorys_fleet_plans_every_stack_and_exits_0(
    repo_fleet: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    done, document = repo_fleet
    assert done.returncode == 0, done.stderr
    assert document["exit"] == {"code": 0, "reason": "ok", "message": ""}
    stacks = {s["stack"]: s for s in document["stacks"]}
    assert set(stacks) == set(fleet.discover(REPO)) >= {"prod", "staging"}
    for stack in stacks.values():
        assert stack["exit"]["code"] == 0, stack
        assert stack["policy"]["ran"] is True
        assert stack["policy"]["mandatory"] == []
    assert all(check["ok"] for check in document["checks"])
    assert stacks["prod"]["protectedTypes"] == [
        "s3",
        "ebs",
        "efs",
        "dynamodb",
        "rds",
        "aurora",
        "documentdb",
        "neptune",
    ]
    assert stacks["prod"]["retentionDays"] == {
        "inRegion": [1],
        "crossRegion": [3],
        "airGapped": [7],
        "continuous": [35],
    }
    # Progress went to stderr, so stdout stayed one JSON document.
    assert f"{len(stacks)}/{len(stacks)}" in done.stderr
    # Informational: analytics keeps its air-gapped copies longer than Pulumi.yaml's shared 7 days.
    notes = [f for f in document["findings"] if f["check"] == "differs-from-shared-settings"]
    assert [(f["level"], f["stacks"]) for f in notes] == [("note", ["analytics"])]
    assert "retention.airGappedCopy.deleteAfterDays = 14 (fleet: 7, from Pulumi.yaml)" in notes[0]["message"]
    (payments_note,) = stacks["payments"]["notes"]
    assert "aws-dr-backup/payments" in payments_note


def test_isolated_account_names_are_unique_across_the_repositorys_stacks(
    repo_fleet: tuple[subprocess.CompletedProcess[str], dict[str, Any]],
) -> None:
    _, document = repo_fleet
    names = Counter(
        (n["account"], n["region"], n["kind"], n["name"])
        for stack in document["stacks"]
        for n in stack["isolatedAccountNames"]
    )
    assert names, "every stack creates its vault, policy and share in the isolated account"
    assert [name for name, count in names.items() if count > 1] == []
    kinds = Counter(n["kind"] for s in document["stacks"] for n in s["isolatedAccountNames"])
    assert kinds["RAM resource share"] == len(document["stacks"])
    # Each stack's air-gapped vault and, as every stack here protects RDS, its locked vault.
    assert kinds["backup vault"] == 2 * len(document["stacks"])


def test_without_a_pack_config_each_stack_gets_its_facts_on_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --policy-config: every policy at its defaults plus the stack's facts, as the single-stack plan does;
    without the facts the isolated account's vaults would be unknown to the pack and every copy a violation."""
    write_stack(tmp_path, "alpha", "555555555555")
    code = fleet.main(["--all", "--project-dir", str(tmp_path), "--workers", "1", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (stack,) = json.loads(out)["stacks"]
    assert stack["policy"]["ran"] is True
    assert stack["policy"]["mandatory"] == []


def test_the_same_workload_account_in_two_stacks_exits_1_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "alpha", "555555555555")
    write_stack(tmp_path, "beta", "555555555555")
    code, document, err = run(capsys, "--all", "--project-dir", str(tmp_path))
    assert code == 1
    (finding,) = [f for f in document["findings"] if f["level"] == "conflict"]
    assert (finding["check"], finding["stacks"]) == ("duplicate-workload-account", ["alpha", "beta"])
    assert "duplicate-workload-account (alpha, beta)" in err


def test_an_isolated_account_that_is_another_stacks_workload_exits_1_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "alpha", "555555555555")
    write_stack(tmp_path, "beta", ISOLATED, accounts={"workload": ISOLATED, "isolated": "666666666666"})
    code, document, err = run(capsys, "--all", "--project-dir", str(tmp_path))
    assert code == 1
    (finding,) = [f for f in document["findings"] if f["level"] == "conflict"]
    assert (finding["check"], finding["stacks"]) == (
        "isolated-account-is-workload-account",
        ["alpha", "beta"],
    )
    assert "alpha, beta" in err


def test_two_stacks_writing_the_same_name_in_the_isolated_account_exit_1_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both keep a vault name from before names carried the workload account, and it is the same name.
    kept = {"minRetentionDays": 7, "maxRetentionDays": 35, "name": "dr-shared-air-gapped"}
    write_stack(tmp_path, "alpha", "555555555555", airGappedVault=kept)
    write_stack(tmp_path, "beta", "666666666666", airGappedVault=kept)
    code, document, err = run(capsys, "--all", "--project-dir", str(tmp_path))
    assert code == 1
    clashes = [f for f in document["findings"] if f["check"] == "isolated-account-name-clash"]
    assert {f["message"].split(" in ")[0] for f in clashes} == {
        "backup vault 'dr-shared-air-gapped'",
        "backup vault policy 'dr-shared-air-gapped'",
        "RAM resource share 'dr-shared-air-gapped-vault'",
    }
    assert all(f["stacks"] == ["alpha", "beta"] for f in clashes)
    assert "isolated-account-name-clash (alpha, beta)" in err


def test_stacks_with_the_same_prefix_share_an_isolated_account_without_a_clash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "alpha", "555555555555", prefix="dr-app")
    write_stack(tmp_path, "beta", "666666666666", prefix="dr-app")
    code, document, _ = run(capsys, "--all", "--project-dir", str(tmp_path))
    assert code == 0, document["findings"]
    vaults = {
        s["stack"]: [n["name"] for n in s["isolatedAccountNames"] if n["kind"] == "backup vault"]
        for s in document["stacks"]
    }
    # The air-gapped vault and the locked vault (for RDS) of each stack, each named after its workload account.
    assert vaults == {
        "alpha": ["dr-app-555555555555-air-gapped", "dr-app-555555555555-locked"],
        "beta": ["dr-app-666666666666-air-gapped", "dr-app-666666666666-locked"],
    }


def test_the_isolated_accounts_vaults_above_the_quota_exit_1_naming_the_stacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "alpha", "555555555555")
    write_stack(tmp_path, "beta", "666666666666")
    code, document, _ = run(capsys, "--all", "--project-dir", str(tmp_path), "--vault-quota", "1")
    assert code == 1
    (finding,) = [f for f in document["findings"] if f["level"] == "conflict"]
    assert (finding["check"], finding["stacks"]) == ("isolated-account-vault-quota", ["alpha", "beta"])
    # Each stack's air-gapped and locked vaults count against the one quota.
    assert "4 vaults in isolated account 222222222222 us-east-1" in finding["message"]


def test_an_invalid_stack_exits_2_naming_it_and_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "alpha", "555555555555")
    write_stack(tmp_path, "beta", "666666666666", windows={"startMinutes": 30, "completionMinutes": 360})
    code, document, err = run(capsys, "--all", "--project-dir", str(tmp_path))
    assert code == 2
    assert document["exit"]["message"] == "invalid: beta"
    beta = next(s for s in document["stacks"] if s["stack"] == "beta")
    assert beta["exit"]["reason"] == "invalid-config"
    assert "Pulumi.beta.yaml" in beta["exit"]["message"]
    assert "aws-dr-backup:windows.startMinutes = 30" in beta["exit"]["message"]
    assert "beta: " in err
    assert "windows.startMinutes" in err
    # The valid stack was still planned.
    assert next(s for s in document["stacks"] if s["stack"] == "alpha")["exit"]["code"] == 0


def test_a_stack_importing_an_esc_environment_is_planned_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_stack(tmp_path, "alpha", "555555555555")
    document = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({"environment": ["aws-dr-backup/alpha"], **document}))
    code, result, _ = run(capsys, "--stacks", "alpha", "--project-dir", str(tmp_path))
    assert code == 0
    (note,) = result["stacks"][0]["notes"]
    assert "aws-dr-backup/alpha" in note
    assert "cannot open" in note


def test_selection_by_pattern_and_patterns_that_match_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "payments-eu", "555555555555")
    write_stack(tmp_path, "payments-us", "666666666666")
    write_stack(tmp_path, "search", "777777777777")
    (tmp_path / "Pulumi.search.deploy.yaml").write_text("settings: {}\n")
    assert list(fleet.select(tmp_path, ["payments-*"])) == ["payments-eu", "payments-us"]
    assert list(fleet.discover(tmp_path)) == ["payments-eu", "payments-us", "search"]
    assert fleet.main(["--stacks", "nothing-*", "--project-dir", str(tmp_path)]) == 2
    assert "'nothing-*' matches no stack file" in capsys.readouterr().err


def matrix(capsys: pytest.CaptureFixture[str], project_dir: Path) -> tuple[int, str, str]:
    code = fleet.main(["--all", "--matrix", "--project-dir", str(project_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def chunks(line: str) -> list[tuple[str, list[dict[str, str]]]]:
    """Each chunk of ``--matrix``'s line: its name and its stacks' matrix entries."""
    document = json.loads(line)
    assert set(document) == {"include"}
    result = []
    for chunk in document["include"]:
        assert set(chunk) == {fleet.CHUNK_NAME, fleet.CHUNK_STACKS}
        stacks = json.loads(chunk[fleet.CHUNK_STACKS])
        assert set(stacks) == {"include"}
        result.append((chunk[fleet.CHUNK_NAME], stacks["include"]))
    return result


def test_matrix_of_a_small_fleet_is_one_chunk_of_its_stacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "beta", "666666666666", environment="staging")
    write_stack(tmp_path, "alpha", "555555555555")
    code, out, err = matrix(capsys, tmp_path)
    assert (code, err) == (0, "")
    assert out.count("\n") == 1  # one line, for $GITHUB_OUTPUT
    assert chunks(out) == [
        (
            "1 of 1",
            [
                {"stack": "alpha", "account": "555555555555", "environment": "production"},
                {"stack": "beta", "account": "666666666666", "environment": "staging"},
            ],
        )
    ]


def test_matrix_of_300_stacks_runs_each_once_in_chunks_of_at_most_one_matrix(
    large_fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = matrix(capsys, large_fleet)
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    found = chunks(out)
    assert [name for name, _ in found] == ["1 of 2", "2 of 2"]
    assert [len(stacks) for _, stacks in found] == [
        fleet.GITHUB_MATRIX_LIMIT,
        LARGE_FLEET - fleet.GITHUB_MATRIX_LIMIT,
    ]
    every = [entry["stack"] for _, stacks in found for entry in stacks]
    assert every == sorted(large_fleet_stacks())  # each stack once, in name order, chunk after chunk
    entries = {entry["stack"]: entry for _, stacks in found for entry in stacks}
    assert entries["w000"] == {"stack": "w000", "account": "500000000000", "environment": "staging"}
    assert entries["w299"] == {"stack": "w299", "account": "500000000299", "environment": "production"}
    assert len(out.encode("utf-16-le")) < fleet.GITHUB_JOB_OUTPUTS_BYTES
    # The same fleet gives the same line, run after run and whatever order its files were written in.
    assert matrix(capsys, large_fleet)[1] == out
    copied = large_fleet.parent / "large-fleet-copy"
    copied.mkdir(exist_ok=True)
    for stack in large_fleet_stacks():
        name = f"Pulumi.{stack}.yaml"
        (copied / name).write_text((large_fleet / name).read_text())
    assert matrix(capsys, copied)[1] == out


@pytest.mark.parametrize(("count", "sizes"), [(3, [3]), (4, [3, 1]), (7, [3, 3, 1])])
def test_chunks_are_cut_at_the_matrix_limit(
    count: int,
    sizes: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fleet, "GITHUB_MATRIX_LIMIT", 3)
    for i in range(count):
        write_stack(tmp_path, f"s{i}", f"{500000000000 + i}")
    code, out, _ = matrix(capsys, tmp_path)
    assert code == 0
    found = chunks(out)
    assert [len(stacks) for _, stacks in found] == sizes
    assert [name for name, _ in found] == [f"{n} of {len(sizes)}" for n in range(1, len(sizes) + 1)]
    assert [e["stack"] for _, stacks in found for e in stacks] == [f"s{i}" for i in range(count)]


def test_matrix_refuses_an_invalid_stack_and_more_than_github_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_stack(tmp_path, "alpha", "555555555555")
    write_stack(tmp_path, "beta", "666666666666")
    write_stack(tmp_path, "gamma", "777777777777")
    # Three chunks of one stack: more chunks than the chunk job's own matrix runs.
    monkeypatch.setattr(fleet, "GITHUB_MATRIX_LIMIT", 1)
    code, out, err = matrix(capsys, tmp_path)
    assert (code, out) == (2, "")
    assert "3 stacks make 3 chunks of at most 1" in err
    assert "--stacks" in err
    assert "Traceback" not in err
    monkeypatch.undo()
    # Outputs above what one job may hand on.
    monkeypatch.setattr(fleet, "GITHUB_JOB_OUTPUTS_BYTES", 100)
    code, out, err = matrix(capsys, tmp_path)
    assert (code, out) == (2, "")
    assert "a job's outputs hold at most 100" in err
    monkeypatch.undo()
    write_stack(tmp_path, "beta", "666666666666", prefix="X")
    code, out, err = matrix(capsys, tmp_path)
    assert (code, out) == (2, "")
    assert "Pulumi.beta.yaml" in err
    assert "aws-dr-backup:prefix = 'X'" in err


def test_workers_replaced_after_their_share_of_stacks_plan_every_stack_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each worker plans one stack and is replaced: three stacks need a third worker process.
    for name, account in (("alpha", "555555555555"), ("beta", "666666666666"), ("gamma", "777777777777")):
        write_stack(tmp_path, name, account)
    monkeypatch.setattr(fleet_workers, "STACKS_PER_WORKER", 1)
    fleet.main(["--all", "--project-dir", str(tmp_path), "--workers", "2", "--no-policy", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert sorted((s["stack"], s["exit"]["reason"]) for s in document["stacks"]) == [
        ("alpha", "ok"),
        ("beta", "ok"),
        ("gamma", "ok"),
    ]


def test_stacks_without_a_result_in_time_are_reported_not_planned_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As when a worker process dies: its stack never comes back; the plan must not wait forever.
    write_stack(tmp_path, "alpha", "555555555555")
    write_stack(tmp_path, "beta", "666666666666")
    monkeypatch.setattr(fleet_workers, "STACK_TIMEOUT_SECONDS", 0.01)
    code = fleet.main(["--all", "--project-dir", str(tmp_path), "--workers", "2", "--no-policy", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 3
    assert {s["stack"]: s["exit"]["reason"] for s in document["stacks"]} == {
        "alpha": "plan-failed",
        "beta": "plan-failed",
    }
    assert document["exit"]["message"] == "could not plan: alpha, beta"


@pytest.mark.parametrize(("flag", "value"), [("--workers", "0"), ("--vault-quota", "-3")])
def test_a_count_below_1_is_refused_naming_the_flag_and_the_value(
    flag: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "alpha", "555555555555")
    with pytest.raises(SystemExit) as exited:
        fleet.main(["--all", "--project-dir", str(tmp_path), flag, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{flag} {value}: must be a whole number of at least 1" in err
    assert "Traceback" not in err
