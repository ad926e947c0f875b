"""The watchdog and coverage jobs: schedules, settings and exactly the IAM their handlers need."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from components.config import from_namespaced, parse
from components.operations.patterns import KEY_THREATENING_CALLS
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.operations.selection_verdict import SelectionConfig
from dr_runtime.operations.watchdog_settings import INTERVAL_MINUTES, WatchdogConfig
from drplan.graph import RegisteredResource, StackGraph
from drplan.places import Places
from drplan.program import read_stack_config, register_stack, stack_file
from tests.operations_infra.graphs import (
    DR,
    PRIMARY,
    PROD_TYPES,
    WORKLOAD,
    one,
    provider_name,
    statements,
)

SCHEDULE = "aws:scheduler/schedule:Schedule"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PLAN = "aws:backup/plan:Plan"
NS = "aws-dr-backup:"
PRIMARY_TOPIC = f"arn:aws:sns:{PRIMARY}:{WORKLOAD}:dr-prod-backup-alerts"
FLEET_BUCKET = "dr-org-fleet-222222222222-us-east-1"


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
    assert schedule.inputs["target"]["arn"].endswith(":function:dr-prod-backup-watchdog")
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


def test_the_watchdog_handler_reads_back_what_the_component_wrote(prod_graph: StackGraph) -> None:
    env = dict(_function(prod_graph, "dr-prod-backup-watchdog").inputs["environment"]["variables"])
    # The offline mocks shape every ARN '<type>/<name>' (drplan/program.py); a real SNS topic ARN ends
    # ':<name>', which the handler checks, so the topic is read back in its real shape.
    topic = f"arn:aws:sns:{PRIMARY}:{WORKLOAD}:dr-prod-backup-alerts"
    assert env["DR_ALERT_TOPIC_ARN"] == PRIMARY_TOPIC
    env["DR_ALERT_TOPIC_ARN"] = topic
    config = WatchdogConfig.from_settings(env)
    stack = parse(from_namespaced(read_stack_config(stack_file("prod"))), "prod")
    assert config == WatchdogConfig(
        threshold_minutes=stack.operations.long_running_job_minutes,
        completion_window_minutes=stack.windows.completion_minutes,
        interval_minutes=INTERVAL_MINUTES,
        topic_arn=topic,
        ledger_table="dr-prod-watchdog-ledger-use1",
        publish_metrics=True,
    )


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
    assert env["DR_PROTECTED_TYPES"].split(",") == list(PROD_TYPES)
    # Both regions have a key-threat rule; it matches exactly these calls.
    assert env["DR_TRAIL_REGIONS"] == f"{PRIMARY},{DR}"
    assert env["DR_KEY_THREAT_CALLS"].split(",") == list(KEY_THREATENING_CALLS)
    # The copy tiers: copies into the DR Region and into the isolated account (Pulumi.yaml).
    assert env["DR_COVERAGE_DR_REGION"] == DR
    assert env["DR_COVERAGE_ISOLATED_ACCOUNT"] == "222222222222"
    # The frameworks the stack registered, and what AWS Config must record for their controls.
    places = Places(prod_graph)
    registered = {
        places.of(f).region: f.inputs["name"] for f in prod_graph.by_type("aws:backup/framework:Framework")
    }
    audit = json.loads(env["DR_AUDIT"])
    assert {region: entry["frameworks"] for region, entry in audit.items()} == {
        region: [name] for region, name in registered.items()
    }
    assert audit[PRIMARY]["resourceTypes"] == [
        "AWS::Backup::BackupPlan",
        "AWS::Backup::BackupSelection",
        "AWS::Backup::RecoveryPoint",
        "AWS::Config::ResourceCompliance",
    ]


def test_the_coverage_handler_reads_back_what_the_component_wrote(prod_graph: StackGraph) -> None:
    env = _function(prod_graph, "dr-prod-backup-coverage").inputs["environment"]["variables"]
    config = CoverageConfig.from_settings({**env, "AWS_REGION": PRIMARY})
    stack = parse(from_namespaced(read_stack_config(stack_file("prod"))), "prod")
    active = tuple(t.backup_name for t in stack.active_types)
    assert config.region == PRIMARY
    assert config.types == config.protected_types == active
    assert config.recent_hours == stack.operations.recent_backup_hours
    assert config.selection == SelectionConfig(
        opt_out_tag=stack.opt_out_tags.all,
        cross_region_opt_out_tag=stack.opt_out_tags.cross_region,
        kubernetes_clusters=tuple(stack.kubernetes_clusters),
        opt_out_value=stack.opt_out_tags.value,
    )
    assert config.account_id == stack.accounts.workload
    assert config.publish_metrics is True
    assert config.cluster_vaults == {
        t.backup_name: prod_graph.outputs["vaultArns"][t.key][PRIMARY]
        for t in stack.active_types
        if t.cluster_route
    }
    assert config.plan_windows is not None
    assert set(config.plan_windows) == {
        "RDS",
        "Aurora",
        "DocumentDB",
        "Neptune",
    }
    assert config.trail_regions == (PRIMARY, DR)
    assert config.key_threat_calls == tuple(KEY_THREATENING_CALLS)
    assert config.fleet_bucket == stack.operations.fleet_bucket


def test_coverage_knows_the_cluster_vaults_and_the_rds_family_start_windows(prod_graph: StackGraph) -> None:
    env = _function(prod_graph, "dr-prod-backup-coverage").inputs["environment"]["variables"]
    vaults = prod_graph.outputs["vaultArns"]
    assert json.loads(env["DR_CLUSTER_VAULTS"]) == {
        label: vaults[key][PRIMARY]
        for label, key in (("Aurora", "aurora"), ("DocumentDB", "documentdb"), ("Neptune", "neptune"))
    }
    assert all(
        arn.endswith(f":backup-vault:dr-prod-{label.lower()}")
        for label, arn in json.loads(env["DR_CLUSTER_VAULTS"]).items()
    )
    document = json.loads(env["DR_PLAN_START_WINDOWS"])
    # The RDS family only (Aurora for the Multi-AZ DB clusters its plans take), as the plans are registered.
    assert set(document) == {"RDS", "Aurora", "DocumentDB", "Neptune"}
    plans = {p.inputs["name"]: p.inputs["rules"][0] for p in prod_graph.by_type(PLAN)}
    for label, key in (("RDS", "rds"), ("DocumentDB", "documentdb")):
        for entry in document[label]:
            rule = plans[f"dr-prod-{key}-{entry['plan']}"]
            assert rule["startWindow"] == entry["start_minutes"] == 60
            assert rule["schedule"] == f"cron(0 {int(entry['starts'][0]['utc'][:2])} ? * * *)"
    assert document["RDS"] == [
        {
            "plan": "full",
            "start_minutes": 60,
            "starts": [{"days": "daily", "utc": "05:00"}],
            "takes": "without-cross-region-opt-out",
        },
        {
            "plan": "account-only",
            "start_minutes": 60,
            "starts": [{"days": "daily", "utc": "07:00"}],
            "takes": "with-cross-region-opt-out",
        },
    ]
    # Lambda allows 4 KB of environment variables in all.
    assert sum(len(k) + len(v) for k, v in env.items()) < 4096


def test_the_job_bundle_reads_its_settings_without_the_repository(
    prod_graph: StackGraph, tmp_path: Path
) -> None:
    """The Lambda code is the archive's files alone: no Pulumi, no pydantic, no drplan."""
    function = _function(prod_graph, "dr-prod-backup-coverage")
    assets = function.inputs["code"]["assets"]
    # The handler's import closure (components/lambda_code.py): the ground floor's catalog and selection
    # semantics it routes clusters with, and none of the Pulumi components.
    assert not [a for a in assets if a.startswith("components/")]
    shipped = {a for a in assets if a.startswith("dr_model/")}
    assert shipped == {
        "dr_model/__init__.py",
        "dr_model/catalog.py",
        "dr_model/backup_selection.py",
    }
    for target, asset in assets.items():
        (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(asset["path"]), tmp_path / target)
    env = dict(function.inputs["environment"]["variables"])
    script = textwrap.dedent(
        """
        import importlib.abc, json, os, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"pulumi", "pulumi_aws", "pydantic", "drplan", "yaml"}:
                    raise ImportError(f"the Lambda bundle has no {name}")
                return None

        sys.meta_path.insert(0, Block())
        from dr_runtime.operations import coverage

        config = coverage.CoverageConfig.from_settings(os.environ)
        rds = config.plan_windows["RDS"]
        print(json.dumps({
            "plans": [(r.plan, r.takes.value, r.start_minutes, [s.minute for s in r.starts]) for r in rds],
            "vaults": sorted(config.cluster_vaults),
            "trails": list(config.trail_regions),
        }))
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); exec({script!r})"],
        env={**env, "AWS_REGION": PRIMARY, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "plans": [
            ["full", "without-cross-region-opt-out", 60, [300]],
            ["account-only", "with-cross-region-opt-out", 60, [420]],
        ],
        "vaults": ["Aurora", "DocumentDB", "Neptune"],
        "trails": [PRIMARY, DR],
    }


def test_coverage_may_list_the_protected_types_only(prod_graph: StackGraph) -> None:
    document = _policy(prod_graph, "coverage")
    assert _actions(document) == {
        "backup:ListProtectedResources",
        # The copy tiers: the account's own copy jobs (cross-Region and into the isolated account).
        "backup:ListCopyJobs",
        "tag:GetResources",
        "s3:ListAllMyBuckets",
        "dynamodb:ListTables",
        "ec2:DescribeVolumes",
        "elasticfilesystem:DescribeFileSystems",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "s3:GetBucketVersioning",
        "s3:GetBucketNotification",
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "cloudwatch:PutMetricData",
        "s3:PutObject",
        "config:DescribeConfigurationRecorders",
        "config:DescribeConfigurationRecorderStatus",
        "backup:DescribeFramework",
    }
    by_sid = {s["Sid"]: s for s in document}
    # The stack's own frameworks only, in the Regions they live in.
    frameworks = json.loads(
        _function(prod_graph, "dr-prod-backup-coverage").inputs["environment"]["variables"]["DR_AUDIT"]
    )
    assert by_sid["ReadAuditFrameworks"]["Resource"] == [
        f"arn:aws:backup:{region}:{WORKLOAD}:framework:{name}-*"
        for region, entry in frameworks.items()
        for name in entry["frameworks"]
    ]
    # The fleet bucket: this account's own prefix, nothing else (the bucket policy says the same).
    assert by_sid["PublishToFleetBucket"]["Action"] == "s3:PutObject"
    assert by_sid["PublishToFleetBucket"]["Resource"] == f"arn:aws:s3:::{FLEET_BUCKET}/coverage/{WORKLOAD}/*"
    # Bucket settings of this account's buckets only; trails of any account (organization trails).
    assert by_sid["ReadBucketPrerequisites"]["Resource"] == "arn:aws:s3:::*"
    assert by_sid["ReadBucketPrerequisites"]["Condition"] == {
        "StringEquals": {"s3:ResourceAccount": WORKLOAD}
    }
    assert by_sid["ReadTrails"]["Resource"] == "arn:aws:cloudtrail:*:*:trail/*"
    assert {s["Sid"] for s in document if s["Resource"] == "*"} == {
        "ReadProtectedResources",
        # ListCopyJobs takes no resource ARN.
        "ReadCopyJobs",
        "ListResources",
        "ListTrails",
        # AWS Config's recorder listings have no resource-level permissions.
        "ReadConfigRecorders",
        "PublishRunSummary",
    }
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
    assert json.loads(env["DR_PLAN_START_WINDOWS"]) == {}
    assert json.loads(env["DR_CLUSTER_VAULTS"]) == {}
    assert _actions(_policy(graph, "coverage")) == {
        "backup:ListProtectedResources",
        # The copy tiers: the account's own copy jobs (cross-Region and into the isolated account).
        "backup:ListCopyJobs",
        "tag:GetResources",
        "s3:ListAllMyBuckets",
        "ec2:DescribeVolumes",
        "s3:GetBucketVersioning",
        "s3:GetBucketNotification",
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "cloudwatch:PutMetricData",
        "s3:PutObject",
        "config:DescribeConfigurationRecorders",
        "config:DescribeConfigurationRecorderStatus",
        "backup:DescribeFramework",
    }


def test_no_audit_checks_without_frameworks() -> None:
    config = read_stack_config(stack_file("staging"))
    operations = dict(config.get(NS + "operations") or {})
    config[NS + "operations"] = {**operations, "audit": False}
    graph = register_stack("staging", config=config)
    assert graph.by_type("aws:backup/framework:Framework") == []
    env = _function(graph, "dr-staging-backup-coverage").inputs["environment"]["variables"]
    assert "DR_AUDIT" not in env
    actions = _actions(_policy(graph, "coverage"))
    assert not actions & {
        "config:DescribeConfigurationRecorders",
        "config:DescribeConfigurationRecorderStatus",
        "backup:DescribeFramework",
    }


def test_coverage_publishes_to_the_fleet_bucket_only_when_configured(prod_graph: StackGraph) -> None:
    env = _function(prod_graph, "dr-prod-backup-coverage").inputs["environment"]["variables"]
    assert env["DR_FLEET_BUCKET"] == FLEET_BUCKET
    config = read_stack_config(stack_file("prod"))
    del config[NS + "operations"]["fleetBucket"]
    graph = register_stack("prod", config=config)
    assert (
        "DR_FLEET_BUCKET"
        not in _function(graph, "dr-prod-backup-coverage").inputs["environment"]["variables"]
    )
    assert "s3:PutObject" not in _actions(_policy(graph, "coverage"))


# --- alarms on the jobs themselves -----------------------------------------------------------------


def test_jobs_that_fail_or_fall_silent_raise_an_alarm(prod_graph: StackGraph) -> None:
    alarms = {a.inputs["name"]: a.inputs for a in prod_graph.by_type(ALARM)}
    assert set(alarms) == {
        "dr-prod-backup-watchdog-errors",
        "dr-prod-backup-coverage-errors",
        "dr-prod-backup-watchdog-silent",
        "dr-prod-backup-coverage-prerequisites",
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
    # The coverage job's prerequisite findings in total (published without dimensions).
    prerequisites = alarms["dr-prod-backup-coverage-prerequisites"]
    assert (prerequisites["namespace"], prerequisites["metricName"]) == (
        "AwsDrBackup",
        "PrerequisiteFindings",
    )
    assert "dimensions" not in prerequisites
    assert (prerequisites["comparisonOperator"], prerequisites["threshold"]) == ("GreaterThanThreshold", 0)
    assert prerequisites["treatMissingData"] == "notBreaching"
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [PRIMARY_TOPIC]
