"""Alerts in one workload region: a KMS-encrypted SNS topic and the EventBridge rules that feed it.

Every region where AWS Backup jobs run gets its own topic and rules. EventBridge rules only see
events of their own region, and targets other than event buses must be in the rule's region
(https://repost.aws/knowledge-center/use-eventbridge-rule-across-regions); forwarding DR-region
events to the primary region's bus would lose exactly the alerts of a restore during a primary-region
outage, so each region delivers to its own subscribers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import documents
from components.operations import patterns
from dr_model.naming import region_code

COMPONENT_TYPE = "aws-dr-backup:operations:RegionAlerts"
# Services that publish to the topic: EventBridge rules and CloudWatch alarms.
PUBLISHERS = ("events.amazonaws.com", "cloudwatch.amazonaws.com")


def topic_name(prefix: str) -> str:
    return f"{prefix}-backup-alerts"


def rule_name(prefix: str, key: str) -> str:
    """An alert rule's name: ``<prefix>-<rule key>`` (``dr-prod-copy-job-failed``)."""
    return f"{prefix}-{key}"


def key_alias(prefix: str) -> str:
    """The alias of the key that encrypts the alert topic (one per region)."""
    return f"alias/{prefix}-alerts"


def topic_arn(prefix: str, region: str, account: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{topic_name(prefix)}"


def topic_region(arn: str) -> str:
    return arn.split(":")[3]


def topic_account(arn: str) -> str:
    return arn.split(":")[4]


def key_policy(account: str, own_topic_arn: str) -> dict[str, Any]:
    """The owner administers the key through IAM; the publishing services may use it for this topic only.

    SNS encrypts each message with the encryption context ``aws:sns:topicArn`` (see the SNS key policy
    example in https://docs.aws.amazon.com/gamelift/latest/flexmatchguide/queue-notification-sns-sse.html).
    """
    return documents.document(
        documents.owner_administers_key(account),
        {
            "Sid": "AlertPublishersEncryptForThisTopicOnly",
            "Effect": "Allow",
            "Principal": {"Service": list(PUBLISHERS)},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": own_topic_arn}},
        },
    )


def topic_policy_statements(topic: str, account: str, region: str) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "EventBridgeRulesOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        },
        *alarm_topic_statements(topic, account, region),
    ]


def alarm_topic_statements(topic: str, account: str, region: str) -> list[dict[str, Any]]:
    """A topic the account's own CloudWatch alarms publish to, over TLS only (the alert topics here, the
    verifier's topic in its account)."""
    return [
        {
            "Sid": "CloudWatchAlarmsOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:*"},
            },
        },
        {
            # A Deny for everyone is the only way to refuse plain HTTP; it grants nothing.
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]


@dataclass(frozen=True)
class RuleSpec:
    key: str
    description: str
    pattern: pulumi.Input[str]
    """The event pattern as JSON text (an Output when it names resources)."""
    message: patterns.AlertMessage


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


def key_rule(key_arns: Sequence[pulumi.Input[str]]) -> RuleSpec:
    return RuleSpec(
        "backup-key-threatened",
        "A KMS key of a backup vault was disabled or scheduled for deletion",
        pulumi.Output.all(*key_arns).apply(
            lambda arns: _json(patterns.key_threatened([str(a) for a in arns]))
        ),
        patterns.KEY_MESSAGE,
    )


def job_rules() -> tuple[RuleSpec, ...]:
    return (
        RuleSpec(
            "backup-job-failed",
            "AWS Backup backup job ended ABORTED, EXPIRED, FAILED or PARTIAL",
            _json(patterns.backup_job_failed()),
            patterns.BACKUP_JOB_MESSAGE,
        ),
        RuleSpec(
            "copy-job-failed",
            "AWS Backup copy job ended FAILED or PARTIAL",
            _json(patterns.copy_job_failed()),
            patterns.COPY_JOB_MESSAGE,
        ),
        RuleSpec(
            "restore-job-failed",
            "AWS Backup restore job ended FAILED or ABORTED",
            _json(patterns.restore_job_failed()),
            patterns.RESTORE_JOB_MESSAGE,
        ),
    )


