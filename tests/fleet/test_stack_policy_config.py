"""One stack file per account: each stack's pack config comes from the organisation's file and the stack's
own facts (drplan/stack_policy_config.py), a stack's own file winning where it exists; ``make fleet``'s
command plans a new stack file with no other file, and --write-policy-configs hands the per-stack
workflows the same config."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.config import from_namespaced, parse
from drplan import fleet, policy_config, stack_policy_config
from drplan.program import read_stack_config
from tests.fleet.stacks import make_fleet_command, write_stack

REPO = Path(__file__).resolve().parents[2]
ORG = REPO / stack_policy_config.ORG_POLICY_CONFIG
KUBERNETES = stack_policy_config.KUBERNETES_VOLUMES
COPY_SOURCES = stack_policy_config.COPY_SOURCES


def config_of(path: Path, stack: str) -> Any:
    return parse(from_namespaced(read_stack_config(path, project_file=path.parent / "Pulumi.yaml")), stack)


def test_facts_fill_what_the_organisations_file_leaves_out(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "w1", "500000000001", kubernetesClusters=["eks-a"])
    config = config_of(path, "w1")
    org = {
        "all": "mandatory",
        KUBERNETES: "advisory",
        "aws-backup-plan-start-window": {"minStartWindowMinutes": 60},
    }
    result = stack_policy_config.with_stack_facts(org, config)
    assert result[KUBERNETES] == {"enforcementLevel": "advisory", "kubernetesClusters": ["eks-a"]}
    assert result[COPY_SOURCES] == {"allowedCopySourceAccounts": ["500000000001"]}
    assert result["aws-backup-plan-start-window"] == org["aws-backup-plan-start-window"]
    assert org[KUBERNETES] == "advisory"  # the organisation's own document is not changed
    # A setting the organisation's file gives explicitly wins over the stack's fact.
    explicit = {COPY_SOURCES: {"allowedCopySourceAccounts": ["777777777777"]}}
    assert stack_policy_config.with_stack_facts(explicit, config)[COPY_SOURCES] == {
        "allowedCopySourceAccounts": ["777777777777"]
    }


def test_a_stacks_own_file_wins_else_the_organisations(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "w1", "500000000001")
    config = config_of(path, "w1")
    own = tmp_path / "policy-config.w1.json"
    template = str(tmp_path / "policy-config.{stack}.json")
    source = stack_policy_config.PackConfigSource(template, ORG)
    pack, where = source.for_stack("w1", config)
    assert where.startswith(str(ORG))
    assert pack == stack_policy_config.with_stack_facts(policy_config.load(ORG), config)
    own.write_text(json.dumps({KUBERNETES: "disabled"}))
    assert source.for_stack("w1", config) == ({KUBERNETES: "disabled"}, str(own))
    # Without the organisation's file the stack's own file must exist, as before.
    own.unlink()
    with pytest.raises(
        policy_config.PolicyConfigError, match=rf"^--policy-config {re.escape(str(own))}: file not found$"
    ):
        stack_policy_config.PackConfigSource(template, None).for_stack("w1", config)
    with pytest.raises(
        policy_config.PolicyConfigError, match=r"^--org-policy-config nowhere.json: file not found$"
    ):
        stack_policy_config.PackConfigSource(None, Path("nowhere.json")).for_stack("w1", config)


@pytest.fixture(scope="module")
def new_accounts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A new stack file and nothing else, planned by `make fleet`'s command with the policy pack."""
    directory = tmp_path_factory.mktemp("new-accounts")
    write_stack(directory, "new-a", "500000000001", kubernetesClusters=["eks-a"])
    done = subprocess.run(
        [sys.executable, "-m", "drplan", *make_fleet_command(), "--project-dir", str(directory), "--json",
         "--workers", "1"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    return directory, done


def test_a_new_stack_file_plans_through_make_fleets_command_with_no_other_file(
    new_accounts: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, done = new_accounts
    assert done.returncode == 0, done.stderr
    (new,) = json.loads(done.stdout)["stacks"]
    assert new["policy"]["ran"] is True
    assert new["policy"]["mandatory"] == []


def test_an_own_file_that_is_wrong_fails_its_stack_only(tmp_path: Path) -> None:
    """new-b's own file (its facts, but a copy source that is not its account) wins over the organisation's
    file and its facts, under which it would pass like new-a. An own file is taken whole, so it also
    describes the isolated account's vaults (``knownExternalVaults``) the workload graph names by ARN."""
    write_stack(tmp_path, "new-a", "500000000001")
    own = stack_policy_config.stack_facts(config_of(write_stack(tmp_path, "new-b", "500000000002"), "new-b"))
    own[COPY_SOURCES] = {"allowedCopySourceAccounts": ["999999999999"]}
    (tmp_path / "policy-config.new-b.json").write_text(json.dumps(own))
    done = subprocess.run(
        [sys.executable, "-m", "drplan", "--all", "--project-dir", str(tmp_path), "--json", "--workers", "1",
         "--org-policy-config", str(ORG), "--policy-config", str(tmp_path / "policy-config.{stack}.json")],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    stacks = {s["stack"]: s for s in json.loads(done.stdout)["stacks"]}
    assert stacks["new-a"]["exit"]["code"] == 0
    assert {f["policy"] for f in stacks["new-b"]["policy"]["mandatory"]} == {COPY_SOURCES}


def test_write_policy_configs_writes_each_stacks_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "new-a", "500000000001", kubernetesClusters=["eks-a"])
    write_stack(tmp_path, "new-b", "500000000002")
    out = tmp_path / "out"
    code = fleet.main(
        ["--all", "--project-dir", str(tmp_path), "--org-policy-config", str(ORG),
         "--policy-config", str(tmp_path / "policy-config.{stack}.json"),
         "--write-policy-configs", str(out / "{stack}.json")]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    written = json.loads((out / "new-a.json").read_text())
    assert written == stack_policy_config.with_stack_facts(
        policy_config.load(ORG), config_of(tmp_path / "Pulumi.new-a.yaml", "new-a")
    )
    assert written[KUBERNETES] == {"kubernetesClusters": ["eks-a"]}
    assert json.loads((out / "new-b.json").read_text())[COPY_SOURCES] == {
        "allowedCopySourceAccounts": ["500000000002"]
    }


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ([], "--write-policy-configs needs --policy-config or --org-policy-config"),
        (["--org-policy-config", "nowhere.json"], "--org-policy-config nowhere.json: file not found"),
        (["--org-policy-config", str(ORG)], "one file for several stacks; add {stack}"),
    ],
    ids=["no-source", "missing-org-file", "one-file-for-two"],
)
def test_write_policy_configs_refuses_bad_input_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], problem: str
) -> None:
    write_stack(tmp_path, "new-a", "500000000001")
    write_stack(tmp_path, "new-b", "500000000002")
    target = tmp_path / "out.json"
    code = fleet.main(
        ["--all", "--project-dir", str(tmp_path), *extra, "--write-policy-configs", str(target)]
    )
    assert code == 2
    assert problem in capsys.readouterr().err
    assert not target.exists()
