"""The air-gap verifier, deployed by the organisation stack outside every workload account (docs/verifier.md).

In the verifier account (a security account, or the isolated account), through its own provider:

- the ``dr_runtime.verifier`` handler as a scheduled Lambda (``ScheduledJob``), its environment written
  with ``dr_runtime.settings.environment`` from the runtime's own ``Setting`` declarations;
- the evidence bucket (``PrivateBucket``, Object Lock in compliance mode): only the verifier's role may
  write or delete objects in it, and its role may read and write only ``<prefix>accounts/``;
- an SNS topic encrypted with its own KMS key, with the e-mail subscriptions: the findings and the alarms;
- alarms: ``VerifierFindings`` above zero, the function's ``Errors``, and the run summary (``DoneItems``,
  ``Job=verifier``) missing for longer than the schedule's longest gap, so a verifier that stops alarms.

Read-only roles, each trusting the verifier's function role alone (by ARN):

- vault reader (isolated account): ``ListRecoveryPointsByBackupVault``, ``DescribeBackupVault`` and
  ``GetBackupVaultAccessPolicy`` on the fleet's air-gapped and locked vaults (their exact ARNs), and
  RAM's ``GetResourceShareAssociations`` and ``GetResourceShares`` (no resource type: ``*``);
- job reader (the delegated administrator, else the management account): ``ListBackupJobs`` and
  ``ListCopyJobs`` (no resource type: ``*``).

When the verifier runs in one of those accounts itself, that role is not created; its own role is given
the same statements instead and the runtime uses its own credentials (the setting is left unset).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import documents
from components.operations import alarms, alerts
from components.private_bucket import PrivateBucket
from components.scheduled_job import ScheduledJob, ScheduledJobArgs, metrics_statement
from dr_runtime import vault_names
from dr_runtime.operations.watchdog_settings import COMPLETION_WINDOW
from dr_runtime.report import METRIC_NAMESPACE
from dr_runtime.settings import Setting, environment
from dr_runtime.verifier import event_silence
from dr_runtime.verifier import settings as runtime
from dr_runtime.verifier.evaluation import Kind
from dr_runtime.verifier.verify import JOB_NAME
from org import org_providers as providers
from org import verifier_config
from org.org_config import OrgConfig
from org.verifier_config import VerifierPlan, reader_role_name, schedule_gap_minutes
from org.verifier_events import VerifierEvents, VerifierEventsArgs, log_group_name

COMPONENT_TYPE = "aws-dr-backup-org:verifier:VerifierDeployment"
HANDLER = "dr_runtime.verifier.verify.handler"
VAULT_READ_ACTIONS = (
    "backup:ListRecoveryPointsByBackupVault",
    "backup:DescribeBackupVault",
    "backup:GetBackupVaultAccessPolicy",
)
SHARE_READ_ACTIONS = ("ram:GetResourceShareAssociations", "ram:GetResourceShares")
"""The RAM reads of the share check; RAM gives them no resource type (docs/verifier.md, V15): ``*``."""
JOB_READ_ACTIONS = ("backup:ListBackupJobs", "backup:ListCopyJobs")
QUERY_ACTIONS = ("logs:GetQueryResults", "logs:StopQuery")
"""The silence check's query by its ID: these take no log group (docs/verifier.md, "Events out of the
account"), so ``*``; ``logs:StartQuery`` is granted on the job-events log group alone."""
EVIDENCE_WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion")
TIMEOUT_SECONDS = 600
# The schedule hands over its own time, so a retried invocation judges ages the same way.
SCHEDULE_INPUT = '{"time": "<aws.scheduler.scheduled-time>"}'


def function_name(prefix: str) -> str:
    return f"{prefix}-backup-verifier"


def topic_name(prefix: str) -> str:
    return f"{prefix}-backup-verifier-findings"


def bucket_name(prefix: str, account: str, region: str) -> str:
    return f"{prefix}-verifier-{account}-{region}"


def _arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


@dataclass(frozen=True)
class VerifierDeploymentArgs:
    prefix: str
    plan: VerifierPlan
    vault_reader_provider: aws.Provider
    """Into the isolated account (unused when the verifier runs there)."""
    job_reader_provider: aws.Provider
    """Into the account of the job listings (unused when the verifier runs there)."""
    organization_id: str
    """The organisation (``organizationId``): only its accounts may put events on the verifier's bus."""
    tags: dict[str, str] = field(default_factory=dict)


