"""The fleet report with the verifier's evidence: each tier's figure verified or self-reported, and every
status both ways (ok, below-100, fell, disagree, evidence missing / unreadable / stale)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dr_runtime.errors import EXIT_ITEMS_FAILED, EXIT_OK, EXIT_SETTINGS
from dr_runtime.fleet_report.__main__ import main
from dr_runtime.verifier import evidence_layout
from dr_runtime.verifier.settings import DEFAULT_EVIDENCE_PREFIX
from tests.aws_clients import fake_credentials
from tests.fleet_report.evidence import DRIFT_COPIES, FULL_COPIES, Copy, evidence, write_evidence
from tests.fleet_report.reports import DRIFT, FULL, NOW, REGION, fleet_reports, write_fleet

ROOT = Path(__file__).resolve().parents[2]
TIERS = ("in-region", "cross-region", "air-gapped")


def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    documents: dict[str, Any] | None,
    *extra: str,
    accounts: Sequence[str] = (FULL, DRIFT),
) -> tuple[int, dict[str, dict[str, Any]]]:
    reports = fleet_reports()
    fleet = write_fleet(tmp_path / "fleet", {a: reports[a] for a in accounts})
    argv = ["--dir", str(fleet), "--json", *extra]
    if documents is not None:
        argv += ["--evidence-dir", str(write_evidence(tmp_path / "evidence", documents))]
    code = main(argv, now=NOW)
    out = json.loads(capsys.readouterr().out)
    return code, {a["account"]: a for a in out["accounts"]}


def good() -> dict[str, Any]:
    return {FULL: evidence(FULL, FULL_COPIES), DRIFT: evidence(DRIFT, DRIFT_COPIES)}


def test_verified_figures_are_preferred_and_a_full_account_is_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, accounts = run(tmp_path, capsys, good())
    full = accounts[FULL]
    assert full["status"] == "ok"
    assert full["problems"] == []
    assert full["evidence"] == {"state": "read", "verified_at": NOW.isoformat()}
    for tier in TIERS:
        assert full["tiers"][tier]["source"] == "verified"
        assert full["tiers"][tier]["coverage_percent"] == 100.0
        assert full["tiers"][tier]["rpo_hours"] == 1.0
        assert full["tiers"][tier]["self_reported"]["coverage_percent"] == 100.0
        assert full["tiers"][tier]["verified"]["eligible"] == 3
    assert full["tiers"]["air-gapped"]["types"]["EBS"] == {
        "coverage_percent": 100.0,
        "rpo_hours": 1.0,
        "source": "verified",
    }
    assert code == EXIT_ITEMS_FAILED  # DRIFT is below 100 %
    _, alone = run(tmp_path / "alone", capsys, {FULL: evidence(FULL, FULL_COPIES)}, accounts=(FULL,))
    assert alone[FULL]["status"] == "ok"


def test_without_evidence_every_figure_is_self_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, accounts = run(tmp_path, capsys, None, accounts=(FULL,))
    assert code == EXIT_OK
    assert accounts[FULL]["evidence"]["state"] == "not-requested"
    assert {accounts[FULL]["tiers"][t]["source"] for t in TIERS} == {"self-reported"}
    assert accounts[FULL]["tiers"]["in-region"]["verified"] is None


def test_below_100_in_a_tier_is_never_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, accounts = run(tmp_path, capsys, good())
    drift = accounts[DRIFT]
    assert code == EXIT_ITEMS_FAILED
    assert drift["status"] == "below-100"
    # Self-reported and verified agree (4 of 7): below 100 % only, named per tier with its source.
    assert drift["problems"] == [f"{tier}: 57.14% verified (4 of 7 resources; RPO 1 h)" for tier in TIERS]
    # One tier alone below 100 % is enough: the copy action dropped, the rest at 100 %.
    dropped = [Copy(c.rtype, c.name, air_gapped=80) if c.rtype == "EBS" else c for c in FULL_COPIES]
    _, accounts = run(
        tmp_path / "one",
        capsys,
        {FULL: evidence(FULL, dropped)},
        "--disagree-points",
        "100",
        accounts=(FULL,),
    )
    assert accounts[FULL]["status"] == "below-100"
    assert accounts[FULL]["problems"] == ["air-gapped: 66.67% verified (2 of 3 resources; RPO 1 h)"]


def test_a_forged_full_report_disagrees_with_the_verifier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The account reports 100 % in every tier; the isolated account holds fresh copies of one resource.
    forged = [Copy(c.rtype, c.name, air_gapped=80 if c.rtype != "S3" else 1.0) for c in FULL_COPIES]
    documents = {FULL: evidence(FULL, forged)}
    _, accounts = run(tmp_path, capsys, documents, accounts=(FULL,))
    full = accounts[FULL]
    assert full["status"] == "disagree"
    assert full["tiers"]["air-gapped"]["source"] == "verified"
    assert full["tiers"]["air-gapped"]["coverage_percent"] == 33.33
    assert (
        "air-gapped: self-reported 100% but verified 33.33% (66.67 points apart; tolerance 5)"
        in (full["problems"])
    )
    # Within a wider tolerance the figures do not disagree, but the account is still below 100 %.
    _, accounts = run(tmp_path / "wide", capsys, documents, "--disagree-points", "70", accounts=(FULL,))
    assert accounts[FULL]["status"] == "below-100"


def test_a_sharp_fall_since_the_previous_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    previous = tmp_path / "previous.json"

    def previous_at(percent: float) -> None:
        tiers = {t: {"coverage_percent": percent} for t in TIERS}
        previous.write_text(json.dumps({"accounts": [{"account": DRIFT, "tiers": tiers}]}))

    previous_at(100.0)
    _, accounts = run(tmp_path / "a", capsys, good(), "--previous", str(previous))
    assert accounts[DRIFT]["status"] == "fell"
    assert (
        "air-gapped: fell from 100% to 57.14% since the previous report (more than 10 points)"
        in (accounts[DRIFT]["problems"])
    )
    assert accounts[FULL]["status"] == "ok"
    # A small drop is not a fall, nor a drop within a larger threshold.
    previous_at(60.0)
    _, accounts = run(tmp_path / "b", capsys, good(), "--previous", str(previous))
    assert accounts[DRIFT]["status"] == "below-100"
    previous_at(100.0)
    _, accounts = run(tmp_path / "c", capsys, good(), "--previous", str(previous), "--fall-points", "50")
    assert accounts[DRIFT]["status"] == "below-100"


def test_the_previous_report_can_be_this_commands_own_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = fleet_reports()
    fleet = write_fleet(tmp_path / "fleet", {FULL: reports[FULL]})
    evidence_dir = write_evidence(tmp_path / "evidence", {FULL: evidence(FULL, FULL_COPIES)})
    before = tmp_path / "before.json"
    common = ["--dir", str(fleet), "--evidence-dir", str(evidence_dir), "--json"]
    assert main([*common, "--output", str(before)], now=NOW) == EXIT_OK
    dropped = [Copy(c.rtype, c.name, air_gapped=80) if c.rtype == "EBS" else c for c in FULL_COPIES]
    write_evidence(evidence_dir, {FULL: evidence(FULL, dropped)})
    assert main([*common, "--previous", str(before), "--disagree-points", "50"], now=NOW) == EXIT_ITEMS_FAILED
    account = json.loads(capsys.readouterr().out)["accounts"][0]
    assert account["status"] == "fell"


@pytest.mark.parametrize(
    ("documents", "status", "problem"),
    [
        ({FULL: "not json"}, "evidence-unreadable", "not JSON"),
        (
            {FULL: "PLACEHOLDER-OTHER"},
            "evidence-unreadable",
            f"the evidence is for account {DRIFT}, not {FULL}",
        ),
        ({DRIFT: "PLACEHOLDER-DRIFT"}, "evidence-missing", "no verifier evidence for the account"),
        ({FULL: "PLACEHOLDER-OLD"}, "evidence-stale", "verifier evidence is 20 h old"),
        ({FULL: "PLACEHOLDER-V2"}, "evidence-unreadable", "evidence of schema 2 has no 'coverage'"),
    ],
)
def test_missing_or_unreadable_evidence_is_named_never_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], documents: dict[str, Any], status: str, problem: str
) -> None:
    made = {
        "PLACEHOLDER-OTHER": evidence(DRIFT, FULL_COPIES),
        "PLACEHOLDER-DRIFT": evidence(DRIFT, DRIFT_COPIES),
        "PLACEHOLDER-OLD": evidence(FULL, FULL_COPIES, NOW - timedelta(hours=20)),
        "PLACEHOLDER-V2": {k: v for k, v in evidence(FULL, FULL_COPIES).items() if k != "coverage"}
        | {"schema": 2},
    }
    documents = {a: made.get(d, d) if isinstance(d, str) else d for a, d in documents.items()}
    code, accounts = run(tmp_path, capsys, documents, accounts=(FULL,))
    assert code == EXIT_ITEMS_FAILED
    assert accounts[FULL]["status"] == status
    assert any(problem in p for p in accounts[FULL]["problems"]), accounts[FULL]["problems"]
    # Without usable evidence the figures the report goes by are the account's own.
    assert {accounts[FULL]["tiers"][t]["source"] for t in TIERS} == {"self-reported"}


def test_evidence_the_verifier_could_not_count_is_unreadable_not_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = evidence(FULL, FULL_COPIES)
    document["coverage"]["in-region"]["measured"] = False
    _, accounts = run(tmp_path, capsys, {FULL: document}, accounts=(FULL,))
    assert accounts[FULL]["status"] == "evidence-unreadable"
    assert accounts[FULL]["tiers"]["in-region"]["source"] == "self-reported"
    assert accounts[FULL]["tiers"]["air-gapped"]["source"] == "verified"


def test_table_marks_each_figure_verified_or_self_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = fleet_reports()
    fleet = write_fleet(tmp_path / "fleet", {FULL: reports[FULL], DRIFT: reports[DRIFT]})
    evidence_dir = write_evidence(tmp_path / "evidence", {FULL: evidence(FULL, FULL_COPIES)})
    assert main(["--dir", str(fleet), "--evidence-dir", str(evidence_dir)], now=NOW) == EXIT_ITEMS_FAILED
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Coverage per copy tier")))
    assert lines[start + 1].split() == [
        "ACCOUNT", "IN-REGION", "IN-REGION", "RPO", "CROSS-REGION", "CROSS-REGION", "RPO", "AIR-GAPPED",
        "AIR-GAPPED", "RPO",
    ]  # fmt: skip
    assert lines[start + 2].split() == [FULL, *["100%", "v", "1", "h"] * 3]
    assert lines[start + 3].split() == [DRIFT, *["57.14%", "s", "6", "h"] * 3]
    assert f"  {DRIFT}  evidence-missing" in lines


def _write_run(root: Path, account: str, copies: Sequence[Copy], hours_ago: float) -> None:
    """One earlier run's evidence, where the verifier keeps its history (``runs/``)."""
    ran = NOW - timedelta(hours=hours_ago)
    path = root / evidence_layout.run_key(DEFAULT_EVIDENCE_PREFIX, account, ran)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(evidence(account, copies, now=ran)), encoding="utf-8")


