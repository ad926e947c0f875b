"""The watchdog and coverage jobs: schedules, settings and exactly the IAM their handlers need."""

from __future__ import annotations

from typing import Any

from drplan.graph import RegisteredResource, StackGraph
from drplan.program import read_stack_config, register_stack, stack_file
from tests.operations_infra.graphs import PRIMARY, PROD_TYPES, WORKLOAD, one, provider_name, statements

SCHEDULE = "aws:scheduler/schedule:Schedule"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
NS = "aws-dr-backup:"
PRIMARY_TOPIC = f"arn:aws:sns:{PRIMARY}:{WORKLOAD}:topic/dr-prod-backup-alerts"


def _policy(graph: StackGraph, job: str) -> list[dict[str, Any]]:
    policy = next(r for r in graph.by_type("aws:iam/rolePolicy:RolePolicy") if r.name == f"{job}-exec-policy")
    # The ScheduledJob's own statements (logs, dead-letter queue) are its business, not this job's.
    return [
        s
        for s in statements(policy.inputs["policy"])
        if s["Sid"] not in ("WriteOwnLogs", "FailedInvocationsToDeadLetterQueue")
    ]


def _actions(document: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in document:
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def _function(graph: StackGraph, name: str) -> RegisteredResource:
    return one(graph, FUNCTION, name=name)


# --- watchdog -----------------------------------------------------------------------------------


def test_watchdog_runs_every_15_minutes_in_the_primary_region(prod_graph: StackGraph) -> None:
    schedule = one(prod_graph, SCHEDULE, name="dr-prod-backup-watchdog")
    assert schedule.inputs["scheduleExpression"] == "rate(15 minutes)"
    assert provider_name(schedule) == "origin"
    function = _function(prod_graph, "dr-prod-backup-watchdog")
    assert function.inputs["handler"] == "dr_runtime.operations.watchdog.handler"
    assert schedule.inputs["target"]["arn"].endswith(":function/dr-prod-backup-watchdog")
    # The schedule hands over its own time, so a retried invocation judges job ages the same way.
    assert schedule.inputs["target"]["input"] == '{"time": "<aws.scheduler.scheduled-time>"}'


def test_watchdog_settings_come_from_config(prod_graph: StackGraph) -> None:
    env = _function(prod_graph, "dr-prod-backup-watchdog").inputs["environment"]["variables"]
    ledger = one(prod_graph, "aws:dynamodb/table:Table", name="dr-prod-watchdog-ledger-use1")
    assert env == {
        "DR_ALERT_TOPIC_ARN": PRIMARY_TOPIC,
        "DR_WATCHDOG_THRESHOLD_MINUTES": "330",
        "DR_COMPLETION_WINDOW_MINUTES": "360",
        "DR_WATCHDOG_INTERVAL_MINUTES": "15",
        "DR_WATCHDOG_LEDGER_TABLE": "dr-prod-watchdog-ledger-use1",
        "DR_PUBLISH_METRICS": "true",
    }
    # Once per job: a conditional put keyed on the job id, expiring through TTL.
    assert ledger.inputs["hashKey"] == "job_id"
    assert ledger.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    # Alert markers are not worth a cross-region and air-gapped copy.
    assert ledger.inputs["tags"]["exclude-disaster-recovery-backup"] == "true"


def test_watchdog_may_list_jobs_publish_and_claim_nothing_more(prod_graph: StackGraph) -> None:
    document = _policy(prod_graph, "watchdog")
    assert _actions(document) == {
        "backup:ListBackupJobs",
        "backup:ListCopyJobs",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "sns:Publish",
        "kms:GenerateDataKey*",
        "kms:Decrypt",
        "cloudwatch:PutMetricData",
    }
    by_sid = {s["Sid"]: s for s in document}
    assert by_sid["PublishAlerts"]["Resource"] == PRIMARY_TOPIC
    assert by_sid["ClaimJobsInLedger"]["Resource"].endswith(":table/dr-prod-watchdog-ledger-use1")
    key = by_sid["EncryptAlertsForTopic"]
    assert key["Resource"].startswith(f"arn:aws:kms:{PRIMARY}:{WORKLOAD}:key/")
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}}
    assert by_sid["PublishRunSummary"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "AwsDrBackup"}
    }
    unscoped = {s["Sid"] for s in document if s["Resource"] == "*"}
    assert unscoped == {"ListBackupAndCopyJobs", "PublishRunSummary"}


# --- coverage -----------------------------------------------------------------------------------


