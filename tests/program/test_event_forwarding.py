"""Events out of the workload account, under Pulumi's mocks with the real stack files: both Regions'
forwarding rules, their patterns against sample events (both ways), the one target (the verifier's bus,
through the role), the role's trust and its one permission; and the ``verifierEventBus`` setting: required
in production, optional elsewhere, bad values refused before anything is registered."""

from __future__ import annotations

import copy
import json
from typing import Any

import botocore.session
import pytest

from components.event_forwarding import RULE_KEYS, TARGET_ID, role_name
from components.operations import forwarded_events
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import read_stack_config, register_stack, stack_file
from tests.operations_infra import samples
from tests.operations_infra.eventpattern import matches
from tests.operations_infra.graphs import (
    DR,
    PRIMARY,
    RULE,
    in_region,
    pattern,
    rule,
    targets_of,
    vault_key_arns,
)
from tests.program.program_refusals import assert_refused

NS = "aws-dr-backup:"
BUS = "arn:aws:events:us-east-1:999999999999:event-bus/dr-org-backup-events"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def _backup_event(detail_type: str, region: str = PRIMARY) -> dict[str, Any]:
    event = samples.backup_job("COMPLETED", region)
    return {**event, "detail-type": detail_type, "detail": {"state": "DELETED"}}


def _backup_call(name: str, region: str = PRIMARY) -> dict[str, Any]:
    event = samples.kms_call(name, "unused", region)
    detail = {**event["detail"], "eventSource": "backup.amazonaws.com", "requestParameters": {"x": "y"}}
    return {**event, "source": "aws.backup", "detail": detail}


def _forward_rules(graph: StackGraph, region: str) -> dict[str, RegisteredResource]:
    return {
        r.inputs["name"].removeprefix("dr-prod-"): r
        for r in in_region(graph, RULE, region)
        if r.name.startswith("event-forwarding-")
    }


def _role(graph: StackGraph) -> RegisteredResource:
    found = [r for r in graph.by_type(ROLE) if r.inputs.get("name") == role_name("dr-prod")]
    assert len(found) == 1
    return found[0]


def test_the_project_file_names_one_bus_for_the_fleet() -> None:
    for stack in ("prod", "staging", "payments", "analytics"):
        assert read_stack_config(stack_file(stack))[NS + "verifierEventBus"] == BUS


@pytest.mark.parametrize("region", [PRIMARY, DR])
def test_each_region_forwards_to_the_verifiers_bus_through_the_role(prod: StackGraph, region: str) -> None:
    rules = _forward_rules(prod, region)
    assert set(rules) == set(RULE_KEYS)
    role_arn = _role(prod).computed["arn"]
    for resource in rules.values():
        # Named with the stack prefix: the organisation's ProtectAlertRules (rule/<prefix>-*) covers them.
        assert resource.inputs["name"].startswith("dr-prod-forward-")
        targets = targets_of(prod, resource.inputs["name"], region)
        assert len(targets) == 1
        target = targets[0].inputs
        assert (target["arn"], target["roleArn"], target["targetId"]) == (BUS, role_arn, TARGET_ID)
        # The whole event goes: the bus's rules read its account, region and detail.
        assert "inputTransformer" not in target
        assert "input" not in target


