"""Restore testing plans and selections; the Audit Manager framework and its report delivery."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.config import ConfigError
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import register_stack
from tests.operations_infra.graphs import (
    DR,
    ISOLATED,
    PRIMARY,
    PROD_TYPES,
    VAULT,
    WORKLOAD,
    in_region,
    one,
    provider_name,
    statements,
)

PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"
SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"
FRAMEWORK = "aws:backup/framework:Framework"
REPORT_PLAN = "aws:backup/reportPlan:ReportPlan"
# Restore-testing names: letters, digits, underscores (docs/aws-facts.md#8-restore-testing 8.1);
# framework/report names: docs/aws-facts.md#7-audit-manager 7.2.
RESTORE_NAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")
AUDIT_NAME = re.compile(r"^[a-zA-Z][_a-zA-Z0-9]{0,255}$")
AIR_GAPPED = f"arn:aws:backup:{PRIMARY}:{ISOLATED}:backup-vault:dr-prod-{WORKLOAD}-air-gapped"


# --- restore testing ----------------------------------------------------------------------------


def _plans(graph: StackGraph) -> dict[str, RegisteredResource]:
    return {p.inputs["name"]: p for p in graph.by_type(PLAN)}


def test_one_plan_per_place_recovery_points_live(prod_graph: StackGraph) -> None:
    plans = _plans(prod_graph)
    assert set(plans) == {
        "dr_prod_restore_test_use1",
        "dr_prod_restore_test_use2",
        "dr_prod_restore_test_air_gapped",
    }
    vaults = {
        region: sorted(v.inputs["name"] for v in in_region(prod_graph, VAULT, region))
        for region in (PRIMARY, DR)
    }
    for name, region, included in (
        (
            "dr_prod_restore_test_use1",
            PRIMARY,
            [f"arn:aws:backup:{PRIMARY}:{WORKLOAD}:backup-vault:{v}" for v in vaults[PRIMARY]],
        ),
        (
            "dr_prod_restore_test_use2",
            DR,
            [f"arn:aws:backup:{DR}:{WORKLOAD}:backup-vault:{v}" for v in vaults[DR]],
        ),
        ("dr_prod_restore_test_air_gapped", PRIMARY, [AIR_GAPPED]),
    ):
        plan = plans[name]
        assert RESTORE_NAME.match(name)
        assert "-" not in name
        assert provider_name(plan) == ("origin" if region == PRIMARY else "cross-region")
        assert plan.inputs["scheduleExpression"] == "cron(0 10 ? * SAT *)"
        assert plan.inputs["scheduleExpressionTimezone"] == "Etc/UTC"
        assert plan.inputs["startWindowHours"] == 24
        selection = plan.inputs["recoveryPointSelection"]
        assert sorted(selection["includeVaults"]) == sorted(included)
        assert selection["algorithm"] == "LATEST_WITHIN_WINDOW"
        assert selection["selectionWindowDays"] == 7
    # Continuous (point-in-time) recovery points exist only in the primary vaults (S3).
    assert plans["dr_prod_restore_test_use1"].inputs["recoveryPointSelection"]["recoveryPointTypes"] == [
        "CONTINUOUS",
        "SNAPSHOT",
    ]
    assert plans["dr_prod_restore_test_use2"].inputs["recoveryPointSelection"]["recoveryPointTypes"] == [
        "SNAPSHOT"
    ]


def test_every_plan_tests_every_active_type(prod_graph: StackGraph) -> None:
    plans = _plans(prod_graph)
    selections = prod_graph.by_type(SELECTION)
    assert len(selections) == len(plans) * len(PROD_TYPES)
    for plan_name in plans:
        mine = [s for s in selections if s.inputs["restoreTestingPlanName"] == plan_name]
        assert sorted(s.inputs["protectedResourceType"] for s in mine) == sorted(PROD_TYPES)
        for selection in mine:
            assert RESTORE_NAME.match(selection.inputs["name"])
            assert "-" not in selection.inputs["name"]
            assert selection.inputs["validationWindowHours"] == 4
            # Conditions only: the provider pulumi-aws bridges takes ARNs or conditions, not both.
            assert "protectedResourceArns" not in selection.inputs
            assert selection.inputs["protectedResourceConditions"] == {
                "stringNotEquals": [
                    {"key": "aws:ResourceTag/exclude-disaster-recovery-backup", "value": "true"}
                ]
            }
            assert provider_name(selection) == provider_name(plans[plan_name])


def test_restore_testing_role_restores_only(prod_graph: StackGraph) -> None:
    role = one(prod_graph, "aws:iam/role:Role", name="dr-prod-restore-testing-AWSBackupRole")
    [trust] = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": WORKLOAD}}
    attached = {
        a.inputs["policyArn"]
        for a in prod_graph.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("restore-testing-role-policy-")
    }
    assert attached == {
        "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
        "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
    }
    for selection in prod_graph.by_type(SELECTION):
        assert (
            selection.inputs["iamRoleArn"]
            == f"arn:aws:iam::{WORKLOAD}:role/dr-prod-restore-testing-AWSBackupRole"
        )


def test_restore_testing_can_be_switched_off(staging_graph: StackGraph) -> None:
    assert staging_graph.by_type(PLAN) == []
    assert staging_graph.by_type(SELECTION) == []


# --- audit --------------------------------------------------------------------------------------


def _primary_framework(graph: StackGraph) -> RegisteredResource:
    [framework] = [f for f in graph.by_type(FRAMEWORK) if provider_name(f) == "origin"]
    return framework


def _controls(graph: StackGraph) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in _primary_framework(graph).inputs["controls"]}


def _params(control: dict[str, object]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in control.get("inputParameters", [])}  # type: ignore[attr-defined]


def test_framework_controls_match_the_design(prod_graph: StackGraph) -> None:
    framework = _primary_framework(prod_graph)
    assert AUDIT_NAME.match(framework.inputs["name"])
    assert "-" not in framework.inputs["name"]
    assert provider_name(framework) == "origin"
    controls = _controls(prod_graph)
    assert set(controls) == {
        "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
        "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION",
        "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT",
        "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT",
        "BACKUP_LAST_RECOVERY_POINT_CREATED",
        "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
        "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
        "BACKUP_RECOVERY_POINT_ENCRYPTED",
        "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
    }
    assert _params(controls["BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION"]) == {"crossRegionList": DR}
    assert _params(controls["BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT"]) == {"crossAccountList": ISOLATED}
    # 26 h "recent" + the 6 h completion window.
    age = {"recoveryPointAgeUnit": "hours", "recoveryPointAgeValue": "32"}
    assert _params(controls["RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT"]) == age
    assert _params(controls["BACKUP_LAST_RECOVERY_POINT_CREATED"]) == age
    assert _params(controls["BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK"]) == {
        "requiredRetentionDays": "1"
    }
    assert _params(controls["BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"]) == {
        "requiredFrequencyUnit": "days",
        "requiredFrequencyValue": "1",
        "requiredRetentionDays": "1",
    }
    for name in ("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN", "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT"):
        assert controls[name]["scope"] == {"complianceResourceTypes": list(PROD_TYPES)}
    # AWS Config has air-gapped-vault rules for S3, EBS, EFS and Aurora only, and RDS's copy goes to the
    # locked vault (the cross-account control above covers it).
    assert controls["RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT"]["scope"] == {
        "complianceResourceTypes": ["S3", "EBS", "EFS", "Aurora"]
    }


def test_no_air_gapped_control_without_a_type_it_can_evaluate() -> None:
    from components.operations.audit import AuditArgs, controls
    from dr_model import catalog

    args = AuditArgs(
        prefix="dr-test",
        account="111111111111",
        region="us-east-1",
        dr_region="us-east-2",
        isolated_account="222222222222",
        types=[catalog.get("rds"), catalog.get("dynamodb"), catalog.get("neptune")],
        min_retention_days=1,
        recovery_point_max_age_hours=32,
    )
    names = [c.name for c in controls(args)]
    assert "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT" not in names
    assert "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT" in names


def test_restore_times_are_checked_against_the_target_where_the_tests_run(prod_graph: StackGraph) -> None:
    # Restore tests run in the primary region (in-region and air-gapped plans) and in the DR region
    # (the us-east-2 copies); Audit Manager frameworks evaluate their own region, so one in each.
    primary = _controls(prod_graph)["RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"]
    assert _params(primary) == {"maxRestoreTime": "240"}
    assert primary["scope"] == {"complianceResourceTypes": list(PROD_TYPES)}
    [dr] = [f for f in prod_graph.by_type(FRAMEWORK) if provider_name(f) == "cross-region"]
    assert AUDIT_NAME.match(dr.inputs["name"])
    assert [c["name"] for c in dr.inputs["controls"]] == ["RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"]
    assert dr.inputs["controls"][0] == primary
    plans = _plans(prod_graph)
    assert provider_name(plans["dr_prod_restore_test_use2"]) == provider_name(dr)


def test_no_restore_time_control_without_restore_testing(staging_graph: StackGraph) -> None:
    assert "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET" not in _controls(staging_graph)
    assert [provider_name(f) for f in staging_graph.by_type(FRAMEWORK)] == ["origin"]


def test_staging_scopes_controls_to_its_types(staging_graph: StackGraph) -> None:
    scope = _controls(staging_graph)["BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"]["scope"]
    assert scope == {"complianceResourceTypes": ["S3", "EBS", "EFS", "DynamoDB", "RDS", "Aurora"]}


def _by_urn(graph: StackGraph) -> dict[str, RegisteredResource]:
    return {r.urn: r for r in graph.resources}


def test_reports_role_exists_before_the_bucket_policy_names_it(prod_graph: StackGraph) -> None:
    [role] = prod_graph.by_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert role.inputs["awsServiceName"] == "reports.backup.amazonaws.com"
    [policy] = [
        p for p in prod_graph.by_type("aws:s3/bucketPolicy:BucketPolicy") if p.name == "audit-reports-policy"
    ]
    assert role.urn in policy.dependencies
    document = statements(policy.inputs["policy"])
    deliver = next(s for s in document if s["Sid"] == "BackupReportsDeliver")
    assert deliver["Principal"] == {
        "AWS": f"arn:aws:iam::{WORKLOAD}:role/aws-service-role/reports.backup.amazonaws.com/AWSServiceRoleForBackupReports"
    }
    assert deliver["Action"] == "s3:PutObject"
    assert deliver["Condition"] == {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    deny = next(s for s in document if s["Effect"] == "Deny")
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Report plans are created after the policy, so the first delivery is accepted.
    for plan in prod_graph.by_type(REPORT_PLAN):
        assert policy.urn in plan.dependencies


def test_report_bucket_is_private_versioned_and_encrypted(prod_graph: StackGraph) -> None:
    bucket = one(prod_graph, "aws:s3/bucket:Bucket", bucket=f"dr-prod-backup-reports-{WORKLOAD}-{PRIMARY}")
    bucket_id = bucket.id

    def setting(type_token: str) -> RegisteredResource:
        [found] = [r for r in prod_graph.by_type(type_token) if r.inputs["bucket"] == bucket_id]
        return found

    assert (
        setting("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"]
        == "Enabled"
    )
    encryption = setting(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    block = setting("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert setting("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }


@pytest.mark.parametrize("template", ["CONTROL_COMPLIANCE_REPORT", "RESOURCE_COMPLIANCE_REPORT"])
def test_report_plans_deliver_compliance_of_the_framework(prod_graph: StackGraph, template: str) -> None:
    [plan] = [
        p for p in prod_graph.by_type(REPORT_PLAN) if p.inputs["reportSetting"]["reportTemplate"] == template
    ]
    assert AUDIT_NAME.match(plan.inputs["name"])
    assert "-" not in plan.inputs["name"]
    framework = _primary_framework(prod_graph)
    [arn] = plan.inputs["reportSetting"]["frameworkArns"]
    assert arn.endswith(framework.inputs["name"])
    assert framework.urn in plan.property_dependencies["reportSetting"]
    assert (
        plan.inputs["reportDeliveryChannel"]["s3BucketName"] == f"dr-prod-backup-reports-{WORKLOAD}-{PRIMARY}"
    )


def test_restore_time_target_comes_from_the_stack_config(prod_stack_config: dict[str, Any]) -> None:
    prod_stack_config["aws-dr-backup:operations"]["restoreTesting"]["targetMinutes"] = 90
    graph = register_stack("prod", config=prod_stack_config)
    frameworks = graph.by_type(FRAMEWORK)
    assert len(frameworks) == 2
    for framework in frameworks:
        [control] = [
            c for c in framework.inputs["controls"] if c["name"] == "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"
        ]
        assert _params(control) == {"maxRestoreTime": "90"}


@pytest.mark.parametrize("value", [0, 10081, "4h"])
def test_restore_time_target_out_of_range_is_refused_naming_the_key(
    prod_stack_config: dict[str, Any], value: Any
) -> None:
    prod_stack_config["aws-dr-backup:operations"]["restoreTesting"]["targetMinutes"] = value
    recorded: list[RegisteredResource] = []
    with pytest.raises(ConfigError, match=r"operations\.restoreTesting\.targetMinutes"):
        register_stack("prod", config=prod_stack_config, recorder=recorded)
    assert recorded == []
