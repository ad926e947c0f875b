"""`python -m drplan` as a user runs it: exit codes, stderr messages and the --json document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.drplan_process import REPO, drplan

from .conftest import stack_config

COMPLETION_RULE = "aws-backup-plan-completion-window"


def write_stack(tmp_path: Path, **changes: Any) -> Path:
    config = {**stack_config("prod"), **{f"aws-dr-backup:{k}": v for k, v in changes.items()}}
    path = tmp_path / "Pulumi.candidate.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


@pytest.fixture(scope="module")
def prod_json() -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = drplan("prod", "--json", "--progress")
    return done, json.loads(done.stdout)


def test_prod_passes_the_pack_and_exits_0(prod_json: tuple[subprocess.CompletedProcess[str], Any]) -> None:
    done, document = prod_json
    mandatory = document["policy"]["mandatory"]
    assert mandatory == [], json.dumps(mandatory, indent=2)
    assert done.returncode == 0
    assert document["exit"] == {"code": 0, "reason": "ok", "message": ""}


def test_json_document_shape(prod_json: tuple[subprocess.CompletedProcess[str], Any]) -> None:
    done, document = prod_json
    assert set(document) == {
        "stack",
        "project",
        "layout",
        "resources",
        "matrix",
        "storage",
        "cost",
        "policy",
        "exit",
    }
    assert (document["stack"], document["layout"]) == ("prod", "partitioned")
    groups = document["resources"]["groups"]
    # Nothing in the isolated account: the isolated stack registers its vaults (docs/isolated-account.md).
    assert {(g["account"], g["region"]) for g in groups} == {
        ("111111111111", "us-east-1"),
        ("111111111111", "us-east-2"),
    }
    assert sum(g["resourceCount"] for g in groups) <= document["resources"]["count"]
    ebs = next(t for t in document["matrix"]["types"] if t["type"] == "ebs")
    assert ebs["protection"]["inRegion"]["pointsPerDay"] == 1
    assert ebs["protection"]["crossRegion"]["retentionDays"] == [3]
    assert ebs["protection"]["airGapped"]["retentionDays"] == [7]
    assert {s["kind"] for s in ebs["scenarios"]} == {"opt-out", "cross-region-opt-out", "kubernetes-owned"}
    assert document["storage"]["inventory"].endswith("inventory.yaml")
    assert set(document["storage"]["totals"]) == {"split", "partitioned"}
    assert document["policy"]["ran"] is True
    # Progress goes to stderr, so stdout stayed one JSON document.
    assert "running the program" in done.stderr


def test_text_plan_without_the_pack(tmp_path: Path) -> None:
    done = drplan("staging", "--no-policy")
    assert done.returncode == 0, done.stderr
    for heading in (
        "RESOURCES by account",
        "PROTECTION MATRIX",
        "OPT-OUT",
        "STORAGE ESTIMATE",
        "POLICY VERDICT",
    ):
        assert heading in done.stdout
    assert "skipped (--no-policy)" in done.stdout
    assert "documentdb   → aurora" in done.stdout
    assert all(len(line) <= 100 for line in done.stdout.splitlines())
    # Not a TTY and no --progress: nothing on stderr.
    assert done.stderr == ""


def test_invalid_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    stack = write_stack(tmp_path, windows={"startMinutes": 30, "completionMinutes": 360})
    done = drplan("prod", "--stack-file", str(stack), "--json")
    assert done.returncode == 2
    assert "aws-dr-backup:windows.startMinutes = 30" in done.stderr
    document = json.loads(done.stdout)
    assert document["exit"]["reason"] == "invalid-config"
    assert "windows.startMinutes" in document["exit"]["message"]


def test_unreadable_stack_file_exits_2(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text("config: [unclosed\n")
    done = drplan("prod", "--stack-file", str(stack), "--no-policy")
    assert done.returncode == 2
    assert "Pulumi.broken.yaml is not valid YAML" in done.stderr


def test_missing_stack_exits_2() -> None:
    done = drplan("no-such-stack", "--no-policy")
    assert done.returncode == 2
    assert "Pulumi.no-such-stack.yaml not found" in done.stderr


def test_bad_inventory_exits_2(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("types:\n  ebs: {count: 1, totalGiB: 10, dailyChangePercent: 300}\n")
    done = drplan("prod", "--inventory", str(inventory), "--no-policy")
    assert done.returncode == 2
    assert "types.ebs.dailyChangePercent" in done.stderr


def test_policy_violation_exits_1_naming_the_rule(tmp_path: Path) -> None:
    # 480 passes config validation (greater than the start window) but not the pack's exact 360.
    stack = write_stack(tmp_path, windows={"startMinutes": 60, "completionMinutes": 480})
    done = drplan("prod", "--stack-file", str(stack))
    assert done.returncode == 1
    assert COMPLETION_RULE in done.stderr
    assert f"MANDATORY  {COMPLETION_RULE}  backup:Plan 'ebs-full-plan'" in done.stdout
    assert "set completion_window=360" in done.stdout


PROD_POLICY_CONFIG = REPO / "examples" / "policy-config.prod.json"


def write_policy_config(tmp_path: Path, **changes: dict[str, Any]) -> Path:
    config = json.loads(PROD_POLICY_CONFIG.read_text())
    for policy, settings in changes.items():
        config[policy.replace("_", "-")].update(settings)
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps(config))
    return path


def test_policy_config_matching_the_stack_passes(tmp_path: Path) -> None:
    """The stack's 480-minute window fails the default pack (above) and passes a pack configured for 480."""
    stack = write_stack(tmp_path, windows={"startMinutes": 60, "completionMinutes": 480})
    config = write_policy_config(tmp_path, aws_backup_plan_completion_window={"completionWindowMinutes": 480})
    done = drplan("prod", "--stack-file", str(stack), "--policy-config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["policy"]["ran"] is True
    assert document["policy"]["mandatory"] == []


def test_stack_lacking_a_configured_cluster_exits_1(tmp_path: Path) -> None:
    """prod's pack config lists platform-prod-2; a stack that dropped it no longer excludes its volumes."""
    stack = write_stack(tmp_path, kubernetesClusters=["platform-prod-1"])
    done = drplan("prod", "--stack-file", str(stack), "--policy-config", str(PROD_POLICY_CONFIG))
    assert done.returncode == 1, done.stderr
    assert "aws-backup-selection-kubernetes-volumes" in done.stderr
    assert "Kubernetes cluster 'platform-prod-2'" in done.stdout
    assert "platform-prod-1'" not in done.stdout


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"aws-backup-plan-completion-window": {', "not valid JSON: Expecting property name"),
        (
            '{"aws-backup-plan-completion-windows": "mandatory"}',
            "aws-backup-plan-completion-windows: not a policy of this pack "
            "(did you mean 'aws-backup-plan-completion-window'?)",
        ),
        (
            '{"aws-backup-plan-completion-window": {"completionWindowMinutes": "480"}}',
            "aws-backup-plan-completion-window.completionWindowMinutes = \"480\": '480' is not of type 'integer'",
        ),
        (
            '{"aws-backup-selection-kubernetes-volumes": {"kubernetesClusterNames": ["a"]}}',
            'aws-backup-selection-kubernetes-volumes.kubernetesClusterNames = ["a"]: not a setting of this '
            "policy; its settings are exemptions, kubernetesClusterTagKeyTemplate, kubernetesClusters",
        ),
        ('{"all": "strict"}', 'all = "strict": an enforcement level is one of advisory, mandatory'),
    ],
    ids=["invalid-json", "unknown-policy", "wrong-type", "unknown-setting", "bad-level"],
)
def test_bad_policy_config_exits_2_naming_flag_file_and_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "pack.json"
    path.write_text(content)
    done = drplan("prod", "--policy-config", str(path), "--json")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"--policy-config {path}: {problem}")
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["exit"]["reason"] == "invalid-policy-config"