def key_policy(account: str, topic_arn: str) -> dict[str, Any]:
    """The owner administers the key through IAM (the function's role uses it that way); CloudWatch alarms
    and the event bus's rules of this account may use it for this topic only (SNS's encryption context
    ``aws:sns:topicArn``)."""
    return documents.document(
        documents.owner_administers_key(account),
        {
            "Sid": "AlarmsAndBusRulesEncryptForThisTopicOnly",
            "Effect": "Allow",
            "Principal": {"Service": list(alerts.PUBLISHERS)},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:EncryptionContext:aws:sns:topicArn": topic_arn,
                    "aws:SourceAccount": account,
                }
            },
        },
    )


def topic_policy(topic_arn: str, account: str, region: str) -> dict[str, Any]:
    """Alarms and the event bus's rules of this account publish; the function publishes through its role
    (same account)."""
    return documents.document(*alerts.topic_policy_statements(topic_arn, account, region))


def only_the_verifier_writes(bucket_arn: Any, role_arn: Any) -> dict[str, Any]:
    """No principal but the verifier's role may write or delete evidence, whatever its IAM policies say.
    A Deny with a condition on the caller: it grants nothing (the role's own policy allows)."""
    return {
        "Sid": "OnlyTheVerifierWritesEvidence",
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(EVIDENCE_WRITE_ACTIONS),
        "Resource": pulumi.Output.from_input(bucket_arn).apply(lambda arn: f"{arn}/*"),
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": role_arn}},
    }


