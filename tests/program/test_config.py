"""Bad stack config fails before any resource is registered, with the key, the value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, Environment, Layout, parse
from drplan.graph import RegisteredResource
from drplan.program import register_stack
from tests.config_mutations import Mutation, set_key

NS = "aws-dr-backup:"


def _set(path: str, value: Any) -> Mutation:
    """Set ``a.b.c`` inside the namespaced key ``aws-dr-backup:a``."""
    return set_key(NS.removesuffix(":"), path, value)


# (id, mutation, substrings the one error message must contain: key, value, what is allowed)
BAD_PROD_INPUT: list[tuple[str, Mutation, tuple[str, ...]]] = [
    (
        "fleet-bucket-name",
        _set("operations.fleetBucket", "Fleet_Bucket"),
        ("aws-dr-backup:operations.fleetBucket = 'Fleet_Bucket'", "an S3 bucket name"),
    ),
    (
        "account-format",
        _set("accounts.workload", "12345"),
        ("aws-dr-backup:accounts.workload = '12345'", "12-digit AWS account ID"),
    ),
    (
        "account-unquoted",
        _set("accounts.isolated", 222222222222),
        ("aws-dr-backup:accounts.isolated = 222222222222", "must be a string (quote it"),
    ),
    (
        "same-account",
        _set("accounts.isolated", "111111111111"),
        ("aws-dr-backup:accounts", "isolated must differ from workload (111111111111)"),
    ),
    (
        "unknown-resource-type",
        _set("resourceTypes.redshift.active", True),
        ("resourceTypes has unknown type 'redshift'", "allowed: s3, ebs, efs, dynamodb, rds, aurora"),
    ),
    (
        "start-window-under-60",
        _set("windows.startMinutes", 30),
        ("aws-dr-backup:windows.startMinutes = 30", "greater than or equal to 60"),
    ),
    (
        "completion-not-after-start",
        _set("windows.completionMinutes", 60),
        ("aws-dr-backup:windows", "completionMinutes (60) must be greater than startMinutes (60)"),
    ),
    (
        "air-gapped-copy-below-vault-minimum",
        _set("retention.airGappedCopy.deleteAfterDays", 3),
        ("retention.airGappedCopy.deleteAfterDays (3)", "retention range [7, 35]"),
    ),
    (
        "air-gapped-copy-above-vault-maximum",
        _set("retention.airGappedCopy.deleteAfterDays", 90),
        ("retention.airGappedCopy.deleteAfterDays (90)", "retention range [7, 35]"),
    ),
    (
        "s3-continuous-over-35",
        _set("retention.s3ContinuousDays", 40),
        ("aws-dr-backup:retention.s3ContinuousDays = 40", "less than or equal to 35"),
    ),
    (
        "disabled-type-in-prod",
        _set("resourceTypes.ebs.active", False),
        ("resourceTypes.ebs.active is false", "production stack protects every resource type"),
    ),
    (
        "cold-storage-90-day-rule",
        _set("retention.inRegion", {"deleteAfterDays": 30, "coldStorageAfterDays": 10}),
        (
            "aws-dr-backup:retention.inRegion",
            "deleteAfterDays (30) must be at least coldStorageAfterDays + 90 (100)",
        ),
    ),
    (
        "cold-storage-on-air-gapped-copy",
        _set("retention.airGappedCopy", {"deleteAfterDays": 7, "coldStorageAfterDays": 1}),
        (
            "aws-dr-backup:retention.airGappedCopy: deleteAfterDays (7) must be at least coldStorageAfterDays + 90 (91)",
        ),
    ),
    (
        "cold-storage-into-air-gapped-vault",
        lambda config: (
            _set("airGappedVault.maxRetentionDays", 200)(config),
            _set("retention.airGappedCopy", {"deleteAfterDays": 100, "coldStorageAfterDays": 5})(config),
        ),
        ("retention.airGappedCopy.coldStorageAfterDays must be unset",),
    ),
    (
        "unknown-layout",
        _set("layout", "mixed"),
        ("aws-dr-backup:layout = 'mixed'", "'split' or 'partitioned'"),
    ),
    (
        "misspelt-key",
        _set("resourceType", {"s3": {"active": True}}),
        ("aws-dr-backup:resourceType", "unknown setting"),
    ),
    (
        "air-gapped-minimum-under-7",
        _set("airGappedVault.minRetentionDays", 5),
        ("aws-dr-backup:airGappedVault.minRetentionDays = 5", "greater than or equal to 7"),
    ),
    (
        "air-gapped-max-below-min",
        _set("airGappedVault", {"minRetentionDays": 14, "maxRetentionDays": 10}),
        ("aws-dr-backup:airGappedVault", "maxRetentionDays (10) must be at least minRetentionDays (14)"),
    ),
    (
        "cron-five-fields",
        _set("schedules.crossRegion", "cron(0 5 * * *)"),
        ("aws-dr-backup:schedules.crossRegion = 'cron(0 5 * * *)': it has 5 fields; AWS cron has 6",),
    ),
    (
        "cron-without-question-mark",
        _set("schedules.crossAccount", "cron(0 7 * * * *)"),
        (
            "aws-dr-backup:schedules.crossAccount = 'cron(0 7 * * * *)'",
            "exactly one of day-of-month and day-of-week must be '?'",
        ),
    ),
    (
        "same-regions",
        _set("regions.dr", "us-east-1"),
        ("aws-dr-backup:regions", "dr must differ from primary (us-east-1)"),
    ),
    (
        "bad-region",
        _set("regions.dr", "east"),
        ("aws-dr-backup:regions.dr = 'east'", "not an AWS region where AWS Backup runs", "us-east-2"),
    ),
    (
        "role-arn-in-other-account",
        _set("isolatedAccountRole", "arn:aws:iam::999999999999:role/Deployer"),
        ("isolatedAccountRole (arn:aws:iam::999999999999:role/Deployer)", "isolated account 222222222222"),
    ),
    (
        "too-many-kubernetes-clusters",
        _set("kubernetesClusters", [f"cluster-{i}" for i in range(29)]),
        ("kubernetesClusters has 29 entries; at most 28",),
    ),
    (
        "bad-prefix",
        _set("prefix", "Prod_DR"),
        ("aws-dr-backup:prefix = 'Prod_DR'", "lower-case letters"),
    ),
    (
        "prod-stack-not-production",
        _set("environment", "staging"),
        ("aws-dr-backup:environment = 'staging'", "stack 'prod' must be 'production'"),
    ),
    (
        "watchdog-threshold-not-below-completion-window",
        _set("operations.longRunningJobMinutes", 360),
        ("operations.longRunningJobMinutes (360) must be at most windows.completionMinutes (360) minus",),
    ),
    (
        "watchdog-threshold-leaves-no-run-before-the-window-ends",
        _set("operations.longRunningJobMinutes", 350),
        ("operations.longRunningJobMinutes (350)", "15-minute interval"),
    ),
    (
        "alert-topic-in-another-region",
        _set("operations.alerts.topicArns", ["arn:aws:sns:eu-west-1:111111111111:paging"]),
        (
            "operations.alerts.topicArns has arn:aws:sns:eu-west-1:111111111111:paging",
            "us-east-1 or us-east-2",
        ),
    ),
    (
        "bridge-bucket-name-too-long",
        _set("bridges.opensearch.clusterName", "a-very-long-kubernetes-cluster-name-x"),
        ("bridges.opensearch.clusterName (a-very-long-kubernetes-cluster-name-x)", "S3 allows 63"),
    ),
    (
        "bridge-cluster-name-upper-case",
        _set("bridges.memorydb.clusterName", "Cache"),
        (
            "aws-dr-backup:bridges.memorydb.clusterName = 'Cache'",
            "lower-case letters, digits and single hyphens",
        ),
    ),
    (
        "log-retention-not-a-cloudwatch-period",
        _set("logRetentionDays", 10),
        ("aws-dr-backup:logRetentionDays (10) must be one of CloudWatch Logs' periods: 1, 3, 5, 7, 14",),
    ),
    (
        "alert-email-malformed",
        _set("operations.alerts.emails", ["oncall.example.com"]),
        ("aws-dr-backup:operations.alerts.emails.0 = 'oncall.example.com'", "must be an e-mail address"),
    ),
    (
        "restore-testing-validation-window-over-a-week",
        _set("operations.restoreTesting.validationWindowHours", 200),
        ("aws-dr-backup:operations.restoreTesting.validationWindowHours = 200", "must be 1 to 168 hours"),
    ),
    (
        # The provider's validator refuses 0 in Check, so preview would fail (tests/provider).
        "restore-testing-validation-window-zero",
        _set("operations.restoreTesting.validationWindowHours", 0),
        ("aws-dr-backup:operations.restoreTesting.validationWindowHours = 0", "must be 1 to 168 hours"),
    ),
    (
        "stack-tags-opt-out",
        _set("tags", {"exclude-disaster-recovery-backup": "true"}),
        ("tags must not set exclude-disaster-recovery-backup",),
    ),
    (
        "missing-accounts",
        lambda config: config.pop(NS + "accounts"),
        ("aws-dr-backup:accounts: required setting is missing",),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BAD_PROD_INPUT], ids=[i for i, _, _ in BAD_PROD_INPUT]
)
def test_bad_input_fails_before_anything_is_registered(
    prod_config: dict[str, Any], mutate: Mutation, expected: tuple[str, ...]
) -> None:
    mutate(prod_config)
    registered: list[RegisteredResource] = []
    with pytest.raises(ConfigError) as caught:
        register_stack("prod", config=prod_config, recorder=registered)
    message = str(caught.value)
    assert message.startswith("Invalid configuration for stack 'prod':")
    for fragment in expected:
        assert fragment in message
    assert registered == []


def test_staging_may_switch_types_off(staging_config: dict[str, Any]) -> None:
    raw = {k.removeprefix(NS): v for k, v in staging_config.items()}
    config = parse(raw, "staging")
    assert config.environment is Environment.STAGING
    assert [t.key for t in config.active_types] == ["s3", "ebs", "efs", "dynamodb", "rds", "aurora"]


def test_bridges_need_s3_protection(staging_config: dict[str, Any]) -> None:
    staging_config[NS + "resourceTypes"]["s3"] = {"active": False}
    registered: list[RegisteredResource] = []
    with pytest.raises(ConfigError, match=r"resourceTypes.s3.active is false, but bridges are configured"):
        register_stack("staging", config=staging_config, recorder=registered)
    assert registered == []


def test_prod_defaults_to_partitioned_layout(prod_config: dict[str, Any]) -> None:
    raw = {k.removeprefix(NS): v for k, v in prod_config.items() if k != NS + "layout"}
    assert parse(raw, "prod").layout is Layout.PARTITIONED


def test_other_namespaces_are_ignored(prod_config: dict[str, Any]) -> None:
    prod_config["aws:region"] = "us-east-1"
    graph = register_stack("prod", config=prod_config)
    assert graph.resources
