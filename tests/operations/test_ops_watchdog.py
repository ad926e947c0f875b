"""Watchdog: threshold edges, one alert per job, pagination, throttling, configuration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dr_runtime.errors import AwsUnavailableError, ConfigError, Kind
from dr_runtime.operations import watchdog, watchdog_jobs
from dr_runtime.operations.watchdog_settings import WatchdogConfig
from dr_runtime.report import JobFailedError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"
VAULT = "dr-ebs-us-east-1"
LEDGER = "dr-watchdog-alerts"


def backup_job(job_id: str, age: timedelta, state: str = "RUNNING", vol: str = "vol-0aaa") -> dict[str, Any]:
    return {
        "BackupJobId": job_id,
        "BackupVaultName": VAULT,
        "ResourceArn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/{vol}",
        "ResourceType": "EBS",
        "CreationDate": NOW - age,
        "State": state,
    }


def copy_job(job_id: str, age: timedelta) -> dict[str, Any]:
    return {
        "CopyJobId": job_id,
        "SourceBackupVaultArn": f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:dr-rds-us-east-1",
        "DestinationBackupVaultArn": "arn:aws:backup:us-east-1:222222222222:backup-vault:dr-archive",
        "ResourceArn": f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders",
        "ResourceType": "RDS",
        "CreationDate": NOW - age,
        "State": "RUNNING",
    }


def expect_listings(
    clients: Any,
    now: datetime,
    running: list[dict[str, Any]] | None = None,
    pending: list[dict[str, Any]] | None = None,
    copies: list[dict[str, Any]] | None = None,
    threshold: int = 330,
) -> None:
    """Queue one page per watched state; the expected params pin the states and the server-side cutoff."""
    stub = clients.stub("backup")
    cutoff = now - timedelta(minutes=threshold)
    for state, jobs in (("RUNNING", running), ("PENDING", pending)):
        stub.add_response(
            "list_backup_jobs",
            {"BackupJobs": jobs or []},
            {"ByState": state, "ByCreatedBefore": cutoff, "MaxResults": 1000},
        )
    stub.add_response(
        "list_copy_jobs",
        {"CopyJobs": copies or []},
        {"ByState": "RUNNING", "ByCreatedBefore": cutoff, "MaxResults": 1000},
    )


@pytest.fixture
def topic(clients: Any) -> tuple[str, str]:
    """An SNS topic with an SQS subscriber, to read back exactly what was published."""
    topic_arn = clients("sns").create_topic(Name="dr-alerts")["TopicArn"]
    queue_url = clients("sqs").create_queue(QueueName="dr-alerts-inbox")["QueueUrl"]
    queue_arn = clients("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    clients("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


@pytest.fixture
def ledger_table(clients: Any) -> str:
    clients("dynamodb").create_table(
        TableName=LEDGER,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return LEDGER


def alerts(clients: Any, queue_url: str) -> list[dict[str, Any]]:
    received = clients("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in received]


def metric_value(clients: Any, dimensions: list[dict[str, str]]) -> float:
    stats = clients("cloudwatch").get_metric_statistics(
        Namespace="AwsDrBackup",
        MetricName="LongRunningJobs",
        Dimensions=dimensions,
        StartTime=NOW - timedelta(days=1),
        EndTime=datetime.now(UTC) + timedelta(days=1),
        Period=86400,
        Statistics=["Maximum"],
    )
    return float(max(p["Maximum"] for p in stats["Datapoints"]))


def test_job_just_over_threshold_alerts_and_just_under_does_not(clients: Any, topic: tuple[str, str]) -> None:
    topic_arn, queue_url = topic
    expect_listings(
        clients,
        NOW,
        # The service applies ByCreatedBefore; the job under the threshold checks the client-side guard.
        running=[
            backup_job("job-over", timedelta(minutes=330)),
            backup_job("job-under", timedelta(minutes=329, seconds=59)),
        ],
    )
    config = WatchdogConfig(topic_arn=topic_arn)

    jobs, summary = watchdog.run(config, clients, NOW)
    watchdog.finish(jobs, summary, config, clients)

    assert summary.failed == {}
    assert [j.job_id for j in jobs] == ["job-over"]
    assert summary.done == ["job-over"]
    [alert] = alerts(clients, queue_url)
    assert alert["Subject"] == "AWS Backup backup job RUNNING 5h30m after creation: EBS job-over"
    body = alert["Message"]
    # The age counts from creation; AWS's cancellation counts from the schedule or the start.
    assert body.startswith(
        "An AWS Backup backup job created 5h30m ago is still RUNNING, past the alert threshold of 330 "
        "minutes. AWS cancels a backup job not finished within the completion window (360 minutes), "
        "counted from its scheduled time or its start"
    )
    assert "Job ID:    job-over" in body
    assert f"Resource:  arn:aws:ec2:us-east-1:{ACCOUNT}:volume/vol-0aaa (EBS)" in body
    assert f"Vault:     {VAULT}" in body
    assert "Age:       5h30m" in body
    assert metric_value(clients, []) == 1.0
    assert metric_value(clients, [{"Name": "JobKind", "Value": "backup"}]) == 1.0
    assert metric_value(clients, [{"Name": "JobKind", "Value": "copy"}]) == 0.0
    clients.assert_stubs_used()


def test_same_job_on_two_consecutive_runs_alerts_once_with_ledger(
    clients: Any, topic: tuple[str, str], ledger_table: str
) -> None:
    topic_arn, queue_url = topic
    config = WatchdogConfig(topic_arn=topic_arn, ledger_table=ledger_table)
    later = NOW + timedelta(minutes=15)
    expect_listings(clients, NOW, running=[backup_job("job-1", timedelta(minutes=340))])
    expect_listings(clients, later, running=[backup_job("job-1", timedelta(minutes=340))])

    _, first = watchdog.run(config, clients, NOW)
    _, second = watchdog.run(config, clients, later)

    assert first.done == ["job-1"]
    assert second.done == []
    assert second.skipped == {"job-1": "alerted by an earlier run"}
    assert len(alerts(clients, queue_url)) == 1
    marker = clients("dynamodb").get_item(TableName=ledger_table, Key={"job_id": {"S": "job-1"}})["Item"]
    # The marker outlives the completion window (360 min) by a day.
    expected_expiry = NOW + timedelta(minutes=360) + timedelta(days=1)
    assert int(marker["expires_at"]["N"]) == int(expected_expiry.timestamp())


def test_same_job_on_two_consecutive_runs_alerts_once_without_ledger(
    clients: Any, topic: tuple[str, str]
) -> None:
    topic_arn, queue_url = topic
    config = WatchdogConfig(topic_arn=topic_arn)
    later = NOW + timedelta(minutes=15)
    created_age = timedelta(minutes=335)
    expect_listings(clients, NOW, running=[backup_job("job-1", created_age)])
    # Same job, 15 minutes older at the next run.
    expect_listings(clients, later, running=[{**backup_job("job-1", created_age)}])

    _, first = watchdog.run(config, clients, NOW)
    _, second = watchdog.run(config, clients, later)

    assert first.done == ["job-1"]
    assert second.skipped == {"job-1": "crossed the threshold before this run's interval"}
    assert len(alerts(clients, queue_url)) == 1


def test_ledger_alerts_a_job_first_seen_after_a_missed_run(
    clients: Any, topic: tuple[str, str], ledger_table: str
) -> None:
    topic_arn, queue_url = topic
    expect_listings(clients, NOW, running=[backup_job("job-late", timedelta(minutes=352))])

    _, summary = watchdog.run(WatchdogConfig(topic_arn=topic_arn, ledger_table=ledger_table), clients, NOW)

    assert summary.done == ["job-late"]
    assert len(alerts(clients, queue_url)) == 1


def test_failed_publish_releases_the_claim_so_the_next_run_alerts(
    clients: Any, topic: tuple[str, str], ledger_table: str
) -> None:
    _, queue_url = topic
    missing_topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:dr-alerts-missing"
    expect_listings(clients, NOW, running=[backup_job("job-1", timedelta(minutes=331))])

    _, failed_run = watchdog.run(
        WatchdogConfig(topic_arn=missing_topic, ledger_table=ledger_table), clients, NOW
    )

    assert "publish" in failed_run.failed["job-1"]
    with pytest.raises(JobFailedError, match="job-1"):
        failed_run.finish(None)
    assert "Item" not in clients("dynamodb").get_item(TableName=ledger_table, Key={"job_id": {"S": "job-1"}})

    topic_arn = topic[0]
    later = NOW + timedelta(minutes=15)
    expect_listings(clients, later, running=[backup_job("job-1", timedelta(minutes=331))])
    _, retry = watchdog.run(WatchdogConfig(topic_arn=topic_arn, ledger_table=ledger_table), clients, later)
    assert retry.done == ["job-1"]
    assert len(alerts(clients, queue_url)) == 1


def test_job_listed_as_pending_and_running_alerts_once_and_copy_jobs_are_watched(
    clients: Any, topic: tuple[str, str]
) -> None:
    topic_arn, queue_url = topic
    expect_listings(
        clients,
        NOW,
        running=[backup_job("job-moving", timedelta(minutes=333))],
        pending=[backup_job("job-moving", timedelta(minutes=333), state="PENDING")],
        copies=[copy_job("copy-1", timedelta(minutes=400))],
    )

    jobs, summary = watchdog.run(WatchdogConfig(topic_arn=topic_arn, ledger_table=None), clients, NOW)

    assert sorted(j.job_id for j in jobs) == ["copy-1", "job-moving"]
    # The copy job is past the interval after the threshold, so the stateless ledger does not alert it.
    assert summary.done == ["job-moving"]
    assert summary.skipped == {"copy-1": "crossed the threshold before this run's interval"}
    assert len(alerts(clients, queue_url)) == 1


def test_copy_job_alert_names_source_and_destination_vaults(
    clients: Any, topic: tuple[str, str], ledger_table: str
) -> None:
    topic_arn, queue_url = topic
    expect_listings(clients, NOW, copies=[copy_job("copy-1", timedelta(minutes=400))])

    watchdog.run(WatchdogConfig(topic_arn=topic_arn, ledger_table=ledger_table), clients, NOW)

    [alert] = alerts(clients, queue_url)
    assert alert["Subject"] == "AWS Backup copy job RUNNING 6h40m after creation: RDS copy-1"
    assert "Copy jobs have no completion window" in alert["Message"]
    assert (
        f"Vault:     arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:dr-rds-us-east-1 -> "
        "arn:aws:backup:us-east-1:222222222222:backup-vault:dr-archive"
    ) in alert["Message"]


def test_pagination_follows_every_page(clients: Any, topic: tuple[str, str], ledger_table: str) -> None:
    topic_arn, queue_url = topic
    stub = clients.stub("backup")
    cutoff = NOW - timedelta(minutes=330)
    base = {"ByState": "RUNNING", "ByCreatedBefore": cutoff, "MaxResults": 1000}
    old = timedelta(minutes=345)
    stub.add_response(
        "list_backup_jobs",
        {"BackupJobs": [backup_job("j1", old), backup_job("j2", old)], "NextToken": "t1"},
        base,
    )
    stub.add_response(
        "list_backup_jobs",
        {"BackupJobs": [backup_job("j3", old)], "NextToken": "t2"},
        {**base, "NextToken": "t1"},
    )
    stub.add_response(
        "list_backup_jobs", {"BackupJobs": [backup_job("j4", old)]}, {**base, "NextToken": "t2"}
    )
    stub.add_response("list_backup_jobs", {"BackupJobs": []}, {**base, "ByState": "PENDING"})
    stub.add_response("list_copy_jobs", {"CopyJobs": [copy_job("c1", old)], "NextToken": "c-t1"}, {**base})
    stub.add_response("list_copy_jobs", {"CopyJobs": [copy_job("c2", old)]}, {**base, "NextToken": "c-t1"})

    config = WatchdogConfig(topic_arn=topic_arn, ledger_table=ledger_table)
    jobs, summary = watchdog.run(config, clients, NOW)
    watchdog.finish(jobs, summary, config, clients)

    assert sorted(j.job_id for j in jobs) == ["c1", "c2", "j1", "j2", "j3", "j4"]
    assert sorted(summary.done) == ["c1", "c2", "j1", "j2", "j3", "j4"]
    assert len(alerts(clients, queue_url)) == 6
    assert metric_value(clients, [{"Name": "JobKind", "Value": "copy"}]) == 2.0
    clients.assert_stubs_used()


def test_throttling_is_retried_by_the_standard_retry_mode(
    aws_env: None, fake_http: Any, retry_sleeps: list[float]
) -> None:
    from dr_runtime.aws import client

    backup = client("backup", "us-east-1")
    http = fake_http(backup)
    throttled = {"__type": "ThrottlingException", "message": "Rate exceeded"}
    http.add(400, throttled, {"x-amzn-ErrorType": "ThrottlingException"})
    http.add(
        200,
        {
            "BackupJobs": [
                {
                    **backup_job("job-1", timedelta(minutes=340)),
                    "CreationDate": (NOW - timedelta(minutes=340)).timestamp(),
                }
            ]
        },
    )
    http.add(200, {"BackupJobs": []})
    http.add(200, {"CopyJobs": []})

    jobs, failures = watchdog_jobs.find_long_running(backup, WatchdogConfig(), NOW)

    assert failures == {}
    assert [j.job_id for j in jobs] == ["job-1"]
    assert len(http.requests) == 4  # the throttled request was sent twice
    assert len(retry_sleeps) == 1
    assert http.queue == []


def test_throttling_past_the_retry_budget_stops_the_run_before_any_alert_or_count(
    clients: Any, fake_http: Any, retry_sleeps: list[float], topic: tuple[str, str]
) -> None:
    http = fake_http(clients("backup"))
    # botocore counts the configured max_attempts as retries: total attempts is one more.
    for _ in range(clients("backup").meta.config.retries["total_max_attempts"]):
        http.add(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})

    with pytest.raises(AwsUnavailableError) as stopped:
        watchdog.run(WatchdogConfig(topic_arn=topic[0]), clients, NOW)

    assert stopped.value.problem.kind is Kind.THROTTLED
    assert str(stopped.value) == (
        "throttled by AWS after the SDK's retries: ListBackupJobs (ThrottlingException); run again later"
    )
    # No further listing was requested, nothing was alerted and no count was published.
    assert http.queue == []
    assert alerts(clients, topic[1]) == []
    assert clients("cloudwatch").list_metrics(Namespace="AwsDrBackup")["Metrics"] == []


def test_a_listing_failing_for_another_reason_fails_only_that_listing_and_skips_the_count(
    clients: Any, topic: tuple[str, str]
) -> None:
    stub = clients.stub("backup")
    cutoff = NOW - timedelta(minutes=330)
    stub.add_client_error("list_backup_jobs", "InvalidParameterValueException", "bad filter", 400)
    stub.add_response(
        "list_backup_jobs",
        {"BackupJobs": []},
        {"ByState": "PENDING", "ByCreatedBefore": cutoff, "MaxResults": 1000},
    )
    stub.add_response(
        "list_copy_jobs",
        {"CopyJobs": [copy_job("copy-1", timedelta(minutes=335))]},
        {"ByState": "RUNNING", "ByCreatedBefore": cutoff, "MaxResults": 1000},
    )
    config = WatchdogConfig(topic_arn=topic[0])

    jobs, summary = watchdog.run(config, clients, NOW)
    with pytest.raises(JobFailedError, match="list_backup_jobs:RUNNING"):
        watchdog.finish(jobs, summary, config, clients)

    assert summary.failed == {"list_backup_jobs:RUNNING": "InvalidParameterValueException: bad filter"}
    assert summary.done == ["copy-1"]
    published = {
        m["MetricName"] for m in clients("cloudwatch").list_metrics(Namespace="AwsDrBackup")["Metrics"]
    }
    # The run counts are published; LongRunningJobs would be an undercount, so it is not.
    assert published == {"DoneItems", "SkippedItems", "FailedItems"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"threshold_minutes": 360, "completion_window_minutes": 360},
            r"^--threshold-minutes \(DR_WATCHDOG_THRESHOLD_MINUTES\) = 360: must be below "
            r"--completion-window-minutes \(DR_COMPLETION_WINDOW_MINUTES\) = 360",
        ),
        (
            {"threshold_minutes": 400, "completion_window_minutes": 360},
            r"^--threshold-minutes \(DR_WATCHDOG_THRESHOLD_MINUTES\) = 400: must be below",
        ),
        (
            {"threshold_minutes": 350, "completion_window_minutes": 360},
            r"= 350 plus --interval-minutes \(DR_WATCHDOG_INTERVAL_MINUTES\) = 15 must not exceed",
        ),
        (
            {"threshold_minutes": 0},
            r"^--threshold-minutes \(DR_WATCHDOG_THRESHOLD_MINUTES\) = 0: must be at least 1",
        ),
        (
            {"interval_minutes": 0},
            r"^--interval-minutes \(DR_WATCHDOG_INTERVAL_MINUTES\) = 0: must be at least 1",
        ),
        (
            {"backup_states": ("CREATED",)},
            r"^--backup-states \(DR_WATCHDOG_BACKUP_STATES\) = 'CREATED': allowed states are ABORTING, PENDING, RUNNING",
        ),
        ({"copy_states": ()}, r"^--copy-states \(DR_WATCHDOG_COPY_STATES\) = '': allowed states are RUNNING"),
        (
            {"topic_arn": "dr-alerts"},
            r"^--topic-arn \(DR_ALERT_TOPIC_ARN\) = 'dr-alerts': must be an SNS topic ARN",
        ),
        (
            {"ledger_table": "x"},
            r"^--ledger-table \(DR_WATCHDOG_LEDGER_TABLE\) = 'x': must be a DynamoDB table name",
        ),
    ],
)
def test_config_rejects_bad_settings_naming_flag_and_variable(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WatchdogConfig(**kwargs)


def test_config_accepts_a_threshold_below_the_completion_window() -> None:
    config = WatchdogConfig(threshold_minutes=345, completion_window_minutes=360, interval_minutes=15)
    assert config.threshold_minutes == 345


def test_env_configuration_and_cli_rejection(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    topic_arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:dr-alerts"
    config = WatchdogConfig.from_settings(
        {
            "DR_WATCHDOG_THRESHOLD_MINUTES": "600",
            "DR_COMPLETION_WINDOW_MINUTES": "720",
            "DR_ALERT_TOPIC_ARN": topic_arn,
            "DR_WATCHDOG_BACKUP_STATES": "RUNNING, ABORTING",
        }
    )
    assert (config.threshold_minutes, config.completion_window_minutes, config.topic_arn) == (
        600,
        720,
        topic_arn,
    )
    assert config.backup_states == ("RUNNING", "ABORTING")
    with pytest.raises(
        ConfigError,
        match=r"^--threshold-minutes \(DR_WATCHDOG_THRESHOLD_MINUTES\) = '5h': must be a whole number",
    ):
        WatchdogConfig.from_settings({"DR_WATCHDOG_THRESHOLD_MINUTES": "5h"})
    monkeypatch.delenv("DR_WATCHDOG_THRESHOLD_MINUTES", raising=False)

    code = watchdog.main(["--threshold-minutes", "360", "--completion-window-minutes", "360"])

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "watchdog: --threshold-minutes (DR_WATCHDOG_THRESHOLD_MINUTES) = 360: must be below"
    )
    assert err.count("\n") == 1


def test_handler_uses_the_schedule_time_and_environment(
    clients: Any, topic: tuple[str, str], ledger_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic_arn, queue_url = topic
    monkeypatch.setenv("DR_ALERT_TOPIC_ARN", topic_arn)
    monkeypatch.setenv("DR_WATCHDOG_LEDGER_TABLE", ledger_table)
    monkeypatch.setattr(watchdog, "client_factory", lambda region=None: clients)
    expect_listings(clients, NOW, running=[backup_job("job-1", timedelta(minutes=336))])

    result = watchdog.handler({"source": "aws.events", "time": "2026-03-01T12:00:00Z"}, None)

    assert [j["job_id"] for j in result["long_running"]] == ["job-1"]
    assert result["long_running"][0]["age_minutes"] == 336
    assert result["summary"]["counts"] == {"done": 1, "skipped": 0, "failed": 0}
    assert len(alerts(clients, queue_url)) == 1


def test_handler_requires_a_topic(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DR_ALERT_TOPIC_ARN", raising=False)
    with pytest.raises(ConfigError, match="DR_ALERT_TOPIC_ARN"):
        watchdog.handler({}, None)


def test_cli_dry_run_lists_without_alerting(
    clients: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watchdog, "datetime", _FrozenDatetime)
    expect_listings(clients, NOW, running=[backup_job("job-1", timedelta(minutes=500))])

    code = watchdog.main(
        ["--dry-run", "--json", "--topic-arn", f"arn:aws:sns:us-east-1:{ACCOUNT}:nowhere"], clients
    )

    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert [j["job_id"] for j in out["long_running"]] == ["job-1"]
    assert out["summary"]["skipped"] == {"job-1": "dry run"}


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenDatetime:
        return cls.fromtimestamp(NOW.timestamp(), tz)
