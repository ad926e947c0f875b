"""The verifier's event bus as the organisation stack registers it (org/verifier_events.py), under Pulumi's
mocks with the real stack file: the bus and its ARN (the workload stacks' ``verifierEventBus``), the bus
policy (only the organisation may put events), the alert rules (patterns against sample events both ways,
one topic target each with a message naming account, Region, event and resource) and the job-event log
the silence check reads; a bad ``organizationId`` is refused before anything is registered."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.operations import forwarded_events
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import REPO
from org import verifier_events
from tests.operations_infra import samples
from tests.operations_infra.eventpattern import matches
from tests.org.org_graphs import VERIFIER, assert_refused_before_registering, one, provider_of, set_org

BUS = "aws:cloudwatch/eventBus:EventBus"
BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
BUS_NAME = "dr-org-backup-events"
BUS_ARN = f"arn:aws:events:us-east-1:{VERIFIER}:event-bus/{BUS_NAME}"
LOG_GROUP = "/aws/events/dr-org-backup-job-events"
ORG_ID = "o-exampleorg01"


def _bus_rules(graph: StackGraph) -> dict[str, RegisteredResource]:
    return {r.inputs["name"]: r for r in graph.by_type(RULE) if r.inputs.get("eventBusName") == BUS_NAME}


def _targets(graph: StackGraph, rule_name: str) -> list[RegisteredResource]:
    return [
        t
        for t in graph.by_type(TARGET)
        if t.inputs.get("rule") == rule_name and t.inputs.get("eventBusName") == BUS_NAME
    ]


def _pattern(graph: StackGraph, key: str) -> dict[str, Any]:
    return dict(json.loads(_bus_rules(graph)[f"dr-org-fleet-{key}"].inputs["eventPattern"]))


def test_the_bus_is_in_the_verifier_account_and_its_arn_is_the_fleets_setting(org_graph: StackGraph) -> None:
    bus = one(org_graph, BUS)
    assert bus.inputs["name"] == BUS_NAME
    assert provider_of(org_graph, bus)["account"] == VERIFIER
    assert org_graph.outputs["verifierEventBusArn"] == BUS_ARN
    # One fact in two places that must agree: the project's verifierEventBus is this bus.
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert project["config"]["verifierEventBus"] == BUS_ARN


def test_only_the_organisation_may_put_events_on_the_bus(org_graph: StackGraph) -> None:
    policy = one(org_graph, BUS_POLICY)
    assert policy.inputs["eventBusName"] == BUS_NAME
    [statement] = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == BUS_ARN
    # The wildcard principal is narrowed to the organisation's principals by the condition, and only so.
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}


def test_another_organisation_id_reaches_the_bus_policy(org_config: dict[str, Any]) -> None:
    from tests.org.org_graphs import run_org

    set_org("organizationId", "o-anotherorg99")(org_config)
    graph = run_org(org_config)
    [statement] = json.loads(one(graph, BUS_POLICY).inputs["policy"])["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-anotherorg99"}}


def test_a_bad_organisation_id_is_refused_before_the_bus_exists(org_config: dict[str, Any]) -> None:
    assert_refused_before_registering(
        org_config,
        set_org("organizationId", "o-UPPER"),
        ("aws-dr-backup-org:organizationId = 'o-UPPER'", "AWS Organizations ID"),
    )


def test_the_bus_has_the_four_alert_rules_and_the_job_event_rule(org_graph: StackGraph) -> None:
    names = set(_bus_rules(org_graph))
    assert names == {
        "dr-org-fleet-backup-settings-changed",
        "dr-org-fleet-backup-calls",
        "dr-org-fleet-key-calls",
        "dr-org-fleet-copy-job-failed",
        "dr-org-fleet-job-events",
    }


@pytest.mark.parametrize("spec", verifier_events.ALERT_RULES, ids=lambda s: s.key)
def test_each_alert_rule_mails_the_topic_naming_account_region_and_event(
    org_graph: StackGraph, spec: verifier_events.AlertRule
) -> None:
    [target] = _targets(org_graph, f"dr-org-fleet-{spec.key}")
    # The topic's own ARN (its registered output; the mocks give it their own form).
    assert target.inputs["arn"].startswith(f"arn:aws:sns:us-east-1:{VERIFIER}:")
    assert target.inputs["arn"].endswith("dr-org-backup-verifier-findings")
    assert target.inputs["arn"] == next(
        t.inputs["arn"] for t in _targets(org_graph, "dr-org-fleet-key-calls")
    )
    transformer = target.inputs["inputTransformer"]
    paths = transformer["inputPaths"]
    assert paths["account"] == "$.account"
    assert paths["region"] == "$.region"
    template = transformer["inputTemplate"]
    for name in ("account", "region"):
        assert f"<{name}>" in template
    # Every placeholder has a path, and every path is used.
    assert {p for p in paths if f"<{p}>" in template} == set(paths)


def _settings_event(detail_type: str) -> dict[str, Any]:
    event = samples.backup_job("COMPLETED")
    return {**event, "detail-type": detail_type, "detail": {"state": "DELETED"}}


def _backup_call(name: str) -> dict[str, Any]:
    event = samples.kms_call(name, "unused")
    return {
        **event,
        "source": "aws.backup",
        "detail": {**event["detail"], "eventSource": "backup.amazonaws.com"},
    }


def test_settings_rule_matches_plan_vault_and_region_changes_only(org_graph: StackGraph) -> None:
    rule = _pattern(org_graph, "backup-settings-changed")
    for detail_type in (
        "Backup Plan State Change",
        "Backup Vault State Change",
        "Region Setting State Change",
    ):
        assert matches(rule, _settings_event(detail_type)), detail_type
    assert not matches(rule, samples.backup_job("FAILED"))
    assert not matches(rule, samples.copy_job("FAILED"))


def test_backup_calls_rule_matches_the_calls_that_stop_copies_only(org_graph: StackGraph) -> None:
    rule = _pattern(org_graph, "backup-calls")
    for call in ("DeleteBackupSelection", "DeleteBackupPlan", "UpdateRegionSettings", "DeleteBackupVault"):
        assert matches(rule, _backup_call(call)), call
    for call in ("ListBackupJobs", "StartBackupJob", "CreateBackupSelection"):
        assert not matches(rule, _backup_call(call)), call
    assert not matches(rule, samples.kms_call("DeleteBackupPlan", "k"))  # not from AWS Backup


def test_key_rule_matches_policy_disable_and_deletion_only(org_graph: StackGraph) -> None:
    rule = _pattern(org_graph, "key-calls")
    for call in ("PutKeyPolicy", "DisableKey", "ScheduleKeyDeletion"):
        assert matches(rule, samples.kms_call(call, "k")), call
    for call in ("Encrypt", "Decrypt", "EnableKey", "CancelKeyDeletion"):
        assert not matches(rule, samples.kms_call(call, "k")), call


def test_copy_rule_matches_failed_copies_only(org_graph: StackGraph) -> None:
    rule = _pattern(org_graph, "copy-job-failed")
    for state in ("FAILED", "PARTIAL"):
        assert matches(rule, samples.copy_job(state)), state
    for state in ("COMPLETED", "RUNNING", "CREATED"):
        assert not matches(rule, samples.copy_job(state)), state
    assert not matches(rule, samples.backup_job("FAILED"))


def test_job_events_go_to_the_log_group_the_verifier_queries(org_graph: StackGraph) -> None:
    rule = _pattern(org_graph, "job-events")
    assert rule == forwarded_events.job_events()
    for state in ("COMPLETED", "FAILED"):
        assert matches(rule, samples.backup_job(state))
        assert matches(rule, samples.copy_job(state))
    assert not matches(rule, samples.restore_job("COMPLETED"))
    assert not matches(rule, _settings_event("Backup Plan State Change"))
    [target] = _targets(org_graph, "dr-org-fleet-job-events")
    assert target.inputs["arn"] == f"arn:aws:logs:us-east-1:{VERIFIER}:log-group:{LOG_GROUP}"
    assert "inputTransformer" not in target.inputs  # the whole event, with its ``account``
    urns = org_graph.by_urn()
    assert "aws:cloudwatch/logResourcePolicy:LogResourcePolicy" in {urns[d].type for d in target.dependencies}
    group = next(
        g for g in org_graph.by_type("aws:cloudwatch/logGroup:LogGroup") if g.inputs["name"] == LOG_GROUP
    )
    assert group.inputs["retentionInDays"] == verifier_events.LOG_RETENTION_DAYS


def test_only_eventbridge_of_the_verifier_account_writes_the_log(org_graph: StackGraph) -> None:
    policy = one(org_graph, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    [statement] = json.loads(policy.inputs["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == f"arn:aws:logs:us-east-1:{VERIFIER}:log-group:{LOG_GROUP}:*"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": VERIFIER}}