DROPPED = [Copy(c.rtype, c.name, air_gapped=80) if c.rtype == "EBS" else c for c in FULL_COPIES]
"""FULL once its EBS volume stopped copying into the isolated account: air-gapped 66.67 %."""


def test_without_a_previous_report_a_fall_is_measured_against_the_verifiers_own_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_evidence(tmp_path / "evidence", {FULL: evidence(FULL, DROPPED)})
    _write_run(root, FULL, FULL_COPIES, hours_ago=30)  # a day and more ago: all copied
    _write_run(root, FULL, DROPPED, hours_ago=6)  # after the drop: too recent to compare with
    fleet = write_fleet(tmp_path / "fleet", {FULL: fleet_reports()[FULL]})
    argv = ["--dir", str(fleet), "--evidence-dir", str(root), "--json", "--disagree-points", "100"]
    assert main(argv, now=NOW) == EXIT_ITEMS_FAILED
    (account,) = json.loads(capsys.readouterr().out)["accounts"]
    assert account["status"] == "fell"
    ran = (NOW - timedelta(hours=30)).isoformat()
    assert (
        f"air-gapped: fell from 100% to 66.67% since the verifier's run of {ran} (more than 10 points)"
        in account["problems"]
    )
    # A window longer than the history: nothing to compare with, so below 100 % only.
    assert main([*argv, "--fall-window-hours", "48"], now=NOW) == EXIT_ITEMS_FAILED
    (account,) = json.loads(capsys.readouterr().out)["accounts"]
    assert account["status"] == "below-100"
    assert not any("fell" in p for p in account["problems"])
    # A previous report, when given, is what the figures are compared with instead.
    previous = tmp_path / "previous.json"
    tiers = {"air-gapped": {"coverage_percent": 70.0}}
    previous.write_text(json.dumps({"accounts": [{"account": FULL, "tiers": tiers}]}))
    assert main([*argv, "--previous", str(previous)], now=NOW) == EXIT_ITEMS_FAILED
    (account,) = json.loads(capsys.readouterr().out)["accounts"]
    assert account["status"] == "below-100"


