"""``start``, ``status`` and ``instances``: dry run by default, idempotent reruns, one failure among many,
throttling through botocore's real retry loop, restore times per resource and type, and bad input as one
line with a non-zero exit and nothing started."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dr_runtime.restore import jobs
from dr_runtime.restore import recovery_cli as cli
from dr_runtime.restore.failures import InputError
from drplan.program import register_stack
from tests.operations.conftest import FakeHttp
from tests.recovery.conftest import (
    DR,
    NOW,
    PRIMARY,
    RECOVERY,
    SOURCE_ARNS,
    SOURCE_METADATA,
    WORKLOAD,
    Clients,
    point_arn,
    recovery_point,
)

PLAN_ID = "0123456789abcdef"
CREATED = NOW.isoformat().replace("+00:00", "Z")
ROLE = f"arn:aws:iam::{WORKLOAD}:role/dr-prod-AWSBackupRole"


def _resource(type_key: str, ident: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": type_key,
        "resourceType": {"rds": "RDS", "aurora": "Aurora", "dynamodb": "DynamoDB", "s3": "S3"}[type_key],
        "sourceArn": SOURCE_ARNS[type_key] if ident.endswith("1") else f"{SOURCE_ARNS[type_key]}-{ident}",
        "recoveryPointArn": point_arn(ident),
        "iamRoleArn": ROLE,
        "metadata": {"name": ident},
        "blocked": [],
        "instances": None,
        **extra,
    }


def _plan(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 1,
        "planId": PLAN_ID,
        "createdAt": CREATED,
        "source": "cross-region",
        "targetAccount": WORKLOAD,
        "targetRegion": DR,
        "resources": list(resources),
    }


THREE = (_resource("rds", "rds-1"), _resource("rds", "rds-2"), _resource("dynamodb", "ddb-1"))


def _jobs(clients: Clients, found: list[dict[str, Any]]) -> None:
    clients.backup.add_response("list_restore_jobs", {"RestoreJobs": found}, {"ByCreatedAfter": NOW})


def _job(
    ident: str, status: str, minutes: float | None = None, start_min: float = 0, **extra: Any
) -> dict[str, Any]:
    job: dict[str, Any] = {
        "RestoreJobId": f"job-{ident}",
        "RecoveryPointArn": point_arn(ident),
        "Status": status,
        "CreationDate": NOW + timedelta(minutes=start_min),
        **extra,
    }
    if minutes is not None:
        job["CompletionDate"] = NOW + timedelta(minutes=start_min + minutes)
    return job


def _expect_start(clients: Clients, resource: dict[str, Any], job_id: str, attempt: int = 0) -> None:
    clients.backup.add_response(
        "start_restore_job",
        {"RestoreJobId": job_id},
        {
            "RecoveryPointArn": resource["recoveryPointArn"],
            "Metadata": resource["metadata"],
            "IamRoleArn": ROLE,
            "IdempotencyToken": jobs.idempotency_token(PLAN_ID, resource["recoveryPointArn"], attempt),
            "ResourceType": resource["resourceType"],
        },
    )


def _quiet(line: str) -> None:
    del line


def test_dry_run_starts_nothing(clients: Clients) -> None:
    _jobs(clients, [])
    result = jobs.start(clients, _plan(*THREE), yes=False, progress=_quiet)
    clients.assert_stubs_used()  # a start_restore_job call would have found no stubbed answer
    assert result["dryRun"] is True
    assert result["counts"] == {"would start": 3}


def test_start_then_rerun_starts_nothing_twice(clients: Clients) -> None:
    _jobs(clients, [])
    for index, resource in enumerate(THREE):
        _expect_start(clients, resource, f"job-{index}")
    lines: list[str] = []
    first = jobs.start(clients, _plan(*THREE), yes=True, concurrency=1, progress=lines.append)
    assert first["counts"] == {"started": 3}
    assert lines[0] == f"[1/3] started: rds {SOURCE_ARNS['rds']} -> job job-0"

    # After an interruption: AWS has two of the jobs; a restore test of the third point is not ours.
    testing = _job(
        "ddb-1",
        "RUNNING",
        CreatedBy={"RestoreTestingPlanArn": "arn:aws:backup:us-east-2:111111111111:restore-testing-plan:x"},
    )
    _jobs(clients, [_job("rds-1", "RUNNING"), _job("rds-2", "COMPLETED", 10), testing])
    _expect_start(clients, THREE[2], "job-2")  # same token as before: AWS would not start it twice either
    second = jobs.start(clients, _plan(*THREE), yes=True, concurrency=1, progress=_quiet)
    clients.assert_stubs_used()
    assert [r["action"] for r in second["results"]] == ["existing", "existing", "started"]


def test_failed_job_is_restarted_only_when_asked_with_a_new_token(clients: Clients) -> None:
    _jobs(clients, [_job("rds-1", "FAILED", 3)])
    kept = jobs.start(clients, _plan(THREE[0]), yes=True, progress=_quiet)
    assert kept["results"][0]["action"] == "existing"
    _jobs(clients, [_job("rds-1", "FAILED", 3)])
    _expect_start(clients, THREE[0], "job-again", attempt=1)
    again = jobs.start(clients, _plan(THREE[0]), yes=True, retry_failed=True, progress=_quiet)
    clients.assert_stubs_used()
    assert again["results"][0] == {**again["results"][0], "action": "started", "jobId": "job-again"}


def test_one_failed_job_among_many_does_not_stop_the_rest(clients: Clients) -> None:
    _jobs(clients, [])
    _expect_start(clients, THREE[0], "job-0")
    clients.backup.add_client_error(
        "start_restore_job", "InvalidParameterValueException", "DB subnet group 'x' does not exist", 400
    )
    _expect_start(clients, THREE[2], "job-2")
    result = jobs.start(clients, _plan(*THREE), yes=True, concurrency=1, progress=_quiet)
    clients.assert_stubs_used()
    assert [r["action"] for r in result["results"]] == ["started", "failed", "started"]
    assert (
        result["results"][1]["error"] == "InvalidParameterValueException: DB subnet group 'x' does not exist"
    )


def test_throttling_is_retried_and_past_the_budget_fails_only_that_resource(
    clients: Clients, retry_sleeps: list[float]
) -> None:
    http = FakeHttp(clients("backup"))
    throttled = {"__type": "ThrottlingException", "message": "Rate exceeded"}
    http.add(200, {"RestoreJobs": []})
    http.add(400, throttled)  # first start: throttled once, then accepted
    http.add(200, {"RestoreJobId": "job-0"})
    for _ in range(9):  # second start: throttled on every one of its 9 attempts
        http.add(400, throttled)
    http.add(200, {"RestoreJobId": "job-2"})
    result = jobs.start(clients, _plan(*THREE), yes=True, concurrency=1, progress=_quiet)
    assert [r["action"] for r in result["results"]] == ["started", "failed", "started"]
    assert result["results"][1]["error"].startswith(
        "throttled by AWS after the SDK's retries: StartRestoreJob"
    )
    assert len(http.requests) == 13
    assert len(retry_sleeps) == 9


def test_status_reports_restore_time_per_resource_and_type(clients: Clients) -> None:
    aurora = _resource("aurora", "aur-1", instances={"service": "rds"})
    plan = _plan(*THREE, aurora, _resource("s3", "s3-1"))
    _jobs(
        clients,
        [
            _job("rds-1", "COMPLETED", 40),
            _job("rds-2", "COMPLETED", 52, start_min=2),
            _job("ddb-1", "FAILED", 5, StatusMessage="Table already exists"),
            _job("aur-1", "COMPLETED", 95, start_min=1),
        ],
    )
    report = jobs.status(clients, plan, target_minutes=60)
    by_arn = {r["sourceArn"]: r for r in report["resources"]}
    assert by_arn[SOURCE_ARNS["rds"]]["minutes"] == 40.0
    assert by_arn[SOURCE_ARNS["dynamodb"]]["statusMessage"] == "Table already exists"
    assert by_arn[SOURCE_ARNS["s3"]]["status"] == "NOT STARTED"
    assert "instances" in by_arn[SOURCE_ARNS["aurora"]]["next"]
    assert report["perType"]["rds"] == {
        "resources": 2,
        "completed": 2,
        "failed": 0,
        "running": 0,
        "notStarted": 0,
        "maxMinutes": 52.0,
        "medianMinutes": 46.0,
        "meetsTarget": True,
    }
    assert report["perType"]["aurora"]["meetsTarget"] is False
    assert report["perType"]["dynamodb"]["failed"] == 1
    assert report["rtoMinutes"] == 95.0
    assert report["failed"] == 1
    assert report["done"] is False  # the S3 resource was never started
    assert report["wallClockMinutes"] is None


def test_status_wait_polls_until_the_jobs_finish(
    clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(_plan(THREE[0])), encoding="utf-8")
    sleeps: list[float] = []
    monkeypatch.setattr(cli, "SLEEP", sleeps.append)
    _jobs(clients, [_job("rds-1", "RUNNING")])
    _jobs(clients, [_job("rds-1", "COMPLETED", 30)])
    code = cli.main(
        ["status", str(plan_file), "--wait", "--interval", "5", "--json"], factory=lambda region: clients
    )
    out = capsys.readouterr()
    assert code == 0
    assert sleeps == [5]
    assert "1 of 1 restore jobs still running" in out.err
    document = json.loads(out.out)
    assert (document["rtoMinutes"], document["wallClockMinutes"], document["done"]) == (30.0, 30.0, True)


def _instances_plan(instance_class: str | None) -> dict[str, Any]:
    spec = {
        "service": "rds",
        "cluster": "ledger-dr-202501150600",
        "engine": "aurora-postgresql",
        "instanceClass": instance_class,
        "identifiers": ["ledger-dr-202501150600-1", "ledger-dr-202501150600-2"],
    }
    return _plan(_resource("aurora", "aur-1", instances=spec))


def test_instances_are_created_once_the_cluster_restore_completed(clients: Clients) -> None:
    _jobs(clients, [_job("aur-1", "COMPLETED", 80)])
    rds = clients.stub("rds")
    base = {
        "DBClusterIdentifier": "ledger-dr-202501150600",
        "Engine": "aurora-postgresql",
        "DBInstanceClass": "db.r6g.large",
    }
    rds.add_response(
        "create_db_instance", {"DBInstance": {}}, {"DBInstanceIdentifier": "ledger-dr-202501150600-1", **base}
    )
    rds.add_client_error("create_db_instance", "DBInstanceAlreadyExists", "exists", 400)
    result = jobs.create_instances(clients, _instances_plan("db.r6g.large"), yes=True, progress=_quiet)
    clients.assert_stubs_used()
    assert [r["action"] for r in result["results"]] == ["created", "exists"]


def _run(
    argv: list[str], clients: Clients | None, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    factory: Callable[[str], Any] = (lambda region: clients) if clients is not None else cli.boto_factory
    code = cli.main(argv, factory=factory)
    out = capsys.readouterr()
    return code, out.out, out.err


def _write(tmp_path: Path, plan: dict[str, Any]) -> str:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    return str(path)


def test_a_blocked_plan_starts_nothing_and_names_the_setting(
    clients: Clients, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = _resource(
        "rds", "rds-1", blocked=[{"setting": "types.rds.dbSubnetGroupName", "why": "no default VPC"}]
    )
    code, out, err = _run(["start", _write(tmp_path, _plan(blocked, THREE[1])), "--yes"], clients, capsys)
    assert code == 2
    assert err == (
        f"restore: nothing started: {SOURCE_ARNS['rds']} needs types.rds.dbSubnetGroupName: no default VPC; "
        "set it in the profile and plan again\n"
    )
    assert out == ""
    clients.assert_stubs_used()


def test_missing_instance_class_is_bad_input(
    clients: Clients, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["instances", _write(tmp_path, _instances_plan(None)), "--yes"], clients, capsys)
    assert code == 2
    assert "set types.aurora.instanceClass in the profile" in err


def test_credentials_of_another_account_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", RECOVERY)
    code, _, err = _run(["start", _write(tmp_path, _plan(*THREE)), "--yes"], Clients(), capsys)
    assert code == 2
    assert err == (
        f"restore: credentials are for account {RECOVERY}, the plan restores into {WORKLOAD}: "
        "use the target account's credentials or plan again\n"
    )


def test_no_credentials_is_one_line_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, out, err = _run(["start", _write(tmp_path, _plan(*THREE)), "--yes"], None, capsys)
    assert (code, out) == (3, "")
    assert err.startswith("restore: no AWS credentials:")
    assert err.count("\n") == 1


def test_access_denied_and_throttling_on_a_listing_stop_the_command(
    clients: Clients, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = _write(tmp_path, _plan(*THREE))
    clients.backup.add_client_error(
        "list_restore_jobs",
        "AccessDeniedException",
        "User is not authorized to perform: backup:ListRestoreJobs",
        403,
    )
    code, _, err = _run(["status", plan_file], clients, capsys)
    assert code == 3
    assert err == "restore: access denied: backup:ListRestoreJobs (AccessDeniedException)\n"
    clients.backup.add_client_error("list_restore_jobs", "ThrottlingException", "Rate exceeded", 400)
    code, _, err = _run(["start", plan_file, "--yes"], clients, capsys)
    assert code == 3
    assert (
        err
        == "restore: throttled by AWS after the SDK's retries: ListRestoreJobs (ThrottlingException); run again later\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["plan", "--source", "cross-region", "--type", "redshift"],
            "argument --type: invalid choice: 'redshift'",
        ),
        (["plan", "--source", "sideways"], "argument --source: invalid choice: 'sideways'"),
        (
            ["plan", "--source", "cross-region", "--region", DR],
            "--source cross-region: say where the vaults are: --stack NAME",
        ),
        (["start", "missing.json"], "missing.json: no such plan file"),
        (["start", "--concurrency", "0", "x.json"], "argument --concurrency: 0: expected 1-64"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], clients: Clients
) -> None:
    code, out, err = _run(argv, clients, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("restore: ")
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_malformed_plans_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    for document, message in (
        ({"version": 9}, "version: expected a plan of version 1"),
        ({**_plan(), "createdAt": "yesterday"}, "createdAt = 'yesterday': not an ISO 8601 time"),
        ({**_plan({"type": "rds"})}, "resources[0]: missing resourceType, sourceArn"),
    ):
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(InputError, match=message.replace("[", r"\[")):
            jobs.load_plan(path)


def test_plan_then_start_end_to_end(
    clients: Clients, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(register_stack("prod").outputs), encoding="utf-8")
    backup = clients.backup
    backup.add_response(
        "describe_backup_vault", {"BackupVaultName": "dr-prod-rds"}, {"BackupVaultName": "dr-prod-rds"}
    )
    backup.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": [recovery_point("rds", "rds-1")]},
        {"BackupVaultName": "dr-prod-rds", "MaxResults": 1000},
    )
    backup.add_response(
        "get_recovery_point_restore_metadata",
        {"RestoreMetadata": SOURCE_METADATA["rds"]},
        {"BackupVaultName": "dr-prod-rds", "RecoveryPointArn": point_arn("rds-1")},
    )
    plan_file = tmp_path / "plan.json"
    argv = [
        "plan",
        "--source",
        "cross-region",
        "--stack-outputs",
        str(outputs),
        "--region",
        DR,
        "--type",
        "rds",
    ]
    code, out, _ = _run([*argv, "--out", str(plan_file)], clients, capsys)
    assert code == 0
    assert "RPO achieved" in out
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    [resource] = plan["resources"]
    # The stack exports its per-type AWS Backup role: restores use it rather than AWS's default role.
    assert resource["iamRoleArn"] == f"arn:aws:iam::{WORKLOAD}:role/dr-prod-rds-AWSBackupRole"
    assert resource["sourceArn"] == f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:db:orders-db"

    backup.add_response("list_restore_jobs", {"RestoreJobs": []}, None)
    code, out, err = _run(["start", str(plan_file), "--json"], clients, capsys)
    assert code == 0
    assert json.loads(out)["counts"] == {"would start": 1}
    assert "[1/1] would start: rds" in err
    clients.assert_stubs_used()
