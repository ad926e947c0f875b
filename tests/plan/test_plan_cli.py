"""`python -m drplan` as a user runs it: exit codes, stderr messages and the --json document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import stack_config

REPO = Path(__file__).resolve().parents[2]
COMPLETION_RULE = "aws-backup-plan-completion-window"


def drplan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drplan", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


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
    assert set(document) == {"stack", "project", "layout", "resources", "matrix", "storage", "policy", "exit"}
    assert (document["stack"], document["layout"]) == ("prod", "partitioned")
    groups = document["resources"]["groups"]
    assert {(g["account"], g["region"]) for g in groups} == {
        ("111111111111", "us-east-1"),
        ("111111111111", "us-east-2"),
        ("222222222222", "us-east-1"),
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
