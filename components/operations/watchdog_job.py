"""The long-running-job watchdog (``dr_runtime.operations.watchdog``) as a ScheduledJob every 15 minutes.

It runs in the primary region only: backup jobs run there, and copy jobs (cross-region and into the
air-gapped vault) are listed in their source region, which is the primary region too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import documents
from components.scheduled_job import ScheduledJob, ScheduledJobArgs, metrics_statement
from dr_model.naming import region_code
from dr_runtime.operations import watchdog_settings as job_settings
from dr_runtime.operations.watchdog_settings import INTERVAL_MINUTES
from dr_runtime.settings import PUBLISH_METRICS, environment

HANDLER = "dr_runtime.operations.watchdog.handler"
SCHEDULE = f"rate({INTERVAL_MINUTES} minutes)"
# EventBridge Scheduler fills this in per invocation, so a retried run judges job ages at the same
# instant as the original run.
SCHEDULED_TIME_INPUT = '{"time": "<aws.scheduler.scheduled-time>"}'


@dataclass(frozen=True)
class WatchdogArgs:
    prefix: str
    account: str
    region: str
    topic_arn: pulumi.Input[str]
    topic_key_arn: pulumi.Input[str]
    threshold_minutes: int
    completion_window_minutes: int
    ledger_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the ledger table (the stack's tags plus the opt-out tag: it holds nothing worth a backup)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    log_retention_days: int = 30


def statements(
    region: str, topic_arn: pulumi.Input[str], topic_key_arn: pulumi.Input[str], ledger_arn: pulumi.Input[str]
) -> list[dict[str, Any]]:
    """Exactly the calls the handler makes: list jobs, claim/release ledger items, publish, metrics."""
    return [
        {
            "Sid": "ListBackupAndCopyJobs",
            "Effect": "Allow",
            "Action": ["backup:ListBackupJobs", "backup:ListCopyJobs"],
            # List actions have no resource type.
            "Resource": "*",
        },
        documents.allow("ClaimJobsInLedger", ["dynamodb:PutItem", "dynamodb:DeleteItem"], ledger_arn),
        {"Sid": "PublishAlerts", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
        {
            # Publishing to a KMS-encrypted topic needs the publisher to be able to use its key.
            "Sid": "EncryptAlertsForTopic",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
            "Resource": topic_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
        },
        metrics_statement(),
    ]


def function_name(prefix: str) -> str:
    return f"{prefix}-backup-watchdog"


def create(
    name: str, args: WatchdogArgs, opts: pulumi.ResourceOptions | None = None
) -> tuple[ScheduledJob, aws.dynamodb.Table]:
    # One item per alerted job (conditional put), expiring after the job can no longer be running.
    ledger = aws.dynamodb.Table(
        f"{name}-ledger",
        name=f"{args.prefix}-watchdog-ledger-{region_code(args.region)}",
        billing_mode="PAY_PER_REQUEST",
        hash_key="job_id",
        attributes=[aws.dynamodb.TableAttributeArgs(name="job_id", type="S")],
        ttl=aws.dynamodb.TableTtlArgs(attribute_name="expires_at", enabled=True),
        tags=dict(args.ledger_tags),
        opts=opts,
    )
    job = ScheduledJob(
        name,
        ScheduledJobArgs(
            function_name=function_name(args.prefix),
            handler=HANDLER,
            schedule_expression=SCHEDULE,
            schedule_input=SCHEDULED_TIME_INPUT,
            account_id=args.account,
            description="Alerts once per AWS Backup backup or copy job running longer than the threshold",
            environment=environment(
                {
                    job_settings.TOPIC: args.topic_arn,
                    job_settings.THRESHOLD: str(args.threshold_minutes),
                    job_settings.COMPLETION_WINDOW: str(args.completion_window_minutes),
                    job_settings.INTERVAL: str(INTERVAL_MINUTES),
                    job_settings.LEDGER: ledger.name,
                    PUBLISH_METRICS: "true",
                }
            ),
            policy_statements=statements(args.region, args.topic_arn, args.topic_key_arn, ledger.arn),
            # A run must finish well inside its 15-minute interval.
            timeout_seconds=300,
            log_retention_days=args.log_retention_days,
            # A retry after the next run started would only repeat its work.
            retry_max_event_age_seconds=INTERVAL_MINUTES * 60,
            tags=args.tags,
        ),
        opts=opts,
    )
    return job, ledger
