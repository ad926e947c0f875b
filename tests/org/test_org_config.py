"""Bad organisation config fails before any resource is registered, naming the key, value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from org.org_config import parse
from tests.config_mutations import Mutation
from tests.org.org_graphs import NS, assert_refused_before_registering, drop_org, set_org

BAD_INPUT: list[tuple[str, Mutation, tuple[str, ...]]] = [
    (
        "organization-id",
        set_org("organizationId", "o-short"),
        ("aws-dr-backup-org:organizationId = 'o-short'", "AWS Organizations ID: o- and 10-32"),
    ),
    ("missing-organization-id", drop_org("organizationId"), ("organizationId: required setting is missing",)),
    (
        "management-account-format",
        set_org("accounts.management", "5555"),
        ("aws-dr-backup-org:accounts.management = '5555'", "12-digit AWS account ID"),
    ),
    (
        "reports-in-management",
        set_org("accounts.reports", "777777777777"),
        ("aws-dr-backup-org:accounts", "reports must differ from management (777777777777)"),
    ),
    (
        "management-as-delegated-administrator",
        set_org("accounts.delegatedAdministrator", "777777777777"),
        ("delegatedAdministrator must differ from management (777777777777)", "cannot register"),
    ),
    (
        "workload-twice",
        set_org("accounts.workloads", ["111111111111", "111111111111"]),
        ("workloads lists 111111111111 twice",),
    ),
    (
        "workload-unquoted",
        set_org("accounts.workloads", [111111111111]),
        ("aws-dr-backup-org:accounts.workloads.0 = 111111111111", "must be a string (quote it"),
    ),
    (
        "delegated-administrator-without-role",
        drop_org("roles.delegatedAdministrator"),
        ("roles.delegatedAdministrator is required with accounts.delegatedAdministrator",),
    ),
    (
        "role-without-delegated-administrator",
        drop_org("accounts.delegatedAdministrator"),
        ("roles.delegatedAdministrator is set but accounts.delegatedAdministrator is not",),
    ),
    (
        "reports-role-in-another-account",
        set_org("roles.reports", "arn:aws:iam::999999999999:role/Deployer"),
        ("roles.reports (arn:aws:iam::999999999999:role/Deployer)", "role ARN in account 222222222222"),
    ),
    (
        "reports-role-not-a-role",
        set_org("roles.reports", "not a role!"),
        ("aws-dr-backup-org:roles.reports = 'not a role!'", "IAM role name or a role ARN"),
    ),
    (
        "organizational-unit-format",
        set_org("jobReports.organizationUnits", ["finance"]),
        ("aws-dr-backup-org:jobReports.organizationUnits.0 = 'finance'", "organizational unit ID"),
    ),
    (
        "reports-without-monitoring",
        set_org("crossAccountMonitoring", False),
        ("crossAccountMonitoring is false", "delegated administrator only for a service with trusted access"),
    ),
    (
        "same-regions",
        set_org("regions.dr", "us-east-1"),
        ("aws-dr-backup-org:regions", "dr must differ from primary (us-east-1)"),
    ),
    (
        "unknown-key",
        set_org("globalSettings.crossAccountBackup", False),
        ("aws-dr-backup-org:globalSettings.crossAccountBackup = false", "unknown setting"),
    ),
    (
        "reader-not-a-role-arn",
        set_org("coverageBucket.readerRoles", ["*"]),
        ("aws-dr-backup-org:coverageBucket.readerRoles.0 = '*'", "must be an IAM role ARN"),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BAD_INPUT], ids=[i for i, _, _ in BAD_INPUT]
)
def test_bad_input_fails_before_anything_is_registered(
    org_config: dict[str, Any], mutate: Mutation, expected: tuple[str, ...]
) -> None:
    assert_refused_before_registering(org_config, mutate, expected)


def test_reports_without_monitoring_is_rejected_on_its_own(org_config: dict[str, Any]) -> None:
    raw = {k.removeprefix(NS): v for k, v in org_config.items()}
    del raw["accounts"]["delegatedAdministrator"]
    del raw["roles"]["delegatedAdministrator"]
    raw["crossAccountMonitoring"] = False
    with pytest.raises(ConfigError, match=r"jobReports\.enabled is true: organisation-wide job reports"):
        parse(raw, "management")
    raw["jobReports"] = {"enabled": False}
    assert parse(raw, "management").cross_account_monitoring is False


def test_report_plans_live_with_the_delegated_administrator(org_config: dict[str, Any]) -> None:
    raw = {k.removeprefix(NS): v for k, v in org_config.items()}
    config = parse(raw, "management")
    assert config.report_plan_account == "888888888888"
    assert config.report_accounts == ("ROOT",)
    assert config.reports_role_arn == "arn:aws:iam::222222222222:role/AwsDrBackupDeployer"