def reader_trust(function_role_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """Only the verifier's function role (by ARN, in the verifier account) may assume a reader role."""
    return documents.policy_json(
        [
            {
                "Sid": "OnlyTheVerifierFunction",
                "Effect": "Allow",
                "Principal": {"AWS": function_role_arn},
                "Action": "sts:AssumeRole",
            }
        ]
    )


def vault_read_statement(vault_arns: Sequence[str]) -> dict[str, Any]:
    """The fleet's vaults in the isolated account, air-gapped and locked, by their exact ARNs."""
    return documents.allow("ReadTheFleetsIsolatedVaults", list(VAULT_READ_ACTIONS), list(vault_arns))


def share_read_statement() -> dict[str, Any]:
    # Read-only and confined to the account the role is in (RAM lists only the caller's own shares).
    return documents.allow("ReadTheIsolatedAccountsShares", list(SHARE_READ_ACTIONS), "*")


def job_read_statement() -> dict[str, Any]:
    # ListBackupJobs and ListCopyJobs have no resource type (Service Authorization Reference): "*".
    return documents.allow("ListTheOrganisationsJobs", list(JOB_READ_ACTIONS), "*")


class VerifierDeployment(pulumi.ComponentResource):
    """Create with the verifier account's provider in ``opts``; the reader roles use the args' providers."""

    function_name: pulumi.Output[str]
    function_role_arn: pulumi.Output[str]
    topic_arn: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    event_bus_arn: pulumi.Output[str]
    environment: dict[str, str]
    """The function's environment, as written (every value is known before deployment)."""

    def __init__(
        self, name: str, args: VerifierDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        plan, prefix, tags = args.plan, args.prefix, dict(args.tags)
        settings = plan.runtime
        account, region = plan.account, plan.region
        partition = vault_names.partition(region)
        own_topic_arn = _arn(partition, "sns", region, account, topic_name(prefix))
        evidence_bucket = bucket_name(prefix, account, region)

        # --- the topic -----------------------------------------------------------------------------
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the {topic_name(prefix)} SNS topic",
            enable_key_rotation=True,
            deletion_window_in_days=documents.KEY_DELETION_WINDOW_DAYS,
            policy=documents.to_json(key_policy(account, own_topic_arn)),
            tags=tags,
            # Every KMS key is protected: a deleted key would leave the topic unable to deliver.
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.kms.Alias(
            f"{name}-key-alias", name=f"alias/{prefix}-verifier", target_key_id=key.key_id, opts=child
        )
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=topic_name(prefix),
            display_name=f"{prefix} air-gap verifier"[:100],
            kms_master_key_id=key.arn,
            tags=tags,
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=documents.to_json(topic_policy(own_topic_arn, account, region)),
            opts=child,
        )
        for index, email in enumerate(plan.verifier.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=child
            )

        # --- the event bus: the fleet's forwarded events, its alert rules, the job-event log --------
        events = VerifierEvents(
            f"{name}-events",
            VerifierEventsArgs(
                prefix=prefix,
                account=account,
                region=region,
                partition=partition,
                organization_id=args.organization_id,
                topic_arn=topic.arn,
                tags=tags,
            ),
            opts=child,
        )
        events_log_group = log_group_name(prefix)

        # --- the evidence bucket -------------------------------------------------------------------
        retention = plan.verifier.evidence_retention_days
        bucket = PrivateBucket(
            self,
            f"{name}-evidence",
            evidence_bucket,
            "BucketOwnerEnforced",
            [
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-evidence-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    # A version can go once its lock has passed; latest.json and baseline.json are
                    # rewritten every run, the runs/ files are written once.
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=retention + 1
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            tags,
            object_lock=True,
        )
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-evidence-object-lock",
            bucket=bucket.bucket.id,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode="COMPLIANCE", days=retention
                )
            ),
            opts=child,
        )
        bucket_arn = f"arn:{partition}:s3:::{evidence_bucket}"
        key_prefix = settings.key_prefix

        # --- the function ----------------------------------------------------------------------------
        vault_reader_arn = settings.vault_reader_role
        job_reader_arn = settings.job_reader_role
        statements: list[Any] = [
            documents.allow(
                "ReadAndWriteEvidence",
                ["s3:GetObject", "s3:PutObject"],
                f"{bucket_arn}/{key_prefix}accounts/*",
            ),
            {
                # Without it S3 answers a missing baseline with 403 rather than 404 (docs/verifier.md V8).
                "Sid": "ListEvidencePrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": f"{key_prefix}accounts/*"}},
            },
            documents.allow("PublishFindings", "sns:Publish", own_topic_arn),
            documents.allow(
                "QueryTheFleetsJobEvents",
                "logs:StartQuery",
                _arn(partition, "logs", region, account, f"log-group:{events_log_group}:*"),
            ),
            documents.allow("ReadTheQuerysResults", list(QUERY_ACTIONS), "*"),
            documents.allow("EncryptFindingsForTheTopic", ["kms:GenerateDataKey", "kms:Decrypt"], key.arn),
            metrics_statement(),
        ]
        assumed = [arn for arn in (vault_reader_arn, job_reader_arn) if arn is not None]
        if assumed:
            statements.append(documents.allow("AssumeTheReaderRoles", "sts:AssumeRole", assumed))
        if plan.reads_vaults_itself:
            statements.append(vault_read_statement(plan.vault_arns))
            statements.append(share_read_statement())
        if plan.reads_jobs_itself:
            statements.append(job_read_statement())

        written = environment_values(plan, evidence_bucket, own_topic_arn, events_log_group)
        job = ScheduledJob(
            f"{name}-job",
            ScheduledJobArgs(
                function_name=function_name(prefix),
                handler=HANDLER,
                schedule_expression=plan.verifier.schedule,
                account_id=account,
                policy_statements=statements,
                environment=written,
                description="Checks the fleet's air-gapped copies from outside the workload accounts",
                timeout_seconds=TIMEOUT_SECONDS,
                schedule_input=SCHEDULE_INPUT,
                tags=tags,
            ),
            opts=child,
        )
        bucket.attach_policy([only_the_verifier_writes(bucket.bucket.arn, job.role_arn)])

        # --- the alarms ------------------------------------------------------------------------------
        actions = [topic.arn]
        hour = 3600
        alarms.count_above_zero(
            f"{name}-findings",
            name=f"{prefix}-backup-verifier-findings",
            alarm_description=(
                f"The air-gap verifier raised findings ({', '.join(kind.value for kind in Kind)}); "
                "its SNS message and the evidence bucket's latest.json name the accounts"
            ),
            namespace=METRIC_NAMESPACE,
            metric_name="VerifierFindings",
            statistic="Maximum",
            period=hour,
            actions=actions,
            tags=tags,
            opts=child,
        )
        alarms.count_above_zero(
            f"{name}-errors",
            name=f"{prefix}-backup-verifier-errors",
            alarm_description=(
                "The air-gap verifier failed (an unreadable input, its settings, AWS); see its log group and "
                "dead-letter queue"
            ),
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": job.function_name},
            statistic="Sum",
            period=hour,
            actions=actions,
            tags=tags,
            opts=child,
        )
        alarms.silent(
            f"{name}-silent",
            name=f"{prefix}-backup-verifier-silent",
            description=(
                "The air-gap verifier has not reported for longer than its schedule allows: it is not "
                "running, or cannot publish its metrics"
            ),
            metric_name="DoneItems",
            dimensions={"Job": JOB_NAME},
            max_gap_minutes=schedule_gap_minutes(plan.verifier.schedule),
            actions=actions,
            tags=tags,
            opts=child,
        )

        # --- the reader roles, outside the verifier account ---------------------------------------------
        if vault_reader_arn is not None:
            self._reader(
                f"{name}-vault-reader",
                reader_role_name(prefix, "vault"),
                "Reads the fleet's vaults and their RAM shares for the air-gap verifier (read only)",
                [vault_read_statement(plan.vault_arns), share_read_statement()],
                job.role_arn,
                args.vault_reader_provider,
                tags,
            )
        if job_reader_arn is not None:
            self._reader(
                f"{name}-job-reader",
                reader_role_name(prefix, "job"),
                "Lists the organisation's backup and copy jobs for the air-gap verifier (read only)",
                [job_read_statement()],
                job.role_arn,
                args.job_reader_provider,
                tags,
            )

        self.function_name = job.function_name
        self.function_role_arn = job.role_arn
        self.topic_arn = topic.arn
        self.bucket_name = bucket.bucket.bucket
        self.event_bus_arn = events.bus_arn
        self.environment = written
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_role_arn": self.function_role_arn,
                "topic_arn": self.topic_arn,
                "bucket_name": self.bucket_name,
            }
        )

    def _reader(
        self,
        name: str,
        role_name: str,
        description: str,
        statements: list[dict[str, Any]],
        function_role_arn: pulumi.Output[str],
        provider: aws.Provider,
        tags: dict[str, str],
    ) -> None:
        there = pulumi.ResourceOptions(parent=self, provider=provider)
        role = aws.iam.Role(
            name,
            name=role_name,
            description=description,
            assume_role_policy=reader_trust(function_role_arn),
            tags=tags,
            opts=there,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=documents.to_json(documents.document(*statements)),
            opts=there,
        )


