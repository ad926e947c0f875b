"""The organisation program under Pulumi's mocks, fed its real stack file (org/Pulumi.management.yaml)."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from drplan.graph import StackGraph
from tests.org.org_graphs import (
    BUCKET,
    BUCKET_POLICY,
    DELEGATED,
    DELEGATED_ADMIN,
    GLOBAL_SETTINGS,
    JOB_BUCKET,
    LINKED_ROLE,
    MANAGEMENT,
    NS,
    ORGANIZATION_ID,
    RAM_SHARING,
    REPORT_PLAN,
    REPORTS,
    SERVICE_ACCESS,
    VERIFIER,
    WORKLOADS,
    of_bucket,
    one,
    provider_of,
    run_org,
    statements,
)

REPORTS_ROLE = "role/aws-service-role/reports.backup.amazonaws.com/AWSServiceRoleForBackupReports"


def _without_delegated_administrator(config: dict[str, Any]) -> dict[str, Any]:
    del config[NS + "accounts"]["delegatedAdministrator"]
    del config[NS + "roles"]["delegatedAdministrator"]
    return config


# --- providers --------------------------------------------------------------------------------------


def test_providers_are_pinned_to_their_accounts(org_graph: StackGraph) -> None:
    providers = {r.name: r.inputs for r in org_graph.by_type("pulumi:providers:aws")}
    assert set(providers) == {"management", "management-dr", "reports", "delegated-administrator", "verifier"}
    expected = {
        "management": (MANAGEMENT, "us-east-1", None),
        "management-dr": (MANAGEMENT, "us-east-2", None),
        "reports": (REPORTS, "us-east-1", f"arn:aws:iam::{REPORTS}:role/AwsDrBackupDeployer"),
        "delegated-administrator": (
            DELEGATED,
            "us-east-1",
            f"arn:aws:iam::{DELEGATED}:role/AwsDrBackupDeployer",
        ),
        "verifier": (VERIFIER, "us-east-1", f"arn:aws:iam::{VERIFIER}:role/AwsDrBackupDeployer"),
    }
    for name, (account, region, role) in expected.items():
        inputs = providers[name]
        assert json.loads(inputs["allowedAccountIds"]) == [account]
        assert inputs["region"] == region
        roles = json.loads(inputs["assumeRoles"]) if "assumeRoles" in inputs else []
        assert [r["roleArn"] for r in roles] == ([role] if role else [])
        assert json.loads(inputs["defaultTags"])["tags"]["pulumi-project"] == "aws-dr-backup-org"


# --- global settings, trusted access, delegated administrator -------------------------------------


def test_global_settings_turn_cross_account_backup_on_in_both_regions(org_graph: StackGraph) -> None:
    settings = org_graph.by_type(GLOBAL_SETTINGS)
    regions = sorted(provider_of(org_graph, s)["region"] for s in settings)
    assert regions == ["us-east-1", "us-east-2"]
    for resource in settings:
        assert provider_of(org_graph, resource)["account"] == MANAGEMENT
        # The complete map: a key left out would show as a difference on every preview.
        assert resource.inputs["globalSettings"] == {
            "isCrossAccountBackupEnabled": "true",
            "isMpaEnabled": "true",
            "isDelegatedAdministratorEnabled": "true",
        }
        assert one(org_graph, SERVICE_ACCESS).urn in resource.dependencies


def _warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: said.append(message))
    return said


def test_multi_party_approval_is_on_by_default_for_the_runbook(
    org_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    del org_config[NS + "globalSettings"]
    warned = _warnings(monkeypatch)
    graph = run_org(_without_delegated_administrator(org_config))
    for resource in graph.by_type(GLOBAL_SETTINGS):
        assert resource.inputs["globalSettings"]["isMpaEnabled"] == "true"
        assert resource.inputs["globalSettings"]["isDelegatedAdministratorEnabled"] == "false"
        assert resource.inputs["globalSettings"]["isCrossAccountBackupEnabled"] == "true"
    assert warned == []


def test_turning_multi_party_approval_off_is_owned_and_said(
    org_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    org_config[NS + "globalSettings"] = {"multiPartyApproval": False}
    warned = _warnings(monkeypatch)
    graph = run_org(org_config)
    assert [s.inputs["globalSettings"]["isMpaEnabled"] for s in graph.by_type(GLOBAL_SETTINGS)] == [
        "false",
        "false",
    ]
    # A console change would be reverted by the next update: every run says so.
    assert len(warned) == 1
    assert "globalSettings.multiPartyApproval is false" in warned[0]
    assert "turning multi-party approval off even if it was turned on in the console" in warned[0]


def test_trusted_access_and_ram_sharing_survive_the_stack(org_graph: StackGraph) -> None:
    access = one(org_graph, SERVICE_ACCESS)
    assert access.inputs == {"servicePrincipal": "backup.amazonaws.com"}
    ram = one(org_graph, RAM_SHARING)
    for resource in (access, ram):
        assert provider_of(org_graph, resource)["account"] == MANAGEMENT
        assert resource.retain_on_delete, f"{resource.name}: destroying the stack must not switch it off"


def test_delegated_administrator_is_registered_after_trusted_access(org_graph: StackGraph) -> None:
    delegated = one(org_graph, DELEGATED_ADMIN)
    assert delegated.inputs == {"accountId": DELEGATED, "servicePrincipal": "backup.amazonaws.com"}
    assert provider_of(org_graph, delegated)["account"] == MANAGEMENT
    assert one(org_graph, SERVICE_ACCESS).urn in delegated.dependencies


def test_no_delegated_administrator_when_not_configured(org_config: dict[str, Any]) -> None:
    graph = run_org(_without_delegated_administrator(org_config))
    assert graph.by_type(DELEGATED_ADMIN) == []
    assert {r.name for r in graph.by_type("pulumi:providers:aws")} == {
        "management",
        "management-dr",
        "reports",
        "verifier",
    }
    # The management account then owns the report plans, and its reports role writes to the bucket.
    for plan in graph.by_type(REPORT_PLAN):
        assert provider_of(graph, plan)["account"] == MANAGEMENT
    assert provider_of(graph, one(graph, LINKED_ROLE))["account"] == MANAGEMENT
    # A report plan delivers only to a bucket of its own account: the job reports' bucket moves with it.
    job_bucket = f"dr-org-job-reports-{MANAGEMENT}-us-east-1"
    assert provider_of(graph, of_bucket(graph, "aws:s3/bucket:Bucket", job_bucket))["account"] == MANAGEMENT
    for plan in graph.by_type(REPORT_PLAN):
        assert plan.inputs["reportDeliveryChannel"]["s3BucketName"] == job_bucket
    policy = statements(of_bucket(graph, BUCKET_POLICY, job_bucket))
    deliver = next(s for s in policy if s["Sid"] == "BackupReportsDeliver")
    assert deliver["Principal"] == {"AWS": f"arn:aws:iam::{MANAGEMENT}:{REPORTS_ROLE}"}
    assert graph.outputs["reportPlanAccount"] == MANAGEMENT
    assert graph.outputs["jobReportsBucketName"] == job_bucket


def test_optional_switches_can_be_left_to_another_owner(org_config: dict[str, Any]) -> None:
    org_config[NS + "ramSharingWithOrganization"] = False
    graph = run_org(org_config)
    assert graph.by_type(RAM_SHARING) == []
    assert len(graph.by_type(SERVICE_ACCESS)) == 1


# --- job reports ------------------------------------------------------------------------------------


def test_job_reports_cover_every_account_and_both_regions(org_graph: StackGraph) -> None:
    plans = {p.inputs["reportSetting"]["reportTemplate"]: p for p in org_graph.by_type(REPORT_PLAN)}
    assert set(plans) == {"BACKUP_JOB_REPORT", "COPY_JOB_REPORT", "RESTORE_JOB_REPORT"}
    policy = of_bucket(org_graph, BUCKET_POLICY, JOB_BUCKET)
    delegated = one(org_graph, DELEGATED_ADMIN)
    for template, plan in plans.items():
        setting = plan.inputs["reportSetting"]
        assert setting["accounts"] == ["ROOT"]
        assert "organizationUnits" not in setting
        assert setting["regions"] == ["us-east-1", "us-east-2"]
        channel = plan.inputs["reportDeliveryChannel"]
        assert channel == {"s3BucketName": JOB_BUCKET, "s3KeyPrefix": "job-reports", "formats": ["CSV"]}
        # Names allow no hyphens: set explicitly.
        assert plan.inputs["name"] == f"dr_org_fleet_{template.removesuffix('_REPORT').lower()}"
        # Created in the delegated administrator account, once it is registered and the bucket admits it.
        assert provider_of(org_graph, plan)["account"] == DELEGATED
        assert {policy.urn, delegated.urn} <= set(plan.dependencies)


@pytest.mark.parametrize("delegated", [True, False], ids=["delegated-administrator", "management"])
def test_report_plans_wait_for_trusted_access(org_config: dict[str, Any], delegated: bool) -> None:
    graph = run_org(org_config if delegated else _without_delegated_administrator(org_config))
    access = one(graph, SERVICE_ACCESS).urn
    registrations = [r.urn for r in graph.by_type(DELEGATED_ADMIN)]
    assert len(registrations) == (1 if delegated else 0)
    plans = graph.by_type(REPORT_PLAN)
    assert len(plans) == 3
    for plan in plans:
        # Cross-account job reports need AWS Backup's trusted access first, on the first update too.
        assert access in plan.dependencies, plan.name
        assert set(registrations) <= set(plan.dependencies)


def test_job_reports_can_be_limited_to_organizational_units(org_config: dict[str, Any]) -> None:
    units = ["ou-ab12-cd34ef56", "ou-ab12-9f8e7d6c"]
    org_config[NS + "jobReports"] = {"organizationUnits": units}
    graph = run_org(org_config)
    for plan in graph.by_type(REPORT_PLAN):
        setting = plan.inputs["reportSetting"]
        assert setting["organizationUnits"] == units
        assert "accounts" not in setting


def test_job_reports_can_be_switched_off(org_config: dict[str, Any]) -> None:
    org_config[NS + "jobReports"] = {"enabled": False}
    del org_config[NS + "verifier"]  # its evidence bucket is not the subject here
    graph = run_org(org_config)
    assert graph.by_type(REPORT_PLAN) == []
    assert graph.by_type(LINKED_ROLE) == []
    # No job reports, no bucket for them; the fleet bucket stays.
    assert [b.inputs["bucket"] for b in graph.by_type("aws:s3/bucket:Bucket")] == [BUCKET]
    sids = {s["Sid"] for s in statements(one(graph, BUCKET_POLICY))}
    assert "BackupReportsDeliver" not in sids
    assert "CoveragePublishOwnPrefix" in sids
    assert graph.outputs["jobReportsBucketName"] is None


# --- the fleet bucket and its policy ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "account"), [(BUCKET, REPORTS), (JOB_BUCKET, DELEGATED)])
def test_buckets_are_private_versioned_and_owned_by_their_account(
    org_graph: StackGraph, name: str, account: str
) -> None:
    bucket = of_bucket(org_graph, "aws:s3/bucket:Bucket", name)
    assert provider_of(org_graph, bucket)["account"] == account
    # Every setting is the bucket's own, created in the same account.
    for token, key, expected in (
        (
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            "rule",
            {"objectOwnership": "BucketOwnerEnforced"},
        ),
        ("aws:s3/bucketVersioning:BucketVersioning", "versioningConfiguration", {"status": "Enabled"}),
    ):
        setting = of_bucket(org_graph, token, name)
        assert setting.inputs[key] == expected
        assert provider_of(org_graph, setting)["account"] == account
    access = of_bucket(org_graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name)
    assert all(access.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy"))
    assert provider_of(org_graph, of_bucket(org_graph, BUCKET_POLICY, name))["account"] == account
    assert org_graph.outputs["fleetBucketName"] == BUCKET
    assert org_graph.outputs["jobReportsBucketName"] == JOB_BUCKET


def test_the_fleet_bucket_keeps_its_name_and_place(org_graph: StackGraph) -> None:
    # Renaming or re-parenting it would replace a bucket that holds every account's reports.
    bucket = of_bucket(org_graph, "aws:s3/bucket:Bucket", BUCKET)
    assert bucket.urn.endswith(
        "aws-dr-backup-org:reports:FleetReports$aws:s3/bucket:Bucket::fleet-bucket-bucket"
    )
    role = one(org_graph, LINKED_ROLE)
    assert role.urn.endswith("FleetReports$aws:iam/serviceLinkedRole:ServiceLinkedRole::fleet-reports-role")


@pytest.mark.parametrize("name", [BUCKET, JOB_BUCKET])
def test_bucket_policy_grants_no_wildcard_principal(org_config: dict[str, Any], name: str) -> None:
    org_config[NS + "coverageBucket"] = {
        "readerRoles": [f"arn:aws:iam::{MANAGEMENT}:role/FleetCoverageReader"]
    }
    for statement in statements(of_bucket(run_org(org_config), BUCKET_POLICY, name)):
        if statement["Effect"] == "Allow":
            principals = statement["Principal"]["AWS"]
            assert "*" not in ([principals] if isinstance(principals, str) else principals)
        else:  # the one Deny: plain HTTP, for everyone
            assert statement["Sid"] == "DenyInsecureTransport"


def test_workload_accounts_write_only_their_own_prefix_inside_the_organisation(org_graph: StackGraph) -> None:
    policy = statements(of_bucket(org_graph, BUCKET_POLICY, BUCKET))
    publish = next(s for s in policy if s["Sid"] == "CoveragePublishOwnPrefix")
    assert publish["Principal"] == {"AWS": [f"arn:aws:iam::{a}:root" for a in WORKLOADS]}
    assert publish["Action"] == "s3:PutObject"
    assert publish["Resource"] == f"arn:aws:s3:::{BUCKET}/coverage/${{aws:PrincipalAccount}}/*"
    assert publish["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_ID}}


def test_reports_role_of_the_plan_account_delivers_job_reports(org_graph: StackGraph) -> None:
    policy = of_bucket(org_graph, BUCKET_POLICY, JOB_BUCKET)
    deliver = next(s for s in statements(policy) if s["Sid"] == "BackupReportsDeliver")
    assert deliver["Principal"] == {"AWS": f"arn:aws:iam::{DELEGATED}:{REPORTS_ROLE}"}
    assert deliver["Resource"] == f"arn:aws:s3:::{JOB_BUCKET}/job-reports/*"
    # The fleet bucket, in another account, grants the reports role nothing: a plan cannot deliver there.
    fleet = statements(of_bucket(org_graph, BUCKET_POLICY, BUCKET))
    assert "BackupReportsDeliver" not in {s["Sid"] for s in fleet}
    assert deliver["Condition"] == {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    # IAM refuses a principal that does not exist yet: the role first, then the policy.
    role = one(org_graph, LINKED_ROLE)
    assert role.inputs["awsServiceName"] == "reports.backup.amazonaws.com"
    assert provider_of(org_graph, role)["account"] == DELEGATED
    assert role.urn in policy.dependencies


@pytest.mark.parametrize(
    ("name", "sid", "prefix"), [(BUCKET, "Coverage", "coverage"), (JOB_BUCKET, "JobReports", "job-reports")]
)
def test_reader_roles_read_the_reports_inside_the_organisation(
    org_config: dict[str, Any], name: str, sid: str, prefix: str
) -> None:
    reader = f"arn:aws:iam::{MANAGEMENT}:role/FleetCoverageReader"
    org_config[NS + "coverageBucket"] = {"readerRoles": [reader]}
    policy = statements(of_bucket(run_org(org_config), BUCKET_POLICY, name))
    read = next(s for s in policy if s["Sid"] == f"{sid}Read")
    listing = next(s for s in policy if s["Sid"] == f"{sid}List")
    assert read["Principal"] == listing["Principal"] == {"AWS": [reader]}
    assert read["Resource"] == f"arn:aws:s3:::{name}/{prefix}/*"
    assert listing["Resource"] == f"arn:aws:s3:::{name}"
    assert listing["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_ID},
        "StringLike": {"s3:prefix": f"{prefix}/*"},
    }


def test_no_reader_grants_without_reader_roles(org_graph: StackGraph) -> None:
    for name in (BUCKET, JOB_BUCKET):
        sids = {s["Sid"] for s in statements(of_bucket(org_graph, BUCKET_POLICY, name))}
        assert not {s for s in sids if s.endswith(("Read", "List"))}, name


def test_no_publish_grant_without_workload_accounts(org_config: dict[str, Any]) -> None:
    del org_config[NS + "accounts"]["workloads"]
    del org_config[NS + "verifier"]  # its fleet must be the workload accounts
    sids = {s["Sid"] for s in statements(of_bucket(run_org(org_config), BUCKET_POLICY, BUCKET))}
    assert sids == {"DenyInsecureTransport"}
