"""RDS backup and maintenance windows against the plans' start windows of the real prod stack.

The plan start windows come from ``Pulumi.prod.yaml`` through the same path as in deployment: config ->
``layout.plans_for`` -> ``components.operations.coverage_job.plan_start_windows`` -> the
``DR_PLAN_START_WINDOWS`` setting -> ``CoverageConfig.from_settings``. Prod: the ``full`` plan starts at
05:00 UTC, ``account-only`` at 07:00 UTC, each with a 60-minute start window. AWS Backup cannot start a
snapshot from an hour before either RDS window until it closes (Aurora exempt).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from components import plan_layout as layout
from components.config import StackConfig, from_namespaced, parse
from components.operations.coverage_job import plan_start_windows
from dr_model import catalog
from dr_runtime.errors import ConfigError
from dr_runtime.operations import coverage, windows
from dr_runtime.operations.coverage_settings import CoverageConfig
from drplan.program import read_stack_config, stack_file

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"
REGION = "us-east-1"
XREGION = "exclude-cross-region-backup"
OPT_OUT = "exclude-disaster-recovery-backup"
RDS_FAMILY = ("RDS", "Aurora", "DocumentDB", "Neptune")


def stack_config(stack: str, **changes: Any) -> StackConfig:
    raw = from_namespaced(read_stack_config(stack_file(stack)))
    raw.update(changes)
    return parse(raw, stack)


def setting(config: StackConfig, year: int = 2026) -> str:
    plans = {t.key: layout.plans_for(config, t) for t in config.active_types}
    found = plan_start_windows(config.active_types, plans, config.opt_out_tags.cross_region, year)
    return json.dumps(windows.describe(found))


def coverage_config(stack_setting: str, **env: str) -> CoverageConfig:
    return CoverageConfig.from_settings(
        {
            "AWS_REGION": REGION,
            "DR_COVERAGE_TYPES": ",".join(RDS_FAMILY),
            windows.SETTING: stack_setting,
            **env,
        }
    )


def arn(kind: str, name: str) -> str:
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:{kind}:{name}"


def instance(
    name: str, backup: str, maintenance: str, retention: int = 7, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "DBInstanceIdentifier": name,
        "DBInstanceArn": arn("db", name),
        "Engine": "postgres",
        "DBInstanceStatus": "available",
        "PreferredBackupWindow": backup,
        "PreferredMaintenanceWindow": maintenance,
        "BackupRetentionPeriod": retention,
        "TagList": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }


def cluster(
    name: str, engine: str, backup: str, maintenance: str, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "DBClusterIdentifier": name,
        "DBClusterArn": arn("cluster", name),
        "Engine": engine,
        "Status": "available",
        "PreferredBackupWindow": backup,
        "PreferredMaintenanceWindow": maintenance,
        "BackupRetentionPeriod": 7,
        "TagList": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }


QUIET_MAINTENANCE = "sun:10:00-sun:10:30"  # blocks sun 09:00-10:30: clear of 05:00 and 07:00
INSTANCES = [
    instance("collides-backup", "05:10-05:40", QUIET_MAINTENANCE),
    instance("clear", "03:00-03:30", "mon:10:00-mon:10:30"),
    # Blocked 06:00-07:30: touches the end of the 05:00-06:00 start window, which is open there.
    instance("ends-where-full-ends", "07:00-07:30", QUIET_MAINTENANCE),
    # Same window, but the opt-out puts it in the 07:00 account-only plan.
    instance("xregion-opt-out", "07:00-07:30", QUIET_MAINTENANCE, tags={XREGION: "true"}),
    instance("maintenance-wednesday", "03:00-03:30", "wed:05:15-wed:05:45"),
    instance("backup-across-midnight", "22:00-05:15", QUIET_MAINTENANCE),
    instance("maintenance-across-midnight", "03:00-03:30", "sun:23:00-mon:05:30"),
    instance("clear-across-midnight", "23:45-00:15", "sat:23:30-sun:00:30"),
    instance("automated-backups-off", "05:10-05:40", QUIET_MAINTENANCE, retention=0),
    instance("opted-out", "05:10-05:40", QUIET_MAINTENANCE, tags={OPT_OUT: "true"}),
    instance("garbled", "5am-6am", QUIET_MAINTENANCE),
]
CLUSTERS = [
    cluster("aurora-exempt", "aurora-postgresql", "05:10-05:40", "tue:05:00-tue:05:30"),
    cluster(
        "docdb-collides",
        "docdb",
        "05:10-05:40",
        QUIET_MAINTENANCE,
        {catalog.CLUSTER_ENGINE_TAG: "documentdb"},
    ),
    cluster(
        "neptune-tuesday",
        "neptune",
        "03:00-03:30",
        "tue:06:30-tue:07:00",
        {catalog.CLUSTER_ENGINE_TAG: "neptune"},
    ),
    # A Multi-AZ DB cluster lands in the Aurora plans but, being RDS, is not exempt.
    cluster("multi-az", "mysql", "05:20-05:50", QUIET_MAINTENANCE),
]


def stub_databases(clients: Any, instances: list[dict[str, Any]], clusters: list[dict[str, Any]]) -> None:
    rds = clients.stub("rds")
    rds.add_response("describe_db_instances", {"DBInstances": instances}, {"MaxRecords": 100})
    rds.add_response("describe_db_clusters", {"DBClusters": clusters}, {"MaxRecords": 100})
    clients.stub("backup").add_response("list_protected_resources", {"Results": []}, {"MaxResults": 1000})


def test_prod_plans_start_at_05_and_07_utc_for_an_hour() -> None:
    config = coverage_config(setting(stack_config("prod")))

    assert config.plan_windows is not None
    assert set(config.plan_windows) == set(RDS_FAMILY)
    every_day = frozenset(range(7))
    for rules in config.plan_windows.values():
        assert rules == (
            windows.PlanWindows(
                "full", windows.Takes.WITHOUT_OPT_OUT, 60, (windows.PlanStart(300, every_day),)
            ),
            windows.PlanWindows(
                "account-only", windows.Takes.WITH_OPT_OUT, 60, (windows.PlanStart(420, every_day),)
            ),
        )


def test_every_collision_with_the_prod_schedule_is_reported(clients: Any) -> None:
    stub_databases(clients, INSTANCES, CLUSTERS)

    report = coverage.collect(coverage_config(setting(stack_config("prod"))), clients, NOW)

    found = sorted((f.name, f.plan, f.window, f.blocked) for f in report.window_conflicts)
    assert found == [
        ("backup-across-midnight", "full", "backup", "21:00-05:15 UTC daily"),
        ("collides-backup", "full", "backup", "04:10-05:40 UTC daily"),
        ("docdb-collides", "full", "backup", "04:10-05:40 UTC daily"),
        ("garbled", None, None, None),
        ("maintenance-across-midnight", "full", "maintenance", "sun:22:00-mon:05:30 UTC"),
        ("maintenance-wednesday", "full", "maintenance", "wed:04:15-wed:05:45 UTC"),
        ("multi-az", "full", "backup", "04:20-05:50 UTC daily"),
        ("neptune-tuesday", "full", "maintenance", "tue:05:30-tue:07:00 UTC"),
        ("xregion-opt-out", "account-only", "backup", "06:00-07:30 UTC daily"),
    ]
    by_name = {f.name: f for f in report.window_conflicts}
    assert by_name["collides-backup"].reason == (
        "plan full starts 05:00-06:00 UTC daily; backup window 05:10-05:40 blocks snapshot starts "
        "04:10-05:40 UTC daily"
    )
    assert by_name["multi-az"].type == "RDS"
    assert by_name["garbled"].reason == "cannot check: backup window '5am-6am' is not hh24:mi-hh24:mi"
    clients.assert_stubs_used()


def test_json_table_and_metric_name_the_databases(clients: Any) -> None:
    stub_databases(clients, INSTANCES[:1], [])
    config = coverage_config(setting(stack_config("prod")))

    report = coverage.collect(config, clients, NOW)

    assert report.as_dict()["window_conflicts"] == [
        {
            "type": "RDS",
            "arn": arn("db", "collides-backup"),
            "name": "collides-backup",
            "reason": "plan full starts 05:00-06:00 UTC daily; backup window 05:10-05:40 blocks snapshot "
            "starts 04:10-05:40 UTC daily",
            "plan": "full",
            "start": "05:00-06:00 UTC daily",
            "window": "backup",
            "rds_window": "05:10-05:40",
            "blocked": "04:10-05:40 UTC daily",
        }
    ]
    table = coverage.render_table(report)
    assert "RDS windows blocking a plan's start window: 1 databases" in table
    assert f"  RDS         {arn('db', 'collides-backup')}  plan full starts 05:00-06:00 UTC daily" in table
    metrics = {
        (m["MetricName"], tuple((d["Name"], d["Value"]) for d in m.get("Dimensions", []))): m["Value"]
        for m in coverage.metric_data(report)
    }
    assert metrics[("PrerequisiteFindings", (("Check", "rds-windows"),))] == 1.0


def test_split_layout_checks_both_plans_for_resources_without_the_opt_out(clients: Any) -> None:
    # Staging runs `split`: cross-region (05:00) takes resources without the opt-out, cross-account
    # (07:00) takes every resource.
    staging = setting(stack_config("staging"))
    stub_databases(
        clients,
        [
            instance("both-plans", "06:40-07:10", QUIET_MAINTENANCE),
            instance("opted-out-of-cross-region", "05:10-05:40", QUIET_MAINTENANCE, tags={XREGION: "true"}),
        ],
        [],
    )

    report = coverage.collect(coverage_config(staging, DR_PROTECTED_TYPES="RDS,Aurora"), clients, NOW)

    assert sorted((f.name, f.plan) for f in report.window_conflicts) == [
        ("both-plans", "cross-account"),
        ("both-plans", "cross-region"),
    ]


def test_time_zones_and_weekdays_become_utc_starts() -> None:
    config = stack_config(
        "prod",
        schedules={
            "crossRegion": "cron(0 5 ? * MON-FRI *)",
            "crossAccount": "cron(30 1 ? * MON *)",
            "timezone": "America/New_York",
        },
    )

    document = json.loads(setting(config))

    assert document["RDS"] == [
        {
            "plan": "full",
            "takes": "without-cross-region-opt-out",
            "start_minutes": 60,
            # 05:00 in New York is 09:00 UTC in summer and 10:00 UTC in winter.
            "starts": [
                {"utc": "09:00", "days": "mon,tue,wed,thu,fri"},
                {"utc": "10:00", "days": "mon,tue,wed,thu,fri"},
            ],
        },
        {
            "plan": "account-only",
            "takes": "with-cross-region-opt-out",
            "start_minutes": 60,
            "starts": [{"utc": "05:30", "days": "mon"}, {"utc": "06:30", "days": "mon"}],
        },
    ]
    assert set(document) == set(RDS_FAMILY)


def test_a_weekday_plan_ignores_a_maintenance_window_on_its_day_off(clients: Any) -> None:
    weekdays = setting(stack_config("prod", schedules={"crossRegion": "cron(0 5 ? * MON-FRI *)"}))
    stub_databases(
        clients,
        [
            instance("saturday-maintenance", "03:00-03:30", "sat:05:00-sat:05:30"),
            instance("friday-maintenance", "03:00-03:30", "fri:05:00-fri:05:30"),
        ],
        [],
    )

    report = coverage.collect(coverage_config(weekdays), clients, NOW)

    assert [(f.name, f.start) for f in report.window_conflicts] == [
        ("friday-maintenance", "05:00-06:00 UTC mon,tue,wed,thu,fri")
    ]


def test_a_continuous_rule_lifts_the_restriction() -> None:
    rule = windows.PlanWindows("full", windows.Takes.ALL, 60, (windows.PlanStart(300, frozenset(range(7))),))
    assert windows.conflicts([rule], "05:10-05:40", None)
    continuous = windows.PlanWindows("full", windows.Takes.ALL, 60, rule.starts, continuous=True)
    assert windows.conflicts([rule, continuous], "05:10-05:40", None) == []


def test_without_the_setting_the_check_is_skipped_and_says_why(clients: Any) -> None:
    stub_databases(clients, INSTANCES[:1], [])
    config = CoverageConfig.from_settings({"AWS_REGION": REGION, "DR_COVERAGE_TYPES": "RDS"})

    report = coverage.collect(config, clients, NOW)

    assert report.window_conflicts == []
    assert report.skipped_checks["rds-windows"] == "--plan-start-windows (DR_PLAN_START_WINDOWS) is not set"
    assert "rds-windows" not in report.findings_per_check()


@pytest.mark.parametrize(
    ("a", "b", "period", "expected"),
    [
        ((300, 60), (250, 90), 1440, True),  # [05:00,06:00) meets [04:10,05:40)
        ((300, 60), (360, 90), 1440, False),  # ends where the other begins
        ((300, 60), (210, 90), 1440, False),  # the other ends where this begins
        ((1410, 60), (0, 30), 1440, True),  # 23:30 + 60 crosses midnight into [00:00,00:30)
        ((0, 60), (1380, 30), 1440, False),  # [23:00,23:30) is clear of [00:00,01:00)
        ((300, 1440), (1000, 10), 1440, True),  # a start window of a day meets everything
        ((10060, 60), (20, 30), 10080, True),  # sun 23:40 + 60 meets mon 00:20
    ],
)
def test_overlap_on_a_circle(a: tuple[int, int], b: tuple[int, int], period: int, expected: bool) -> None:
    assert windows.overlaps(*a, *b, period) is expected
    assert windows.overlaps(*b, *a, period) is expected


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("05:10-05:40", (310, 30)), ("23:45-00:15", (1425, 30)), ("22:00-05:15", (1320, 435))],
)
def test_daily_windows(text: str, parsed: tuple[int, int]) -> None:
    assert windows.daily_window(text) == parsed


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("mon:00:00-mon:00:30", (0, 30)),
        ("sun:23:30-mon:00:00", (10050, 30)),
        ("Wed:05:15-wed:05:45", (3195, 30)),
    ],
)
def test_weekly_windows(text: str, parsed: tuple[int, int]) -> None:
    assert windows.weekly_window(text) == parsed


@pytest.mark.parametrize("text", ["05:10-05:10", "25:00-01:00", "05:10"])
def test_unreadable_daily_windows(text: str) -> None:
    with pytest.raises(windows.WindowFormatError, match="backup window"):
        windows.daily_window(text)


@pytest.mark.parametrize("text", ["xyz:05:00-mon:05:30", "mon:05:00-mon:05:00", "mon 05:00"])
def test_unreadable_weekly_windows(text: str) -> None:
    with pytest.raises(windows.WindowFormatError, match="maintenance window"):
        windows.weekly_window(text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", r"^--plan-start-windows \(DR_PLAN_START_WINDOWS\): not JSON"),
        ('{"RDS": {}}', r"\(DR_PLAN_START_WINDOWS\): RDS must be a list of plans"),
        (
            '{"RDS": [{"plan": "full", "takes": "some", "start_minutes": 60, "starts": []}]}',
            r"takes must be one of",
        ),
        (
            '{"RDS": [{"plan": "full", "takes": "all", "start_minutes": 60, "starts": [{"utc": "5:00", "days": "daily"}]}]}',
            r"\(DR_PLAN_START_WINDOWS\): RDS\[0\].starts\[0\].utc must be hh:mm, got '5:00'",
        ),
        (
            '{"RDS": [{"plan": "full", "takes": "all", "start_minutes": 60, "starts": [{"utc": "05:00", "days": "mo"}]}]}',
            r"days must be 'daily' or a list like 'mon,tue', got 'mo'",
        ),
        ('{"Redshift": []}', r"\(DR_PLAN_START_WINDOWS\): unknown type 'Redshift'"),
    ],
)
def test_a_bad_setting_names_the_variable(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CoverageConfig.from_settings({"AWS_REGION": REGION, windows.SETTING: value})