def environment_values(
    plan: VerifierPlan, bucket: str, topic_arn: str, events_log_group: str | None = None
) -> dict[str, str]:
    """The function's environment from the runtime's own declarations: what the handler reads back."""
    settings, verifier = plan.runtime, plan.verifier
    values: dict[Setting, str] = {
        runtime.FLEET: ",".join(verifier.fleet),
        runtime.ISOLATED_ACCOUNT: settings.isolated_account,
        runtime.DELEGATED_ADMIN: settings.delegated_admin_account,
        runtime.INTERVAL: str(settings.interval_minutes),
        COMPLETION_WINDOW: str(settings.completion_window_minutes),
        runtime.MARGIN: str(settings.margin_minutes),
        runtime.DROP_PERCENT: str(settings.drop_percent),
        runtime.BASELINE_DAYS: str(settings.baseline_days),
        runtime.EVIDENCE_BUCKET: bucket,
        runtime.EVIDENCE_PREFIX: settings.evidence_prefix,
        runtime.TOPIC: topic_arn,
        runtime.VAULT_RETENTION: ",".join(
            f"{a.account_id}={a.retention[0]}-{a.retention[1]}" for a in settings.fleet if a.retention
        ),
        runtime.MPA_TEAM_REQUIRED: "true" if settings.mpa_team_required else "false",
    }
    if settings.vault_policy is not None:
        values[runtime.VAULT_POLICY] = settings.vault_policy
    if verifier.locked_vaults:
        values[runtime.LOCKED_VAULTS] = ",".join(verifier.locked_vaults)
    if verifier.vault_names:
        values[runtime.VAULT_NAMES] = ",".join(verifier.vault_names)
    if settings.vault_reader_role is not None:
        values[runtime.VAULT_READER_ROLE] = settings.vault_reader_role
    if settings.job_reader_role is not None:
        values[runtime.JOB_READER_ROLE] = settings.job_reader_role
    if events_log_group is not None:
        values[event_silence.LOG_GROUP] = events_log_group
        values[event_silence.SILENT_HOURS] = str(event_silence.DEFAULT_SILENT_HOURS)
    return environment(values)


def deploy(config: OrgConfig, places: providers.Providers) -> VerifierDeployment | None:
    """The verifier of ``config.verifier``, its providers and its stack outputs; None when it is off."""
    plan = verifier_config.plan(config)
    if plan is None:
        return None
    verifier = plan.verifier
    own = providers.assumed("verifier", config, verifier.account, verifier.role, plan.region)
    if plan.reads_vaults_itself:
        vault_reader = own
    elif verifier.isolated_account_role is not None:
        vault_reader = providers.assumed(
            "verifier-isolated",
            config,
            verifier.isolated_account,
            verifier.isolated_account_role,
            plan.region,
        )
    else:
        # The isolated account is the reports account (the config's check): its provider is at hand.
        vault_reader = places.reports
    job_reader = own if plan.reads_jobs_itself else places.report_plans
    deployment = VerifierDeployment(
        "verifier",
        VerifierDeploymentArgs(
            prefix=config.prefix,
            plan=plan,
            vault_reader_provider=vault_reader,
            job_reader_provider=job_reader,
            organization_id=config.organization_id,
            tags=dict(config.tags),
        ),
        opts=pulumi.ResourceOptions(provider=own),
    )
    pulumi.export("verifierAccount", verifier.account)
    pulumi.export("verifierFunctionName", deployment.function_name)
    pulumi.export("verifierTopicArn", deployment.topic_arn)
    pulumi.export("verifierEvidenceBucket", deployment.bucket_name)
    # The workload stacks' verifierEventBus (Pulumi.yaml).
    pulumi.export("verifierEventBusArn", deployment.event_bus_arn)
    return deployment