def test_a_steady_account_does_not_fall_against_its_runs_and_unreadable_runs_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_evidence(tmp_path / "evidence", {FULL: evidence(FULL, FULL_COPIES)})
    _write_run(root, FULL, FULL_COPIES, hours_ago=30)
    broken = root / evidence_layout.run_key(DEFAULT_EVIDENCE_PREFIX, FULL, NOW - timedelta(hours=25))
    broken.write_text("not json", encoding="utf-8")  # the newest old enough: unreadable, so not used
    (root / DEFAULT_EVIDENCE_PREFIX / "accounts" / FULL / "runs" / "notes.json").write_text("{}")
    fleet = write_fleet(tmp_path / "fleet", {FULL: fleet_reports()[FULL]})
    argv = ["--dir", str(fleet), "--evidence-dir", str(root), "--json"]
    assert main(argv, now=NOW) == EXIT_OK
    (account,) = json.loads(capsys.readouterr().out)["accounts"]
    assert (account["status"], account["problems"]) == ("ok", [])


def test_a_fall_against_the_runs_in_the_verifiers_bucket(
    evidence_bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for hours_ago, copies in ((30, FULL_COPIES), (0, DROPPED)):
        ran = NOW - timedelta(hours=hours_ago)
        key = (
            evidence_layout.run_key(DEFAULT_EVIDENCE_PREFIX, FULL, ran)
            if hours_ago
            else evidence_layout.latest_key(DEFAULT_EVIDENCE_PREFIX, FULL)
        )
        evidence_bucket.put_object(
            Bucket="dr-verifier-evidence", Key=key, Body=json.dumps(evidence(FULL, copies, now=ran))
        )
    argv = ["--bucket", "dr-fleet", "--evidence-bucket", "dr-verifier-evidence", "--json"]
    assert main([*argv, "--disagree-points", "100"], s3=evidence_bucket, now=NOW) == EXIT_ITEMS_FAILED
    accounts = {a["account"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert accounts[FULL]["status"] == "fell"
    assert accounts[DRIFT]["status"] == "evidence-missing"


@pytest.fixture
def evidence_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="dr-verifier-evidence")
        s3.create_bucket(Bucket="dr-fleet")
        for account, report in fleet_reports().items():
            s3.put_object(
                Bucket="dr-fleet", Key=f"coverage/{account}/{REGION}/latest.json", Body=json.dumps(report)
            )
        s3.put_object(
            Bucket="dr-verifier-evidence",
            Key=evidence_layout.latest_key(DEFAULT_EVIDENCE_PREFIX, FULL),
            Body=json.dumps(evidence(FULL, FULL_COPIES)),
        )
        # History and baselines beside it are not the latest evidence.
        s3.put_object(
            Bucket="dr-verifier-evidence",
            Key=evidence_layout.baseline_key(DEFAULT_EVIDENCE_PREFIX, DRIFT),
            Body=b"{}",
        )
        yield s3


def test_evidence_read_from_the_verifiers_bucket(
    evidence_bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--bucket", "dr-fleet", "--evidence-bucket", "dr-verifier-evidence", "--json"]
    assert main(argv, s3=evidence_bucket, now=NOW) == EXIT_ITEMS_FAILED
    accounts = {a["account"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert accounts[FULL]["status"] == "ok"
    assert accounts[FULL]["tiers"]["air-gapped"]["source"] == "verified"
    assert accounts[DRIFT]["status"] == "evidence-missing"


def test_no_such_evidence_bucket_names_the_flag(
    evidence_bucket: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--bucket", "dr-fleet", "--evidence-bucket", "no-such-evidence"]
    assert main(argv, s3=evidence_bucket, now=NOW) == EXIT_SETTINGS
    assert "--evidence-bucket no-such-evidence: no such bucket (the verifier's evidence bucket)" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fall-points", "150"], "--fall-points 150: must be between 0 and 100 percentage points"),
        (["--fall-window-hours", "0"], "--fall-window-hours 0: must be at least 1"),
        (["--disagree-points", "-1"], "--disagree-points -1: must be between 0 and 100 percentage points"),
        (["--max-evidence-age-hours", "0"], "--max-evidence-age-hours 0: must be at least 1"),
        (["--evidence-prefix", "verifier"], "--evidence-prefix 'verifier': must be empty or end with '/'"),
        (
            ["--previous", "/nonexistent/prev.json"],
            "--previous /nonexistent/prev.json: No such file or directory",
        ),
        (["--previous", "README.md"], "--previous README.md: not JSON"),
        (["--previous", "pyproject.toml"], "--previous pyproject.toml: not JSON"),
        (["--evidence-dir", "/nonexistent/ev"], "--evidence-dir /nonexistent/ev: no such folder"),
        (
            ["--evidence-dir", "examples/fleet"],
            "--evidence-dir examples/fleet: has no verifier/accounts/ folder",
        ),
        (
            ["--evidence-dir", ".", "--evidence-bucket", "b"],
            "argument --evidence-bucket: not allowed with argument --evidence-dir",
        ),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dr_runtime.fleet_report", "--dir", "examples/fleet", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == EXIT_SETTINGS, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_json_file_that_is_no_fleet_report_is_a_bad_previous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"accounts": 3}')
    fleet = write_fleet(tmp_path / "fleet")
    assert main(["--dir", str(fleet), "--previous", str(wrong)], now=NOW) == EXIT_SETTINGS
    assert f"--previous {wrong}: not a fleet report's JSON (no 'accounts' list)" in capsys.readouterr().err
