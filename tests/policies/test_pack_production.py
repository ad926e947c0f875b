"""Production-only stack rules (coverage of every type with both copies; failure alerts), end to end over gRPC.

The compliant fixture is the `test` stack; renamed to `prod` (``fx.in_stack``) it is a production stack
(default ``productionStacks``: prod, prod-*, production*). It protects EBS (cross-region + air-gapped
copies) and S3 (continuous, no copies), so coverage tests narrow ``requiredResourceTypes`` to EBS.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from drplan.graph import UNKNOWN, StackGraph
from drplan.policy_client import PolicyPackClient
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations, only

COVERAGE = "aws-backup-production-coverage"
ALERTS = "aws-backup-production-failure-alerts"
EBS_ONLY = {COVERAGE: {"requiredResourceTypes": ["EBS"]}}


def prod(*changed: Any) -> StackGraph:
    return fx.in_stack(fx.graph(*changed), "prod")


def prod_urn(res: Any) -> str:
    return str(res.urn).replace(f"urn:pulumi:{fx.STACK}::", "urn:pulumi:prod::")


def test_production_fixture_with_its_types_passes(client: PolicyPackClient) -> None:
    client.configure(EBS_ONLY)
    assert all_violations(client, prod()) == []


@pytest.mark.parametrize("stack", ["prod", "prod-eu", "production-2"])
def test_default_types_are_required_in_production(client: PolicyPackClient, stack: str) -> None:
    violations = list(client.analyze_stack(fx.in_stack(fx.graph(), stack)).violations)
    assert {v.policy_name for v in violations} == {COVERAGE}
    missing = sorted(v.message.splitlines()[-1] for v in violations if v.urn == "")
    assert [m.split(" protects no ")[1].split(" ")[0] for m in missing] == sorted(
        ["EFS", "DynamoDB", "RDS", "Aurora", "DocumentDB", "Neptune"]
    )
    assert all(f"production stack '{stack}'" in m and "Fix: add a plan and a selection" in m for m in missing)
    # S3 is protected but its plan copies nowhere: reported on the plan, once per missing copy.
    on_plan = [v.message for v in violations if v.urn]
    assert len(on_plan) == 2
    assert all("backup.Plan 's3-continuous-plan'" in m and "no plan protecting S3" in m for m in on_plan)


@pytest.mark.parametrize("stack", ["test", "staging", "preprod"])
def test_other_stacks_are_not_production(client: PolicyPackClient, stack: str) -> None:
    graph = fx.in_stack(fx.graph(), stack)
    assert [v for v in client.analyze_stack(graph).violations if v.policy_name in (COVERAGE, ALERTS)] == []


def test_production_stacks_from_config(client: PolicyPackClient) -> None:
    client.configure({COVERAGE: {"productionStacks": ["test"], "requiredResourceTypes": ["EBS", "EFS"]}})
    violation = only(list(client.analyze_stack(fx.graph()).violations), COVERAGE)
    assert "production stack 'test' protects no EFS resources" in violation.message


@pytest.mark.parametrize(
    ("kept", "fragment"),
    [
        (1, "cross-region copy (a vault of the same account in another region)"),
        (0, "air-gapped copy (a logically air-gapped vault)"),
    ],
    ids=["no-cross-region-copy", "no-air-gapped-copy"],
)
def test_missing_copy_is_reported_on_the_plan(client: PolicyPackClient, kept: int, fragment: str) -> None:
    client.configure(EBS_ONLY)
    plan = fx.mutate(fx.PLAN, ("rules", 0, "copyActions"), [fx.PLAN.inputs["rules"][0]["copyActions"][kept]])
    violation = only(list(client.analyze_stack(prod(plan)).violations), COVERAGE)
    assert violation.urn == prod_urn(plan)
    assert "backup.Plan 'ebs-full-plan'" in violation.message
    assert fragment in violation.message
    assert "Fix: add a copy action" in violation.message


def test_copy_to_another_account_in_another_region_is_not_cross_region(client: PolicyPackClient) -> None:
    """Cross-region means the same account: a copy into another account's vault does not count."""
    arn = fx.vault_arn("us-east-2", fx.ISOLATED, "dr-test-ebs")
    plan = fx.mutate(fx.PLAN, ("rules", 0, "copyActions", 0, "destinationVaultArn"), arn)
    client.configure(
        {COVERAGE: {"requiredResourceTypes": ["EBS"]}, "aws-backup-cross-account-copy-cmk": "disabled"}
    )
    violation = only(list(client.analyze_stack(prod(plan)).violations), COVERAGE)
    assert "cross-region copy" in violation.message


def test_unknown_copy_destination_cannot_be_verified(client: PolicyPackClient) -> None:
    client.configure(EBS_ONLY)
    plan = fx.without_dependencies(
        fx.mutate(fx.PLAN, ("rules", 0, "copyActions", 0, "destinationVaultArn"), UNKNOWN), "rules"
    )
    violations = client.analyze_stack(prod(plan)).of(COVERAGE)
    assert len(violations) == 1
    assert violations[0].message.splitlines()[-1].startswith("cannot verify backup.Plan 'ebs-full-plan'")


def test_coverage_exemption_is_per_plan(client: PolicyPackClient) -> None:
    client.configure({COVERAGE: {"requiredResourceTypes": ["S3"], "exemptions": ["s3-continuous-plan"]}})
    assert client.analyze_stack(prod()).violations == ()