def test_the_role_may_put_events_on_that_bus_alone(prod: StackGraph) -> None:
    role = _role(prod)
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "events.amazonaws.com"}]
    assert trust[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    policies = [p for p in prod.by_type(ROLE_POLICY) if p.name == "event-forwarding-role-policy"]
    assert len(policies) == 1
    statements = json.loads(policies[0].inputs["policy"])["Statement"]
    assert statements == [
        {
            "Sid": "PutEventsOnTheVerifiersBus",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": BUS,
        }
    ]


@pytest.mark.parametrize("region", [PRIMARY, DR])
def test_every_backup_service_event_is_forwarded_and_nothing_else(prod: StackGraph, region: str) -> None:
    forwarded = pattern(rule(prod, "dr-prod-forward-backup-events", region))
    for detail_type in forwarded_events.BACKUP_SERVICE_EVENTS:
        assert matches(forwarded, _backup_event(detail_type, region)), detail_type
    assert matches(forwarded, samples.copy_job("FAILED", region))
    assert not matches(forwarded, {**_backup_event("Backup Plan State Change"), "source": "aws.ec2"})
    assert not matches(forwarded, _backup_call("DeleteBackupSelection", region))
    assert not matches(forwarded, samples.kms_call("DisableKey", "k", region))


@pytest.mark.parametrize("region", [PRIMARY, DR])
def test_the_backup_calls_that_stop_copies_are_forwarded(prod: StackGraph, region: str) -> None:
    changes = pattern(rule(prod, "dr-prod-forward-backup-changes", region))
    for call in forwarded_events.BACKUP_CHANGE_CALLS:
        assert matches(changes, _backup_call(call, region)), call
    for harmless in ("ListBackupJobs", "StartBackupJob", "CreateBackupSelection"):
        assert not matches(changes, _backup_call(harmless, region)), harmless
    other_service = {**_backup_call("DeleteBackupPlan", region), "source": "aws.kms"}
    assert not matches(changes, other_service)


@pytest.mark.parametrize("region", [PRIMARY, DR])
def test_calls_on_the_vault_keys_are_forwarded_in_either_key_form(prod: StackGraph, region: str) -> None:
    keys = pattern(rule(prod, "dr-prod-forward-key-calls", region))
    arns = vault_key_arns(prod, region)
    assert arns
    for arn in arns:
        for call in ("PutKeyPolicy", "DisableKey", "ScheduleKeyDeletion"):
            assert matches(keys, samples.kms_call(call, arn, region)), (call, arn)
            assert matches(keys, samples.kms_call(call, arn.rsplit("/", 1)[1], region))
        assert not matches(keys, samples.kms_call("Encrypt", arn, region))
    other_region = vault_key_arns(prod, DR if region == PRIMARY else PRIMARY)
    assert not matches(keys, samples.kms_call("PutKeyPolicy", other_region[0], region))
    assert not matches(keys, samples.kms_call("PutKeyPolicy", "app-team-key", region))


def test_the_forwarded_backup_calls_are_real_operations() -> None:
    operations = set(botocore.session.get_session().get_service_model("backup").operation_names)
    assert set(forwarded_events.BACKUP_CHANGE_CALLS) <= operations


def test_a_stack_without_the_bus_forwards_nothing(staging_config: dict[str, Any]) -> None:
    del staging_config[NS + "verifierEventBus"]
    graph = register_stack("staging", config=staging_config)
    assert [r for r in graph.by_type(RULE) if r.name.startswith("event-forwarding-")] == []
    assert [r for r in graph.by_type(ROLE) if "event-forwarder" in str(r.inputs.get("name"))] == []
    assert "eventForwarderRoleArn" not in graph.outputs
    # The alert rules are there as before.
    assert {r.inputs["name"] for r in in_region(graph, RULE, PRIMARY)} >= {"dr-staging-copy-job-failed"}


def test_a_production_stack_must_forward(prod_config: dict[str, Any]) -> None:
    del prod_config[NS + "verifierEventBus"]
    assert_refused("prod", prod_config, "verifierEventBus is required for a production stack", "Pulumi.yaml")


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("dr-org-backup-events", ("verifierEventBus = 'dr-org-backup-events'", "event bus ARN")),
        (
            "arn:aws:events:us-east-1:99999999999:event-bus/x",
            ("verifierEventBus", "12-digit account"),
        ),
        (
            "arn:aws:sns:us-east-1:999999999999:event-bus/x",
            ("verifierEventBus", "arn:aws:events:<region>"),
        ),
        (
            "arn:aws:events:us-east-1:111111111111:event-bus/dr-org-backup-events",
            ("verifierEventBus (arn:aws:events:us-east-1:111111111111:", "workload account 111111111111"),
        ),
        (
            "arn:aws:events:us-east-9:999999999999:event-bus/dr-org-backup-events",
            ("verifierEventBus", "'us-east-9'", "not an AWS region"),
        ),
    ],
)
def test_a_bad_bus_is_refused_before_anything_registers(
    prod_config: dict[str, Any], value: str, fragments: tuple[str, ...]
) -> None:
    prod_config[NS + "verifierEventBus"] = value
    assert_refused("prod", prod_config, *fragments)


def test_a_staging_stack_may_do_without(staging_config: dict[str, Any]) -> None:
    config = copy.deepcopy(staging_config)
    del config[NS + "verifierEventBus"]
    # Registers, without the forwarding (above); the same stack with the bus forwards.
    assert register_stack("staging", config=config).by_type(RULE)
    with_bus = register_stack("staging", config=staging_config)
    assert {r.inputs["name"] for r in with_bus.by_type(RULE) if r.name.startswith("event-forwarding-")} == {
        f"dr-staging-{key}" for key in RULE_KEYS
    }
