"""The verifier's event bus: every workload stack forwards its AWS Backup events and vault-key calls here
(``components/event_forwarding.py``), and the rules here alert through the verifier's topic
(docs/verifier.md, "Events out of the account").

In the verifier account and Region, beside the verifier's function:

- the bus ``<prefix>-backup-events``; its policy lets ``events:PutEvents`` in only from principals of the
  organisation (``aws:PrincipalOrgID`` = ``organizationId``): the forwarding roles of the workload accounts;
- rules ``<prefix>-fleet-<key>`` on it, each to the verifier's topic with a message naming the account, the
  Region, the event and the resource: plan, vault and Region-setting changes; the AWS Backup calls that stop
  copies (a deleted selection among them); vault-key calls; failed copy jobs;
- one rule sending every backup and copy job event to the log group ``/aws/events/<prefix>-backup-job-events``,
  which the verifier function queries each run for the accounts that went silent
  (``dr_runtime/verifier/event_silence.py``).

One rule per kind of event, not one per account: five rules serve any number of accounts (EventBridge allows
300 rules per bus), and the silence check is one Logs Insights query per run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import documents
from components.operations import forwarded_events, patterns

COMPONENT_TYPE = "aws-dr-backup-org:verifier:VerifierEvents"
LOG_RETENTION_DAYS = 30
"""The job events are read for the last day; a month keeps them for an investigation."""
TOPIC_TARGET_ID = "verifier-topic"
LOG_TARGET_ID = "job-events-log"


def bus_name(prefix: str) -> str:
    return f"{prefix}-backup-events"


def bus_arn(partition: str, region: str, account: str, prefix: str) -> str:
    """The bus's ARN, known before deployment: the workload stacks' ``verifierEventBus``."""
    return f"arn:{partition}:events:{region}:{account}:event-bus/{bus_name(prefix)}"


def rule_name(prefix: str, key: str) -> str:
    return f"{prefix}-fleet-{key}"


def log_group_name(prefix: str) -> str:
    return f"/aws/events/{prefix}-backup-job-events"


def bus_policy(arn: str, organization_id: str) -> dict[str, Any]:
    """Only principals of the organisation may put events on the bus. Events keep their source account
    (``account``), so the rules' messages name the account the event came from."""
    return documents.document(
        {
            "Sid": "TheOrganisationsAccountsPutEvents",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": arn,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization_id}},
        }
    )


def log_group_policy(log_group_arn: str, account: str) -> dict[str, Any]:
    """EventBridge writes to a log group through the group's resource policy, not a role
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html)."""
    return documents.document(
        {
            "Sid": "TheBusRulesOfThisAccountWriteJobEvents",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        }
    )


@dataclass(frozen=True)
class AlertRule:
    key: str
    description: str
    pattern: dict[str, Any]
    message: patterns.AlertMessage


ALERT_RULES = (
    AlertRule(
        "backup-settings-changed",
        "A workload account's backup plan, vault or Region settings were created, changed or deleted",
        forwarded_events.settings_changed(),
        forwarded_events.SETTINGS_MESSAGE,
    ),
    AlertRule(
        "backup-calls",
        "An AWS Backup call that stops or weakens the copies was made in a workload account",
        forwarded_events.backup_change_calls(),
        forwarded_events.CALL_MESSAGE,
    ),
    AlertRule(
        "key-calls",
        "A workload account's vault key had its policy replaced, was disabled or scheduled for deletion",
        forwarded_events.key_changed(),
        patterns.KEY_MESSAGE,
    ),
    AlertRule(
        "copy-job-failed",
        "A workload account's copy job ended FAILED or PARTIAL",
        patterns.copy_job_failed(),
        patterns.COPY_JOB_MESSAGE,
    ),
)
JOB_EVENTS_KEY = "job-events"


@dataclass(frozen=True)
class VerifierEventsArgs:
    prefix: str
    account: str
    region: str
    partition: str
    organization_id: str
    topic_arn: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)


class VerifierEvents(pulumi.ComponentResource):
    """Create with the verifier account's provider in ``opts``; the topic's policy must let this account's
    EventBridge rules publish (``alerts.topic_policy_statements``)."""

    bus_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    rule_names: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: VerifierEventsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        arn = bus_arn(args.partition, args.region, args.account, args.prefix)
        bus = aws.cloudwatch.EventBus(f"{name}-bus", name=bus_name(args.prefix), tags=tags, opts=child)
        aws.cloudwatch.EventBusPolicy(
            f"{name}-bus-policy",
            event_bus_name=bus.name,
            policy=documents.to_json(bus_policy(arn, args.organization_id)),
            opts=child,
        )
        self.rule_names = {}
        for spec in ALERT_RULES:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{spec.key}",
                name=rule_name(args.prefix, spec.key),
                description=spec.description,
                event_bus_name=bus.name,
                event_pattern=json.dumps(spec.pattern, sort_keys=True),
                tags=tags,
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{spec.key}-topic",
                rule=rule.name,
                event_bus_name=bus.name,
                target_id=TOPIC_TARGET_ID,
                arn=args.topic_arn,
                input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                    input_paths=dict(spec.message.paths), input_template=spec.message.input_template
                ),
                opts=child,
            )
            self.rule_names[spec.key] = rule.name

        logs = aws.cloudwatch.LogGroup(
            f"{name}-job-events",
            name=log_group_name(args.prefix),
            retention_in_days=LOG_RETENTION_DAYS,
            tags=tags,
            opts=child,
        )
        log_group_arn = (
            f"arn:{args.partition}:logs:{args.region}:{args.account}:log-group:{log_group_name(args.prefix)}"
        )
        log_policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-job-events-policy",
            policy_name=f"{args.prefix}-backup-job-events",
            policy_document=documents.to_json(log_group_policy(log_group_arn, args.account)),
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-{JOB_EVENTS_KEY}",
            name=rule_name(args.prefix, JOB_EVENTS_KEY),
            description="Every backup and copy job event of the fleet, kept for the verifier's silence check",
            event_bus_name=bus.name,
            event_pattern=json.dumps(forwarded_events.job_events(), sort_keys=True),
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{JOB_EVENTS_KEY}-log",
            rule=rule.name,
            event_bus_name=bus.name,
            target_id=LOG_TARGET_ID,
            # The group's ARN as the function's StartQuery grant names it, once the group exists.
            arn=logs.arn.apply(lambda _: log_group_arn),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy]),
        )
        self.rule_names[JOB_EVENTS_KEY] = rule.name
        # The ARN the workload stacks are configured with (``verifierEventBus``), once the bus exists.
        self.bus_arn = bus.arn.apply(lambda _: arn)
        self.log_group_name = logs.name
        self.register_outputs({"busArn": self.bus_arn, "logGroupName": self.log_group_name})