@dataclass(frozen=True)
class RegionAlertsArgs:
    prefix: str
    account: str
    region: str
    emails: Sequence[str] = ()
    external_topic_arns: Sequence[str] = ()
    """Existing topics in this region that receive the rules' alerts too."""
    key_arns: Sequence[pulumi.Input[str]] = ()
    """Backup vault keys in this region: disabling or scheduling deletion of one raises an alert."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        foreign = [arn for arn in self.external_topic_arns if topic_region(arn) != self.region]
        if foreign:
            raise ValueError(
                f"external topics {foreign} are not in {self.region}: EventBridge delivers to SNS only in "
                "the rule's region"
            )


class RegionAlerts(pulumi.ComponentResource):
    """Create with the provider of ``args.region`` in ``opts``."""

    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    rule_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: RegionAlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        own_arn = topic_arn(args.prefix, args.region, args.account)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the {topic_name(args.prefix)} SNS topic",
            enable_key_rotation=True,
            deletion_window_in_days=documents.KEY_DELETION_WINDOW_DAYS,
            policy=documents.to_json(key_policy(args.account, own_arn)),
            tags=tags,
            # Every KMS key is protected (policy aws-backup-deletion-protection); a deleted key would
            # leave the topic unable to deliver.
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.kms.Alias(f"{name}-key-alias", name=key_alias(args.prefix), target_key_id=key.key_id, opts=child)
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=topic_name(args.prefix),
            display_name=f"{args.prefix} backup alerts"[:100],
            kms_master_key_id=key.arn,
            tags=tags,
            opts=child,
        )
        policy = aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=topic.arn.apply(
                lambda arn: documents.to_json(
                    documents.document(*topic_policy_statements(arn, args.account, args.region))
                )
            ),
            opts=child,
        )
        for index, email in enumerate(args.emails):
            # Each address confirms once per region's topic (SNS sends a confirmation e-mail).
            aws.sns.TopicSubscription(
                f"{name}-email-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=child
            )

        forward_role = self._forward_role(name, args, tags)
        rules = [*job_rules(), *([key_rule(args.key_arns)] if args.key_arns else [])]
        self.rule_names = {}
        for spec in rules:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{spec.key}",
                name=rule_name(args.prefix, spec.key),
                description=spec.description,
                event_pattern=spec.pattern,
                tags=tags,
                opts=child,
            )
            transformer = aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths=dict(spec.message.paths), input_template=spec.message.input_template
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{spec.key}-topic",
                rule=rule.name,
                target_id="alerts-topic",
                arn=topic.arn,
                input_transformer=transformer,
                # The topic policy must exist before EventBridge first publishes.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
            for index, external in enumerate(args.external_topic_arns):
                cross_account = topic_account(external) != args.account
                aws.cloudwatch.EventTarget(
                    f"{name}-{spec.key}-external-{index}",
                    rule=rule.name,
                    target_id=f"external-topic-{index}",
                    arn=external,
                    # Cross-account targets need an execution role in this account; same-account SNS
                    # targets are authorised by the topic's own policy.
                    role_arn=forward_role.arn if cross_account and forward_role is not None else None,
                    input_transformer=transformer,
                    opts=child,
                )
            self.rule_names[spec.key] = rule.name

        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.register_outputs({"topicArn": self.topic_arn, "keyArn": self.key_arn, "rules": self.rule_names})

    def _forward_role(self, name: str, args: RegionAlertsArgs, tags: dict[str, str]) -> aws.iam.Role | None:
        foreign = [arn for arn in args.external_topic_arns if topic_account(arn) != args.account]
        if not foreign:
            return None
        # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-cross-account.html
        role = aws.iam.Role(
            f"{name}-external-publisher",
            description=f"EventBridge publishes {args.prefix} backup alerts to topics in other accounts",
            assume_role_policy=documents.to_json(
                documents.service_trust("events.amazonaws.com", args.account)
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-external-publisher-policy",
            role=role.id,
            policy=documents.policy_json(
                [documents.allow("PublishToConfiguredTopics", "sns:Publish", foreign)]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role


def alerts_name(region: str) -> str:
    return f"alerts-{region_code(region)}"