def test_missing_policy_config_and_no_policy_conflict(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    done = drplan("prod", "--policy-config", str(missing))
    assert (done.returncode, done.stderr.strip()) == (2, f"--policy-config {missing}: file not found")
    done = drplan("prod", "--no-policy", "--policy-config", str(PROD_POLICY_CONFIG))
    assert done.returncode == 2
    assert "--policy-config configures the policy pack, which --no-policy skips" in done.stderr


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    # `python -m drplan prod | head -1`: the plan writes after its reader has gone. The pipe is closed
    # before the plan has anything to print (it needs a second), so its first write meets no reader.
    with subprocess.Popen(
        [sys.executable, "-m", "drplan", "prod", "--no-policy"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        errors = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert "Traceback" not in errors
    assert "BrokenPipeError" not in errors
    assert code == 141


def _pack_processes() -> set[int]:
    """Processes running a policy pack (``python -m pulumi.policy``), by /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"pulumi.policy" in arguments:
            found.add(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["prod", "--help"], 0),
        (["prod", "--no-such-option"], 2),
        (["no-such-stack"], 2),
        (["prod", "--policy-config", "no-such-file.json"], 2),
    ],
    ids=["help", "usage-error", "missing-stack-file", "missing-policy-config"],
)
def test_the_pack_started_before_the_imports_never_outlives_the_plan(args: list[str], code: int) -> None:
    # __main__ starts the pack's process before it imports the SDKs; whether the plan adopts it or exits
    # before it could, the process is gone when the plan has exited.
    before = _pack_processes()
    done = drplan(*args)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert _pack_processes() - before == set()


def test_the_plan_adopts_a_started_pack_and_stops_it(capsys: pytest.CaptureFixture[str]) -> None:
    from drplan import cli, pack_process

    started = pack_process.spawn()
    code = cli.main(["prod", "--json"], started_pack=started)
    assert (code, json.loads(capsys.readouterr().out)["policy"]["ran"]) == (0, True)
    assert started.process.poll() is not None  # the plan's client stopped it
    assert started.stderr.closed


def test_a_client_refuses_a_pack_started_for_another_directory(tmp_path: Path) -> None:
    from drplan import pack_process
    from drplan.policy_client import PolicyPackClient

    started = pack_process.spawn(tmp_path)
    try:
        with pytest.raises(ValueError, match="the started pack runs"):
            PolicyPackClient().start(started)
    finally:
        started.stop()
    assert started.process.poll() is not None


def test_a_pack_that_cannot_start_is_one_line_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from drplan import __main__ as entry
    from drplan import cli, pack_process
    from drplan.policy_client import PolicyPackClient

    missing = tmp_path / "no-such-pack"

    def cannot_start(*args: Any, **kwargs: Any) -> pack_process.PackProcess:
        raise FileNotFoundError(2, "No such file or directory", str(missing))

    # __main__ starts nothing when it cannot; the plan then tries itself and reports why in one line.
    monkeypatch.setattr(pack_process, "spawn", cannot_start)
    assert entry._early_pack(["prod"]) is None
    monkeypatch.undo()
    monkeypatch.setattr(cli, "_start_pack", lambda started: PolicyPackClient(missing).start(started))
    assert cli.main(["prod", "--json"]) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["exit"]["reason"] == "policy-pack-failed"
    assert captured.err.splitlines() == [
        f"the policy pack in {missing} could not be started: No such file or directory: {missing}"
    ]


def test_a_job_whose_code_would_not_import_in_lambda_is_one_line_and_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As if the Lambda runtime had no AWS SDK: every job's closure then reaches a module it lacks.
    from components import lambda_code
    from drplan import cli

    monkeypatch.setattr(lambda_code, "LAMBDA_PROVIDED", frozenset())
    code = cli.main(["prod", "--no-policy"])
    errors = capsys.readouterr().err
    assert code == 3
    assert "Traceback" not in errors
    assert "cannot run in Lambda" in errors
    assert "'boto3'" in errors or "'botocore'" in errors


ORG_POLICY_CONFIG = REPO / "examples" / "policy-config.json"


def test_the_organisations_pack_config_takes_the_stacks_own_clusters(tmp_path: Path) -> None:
    """`make plan`'s form for a stack without its own file: the clusters come from the stack, so the stack
    that fails prod's own file (above) passes; its own file, given too, wins and fails it again."""
    stack = write_stack(tmp_path, kubernetesClusters=["platform-prod-1"])
    done = drplan("prod", "--stack-file", str(stack), "--org-policy-config", str(ORG_POLICY_CONFIG), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["policy"]["ran"] is True
    done = drplan(
        "prod", "--stack-file", str(stack), "--org-policy-config", str(ORG_POLICY_CONFIG),
        "--policy-config", str(PROD_POLICY_CONFIG),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Kubernetes cluster 'platform-prod-2'" in done.stdout


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[]", "must be a JSON object keyed by policy name"),
        (
            '{"aws-backup-selection-kubernetes-volumes": {"kubernetesClusterNames": ["a"]}}',
            'aws-backup-selection-kubernetes-volumes.kubernetesClusterNames = ["a"]: not a setting',
        ),
    ],
    ids=["not-an-object", "unknown-setting"],
)
def test_bad_organisation_pack_config_exits_2_naming_its_flag(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "org.json"
    path.write_text(content)
    done = drplan("prod", "--org-policy-config", str(path))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"--org-policy-config {path}: {problem}")
