"""The GitHub Actions workflows: actionlint passes them, and they fan the fleet out as README 'Many accounts'
says (chunks of stacks from the fleet plan, each chunk calling a per-stack workflow, preview per stack with
the pack, deploy on main behind environments, OIDC per workload account, never long-lived keys)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import from_namespaced, parse
from drplan import fleet
from tests.fleet.stacks import large_fleet_stacks

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials@v4"
# (workflow, its job per chunk, the workflow that job calls, that workflow's job per stack)
PREVIEW = "policy-preview.yml"
FAN_OUTS = [
    (PREVIEW, "preview", "preview-stacks.yml", "preview"),
    ("deploy.yml", "up", "deploy-stacks.yml", "up"),
]
EXPRESSION = r"\$\{\{ (.+?) \}\}"


def actionlint() -> str:
    """The binary requirements-dev.txt installs next to this interpreter."""
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert found, "actionlint is missing: install requirements-dev.txt"
    return found


def lint(*paths: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint(), "-no-color", *map(str, paths)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def workflow(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((WORKFLOW_DIR / name).read_text())
    assert isinstance(document, dict)
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def expression(value: str, pattern: str) -> str:
    """The one name ``pattern`` (a regular expression with one group) captures in the expression ``value``."""
    match = re.fullmatch(EXPRESSION, value)
    assert match, f"not one expression: {value!r}"
    inner = re.fullmatch(pattern, match.group(1))
    assert inner, f"{value!r} is not {pattern}"
    return inner.group(1)


def matrix_keys(job: dict[str, Any]) -> set[str]:
    """Every ``matrix.<key>`` the job's definition reads."""
    return set(re.findall(r"\bmatrix\.([A-Za-z_][\w-]*)", yaml.safe_dump(job)))


def test_every_workflow_passes_actionlint() -> None:
    assert {p.name for p in WORKFLOWS} >= {name for fan_out in FAN_OUTS for name in fan_out[::2]}
    done = lint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow_and_a_call_its_callee_does_not_take(tmp_path: Path) -> None:
    broken = (WORKFLOW_DIR / "policy-preview.yml").read_text()
    broken = (
        broken.replace("needs.fleet.outputs.chunks", "needs.fleet.outputs.matrix")
        .replace("fail-fast: false", "fail-fast: nope")
        .replace("stacks: ${{ matrix.stacks }}", "stack: ${{ matrix.stacks }}")
    )
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (tmp_path / ".git").mkdir()  # actionlint finds the called workflow from the repository's root
    shutil.copy(WORKFLOW_DIR / "preview-stacks.yml", workflows)
    path = workflows / "broken.yml"
    path.write_text(broken)
    done = lint(path, cwd=tmp_path)
    assert done.returncode == 1
    assert 'property "matrix" is not defined in object type {chunks: string}' in done.stdout
    assert "fail-fast" in done.stdout
    assert 'input "stacks" is required' in done.stdout
    assert 'input "stack" is not defined' in done.stdout


