"""CloudWatch alarms that watch the operations jobs themselves: a silent watchdog alerts nobody."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from dr_runtime.operations.coverage_settings import PREREQUISITE_METRIC
from dr_runtime.report import METRIC_NAMESPACE

# The coverage job publishes its prerequisite findings once a run, at most daily by default.
_DAY = 86400


def create(
    name: str,
    prefix: str,
    actions: Sequence[pulumi.Input[str]],
    functions: dict[str, tuple[pulumi.Input[str], int]],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions | None = None,
) -> list[aws.cloudwatch.MetricAlarm]:
    """``functions``: job key -> (Lambda function name, alarm period in seconds)."""
    alarms = [
        _above_zero(
            f"{name}-{job}-errors",
            name=f"{prefix}-backup-{job}-errors",
            alarm_description=(
                f"The {job} job failed (a listing, an alert or its settings); see its log group and "
                "dead-letter queue"
            ),
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": function},
            statistic="Sum",
            period=period,
            actions=actions,
            tags=tags,
            opts=opts,
        )
        for job, (function, period) in functions.items()
    ]
    # The watchdog publishes LongRunningJobs on every run whose listings succeeded: no data for an
    # hour means it is not running or cannot list jobs, so long-running jobs would go unreported.
    alarms.append(
        aws.cloudwatch.MetricAlarm(
            f"{name}-watchdog-silent",
            name=f"{prefix}-backup-watchdog-silent",
            alarm_description="The long-running-job watchdog has not reported for an hour",
            namespace=METRIC_NAMESPACE,
            metric_name="LongRunningJobs",
            statistic="SampleCount",
            period=1800,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            threshold=1,
            comparison_operator="LessThanThreshold",
            treat_missing_data="breaching",
            alarm_actions=list(actions),
            tags=tags,
            opts=opts,
        )
    )
    return alarms


def prerequisites(
    name: str,
    prefix: str,
    actions: Sequence[pulumi.Input[str]],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions | None = None,
) -> aws.cloudwatch.MetricAlarm:
    """The coverage job found something that would silently cost backups or alerts (its log lists it)."""
    return _above_zero(
        f"{name}-coverage-prerequisites",
        name=f"{prefix}-backup-coverage-prerequisites",
        alarm_description=(
            "The coverage job found RDS windows that block a plan's start, S3 buckets AWS Backup cannot "
            "back up, a Region without a CloudTrail trail for the key-threat alert, or a cluster in another "
            "engine's vault; its latest coverage-report log line lists them"
        ),
        namespace=METRIC_NAMESPACE,
        metric_name=PREREQUISITE_METRIC,
        statistic="Maximum",
        period=_DAY,
        actions=actions,
        tags=tags,
        opts=opts,
    )


def _above_zero(
    resource_name: str,
    *,
    actions: Sequence[pulumi.Input[str]],
    opts: pulumi.ResourceOptions | None,
    **metric: Any,
) -> aws.cloudwatch.MetricAlarm:
    """An alarm on a count that should stay zero: any data point above it alarms; no data is fine."""
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        evaluation_periods=1,
        threshold=0,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=list(actions),
        opts=opts,
        **metric,
    )


def count_above_zero(
    resource_name: str,
    *,
    actions: Sequence[pulumi.Input[str]],
    opts: pulumi.ResourceOptions | None = None,
    **metric: Any,
) -> aws.cloudwatch.MetricAlarm:
    """A count that should stay zero (``metric``: name, namespace, dimensions, statistic, period...):
    any data point above zero alarms; no data is fine (watch the job's silence with :func:`silent`)."""
    return _above_zero(resource_name, actions=actions, opts=opts, **metric)


def silent(
    resource_name: str,
    *,
    name: str,
    description: str,
    metric_name: str,
    dimensions: dict[str, str],
    max_gap_minutes: int,
    actions: Sequence[pulumi.Input[str]],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions | None = None,
) -> aws.cloudwatch.MetricAlarm:
    """A job that publishes ``metric_name`` on every run has stopped: no data point for one hour more
    than its longest gap between runs (hourly periods, missing data breaching).

    CloudWatch takes at most a day of periods in one evaluation, so ``max_gap_minutes`` must be under 23 h.
    """
    periods = -(-max_gap_minutes // 60) + 1
    if periods * 3600 > _DAY:
        raise ValueError(f"max_gap_minutes {max_gap_minutes}: a silence alarm watches at most 23 hours")
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        name=name,
        alarm_description=description,
        namespace=METRIC_NAMESPACE,
        metric_name=metric_name,
        dimensions=dimensions,
        statistic="SampleCount",
        period=3600,
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        threshold=1,
        comparison_operator="LessThanThreshold",
        treat_missing_data="breaching",
        alarm_actions=list(actions),
        tags=tags,
        opts=opts,
    )