# --- failure alerts -----------------------------------------------------------------------------------


def _pattern(pattern: dict[str, Any]) -> Any:
    return fx.mutate(fx.ALERT_RULE, ("eventPattern",), json.dumps(pattern))


def test_alert_rule_without_target(client: PolicyPackClient) -> None:
    client.configure(EBS_ONLY)
    graph = prod()
    violations = client.analyze_stack(fx.without(graph, graph.by_urn()[prod_urn(fx.ALERT_TARGET)])).of(ALERTS)
    assert len(violations) == 2  # backup and copy jobs
    assert {v.urn for v in violations} == {prod_urn(fx.ALERT_RULE)}
    assert all(
        "has no EventTarget" in v.message and "Fix: add aws.cloudwatch.EventTarget" in v.message
        for v in violations
    )


def test_no_alert_rule_at_all(client: PolicyPackClient) -> None:
    client.configure(EBS_ONLY)
    graph = replace_resources(prod(), lambda r: r.type.startswith("aws:cloudwatch/"))
    violations = client.analyze_stack(graph).of(ALERTS)
    assert [v.urn for v in violations] == ["", ""]
    assert (
        "no EventBridge rule (with a target) matching failed AWS Backup backup jobs" in violations[0].message
    )
    assert "'Copy Job State Change'" in violations[1].message


def replace_resources(graph: StackGraph, drop: Any) -> StackGraph:
    return fx.without(graph, *[r for r in graph.resources if drop(r)])


@pytest.mark.parametrize(
    ("pattern", "missing"),
    [
        (
            {
                "source": ["aws.backup"],
                "detail-type": ["Backup Job State Change"],
                "detail": {"state": ["FAILED"]},
            },
            ["copy"],
        ),
        (
            {
                "source": ["aws.backup"],
                "detail-type": ["Copy Job State Change"],
                "detail": {"state": ["FAILED"]},
            },
            ["backup"],
        ),
        ({"source": ["aws.backup"], "detail": {"state": ["COMPLETED"]}}, ["backup", "copy"]),
        ({"source": ["aws.ec2"], "detail": {"state": ["FAILED"]}}, ["backup", "copy"]),
        ({"source": ["aws.backup"], "detail": {"status": ["FAILED"]}}, ["backup", "copy"]),
    ],
    ids=["backup-only", "copy-only", "completed", "other-source", "status-field"],
)
def test_alert_pattern_must_match_failed_jobs(
    client: PolicyPackClient, pattern: dict[str, Any], missing: list[str]
) -> None:
    client.configure(EBS_ONLY)
    violations = client.analyze_stack(prod(_pattern(pattern))).of(ALERTS)
    assert [v.message.split("failed AWS Backup ")[1].split(" ")[0] for v in violations] == missing


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": ["aws.backup"]},
        {
            "source": [{"prefix": "aws.back"}],
            "detail": {"state": [{"anything-but": ["COMPLETED", "RUNNING"]}]},
        },
        {
            "source": ["aws.backup"],
            "detail-type": [{"wildcard": "* Job State Change"}],
            "detail": {"state": [{"equals-ignore-case": "failed"}]},
        },
    ],
    ids=["all-backup-events", "prefix-anything-but", "wildcard-ignore-case"],
)
def test_broader_patterns_also_alert(client: PolicyPackClient, pattern: dict[str, Any]) -> None:
    client.configure(EBS_ONLY)
    assert client.analyze_stack(prod(_pattern(pattern))).of(ALERTS) == []


def test_disabled_rule_or_custom_bus_does_not_alert(client: PolicyPackClient) -> None:
    client.configure(EBS_ONLY)
    disabled = fx.mutate(fx.ALERT_RULE, ("state",), "DISABLED")
    assert len(client.analyze_stack(prod(disabled)).of(ALERTS)) == 2
    custom_bus = fx.mutate(fx.ALERT_RULE, ("eventBusName",), "team-bus")
    assert len(client.analyze_stack(prod(custom_bus)).of(ALERTS)) == 2


def test_target_linked_by_rule_name(client: PolicyPackClient) -> None:
    """Without dependency information, a target is linked to the rule of the same name in its region."""
    client.configure(EBS_ONLY)
    target = fx.without_dependencies(fx.ALERT_TARGET, "rule")
    assert client.analyze_stack(prod(target)).of(ALERTS) == []
    wrong = fx.mutate(target, ("rule",), "another-rule")
    assert len(client.analyze_stack(prod(wrong)).of(ALERTS)) == 2


def test_unknown_pattern_cannot_be_verified(client: PolicyPackClient) -> None:
    client.configure(EBS_ONLY)
    violations = client.analyze_stack(prod(fx.mutate(fx.ALERT_RULE, ("eventPattern",), UNKNOWN))).of(ALERTS)
    assert len(violations) == 2
    assert all(
        v.message.splitlines()[-1].startswith(
            "cannot verify cloudwatch.EventRule 'backup-failed-rule': eventPattern is unknown"
        )
        for v in violations
    )


def test_alerts_policy_can_be_set_advisory(client: PolicyPackClient) -> None:
    client.configure({**EBS_ONLY, ALERTS: "advisory"})
    graph = replace_resources(prod(), lambda r: r.type.startswith("aws:cloudwatch/"))
    assert {v.enforcement_level for v in client.analyze_stack(graph).of(ALERTS)} == {"advisory"}
