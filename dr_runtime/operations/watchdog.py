"""Long-running-job watchdog: alert once per backup or copy job older than the threshold.

Run every 15 minutes as the Lambda handler ``dr_runtime.operations.watchdog.handler``, or as
``python -m dr_runtime.operations.watchdog``. Watched states: backup jobs in RUNNING or PENDING, copy
jobs in RUNNING. CREATED is left out on purpose: a CREATED backup job is still waiting for its start
window (it ends EXPIRED, which the failure alerts report) and a CREATED copy job is queued behind
another job for the same resource, which this watchdog reports already.

Age is measured from the job's ``CreationDate``. AWS documents the completion window two ways: counted
from the job's start (backup plan rules, which create the jobs watched here) or from the scheduled time
(``StartBackupJob``); and no job listing says when a job started (``ListBackupJobs`` gives
``CreationDate``, ``StartBy`` and ``ExpectedCompletionDate``, no start time). A scheduled job exists,
CREATED, from the scheduled time until it starts, so ``CreationDate`` is the earliest instant either
reading counts from: a job reaches the threshold before AWS can cancel it under either reading. Copy jobs
have no completion window; they are flagged by the same age. Sources: ``docs/job-windows.md``.

Each alert is sent once per job: with ``DR_WATCHDOG_LEDGER_TABLE`` set, a conditional put in DynamoDB
claims the job before publishing (a missed or failed run only delays the alert to the next run);
without it, a stateless rule alerts a job only in the run whose interval it crossed the threshold in.

A listing that AWS refuses (access denied, throttled after retries, no credentials) stops the run before
any alert, with one line and exit code 3; other listing errors fail that listing only (exit 1).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.aws import ClientFactory, client_factory
from dr_runtime.commands import Parser, run_command, run_handler
from dr_runtime.errors import EXIT_OK, ConfigError, item_reason
from dr_runtime.operations.watchdog_jobs import BACKUP, COPY, LISTINGS, LongRunningJob, find_long_running
from dr_runtime.operations.watchdog_ledger import AlertLedger, make_ledger
from dr_runtime.operations.watchdog_settings import (
    BACKUP_STATES,
    COMPLETION_WINDOW,
    COPY_STATES,
    INTERVAL,
    LEDGER,
    THRESHOLD,
    TOPIC,
    WatchdogConfig,
)
from dr_runtime.report import RunSummary
from dr_runtime.settings import region, scheduled_time

JOB_NAME = "watchdog"


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
    """Find long-running jobs and alert the unclaimed ones. Returns the jobs and the unfinished summary
    (``finish`` them to log, publish the metrics and raise on failures)."""
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
    return jobs, summary


def finish(
    jobs: Sequence[LongRunningJob], summary: RunSummary, config: WatchdogConfig, clients: ClientFactory
) -> dict[str, Any]:
    """Log the summary, then publish ``LongRunningJobs`` and the run counts (see ``RunSummary.finish``).

    ``LongRunningJobs`` is left out when a listing failed: an undercount would look like "all clear",
    while missing data trips the silent-watchdog alarm."""
    listings_failed = any(name.startswith(LISTINGS) for name in summary.failed)
    cloudwatch = clients("cloudwatch") if config.publish_metrics else None
    return summary.finish(cloudwatch, [] if listings_failed else metric_data(jobs))


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
        summary.failed[job.job_id] = f"claim: {item_reason(error)}"
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
        summary.failed[job.job_id] = f"publish: {item_reason(error)}"
        try:
            ledger.release(job)
        except (ClientError, BotoCoreError) as release_error:
            summary.failed[job.job_id] += f"; release: {item_reason(release_error)}"
        return
    summary.done.append(job.job_id)


def handler(event: Any, _context: Any) -> dict[str, Any]:
    """Lambda entry point, configured by environment variables. Requires ``DR_ALERT_TOPIC_ARN``."""
    return run_handler(JOB_NAME, lambda: _scheduled_run(event))


def _scheduled_run(event: Any) -> dict[str, Any]:
    config = WatchdogConfig.from_settings(os.environ)
    if config.topic_arn is None:
        raise ConfigError(f"{TOPIC.label} is required for the scheduled watchdog")
    clients = client_factory(region(os.environ))
    jobs, summary = run(config, clients, scheduled_time(event))
    result = finish(jobs, summary, config, clients)
    return {"long_running": [job.as_dict() for job in jobs], "summary": result}


def parser() -> Parser:
    command = Parser(
        prog="python -m dr_runtime.operations.watchdog",
        description="Alert once per AWS Backup backup or copy job older than a threshold.",
    )
    for setting in (THRESHOLD, COMPLETION_WINDOW, INTERVAL, TOPIC, LEDGER, BACKUP_STATES, COPY_STATES):
        setting.add_to(command)
    command.add_argument("--dry-run", action="store_true", help="list only: no alerts, markers or metrics")
    command.add_argument("--json", action="store_true", help="print JSON")
    return command


def main(argv: Sequence[str] | None = None, clients: ClientFactory | None = None) -> int:
    """Command entry point; the exit codes are those of ``dr_runtime.errors``."""
    return run_command(JOB_NAME, lambda: _command(argv, clients))


def _command(argv: Sequence[str] | None, clients: ClientFactory | None) -> int:
    args = parser().parse_args(argv)
    config = WatchdogConfig.from_settings(os.environ, args)
    if args.dry_run:
        config = replace(config, publish_metrics=False)
    clients = clients or client_factory(region(os.environ, args, profile=True))
    jobs, summary = run(config, clients, datetime.now(UTC), dry_run=args.dry_run)
    if args.json:
        print(
            json.dumps(
                {"long_running": [job.as_dict() for job in jobs], "summary": summary.as_dict()}, indent=2
            )
        )
    else:
        print(f"{len(jobs)} job(s) older than {config.threshold_minutes} minutes")
        for job in jobs:
            print(
                f"  {job.kind:<6}  {job.job_id}  {job.age_text:>7}  {job.state:<8}  "
                f"{job.resource_arn}  {job.vault}"
            )
    finish(jobs, summary, config, clients)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