@pytest.mark.parametrize(("name", "job", "called", "per_stack_job"), FAN_OUTS)
def test_each_chunk_calls_the_per_stack_workflow_one_chunk_after_another(
    name: str, job: str, called: str, per_stack_job: str
) -> None:
    document = workflow(name)
    fleet_steps = [s.get("run", "") for s in steps(document["jobs"]["fleet"])]
    assert any(
        "-m drplan --all --org-policy-config examples/policy-config.json" in run
        and '--policy-config "examples/policy-config.{stack}.json"' in run
        for run in fleet_steps
    )
    selection = '--changed-since "$BASE_SHA" --matrix' if name == PREVIEW else "--matrix"
    assert any(f"-m drplan --all {selection}" in run and "$GITHUB_OUTPUT" in run for run in fleet_steps)
    # deploy.yml deploys the isolated stacks first, in a job of its own (tests/fleet/test_ci_roles.py).
    first = {"deploy.yml": {"isolated"}}.get(name, set())
    assert set(document["jobs"]) == {"fleet", job} | first
    chunk_job = document["jobs"][job]
    assert (
        set([chunk_job["needs"]] if isinstance(chunk_job["needs"], str) else chunk_job["needs"])
        == {"fleet"} | first
    )
    assert chunk_job["uses"] == f"./.github/workflows/{called}"
    # One chunk at a time keeps the per-stack workflow's max-parallel the bound for the whole fleet; a
    # failing chunk must not cancel the chunks after it.
    assert chunk_job["strategy"]["fail-fast"] is False
    assert chunk_job["strategy"]["max-parallel"] == 1
    assert chunk_job["secrets"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    assert chunk_job["permissions"] == {"contents": "read", "id-token": "write"}

    callee = workflow(called)
    assert set(callee[True]) == {"workflow_call"}  # YAML 1.1 reads the key `on` as true
    assert set(callee[True]["workflow_call"]["secrets"]) == {"PULUMI_ACCESS_TOKEN"}
    assert "concurrency" not in callee  # the caller's group holds the run (docs/fleet.md)
    assert set(callee["jobs"]) == {per_stack_job}
    per_stack = callee["jobs"][per_stack_job]
    assert "concurrency" not in per_stack
    strategy = per_stack["strategy"]
    assert strategy["fail-fast"] is False
    assert 1 <= strategy["max-parallel"] <= 20
    pulumi = [s["run"] for s in steps(per_stack) if "pulumi " in s.get("run", "")]
    assert len(pulumi) == 1
    assert "--policy-pack policies" in pulumi[0]
    assert '--policy-pack-config "$RUNNER_TEMP/policy-config.$STACK.json"' in pulumi[0]
    (write,) = [s["run"] for s in steps(per_stack) if "--write-policy-configs" in s.get("run", "")]
    assert '--write-policy-configs "$RUNNER_TEMP/policy-config.{stack}.json"' in write
    assert '--stack "$STACK"' in pulumi[0]
    assert per_stack["env"] == {"STACK": "${{ matrix.stack }}"}


@pytest.mark.parametrize(("name", "job", "called", "per_stack_job"), FAN_OUTS)
def test_the_workflows_run_each_of_300_stacks_once_from_the_plans_chunks(
    name: str,
    job: str,
    called: str,
    per_stack_job: str,
    large_fleet: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Follows the plan's line through the workflows' expressions, as GitHub would evaluate them: the step
    that writes it, the fleet job's output, the chunk job's matrix, the input it passes, the per-stack
    job's matrix, and every matrix key each job reads."""
    assert fleet.main(["--all", "--matrix", "--project-dir", str(large_fleet)]) == 0
    line = capsys.readouterr().out.strip()

    document = workflow(name)
    fleet_job = document["jobs"]["fleet"]
    (step,) = [s for s in steps(fleet_job) if "--matrix" in s.get("run", "")]
    written = re.fullmatch(r'echo "(\w+)=\$\((.+)\)" >> "\$GITHUB_OUTPUT"', step["run"])
    assert written, step["run"]
    if name == PREVIEW:
        # The pull request previews the stacks it affects (tests/fleet/test_changed_since.py), whose matrix
        # has the same shape; the deployment runs every stack.
        assert written.group(2) == '.venv/bin/python -m drplan --all --changed-since "$BASE_SHA" --matrix'
        assert step["env"] == {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"}
        assert steps(fleet_job)[0] == {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}}
    else:
        assert written.group(2) == ".venv/bin/python -m drplan --all --matrix"
    (output,) = [
        key
        for key, value in fleet_job["outputs"].items()
        if value == f"${{{{ steps.{step['id']}.outputs.{written.group(1)} }}}}"
    ]

    chunk_job = document["jobs"][job]
    assert expression(chunk_job["strategy"]["matrix"], r"fromJSON\(needs\.fleet\.outputs\.(\w+)\)") == output
    chunks = json.loads(line)["include"]
    assert 2 <= len(chunks) <= fleet.GITHUB_MATRIX_LIMIT
    for chunk in chunks:
        assert matrix_keys(chunk_job) <= set(chunk)
    ((input_name, passed),) = chunk_job["with"].items()
    key = expression(passed, r"matrix\.(\w+)")
    assert key in matrix_keys(chunk_job)

    callee = workflow(called)
    assert callee[True]["workflow_call"]["inputs"][input_name]["type"] == "string"
    per_stack = callee["jobs"][per_stack_job]
    assert expression(per_stack["strategy"]["matrix"], r"fromJSON\(inputs\.([\w-]+)\)") == input_name
    assert {"stack", "account"} <= matrix_keys(per_stack)
    ran = []
    for chunk in chunks:
        stacks = json.loads(chunk[key])
        assert set(stacks) == {"include"}
        assert 1 <= len(stacks["include"]) <= fleet.GITHUB_MATRIX_LIMIT
        for entry in stacks["include"]:
            assert matrix_keys(per_stack) <= set(entry), entry
            ran.append(entry["stack"])
    assert sorted(ran) == large_fleet_stacks()
    assert len(ran) == len(set(ran))


@pytest.mark.parametrize(
    ("called", "job", "role"),
    [
        ("preview-stacks.yml", "preview", "AWS_PREVIEW_ROLE_NAME"),
        ("deploy-stacks.yml", "up", "AWS_DEPLOY_ROLE_NAME"),
    ],
)
def test_credentials_come_from_an_oidc_role_in_each_workload_account(
    called: str, job: str, role: str
) -> None:
    document = workflow(called)
    per_stack = document["jobs"][job]
    assert per_stack["permissions"]["id-token"] == "write"
    assert document["permissions"] == {"contents": "read"}
    (credentials,) = [s for s in steps(per_stack) if s.get("uses") == CREDENTIALS_ACTION]
    assert (
        credentials["with"]["role-to-assume"]
        == f"arn:aws:iam::${{{{ matrix.account }}}}:role/${{{{ vars.{role} }}}}"
    )
    for path in WORKFLOWS:
        text = path.read_text()
        assert workflow(path.name)["permissions"] == {"contents": "read"}
        for key in (
            "aws-access-key-id",
            "aws-secret-access-key",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ):
            assert key not in text, path.name


def test_deploy_runs_on_main_behind_github_environments() -> None:
    document = workflow("deploy.yml")
    on = document[True]  # YAML 1.1 reads the key `on` as true
    assert on["push"]["branches"] == ["main"]
    assert {".github/workflows/deploy.yml", ".github/workflows/deploy-stacks.yml"} <= set(on["push"]["paths"])
    up = workflow("deploy-stacks.yml")["jobs"]["up"]
    assert up["environment"] == "${{ matrix.environment }}"
    (command,) = [s["run"] for s in steps(up) if "pulumi up" in s.get("run", "")]
    assert "--yes" in command
    assert document["concurrency"] == {"group": "deploy", "cancel-in-progress": False}
    preview = workflow("policy-preview.yml")
    assert set(preview[True]) == {"pull_request"}
    assert ".github/workflows/preview-stacks.yml" in preview[True]["pull_request"]["paths"]
    assert "environment" not in workflow("preview-stacks.yml")["jobs"]["preview"]


@pytest.mark.parametrize(("name", "job", "called", "per_stack_job"), FAN_OUTS)
def test_the_per_stack_step_writes_the_config_pulumi_reads(
    tmp_path: Path, name: str, job: str, called: str, per_stack_job: str
) -> None:
    """The step before `pulumi`, run as the runner would for prod (which has its own file) and payments
    (which has none): the file pulumi's --policy-pack-config names exists and holds the plan's config."""
    from drplan import policy_config, stack_policy_config
    from drplan.program import read_stack_config, stack_file

    per_stack = workflow(called)["jobs"][per_stack_job]
    (write,) = [s["run"] for s in steps(per_stack) if "--write-policy-configs" in s.get("run", "")]
    org = policy_config.load(REPO / stack_policy_config.ORG_POLICY_CONFIG)
    for stack in ("prod", "payments"):
        command = write.replace(".venv/bin/python", sys.executable)
        env = {"PATH": "/usr/bin:/bin", "STACK": stack, "RUNNER_TEMP": str(tmp_path)}
        done = subprocess.run(
            ["bash", "-ec", command], cwd=REPO, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        written = json.loads((tmp_path / f"policy-config.{stack}.json").read_text())
        config = parse(from_namespaced(read_stack_config(stack_file(stack))), stack)
        assert written == stack_policy_config.with_stack_facts(org, config)


def test_the_pull_request_skips_the_previews_when_no_stack_is_affected(tmp_path: Path) -> None:
    """The chunk job's condition compares against the very line --matrix prints for no stack (a matrix with
    an empty include fails the run), and lets any other line through."""
    chunk_job = workflow(PREVIEW)["jobs"]["preview"]
    condition = re.fullmatch(r"needs\.fleet\.outputs\.chunks != '(.+)'", chunk_job["if"])
    assert condition, chunk_job["if"]
    none, problems = fleet.github_matrix({}, tmp_path / "Pulumi.yaml")
    assert problems == []
    assert condition.group(1) == none
    one, _ = fleet.github_matrix({"prod": REPO / "Pulumi.prod.yaml"}, REPO / "Pulumi.yaml")
    assert one is not None
    assert condition.group(1) != one
    assert "if" not in workflow("deploy.yml")["jobs"]["up"]
