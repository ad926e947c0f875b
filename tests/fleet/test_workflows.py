"""The GitHub Actions workflows: actionlint passes them, and they fan the fleet out as README 'Many accounts'
says (matrix from the fleet plan, preview per stack with the pack, deploy on main behind environments,
OIDC per workload account, never long-lived keys)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
MATRIX = "${{ fromJSON(needs.fleet.outputs.matrix) }}"
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials@v4"


def actionlint() -> str:
    """The binary requirements-dev.txt installs next to this interpreter."""
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert found, "actionlint is missing: install requirements-dev.txt"
    return found


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint(), "-no-color", *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def workflow(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    assert isinstance(document, dict)
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_every_workflow_passes_actionlint() -> None:
    assert {p.name for p in WORKFLOWS} >= {"policy-preview.yml", "deploy.yml"}
    done = lint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = (REPO / ".github" / "workflows" / "policy-preview.yml").read_text()
    broken = broken.replace("needs.fleet.outputs.matrix", "needs.fleet.outputs.stacks").replace(
        "fail-fast: false", "fail-fast: nope"
    )
    path = tmp_path / ".github" / "workflows" / "broken.yml"
    path.parent.mkdir(parents=True)
    path.write_text(broken)
    done = lint(path)
    assert done.returncode == 1
    assert "stacks" in done.stdout
    assert "fail-fast" in done.stdout


@pytest.mark.parametrize(("name", "job"), [("policy-preview.yml", "preview"), ("deploy.yml", "up")])
def test_each_stack_runs_in_parallel_from_the_fleet_plans_matrix(name: str, job: str) -> None:
    document = workflow(name)
    fleet_steps = [s.get("run", "") for s in steps(document["jobs"]["fleet"])]
    assert any("-m drplan --all --policy-config" in run for run in fleet_steps)
    assert any("-m drplan --all --matrix" in run and "$GITHUB_OUTPUT" in run for run in fleet_steps)
    per_stack = document["jobs"][job]
    assert per_stack["needs"] == "fleet"
    strategy = per_stack["strategy"]
    assert strategy["fail-fast"] is False
    assert 1 <= strategy["max-parallel"] <= 20
    assert strategy["matrix"] == MATRIX
    pulumi = [s["run"] for s in steps(per_stack) if "pulumi " in s.get("run", "")]
    assert len(pulumi) == 1
    assert "--policy-pack policies" in pulumi[0]
    assert '--stack "$STACK"' in pulumi[0]


@pytest.mark.parametrize(
    ("name", "job", "role"),
    [
        ("policy-preview.yml", "preview", "AWS_PREVIEW_ROLE_NAME"),
        ("deploy.yml", "up", "AWS_DEPLOY_ROLE_NAME"),
    ],
)
def test_credentials_come_from_an_oidc_role_in_each_workload_account(name: str, job: str, role: str) -> None:
    document = workflow(name)
    per_stack = document["jobs"][job]
    assert per_stack["permissions"]["id-token"] == "write"
    assert document["permissions"] == {"contents": "read"}
    (credentials,) = [s for s in steps(per_stack) if s.get("uses") == CREDENTIALS_ACTION]
    assert (
        credentials["with"]["role-to-assume"]
        == f"arn:aws:iam::${{{{ matrix.account }}}}:role/${{{{ vars.{role} }}}}"
    )
    text = (REPO / ".github" / "workflows" / name).read_text()
    for key in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert key not in text


def test_deploy_runs_on_main_behind_github_environments() -> None:
    document = workflow("deploy.yml")
    on = document[True]  # YAML 1.1 reads the key `on` as true
    assert on["push"]["branches"] == ["main"]
    up = document["jobs"]["up"]
    assert up["environment"] == "${{ matrix.environment }}"
    (command,) = [s["run"] for s in steps(up) if "pulumi up" in s.get("run", "")]
    assert "--yes" in command
    assert document["concurrency"]["cancel-in-progress"] is False
    preview_on = workflow("policy-preview.yml")[True]
    assert set(preview_on) == {"pull_request"}
