"""Once per job: the watchdog's ledger of alerted jobs (DynamoDB), or the stateless interval rule without one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from dr_runtime.aws import ClientFactory
from dr_runtime.operations.watchdog_jobs import LongRunningJob
from dr_runtime.operations.watchdog_settings import WatchdogConfig


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
