"""The Audit Manager prerequisites: AWS Config recording what the frameworks evaluate, and frameworks whose
deployment failed. Stubber serves AWS Config and AWS Backup; moto the inventory and CloudWatch."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dr_runtime.errors import ConfigError
from dr_runtime.operations import audit_checks, coverage
from dr_runtime.operations.audit_settings import AuditRegion, describe, recorded_types
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.report import JobFailedError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REGION, DR = "us-east-1", "us-east-2"
PRIMARY_CONTROLS = (
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
    "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
    "BACKUP_RECOVERY_POINT_ENCRYPTED",
)
NEEDED = recorded_types(PRIMARY_CONTROLS)
FRAMEWORK = "dr_prod_dr_backup_controls"
DR_FRAMEWORK = "dr_prod_dr_region_restore_time"


def recorder(name: str, **group: Any) -> dict[str, Any]:
    return {"name": name, "roleARN": "arn:aws:iam::111111111111:role/config", "recordingGroup": group}


def stub_config(stub: Any, recorders: list[dict[str, Any]], recording: dict[str, bool]) -> None:
    stub.add_response("describe_configuration_recorders", {"ConfigurationRecorders": recorders}, {})
    stub.add_response(
        "describe_configuration_recorder_status",
        {"ConfigurationRecordersStatus": [{"name": n, "recording": r} for n, r in recording.items()]},
        {},
    )


def stub_framework(stub: Any, name: str, deployment: str | None, status: str = "ACTIVE") -> None:
    if deployment is None:
        stub.add_client_error(
            "describe_framework",
            "ResourceNotFoundException",
            "no such framework",
            404,
            {"FrameworkName": name},
        )
        return
    stub.add_response(
        "describe_framework",
        {"FrameworkName": name, "DeploymentStatus": deployment, "FrameworkStatus": status},
        {"FrameworkName": name},
    )


def config(regions: list[AuditRegion]) -> CoverageConfig:
    return CoverageConfig.from_settings(
        {"AWS_REGION": REGION, "DR_COVERAGE_TYPES": "EFS", "DR_AUDIT": json.dumps(describe(regions))}
    )


def test_the_resource_types_each_control_needs() -> None:
    assert NEEDED == (
        "AWS::Backup::BackupPlan",
        "AWS::Backup::BackupSelection",
        "AWS::Backup::RecoveryPoint",
        "AWS::Config::ResourceCompliance",
    )
    # The restore-time control needs only the compliance results recorded.
    assert recorded_types(["RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"]) == ("AWS::Config::ResourceCompliance",)
    with pytest.raises(
        ValueError, match="control 'NEW_CONTROL': its AWS Config resource types are not known"
    ):
        recorded_types(["NEW_CONTROL"])


@pytest.mark.parametrize(
    ("group", "covered"),
    [
        ({"allSupported": True}, True),
        ({"allSupported": False, "resourceTypes": list(NEEDED)}, True),
        ({"allSupported": False, "resourceTypes": ["AWS::EC2::Volume", *NEEDED[:-1]]}, False),
        (
            {
                "allSupported": False,
                "exclusionByResourceTypes": {"resourceTypes": ["AWS::EC2::Volume"]},
                "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
            },
            True,
        ),
        (
            {
                "allSupported": False,
                "exclusionByResourceTypes": {"resourceTypes": ["AWS::Backup::RecoveryPoint"]},
                "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
            },
            False,
        ),
    ],
    ids=["all-supported", "inclusion", "inclusion-missing-one", "exclusion-elsewhere", "exclusion-of-one"],
)
def test_which_recording_groups_cover_the_frameworks(
    clients: Any, group: dict[str, Any], covered: bool
) -> None:
    stub_config(clients.stub("config"), [recorder("default", **group)], {"default": True})
    found = audit_checks.recording(clients("config"), REGION, NEEDED)
    assert found.covered is covered
    if not covered:
        assert found.reason.startswith("AWS Config does not record ")
        assert "the Audit Manager frameworks there evaluate nothing" in found.reason


def test_a_stopped_or_service_linked_recorder_does_not_count(clients: Any) -> None:
    linked = {**recorder("linked", allSupported=True), "servicePrincipal": "config-conforms.amazonaws.com"}
    stub_config(
        clients.stub("config"),
        [recorder("default", allSupported=True), linked],
        {"default": False, "linked": True},
    )
    found = audit_checks.recording(clients("config"), REGION, NEEDED)
    assert not found.covered
    assert found.reason == (
        f"AWS Config does not record {', '.join(NEEDED)} in us-east-1, so the Audit Manager frameworks there "
        "evaluate nothing: default is not recording; linked is linked to config-conforms.amazonaws.com"
    )


def test_each_framework_region_is_checked_and_reported(clients: Any, aws_env: None) -> None:
    from tests.operations.conftest import Clients

    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    stub_config(clients.stub("config"), [recorder("default", allSupported=True)], {"default": True})
    stub_framework(clients.stub("backup"), FRAMEWORK, "FAILED", "INACTIVE")
    dr_clients = Clients(DR)
    stub_config(dr_clients.stub("config"), [], {})
    stub_framework(dr_clients.stub("backup"), DR_FRAMEWORK, None)
    asked: list[str] = []

    def regional(region: str) -> Any:
        asked.append(region)
        return dr_clients

    cfg = config(
        [
            AuditRegion(REGION, (FRAMEWORK,), NEEDED),
            AuditRegion(DR, (DR_FRAMEWORK,), ("AWS::Config::ResourceCompliance",)),
        ]
    )
    report = coverage.collect(cfg, clients, NOW, regional=regional)

    assert asked == [DR]
    assert [(r.region, r.covered) for r in report.config_recording] == [(REGION, True), (DR, False)]
    assert report.config_recording[1].reason.endswith("evaluate nothing: no configuration recorder")
    assert [(f.region, f.framework) for f in report.framework_findings] == [
        (REGION, FRAMEWORK),
        (DR, DR_FRAMEWORK),
    ]
    assert report.framework_findings[0].reason.startswith("deployment FAILED (framework status INACTIVE)")
    assert report.framework_findings[1].reason == f"no framework {DR_FRAMEWORK} in {DR}"
    assert report.findings_per_check()["config-recording"] == 1
    assert report.findings_per_check()["audit-frameworks"] == 2
    out = report.as_dict()
    assert out["config_recording"][0]["recorder"] == "default"
    assert out["audit_frameworks"][1] == {
        "region": DR,
        "framework": DR_FRAMEWORK,
        "reason": f"no framework {DR_FRAMEWORK} in {DR}",
    }
    table = coverage.render_table(report)
    assert "  us-east-2   MISSING: AWS Config does not record AWS::Config::ResourceCompliance" in table
    assert f"  us-east-1   {FRAMEWORK}: deployment FAILED" in table
    clients.assert_stubs_used()
    dr_clients.assert_stubs_used()


def test_recording_frameworks_that_deployed_report_nothing(clients: Any) -> None:
    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    stub_config(clients.stub("config"), [recorder("default", allSupported=True)], {"default": True})
    stub_framework(clients.stub("backup"), FRAMEWORK, "COMPLETED")
    report = coverage.collect(config([AuditRegion(REGION, (FRAMEWORK,), NEEDED)]), clients, NOW)
    assert report.framework_findings == []
    assert report.findings_per_check()["config-recording"] == 0
    assert report.findings_per_check()["audit-frameworks"] == 0
    clients.assert_stubs_used()


def test_recorders_that_cannot_be_listed_fail_the_run(clients: Any) -> None:
    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    clients.stub("config").add_client_error(
        "describe_configuration_recorders", "AccessDeniedException", "denied", 400
    )
    stub_framework(clients.stub("backup"), FRAMEWORK, "COMPLETED")
    cfg = config([AuditRegion(REGION, (FRAMEWORK,), NEEDED)])
    report = coverage.collect(cfg, clients, NOW)
    assert "config-recording" in report.failed_checks
    assert "config-recording" not in report.findings_per_check()
    with pytest.raises(JobFailedError, match="check:config-recording"):
        coverage.finish(report, cfg, clients)


def test_without_frameworks_the_checks_are_skipped(clients: Any) -> None:
    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    report = coverage.collect(
        CoverageConfig.from_settings({"AWS_REGION": REGION, "DR_COVERAGE_TYPES": "EFS"}), clients, NOW
    )
    assert report.skipped_checks["config-recording"] == "--audit (DR_AUDIT) is not set"
    assert report.skipped_checks["audit-frameworks"] == "--audit (DR_AUDIT) is not set"
    assert not {"config-recording", "audit-frameworks"} & set(report.findings_per_check())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", r"^--audit \(DR_AUDIT\): not JSON"),
        ("[]", r"^--audit \(DR_AUDIT\) = '\[\]': must be a JSON object of Region"),
        ('{"us-east-1": {"frameworks": [], "resourceTypes": []}}', r"must be a JSON object of Region"),
        ('{"us-east-1": {"frameworks": ["x"], "resourceTypes": [1]}}', r"must be a JSON object of Region"),
    ],
)
def test_a_bad_audit_setting_names_the_setting(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CoverageConfig.from_settings({"AWS_REGION": REGION, "DR_AUDIT": raw})
