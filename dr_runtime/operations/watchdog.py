"""Long-running-job watchdog: alert once per backup or copy job older than the threshold.

Run every 15 minutes as the Lambda handler ``dr_runtime.operations.watchdog.handler``, or as
``python -m dr_runtime.operations.watchdog``. Watched states: backup jobs in RUNNING or PENDING, copy
jobs in RUNNING. CREATED is left out on purpose: a CREATED backup job is still waiting for its start
window (it ends EXPIRED, which the failure alerts report) and a CREATED copy job is queued behind
another job for the same resource, which this watchdog reports already.

Age is measured from ``CreationDate``, the instant the completion window counts from, so an alert at
the threshold arrives before the job is expired at the completion window.

Each alert is sent once per job: with ``DR_WATCHDOG_LEDGER_TABLE`` set, a conditional put in DynamoDB
claims the job before publishing (a missed or failed run only delays the alert to the next run);
without it, a stateless rule alerts a job only in the run whose interval it crossed the threshold in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.operations.inventory import pages
from dr_runtime.operations.settings import (
    ClientFactory,
    ConfigError,
    client_factory,
    configure_logging,
    env_bool,
    env_int,
    env_list,
    env_str,
    scheduled_time,
)
from dr_runtime.report import LOG, METRIC_NAMESPACE, JobFailedError, RunSummary

JOB_NAME = "watchdog"
BACKUP = "backup"
COPY = "copy"
# Non-terminal states worth watching (see the module docstring for why CREATED is not).
WATCHABLE_BACKUP_STATES = frozenset({"RUNNING", "PENDING", "ABORTING"})
WATCHABLE_COPY_STATES = frozenset({"RUNNING"})
SUBJECT_LIMIT = 100  # SNS subject: at most 100 printable ASCII characters.


@dataclass(frozen=True)
class WatchdogConfig:
    threshold_minutes: int = 330
    completion_window_minutes: int = 360
    interval_minutes: int = 15
    topic_arn: str | None = None
    ledger_table: str | None = None
    backup_states: tuple[str, ...] = ("RUNNING", "PENDING")
    copy_states: tuple[str, ...] = ("RUNNING",)
    publish_metrics: bool = True

    def __post_init__(self) -> None:
        if self.threshold_minutes < 1:
            raise ConfigError(f"threshold_minutes must be positive, got {self.threshold_minutes}")
        if self.interval_minutes < 1:
            raise ConfigError(f"interval_minutes must be positive, got {self.interval_minutes}")
        if self.threshold_minutes >= self.completion_window_minutes:
            raise ConfigError(
                f"threshold_minutes ({self.threshold_minutes}) must be below completion_window_minutes "
                f"({self.completion_window_minutes}): the job is expired by then"
            )
        if self.threshold_minutes + self.interval_minutes > self.completion_window_minutes:
            raise ConfigError(
                f"threshold_minutes ({self.threshold_minutes}) plus interval_minutes "
                f"({self.interval_minutes}) must not exceed completion_window_minutes "
                f"({self.completion_window_minutes}): a run must fall between the threshold and the expiry"
            )
        for field_name, states, allowed in (
            ("backup_states", self.backup_states, WATCHABLE_BACKUP_STATES),
            ("copy_states", self.copy_states, WATCHABLE_COPY_STATES),
        ):
            bad = sorted(set(states) - allowed)
            if bad:
                raise ConfigError(f"{field_name}: {', '.join(bad)} not in {', '.join(sorted(allowed))}")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WatchdogConfig:
        return cls(
            threshold_minutes=env_int(env, "DR_WATCHDOG_THRESHOLD_MINUTES", 330),
            completion_window_minutes=env_int(env, "DR_COMPLETION_WINDOW_MINUTES", 360),
            interval_minutes=env_int(env, "DR_WATCHDOG_INTERVAL_MINUTES", 15),
            topic_arn=env_str(env, "DR_ALERT_TOPIC_ARN"),
            ledger_table=env_str(env, "DR_WATCHDOG_LEDGER_TABLE"),
            backup_states=env_list(env, "DR_WATCHDOG_BACKUP_STATES", ("RUNNING", "PENDING")),
            copy_states=env_list(env, "DR_WATCHDOG_COPY_STATES", ("RUNNING",)),
            publish_metrics=env_bool(env, "DR_PUBLISH_METRICS", True),
        )


@dataclass(frozen=True)
class LongRunningJob:
    kind: str
    job_id: str
    state: str
    resource_arn: str
    resource_type: str
    vault: str
    created: datetime
    age: timedelta

    @property
    def age_text(self) -> str:
        minutes = int(self.age.total_seconds() // 60)
        return f"{minutes // 60}h{minutes % 60:02d}m"

    def subject(self) -> str:
        text = f"AWS Backup {self.kind} job running {self.age_text}: {self.resource_type} {self.job_id}"
        return text.encode("ascii", "replace").decode()[:SUBJECT_LIMIT]

    def message(self, config: WatchdogConfig) -> str:
        return "\n".join(
            (
                f"An AWS Backup {self.kind} job has been {self.state} for {self.age_text}, longer than "
                f"{config.threshold_minutes} minutes; the completion window is "
                f"{config.completion_window_minutes} minutes.",
                "",
                f"Job ID:    {self.job_id}",
                f"Job type:  {self.kind}",
                f"State:     {self.state}",
                f"Resource:  {self.resource_arn} ({self.resource_type})",
                f"Vault:     {self.vault}",
                f"Created:   {self.created.astimezone(UTC).isoformat()}",
                f"Age:       {self.age_text}",
            )
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "job_id": self.job_id,
            "state": self.state,
            "resource_arn": self.resource_arn,
            "resource_type": self.resource_type,
            "vault": self.vault,
            "created": self.created.astimezone(UTC).isoformat(),
            "age_minutes": int(self.age.total_seconds() // 60),
        }


def _backup_jobs(backup: Any, state: str, cutoff: datetime, now: datetime) -> Iterator[LongRunningJob]:
    for page in pages(backup, "list_backup_jobs", ByState=state, ByCreatedBefore=cutoff):
        for job in page.get("BackupJobs", []):
            yield LongRunningJob(
                kind=BACKUP,
                job_id=job["BackupJobId"],
                state=job.get("State", state),
                resource_arn=job.get("ResourceArn", ""),
                resource_type=job.get("ResourceType", ""),
                vault=job.get("BackupVaultName") or job.get("BackupVaultArn", ""),
                created=job["CreationDate"],
                age=now - job["CreationDate"],
            )


def _copy_jobs(backup: Any, state: str, cutoff: datetime, now: datetime) -> Iterator[LongRunningJob]:
    for page in pages(backup, "list_copy_jobs", ByState=state, ByCreatedBefore=cutoff):
        for job in page.get("CopyJobs", []):
            source = job.get("SourceBackupVaultArn", "")
            destination = job.get("DestinationBackupVaultArn", "")
            yield LongRunningJob(
                kind=COPY,
                job_id=job["CopyJobId"],
                state=job.get("State", state),
                resource_arn=job.get("ResourceArn", ""),
                resource_type=job.get("ResourceType", ""),
                vault=f"{source} -> {destination}",
                created=job["CreationDate"],
                age=now - job["CreationDate"],
            )


def find_long_running(
    backup: Any, config: WatchdogConfig, now: datetime
) -> tuple[list[LongRunningJob], dict[str, str]]:
    """Jobs in the watched states older than the threshold, and the listings that failed."""
    threshold = timedelta(minutes=config.threshold_minutes)
    # The service filters by creation time, so only pages of old jobs are fetched.
    cutoff = now - threshold
    found: dict[str, LongRunningJob] = {}
    failures: dict[str, str] = {}
    listings = [(f"list_backup_jobs:{s}", _backup_jobs, s) for s in config.backup_states]
    listings += [(f"list_copy_jobs:{s}", _copy_jobs, s) for s in config.copy_states]
    for name, lister, state in listings:
        try:
            for job in lister(backup, state, cutoff, now):
                # A job that moves PENDING -> RUNNING between two listings appears twice.
                if job.age >= threshold:
                    found.setdefault(job.job_id, job)
        except (ClientError, BotoCoreError) as error:
            failures[name] = str(error)
    return sorted(found.values(), key=lambda j: (j.created, j.job_id)), failures


class AlertLedger(Protocol):
    """Decides whether this run sends the alert for a job, so each job alerts once."""

    skip_reason: str

    def claim(self, job: LongRunningJob) -> bool: ...

    def release(self, job: LongRunningJob) -> None: ...


class DynamoDbLedger:
    """A conditional put per alerted job (table key ``job_id``, TTL attribute ``expires_at``).

    Claiming before publishing means duplicate or concurrent invocations cannot both alert; releasing
    when publishing fails lets the next run retry. A run that is missed entirely only delays the
    alert: the job is still older than the threshold and unclaimed at the next run.
    """

    skip_reason = "alerted by an earlier run"

    def __init__(self, dynamodb: Any, table: str, now: datetime, keep: timedelta) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.now = now
        self.keep = keep

    def claim(self, job: LongRunningJob) -> bool:
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "job_id": {"S": job.job_id},
                    "kind": {"S": job.kind},
                    "resource_arn": {"S": job.resource_arn},
                    "alerted_at": {"S": self.now.astimezone(UTC).isoformat()},
                    "expires_at": {"N": str(int((self.now + self.keep).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(job_id)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, job: LongRunningJob) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key={"job_id": {"S": job.job_id}})


class IntervalLedger:
    """Stateless: alert a job only in the run whose interval its age crossed the threshold in.

    Runs use the schedule's own time, so consecutive runs' intervals tile exactly and a retried
    invocation decides the same way. A run that never happens loses that interval's alerts.
    """

    skip_reason = "crossed the threshold before this run's interval"

    def __init__(self, threshold: timedelta, interval: timedelta) -> None:
        self.threshold = threshold
        self.interval = interval

    def claim(self, job: LongRunningJob) -> bool:
        return self.threshold <= job.age < self.threshold + self.interval

    def release(self, job: LongRunningJob) -> None:
        # Nothing is stored; the run fails instead, and the invocation retry re-sends.
        pass


def make_ledger(config: WatchdogConfig, clients: ClientFactory, now: datetime) -> AlertLedger:
    if config.ledger_table:
        # Markers outlive any job that can still be running (the completion window) by a day.
        keep = timedelta(minutes=config.completion_window_minutes) + timedelta(days=1)
        return DynamoDbLedger(clients("dynamodb"), config.ledger_table, now, keep)
    return IntervalLedger(
        timedelta(minutes=config.threshold_minutes), timedelta(minutes=config.interval_minutes)
    )


def metric_data(jobs: Sequence[LongRunningJob]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = [
        {"MetricName": "LongRunningJobs", "Value": float(len(jobs)), "Unit": "Count"}
    ]
    for kind in (BACKUP, COPY):
        count = sum(1 for job in jobs if job.kind == kind)
        data.append(
            {
                "MetricName": "LongRunningJobs",
                "Dimensions": [{"Name": "JobKind", "Value": kind}],
                "Value": float(count),
                "Unit": "Count",
            }
        )
    return data


def run(
    config: WatchdogConfig,
    clients: ClientFactory,
    now: datetime,
    *,
    dry_run: bool = False,
) -> tuple[list[LongRunningJob], RunSummary]:
    """Find long-running jobs, alert the unclaimed ones, publish the metric. Returns the jobs and the
    unfinished summary (``finish`` it to log, publish and raise on failures)."""
    jobs, failures = find_long_running(clients("backup"), config, now)
    summary = RunSummary(job=JOB_NAME)
    summary.failed.update(failures)
    if dry_run:
        summary.skipped.update({job.job_id: "dry run" for job in jobs})
        return jobs, summary

    if config.topic_arn is None:
        summary.skipped.update({job.job_id: "no topic configured" for job in jobs})
    else:
        ledger = make_ledger(config, clients, now)
        sns = clients("sns")
        for job in jobs:
            _alert(job, config.topic_arn, config, ledger, sns, summary)

    if config.publish_metrics and not failures:
        # A failed listing would publish an undercount; missing data is the honest signal.
        clients("cloudwatch").put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=metric_data(jobs))
    return jobs, summary


def _alert(
    job: LongRunningJob,
    topic_arn: str,
    config: WatchdogConfig,
    ledger: AlertLedger,
    sns: Any,
    summary: RunSummary,
) -> None:
    try:
        if not ledger.claim(job):
            summary.skipped[job.job_id] = ledger.skip_reason
            return
    except (ClientError, BotoCoreError) as error:
        summary.failed[job.job_id] = f"claim: {error}"
        return
    try:
        sns.publish(
            TopicArn=topic_arn,
            Subject=job.subject(),
            Message=job.message(config),
            MessageAttributes={
                "job_kind": {"DataType": "String", "StringValue": job.kind},
                "job_id": {"DataType": "String", "StringValue": job.job_id},
            },
        )
    except (ClientError, BotoCoreError) as error:
        summary.failed[job.job_id] = f"publish: {error}"
        try:
            ledger.release(job)
        except (ClientError, BotoCoreError) as release_error:
            summary.failed[job.job_id] += f"; release: {release_error}"
        return
    summary.done.append(job.job_id)


def handler(event: Any, _context: Any) -> dict[str, Any]:
    """Lambda entry point, configured by environment variables. Requires ``DR_ALERT_TOPIC_ARN``."""
    configure_logging()
    config = WatchdogConfig.from_env(os.environ)
    if config.topic_arn is None:
        raise ConfigError("DR_ALERT_TOPIC_ARN is required for the scheduled watchdog")
    clients = client_factory(env_str(os.environ, "AWS_REGION"))
    jobs, summary = run(config, clients, scheduled_time(event))
    result = summary.finish(clients("cloudwatch") if config.publish_metrics else None)
    return {"long_running": [job.as_dict() for job in jobs], "summary": result}


def parse_args(
    argv: Sequence[str] | None, env: Mapping[str, str]
) -> tuple[WatchdogConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m dr_runtime.operations.watchdog",
        description="Alert once per AWS Backup backup or copy job running longer than a threshold.",
    )
    parser.add_argument("--region", help="Region to check (default: AWS_REGION)")
    parser.add_argument(
        "--threshold-minutes", type=int, help="alert age (DR_WATCHDOG_THRESHOLD_MINUTES, 330)"
    )
    parser.add_argument(
        "--completion-window-minutes",
        type=int,
        help="the plans' completion window (DR_COMPLETION_WINDOW_MINUTES, 360)",
    )
    parser.add_argument(
        "--interval-minutes", type=int, help="schedule interval (DR_WATCHDOG_INTERVAL_MINUTES, 15)"
    )
    parser.add_argument("--topic-arn", help="SNS topic for alerts (DR_ALERT_TOPIC_ARN); none: list only")
    parser.add_argument("--ledger-table", help="DynamoDB table of alerted jobs (DR_WATCHDOG_LEDGER_TABLE)")
    parser.add_argument("--dry-run", action="store_true", help="list only: no alerts, markers or metrics")
    parser.add_argument("--no-metrics", action="store_true", help="do not publish CloudWatch metrics")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    overrides = dict(env)
    for key, value in (
        ("DR_WATCHDOG_THRESHOLD_MINUTES", args.threshold_minutes),
        ("DR_COMPLETION_WINDOW_MINUTES", args.completion_window_minutes),
        ("DR_WATCHDOG_INTERVAL_MINUTES", args.interval_minutes),
        ("DR_ALERT_TOPIC_ARN", args.topic_arn),
        ("DR_WATCHDOG_LEDGER_TABLE", args.ledger_table),
        ("AWS_REGION", args.region),
    ):
        if value is not None:
            overrides[key] = str(value)
    if args.no_metrics or args.dry_run:
        overrides["DR_PUBLISH_METRICS"] = "false"
    try:
        return WatchdogConfig.from_env(overrides), args
    except ConfigError as error:
        parser.error(str(error))


def main(argv: Sequence[str] | None = None, clients: ClientFactory | None = None) -> int:
    """Command entry point; exit status 1 when a listing or an alert failed, 2 on bad settings."""
    configure_logging()
    config, args = parse_args(argv, os.environ)
    clients = clients or client_factory(args.region or env_str(os.environ, "AWS_REGION"))
    jobs, summary = run(config, clients, datetime.now(UTC), dry_run=args.dry_run)
    if args.json:
        print(
            json.dumps(
                {"long_running": [job.as_dict() for job in jobs], "summary": summary.as_dict()}, indent=2
            )
        )
    else:
        print(f"{len(jobs)} job(s) running longer than {config.threshold_minutes} minutes")
        for job in jobs:
            print(
                f"  {job.kind:<6}  {job.job_id}  {job.age_text:>7}  {job.state:<8}  "
                f"{job.resource_arn}  {job.vault}"
            )
    try:
        summary.finish(clients("cloudwatch") if config.publish_metrics else None)
    except JobFailedError as error:
        LOG.error(str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
