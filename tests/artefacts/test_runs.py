"""Each registered job run end to end from its archive, under its registered role, against moto and the
local front (aws_front.py): its environment and schedule input as registered, resources seeded so it
does its real work, and its normal run report at the end."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.artefacts.conftest import Aws, run_function
from tests.artefacts.functions import LambdaFunction, every_function

SCHEDULED = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _event(function: LambdaFunction) -> Any:
    # EventBridge Scheduler fills its context attribute in before it invokes the target.
    return json.loads(
        function.schedule_input.replace("<aws.scheduler.scheduled-time>", "2026-03-02T06:00:00Z")
    )


def _run(aws: Aws, function: LambdaFunction, tmp_path: Path, sdk: Path) -> dict[str, Any]:
    credentials = aws.credentials_for(function)
    result = run_function(
        function,
        function.lay_out(tmp_path / "task"),
        sdk,
        _event(function),
        {**credentials, "AWS_ENDPOINT_URL": aws.front.url},
    )
    assert not aws.front.denied, f"{function.id} was refused: {aws.front.denied}"
    assert result.returncode == 0, f"{function.id}: {result.stderr}"
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("RESULT ")
    report: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return report


def _of(handler: str) -> list[LambdaFunction]:
    return [f for f in every_function() if f.handler == handler]


@pytest.mark.parametrize("function", _of("dr_runtime.operations.watchdog.handler"), ids=lambda f: f.id)
def test_the_watchdog_alerts_once_per_long_running_job(
    function: LambdaFunction, aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    aws.reset()
    env = function.environment
    table = env["DR_WATCHDOG_LEDGER_TABLE"]
    aws.client("dynamodb", function.account).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = aws.client("sns", function.account).create_topic(
        Name=env["DR_ALERT_TOPIC_ARN"].rsplit(":", 1)[1]
    )["TopicArn"]
    assert topic == env["DR_ALERT_TOPIC_ARN"]
    threshold = int(env["DR_WATCHDOG_THRESHOLD_MINUTES"])
    account = function.account
    vault = f"arn:aws:backup:us-east-1:{account}:backup-vault:dr-rds"
    aws.front.seeds.backup_jobs = [
        {
            "BackupJobId": job_id,
            "State": "RUNNING",
            "CreationDate": SCHEDULED - timedelta(minutes=minutes),
            "ResourceArn": f"arn:aws:rds:us-east-1:{account}:db:{job_id}",
            "ResourceType": "RDS",
            "BackupVaultName": "dr-rds",
            "BackupVaultArn": vault,
        }
        for job_id, minutes in (("backup-old", threshold + 10), ("backup-young", 60))
    ]
    aws.front.seeds.copy_jobs = [
        {
            "CopyJobId": "copy-old",
            "State": "RUNNING",
            "CreationDate": SCHEDULED - timedelta(minutes=threshold + 60),
            "ResourceArn": f"arn:aws:dynamodb:us-east-1:{account}:table/orders",
            "ResourceType": "DynamoDB",
            "SourceBackupVaultArn": vault,
            "DestinationBackupVaultArn": vault.replace("us-east-1", "us-west-2"),
        }
    ]
    report = _run(aws, function, tmp_path, sdk_dir)
    assert [job["job_id"] for job in report["long_running"]] == ["copy-old", "backup-old"]
    assert sorted(report["summary"]["done"]) == ["backup-old", "copy-old"]
    assert not report["summary"]["failed"]
    ledger = aws.client("dynamodb", function.account).scan(TableName=table)["Items"]
    assert sorted(item["job_id"]["S"] for item in ledger) == ["backup-old", "copy-old"]
    assert {"backup:ListBackupJobs", "backup:ListCopyJobs", "dynamodb:PutItem", "sns:Publish"} <= set(
        aws.front.calls
    )
    assert "cloudwatch:PutMetricData" in aws.front.calls
    # The next run finds the same jobs already claimed: no second alert.
    again = _run(aws, function, tmp_path / "again", sdk_dir)
    assert not again["summary"]["done"]
    assert sorted(again["summary"]["skipped"]) == ["backup-old", "copy-old"]


def test_a_call_the_role_does_not_allow_fails_the_run_naming_it(
    aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    function = next(f for f in _of("dr_runtime.operations.watchdog.handler") if f.stack == "prod")
    ((name, document),) = function.inline_policies.items()
    policy = json.loads(document)
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "ClaimJobsInLedger"]
    narrowed = replace(
        function, role_name="watchdog-without-ledger", inline_policies={name: json.dumps(policy)}
    )
    aws.reset()
    aws.front.seeds.backup_jobs = [
        {
            "BackupJobId": "backup-old",
            "State": "RUNNING",
            "CreationDate": SCHEDULED - timedelta(hours=7),
            "ResourceArn": f"arn:aws:rds:us-east-1:{function.account}:db:orders",
            "ResourceType": "RDS",
            "BackupVaultName": "dr-rds",
        }
    ]
    with pytest.raises(AssertionError, match=r"dynamodb:PutItem on arn:aws:dynamodb:us-east-1:\d{12}:table/"):
        _run(aws, narrowed, tmp_path, sdk_dir)
