"""ScheduledJob: one ``dr_runtime`` handler run as a Lambda function on an EventBridge Scheduler schedule.

Used by the snapshot bridges and meant for the operations jobs too (watchdog, coverage). Failures land in
one encrypted dead-letter queue, whether the scheduler could not invoke the function or the function
itself failed after its asynchronous retries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import documents, lambda_code
from components.config import LOG_RETENTION_DAYS
from dr_runtime.report import METRIC_NAMESPACE

LAMBDA_RUNTIME = "python3.12"
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HANDLER = re.compile(r"^dr_runtime(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_EXPRESSION = re.compile(r"^(cron|rate|at)\(.+\)$")

Statement = Mapping[str, Any]


@dataclass(frozen=True)
class ScheduledJobArgs:
    """What to run, when, and with which permissions.

    ``policy_statements`` are IAM statements for the function's execution role; values may be Outputs
    (bucket or role ARNs). Writing to its own log group and to the dead-letter queue is added here.
    """

    function_name: str
    handler: str
    schedule_expression: str
    account_id: str
    policy_statements: Sequence[Statement] = ()
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    description: str = ""
    timeout_seconds: int = 300
    memory_mb: int = 256
    log_retention_days: int = 30
    schedule_input: str = "{}"
    retry_attempts: int = 3
    retry_max_event_age_seconds: int = 3600
    async_retry_attempts: int = 2
    vpc_subnet_ids: Sequence[pulumi.Input[str]] = ()
    vpc_security_group_ids: Sequence[pulumi.Input[str]] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _FUNCTION_NAME.match(self.function_name):
            raise ValueError(
                f"function_name must be 1-64 letters, digits, '-' or '_', got {self.function_name!r}"
            )
        if not _HANDLER.match(self.handler):
            raise ValueError(f"handler must be a dotted path inside dr_runtime, got {self.handler!r}")
        if not _EXPRESSION.match(self.schedule_expression):
            raise ValueError(
                f"schedule_expression must be cron(...), rate(...) or at(...), got {self.schedule_expression!r}"
            )
        if not re.fullmatch(r"\d{12}", self.account_id):
            raise ValueError(f"account_id must be 12 digits, got {self.account_id!r}")
        if not 1 <= self.timeout_seconds <= 900:
            raise ValueError(f"timeout_seconds must be between 1 and 900, got {self.timeout_seconds}")
        if not 128 <= self.memory_mb <= 10240:
            raise ValueError(f"memory_mb must be between 128 and 10240, got {self.memory_mb}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be one of {sorted(LOG_RETENTION_DAYS)}, got {self.log_retention_days}"
            )
        if not 0 <= self.retry_attempts <= 185:
            raise ValueError(f"retry_attempts must be between 0 and 185, got {self.retry_attempts}")
        if not 60 <= self.retry_max_event_age_seconds <= 86400:
            raise ValueError(
                "retry_max_event_age_seconds must be between 60 and 86400, "
                f"got {self.retry_max_event_age_seconds}"
            )
        if not 0 <= self.async_retry_attempts <= 2:
            raise ValueError(f"async_retry_attempts must be between 0 and 2, got {self.async_retry_attempts}")
        if bool(self.vpc_subnet_ids) != bool(self.vpc_security_group_ids):
            raise ValueError("vpc_subnet_ids and vpc_security_group_ids must be given together")
        # The function's archive is the handler's import closure: refused here if it needs more than
        # the Lambda runtime has.
        lambda_code.closure(lambda_code.handler_module(self.handler))


class ScheduledJob(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    scheduler_role_arn: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]
    dead_letter_queue_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: ScheduledJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aws-dr-backup:jobs:ScheduledJob", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{args.function_name}",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        dead_letters = aws.sqs.Queue(
            f"{name}-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=14 * 24 * 3600,
            tags=tags,
            opts=child,
        )

        role = aws.iam.Role(
            f"{name}-exec",
            assume_role_policy=documents.to_json(documents.service_trust("lambda.amazonaws.com", None)),
            description=f"Runs {args.handler}",
            tags=tags,
            opts=child,
        )
        own_statements: list[Any] = [
            documents.allow(
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                log_group.arn.apply(lambda arn: f"{arn}:*"),
            ),
            documents.allow("FailedInvocationsToDeadLetterQueue", "sqs:SendMessage", dead_letters.arn),
        ]
        role_policy = aws.iam.RolePolicy(
            f"{name}-exec-policy",
            role=role.id,
            policy=documents.policy_json([*own_statements, *args.policy_statements]),
            opts=child,
        )
        depends: list[pulumi.Resource] = [log_group, role_policy]
        vpc_config = None
        if args.vpc_subnet_ids:
            # ENI management has no resource-level scoping; the AWS managed policy is the narrowest option.
            depends.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-exec-vpc",
                    role=role.name,
                    policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
                    opts=child,
                )
            )
            vpc_config = aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.vpc_subnet_ids), security_group_ids=list(args.vpc_security_group_ids)
            )

        function = aws.lambda_.Function(
            f"{name}-fn",
            name=args.function_name,
            description=args.description or f"Scheduled {args.handler}",
            runtime=LAMBDA_RUNTIME,
            handler=args.handler,
            # The handler's import closure (components/lambda_code.py), checked to need only the runtime's
            # standard library and SDK.
            code=lambda_code.archive(args.handler),
            role=role.arn,
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment))
            if args.environment
            else None,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            vpc_config=vpc_config,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=function.name,
            maximum_retry_attempts=args.async_retry_attempts,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=dead_letters.arn
                )
            ),
            opts=child,
        )

        scheduler_role = aws.iam.Role(
            f"{name}-sched",
            # Confused-deputy guard: only schedules in this account may have the service assume the role.
            assume_role_policy=documents.to_json(
                documents.service_trust("scheduler.amazonaws.com", args.account_id)
            ),
            description=f"EventBridge Scheduler invokes {args.function_name}",
            tags=tags,
            opts=child,
        )
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-sched-policy",
            role=scheduler_role.id,
            policy=documents.policy_json(
                [
                    documents.allow("InvokeThisFunctionOnly", "lambda:InvokeFunction", function.arn),
                    documents.allow("UndeliverableToDeadLetterQueue", "sqs:SendMessage", dead_letters.arn),
                ]
            ),
            opts=child,
        )
        schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=args.function_name,
            description=args.description or f"Runs {args.function_name}",
            schedule_expression=args.schedule_expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=function.arn,
                role_arn=scheduler_role.arn,
                input=args.schedule_input,
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=args.retry_attempts,
                    maximum_event_age_in_seconds=args.retry_max_event_age_seconds,
                ),
                dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=dead_letters.arn),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_policy]),
        )

        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.scheduler_role_arn = scheduler_role.arn
        self.schedule_arn = schedule.arn
        self.dead_letter_queue_arn = dead_letters.arn
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "scheduler_role_arn": self.scheduler_role_arn,
                "schedule_arn": self.schedule_arn,
                "dead_letter_queue_arn": self.dead_letter_queue_arn,
                "log_group_name": self.log_group_name,
            }
        )


def metrics_statement() -> dict[str, Any]:
    """Lets a job publish its run summary (``dr_runtime.report``) and nothing else to CloudWatch."""
    return {
        "Sid": "PublishRunSummary",
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        # PutMetricData has no resource type; the namespace condition is the scope.
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
    }