def test_coverage_runs_on_the_configured_schedule(
    prod_graph: StackGraph, prod_stack_config: dict[str, Any]
) -> None:
    schedule = one(prod_graph, SCHEDULE, name="dr-prod-backup-coverage")
    assert schedule.inputs["scheduleExpression"] == "cron(0 9 * * ? *)"
    prod_stack_config[NS + "operations"]["coverageSchedule"] = "cron(30 4 * * ? *)"
    changed = register_stack("prod", config=prod_stack_config)
    assert (
        one(changed, SCHEDULE, name="dr-prod-backup-coverage").inputs["scheduleExpression"]
        == "cron(30 4 * * ? *)"
    )


def test_coverage_settings_match_the_selections(prod_graph: StackGraph) -> None:
    function = _function(prod_graph, "dr-prod-backup-coverage")
    assert function.inputs["handler"] == "dr_runtime.operations.coverage.handler"
    env = function.inputs["environment"]["variables"]
    assert env["DR_COVERAGE_TYPES"].split(",") == list(PROD_TYPES)
    assert env["DR_COVERAGE_RECENT_HOURS"] == "26"
    assert env["DR_OPT_OUT_TAG"] == "exclude-disaster-recovery-backup"
    assert env["DR_CROSS_REGION_OPT_OUT_TAG"] == "exclude-cross-region-backup"
    assert env["DR_OPT_OUT_VALUE"] == "true"
    assert env["DR_KUBERNETES_CLUSTERS"] == "platform-prod-1,platform-prod-2"
    assert env["DR_ACCOUNT_ID"] == WORKLOAD


def test_coverage_may_list_the_protected_types_only(prod_graph: StackGraph) -> None:
    document = _policy(prod_graph, "coverage")
    assert _actions(document) == {
        "backup:ListProtectedResources",
        "tag:GetResources",
        "s3:ListAllMyBuckets",
        "dynamodb:ListTables",
        "ec2:DescribeVolumes",
        "elasticfilesystem:DescribeFileSystems",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "cloudwatch:PutMetricData",
    }
    by_sid = {s["Sid"]: s for s in document}
    assert (
        by_sid["ListFileSystems"]["Resource"]
        == f"arn:aws:elasticfilesystem:{PRIMARY}:{WORKLOAD}:file-system/*"
    )
    assert by_sid["ListDbInstances"]["Resource"] == f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:db:*"
    assert by_sid["ListDbClusters"]["Resource"] == f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:cluster:*"


def test_coverage_permissions_shrink_with_the_active_types() -> None:
    config = read_stack_config(stack_file("staging"))
    config[NS + "resourceTypes"] = {
        key: {"active": False} for key in ("efs", "dynamodb", "rds", "aurora", "documentdb", "neptune")
    }
    graph = register_stack("staging", config=config)
    env = _function(graph, "dr-staging-backup-coverage").inputs["environment"]["variables"]
    assert env["DR_COVERAGE_TYPES"] == "S3,EBS"
    assert _actions(_policy(graph, "coverage")) == {
        "backup:ListProtectedResources",
        "tag:GetResources",
        "s3:ListAllMyBuckets",
        "ec2:DescribeVolumes",
        "cloudwatch:PutMetricData",
    }


# --- alarms on the jobs themselves -----------------------------------------------------------------


def test_jobs_that_fail_or_fall_silent_raise_an_alarm(prod_graph: StackGraph) -> None:
    alarms = {a.inputs["name"]: a.inputs for a in prod_graph.by_type(ALARM)}
    assert set(alarms) == {
        "dr-prod-backup-watchdog-errors",
        "dr-prod-backup-coverage-errors",
        "dr-prod-backup-watchdog-silent",
    }
    for name, function in (("watchdog", "dr-prod-backup-watchdog"), ("coverage", "dr-prod-backup-coverage")):
        errors = alarms[f"dr-prod-backup-{name}-errors"]
        assert (errors["namespace"], errors["metricName"]) == ("AWS/Lambda", "Errors")
        assert errors["dimensions"] == {"FunctionName": function}
        assert errors["comparisonOperator"] == "GreaterThanThreshold"
        assert errors["threshold"] == 0
    silent = alarms["dr-prod-backup-watchdog-silent"]
    assert (silent["namespace"], silent["metricName"]) == ("AwsDrBackup", "LongRunningJobs")
    assert silent["treatMissingData"] == "breaching"
    assert silent["comparisonOperator"] == "LessThanThreshold"
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [PRIMARY_TOPIC]
