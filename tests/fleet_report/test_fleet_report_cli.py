"""``python -m dr_runtime.fleet_report``: sources (fleet bucket under moto, local folder), outputs, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from dr_runtime.errors import EXIT_AWS, EXIT_ITEMS_FAILED, EXIT_OK, EXIT_SETTINGS
from dr_runtime.fleet_report import bucket_layout as layout
from dr_runtime.fleet_report.__main__ import main
from tests.aws_clients import fake_credentials
from tests.fleet_report.reports import DRIFT, FULL, MISSING, NOW, REGION, STALE, fleet_reports, write_fleet

BUCKET = "dr-org-fleet-222222222222-us-east-1"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fleet"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_credentials(monkeypatch)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        for account, report in fleet_reports().items():
            client.put_object(
                Bucket=BUCKET, Key=layout.coverage_key(account, REGION), Body=json.dumps(report)
            )
        # Objects that are not coverage reports are left alone (job reports delivered before they moved
        # to their own bucket stay here).
        client.put_object(
            Bucket=BUCKET, Key=f"{layout.JOB_REPORTS_PREFIX}/Backup/us-east-1/x.csv", Body=b"a,b"
        )
        client.put_object(Bucket=BUCKET, Key=f"coverage/{FULL}/{REGION}/2026-11-19.json", Body=b"{}")
        yield client


def test_bucket_json_has_every_account_and_exits_1_for_the_stale_and_missing(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--bucket", BUCKET, "--json", "--expect", f"{FULL},{DRIFT}", "--expect", MISSING], s3=s3, now=NOW
    )
    document = json.loads(capsys.readouterr().out)
    assert code == EXIT_ITEMS_FAILED
    assert {a["account"]: a["status"] for a in document["accounts"]} == {
        FULL: "ok",
        DRIFT: "below-100",
        STALE: "stale",
        MISSING: "missing",
    }
    drift = next(a for a in document["accounts"] if a["account"] == DRIFT)
    assert drift["types"]["EBS"] == {"total": 2, "selected": 2, "recent": 1, "coverage_percent": 50.0}
    assert {s: n for s, n in document["status_counts"].items() if n} == {
        "ok": 1,
        "below-100": 1,
        "stale": 1,
        "missing": 1,
    }
    assert sorted(u["reason"] for u in document["unprotected"]) == [
        "kubernetes-excluded",
        "no-recent-point",
        "no-recent-point",
        "opted-out",
    ]


def test_all_fresh_and_full_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = fleet_reports()
    write_fleet(tmp_path / "full", {FULL: reports[FULL]})
    assert main(["--dir", str(tmp_path / "full")], now=NOW) == EXIT_OK
    capsys.readouterr()
    # Fresh but below 100 % in a tier: never ok.
    write_fleet(tmp_path, {FULL: reports[FULL], DRIFT: reports[DRIFT]})
    assert main(["--dir", str(tmp_path)], now=NOW) == EXIT_ITEMS_FAILED
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["ACCOUNT", "STATUS", "S3", "EBS", "RDS", "ALL"]
    assert lines[1].split() == [FULL, "ok", "100%", "100%", "100%", "100%"]
    assert lines[2].split() == [DRIFT, "below-100", "100%", "50%", "50%", "66.67%"]
    assert "Unprotected resources: 4" in out
    assert "no recent recovery point" in out
    assert "last backup: never" in out


def test_table_names_what_needs_attention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--dir", str(write_fleet(tmp_path)), "--expect", MISSING], now=NOW)
    out = capsys.readouterr().out
    assert code == EXIT_ITEMS_FAILED
    assert f"  {STALE}  stale\n    {REGION}: report is 4.0 days old" in out
    assert f"  {MISSING}  missing\n    no coverage report in the fleet bucket" in out


def test_html_to_a_file(tmp_path: Path) -> None:
    page = tmp_path / "fleet.html"
    assert (
        main(["--dir", str(write_fleet(tmp_path)), "--html", "--output", str(page)], now=NOW)
        == EXIT_ITEMS_FAILED
    )
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert f'data-account="{DRIFT}"' in text


def test_missing_bucket_is_one_message_and_exit_2(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bucket", "no-such-fleet-bucket"], s3=s3, now=NOW) == EXIT_SETTINGS
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        "fleet_report: --bucket no-such-fleet-bucket: no such bucket (the organisation stack's fleetBucketName)"
    )


def test_access_denied_exits_3_naming_the_action(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    message = (
        "User: arn:aws:sts::222222222222:assumed-role/Reader/x is not authorized to perform: "
        f"s3:ListBucket on resource: arn:aws:s3:::{BUCKET}"
    )
    stubber = Stubber(s3)
    stubber.add_client_error(
        "list_objects_v2",
        service_error_code="AccessDenied",
        service_message=message,
        http_status_code=403,
        expected_params={"Bucket": BUCKET, "Prefix": "coverage/"},
    )
    with stubber:
        assert main(["--bucket", BUCKET], s3=s3, now=NOW) == EXIT_AWS
    assert capsys.readouterr().err.strip() == (
        f"fleet_report: access denied: s3:ListBucket on arn:aws:s3:::{BUCKET} for "
        "arn:aws:sts::222222222222:assumed-role/Reader/x (AccessDenied)"
    )


def test_unreadable_object_marks_only_its_account(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    s3.put_object(Bucket=BUCKET, Key=layout.coverage_key(DRIFT, REGION), Body=b"\xff\xfe not text")
    assert main(["--bucket", BUCKET, "--json"], s3=s3, now=NOW) == EXIT_ITEMS_FAILED
    accounts = {a["account"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert accounts[DRIFT]["status"] == "unreadable"
    assert accounts[DRIFT]["problems"] == [
        f"s3://{BUCKET}/coverage/{DRIFT}/{REGION}/latest.json: not UTF-8 text: invalid start byte"
    ]
    assert accounts[FULL]["status"] == "ok"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dir", "/nonexistent/fleet"], "--dir /nonexistent/fleet: no such folder"),
        (["--dir", "examples/fleet/coverage"], "--dir examples/fleet/coverage: has no coverage/ folder"),
        (["--dir", ".", "--expect", "12345"], "--expect '12345': must be a 12-digit AWS account ID"),
        (["--dir", ".", "--max-age-hours", "0"], "--max-age-hours 0: must be at least 1"),
        (
            ["--dir", ".", "--as-of", "2026-11-20"],
            "--as-of '2026-11-20': must be an ISO 8601 time with a zone",
        ),
        (["--dir", ".", "--bucket", "b"], "argument --bucket: not allowed with argument --dir (see --help)"),
        (["--dir", ".", "--json", "--html"], "argument --html: not allowed with argument --json"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv: list[str], message: str) -> None:
    # As a user runs it: a real process, so argparse's exit and the stderr text are what a person sees.
    run = subprocess.run(
        [sys.executable, "-m", "dr_runtime.fleet_report", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == EXIT_SETTINGS
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_the_example_fleet_is_the_coverage_jobs_own_output(tmp_path: Path) -> None:
    # examples/fleet (the README's example) is what tests/fleet_report/reports.py makes with the coverage
    # job's build_report: regenerate it with `python -m tests.fleet_report.reports examples/fleet`.
    write_fleet(tmp_path)
    made = {p.relative_to(tmp_path): json.loads(p.read_text()) for p in tmp_path.rglob("*.json")}
    shipped = {p.relative_to(EXAMPLE): json.loads(p.read_text()) for p in EXAMPLE.rglob("*.json")}
    assert shipped == made


def test_readme_example_as_of_a_fixed_time(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--dir", str(EXAMPLE), "--as-of", NOW.isoformat(), "--expect", MISSING])
    out = capsys.readouterr().out
    assert code == EXIT_ITEMS_FAILED
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:5]}
    assert rows == {FULL: "ok", DRIFT: "below-100", STALE: "stale", MISSING: "missing"}


def test_expected_accounts_from_the_organisation_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # org/Pulumi.management.yaml admits the four workload accounts; only the first has a report here.
    write_fleet(tmp_path, {FULL: fleet_reports()[FULL]})
    stack = ROOT / "org" / "Pulumi.management.yaml"
    code = main(["--dir", str(tmp_path), "--expect-from", str(stack), "--json"], now=NOW)
    assert code == EXIT_ITEMS_FAILED
    statuses = {a["account"]: a["status"] for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert statuses == {FULL: "ok", DRIFT: "missing", STALE: "missing", MISSING: "missing"}


def test_expect_from_a_broken_stack_file_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.management.yaml"
    stack.write_text(
        (ROOT / "org" / "Pulumi.management.yaml").read_text().replace("o-exampleorg01", "my-org")
    )
    assert main(["--dir", str(tmp_path), "--expect-from", str(stack)], now=NOW) == EXIT_SETTINGS
    err = capsys.readouterr().err
    assert err.startswith(f"fleet_report: --expect-from {stack}: Invalid configuration for stack")
    assert "aws-dr-backup-org:organizationId = 'my-org'" in err


def test_expect_from_a_stack_file_with_a_key_twice_names_both_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.management.yaml"
    stack.write_text("config:\n  a: 1\n  a: 2\n", encoding="utf-8")
    assert main(["--dir", str(tmp_path), "--expect-from", str(stack)], now=NOW) == EXIT_SETTINGS
    err = capsys.readouterr().err
    assert f"--expect-from {stack}: key 'config.a' is given twice, on line 2 and line 3" in err
    assert "Traceback" not in err
