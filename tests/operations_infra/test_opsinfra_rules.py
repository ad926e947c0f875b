"""Every EventBridge rule's pattern, checked against sample AWS events with a pattern matcher."""

from __future__ import annotations

import json

import pytest

from drplan.graph import StackGraph
from tests.operations_infra import samples
from tests.operations_infra.eventpattern import matches, resolve
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

REGIONS = [PRIMARY, DR]
RULES = ("backup-job-failed", "copy-job-failed", "restore-job-failed", "backup-key-threatened")
# The rules that forward the Region's events to the verifier's bus (components/event_forwarding.py).
FORWARD_RULES = ("forward-backup-events", "forward-backup-changes", "forward-key-calls")


# --- the matcher itself -------------------------------------------------------------------------


def test_matcher_semantics() -> None:
    event = {"source": "aws.backup", "detail": {"state": "FAILED", "tags": ["a", "b"]}}
    assert matches({"source": ["aws.backup"], "detail": {"state": ["COMPLETED", "FAILED"]}}, event)
    assert not matches({"detail": {"state": ["COMPLETED"]}}, event)
    assert not matches({"detail": {"status": ["FAILED"]}}, event)  # missing field
    assert matches({"detail": {"tags": ["b"]}}, event)  # event arrays: any element
    assert not matches({"detail": ["FAILED"]}, event)  # object vs value
    assert matches({"$or": [{"source": ["x"]}, {"detail": {"state": ["FAILED"]}}]}, event)
    assert matches({"source": [{"prefix": "aws."}]}, event)
    assert matches({"detail": {"state": [{"anything-but": ["COMPLETED"]}]}}, event)
    assert not matches({"detail": {"state": [{"anything-but": "FAILED"}]}}, event)
    assert matches({"detail": {"reason": [{"exists": False}]}}, event)
    assert not matches({"detail": {"state": [{"exists": False}]}}, event)
    with pytest.raises(NotImplementedError):
        matches({"detail": {"size": [{"numeric": [">", 1]}]}}, {"detail": {"size": 2}})


# --- which rules run where ----------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_every_workload_region_has_the_four_rules(prod_graph: StackGraph, region: str) -> None:
    names = {r.inputs["name"] for r in in_region(prod_graph, RULE, region)}
    assert names == {f"dr-prod-{key}" for key in (*RULES, *FORWARD_RULES)}
    # Nothing in the isolated account: every copy job's outcome is reported in its source account.
    assert [r.name for r in prod_graph.by_type(RULE) if r.provider_urn.endswith("::archive")] == []


# --- job rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_backup_job_rule_matches_every_unsuccessful_end_only(prod_graph: StackGraph, region: str) -> None:
    backup = pattern(rule(prod_graph, "dr-prod-backup-job-failed", region))
    for state in ("ABORTED", "EXPIRED", "FAILED", "PARTIAL"):
        assert matches(backup, samples.backup_job(state, region)), state
    for state in ("COMPLETED", "RUNNING", "CREATED", "PENDING"):
        assert not matches(backup, samples.backup_job(state, region)), state
    assert not matches(backup, samples.copy_job("FAILED", region))
    assert not matches(backup, samples.restore_job("FAILED", region))


@pytest.mark.parametrize("region", REGIONS)
def test_copy_job_rule_matches_failed_and_partial_only(prod_graph: StackGraph, region: str) -> None:
    copy = pattern(rule(prod_graph, "dr-prod-copy-job-failed", region))
    for state in ("FAILED", "PARTIAL"):
        assert matches(copy, samples.copy_job(state, region)), state
    for state in ("COMPLETED", "RUNNING", "CREATED"):
        assert not matches(copy, samples.copy_job(state, region)), state
    assert not matches(copy, samples.backup_job("FAILED", region))


@pytest.mark.parametrize("region", REGIONS)
def test_restore_job_rule_reads_status_not_state(prod_graph: StackGraph, region: str) -> None:
    restore = pattern(rule(prod_graph, "dr-prod-restore-job-failed", region))
    for status in ("FAILED", "ABORTED"):
        assert matches(restore, samples.restore_job(status, region)), status
    for status in ("COMPLETED", "RUNNING", "PENDING"):
        assert not matches(restore, samples.restore_job(status, region)), status
    # A restore event carrying `state` instead of `status` is not what AWS sends; the rule ignores it.
    renamed = samples.restore_job("FAILED", region)
    renamed["detail"]["state"] = renamed["detail"].pop("status")
    assert not matches(restore, renamed)


# --- key rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_key_rule_matches_disable_and_deletion_of_this_regions_backup_keys(
    prod_graph: StackGraph, region: str
) -> None:
    keys = vault_key_arns(prod_graph, region)
    assert len(keys) == 8
    key_rule = pattern(rule(prod_graph, "dr-prod-backup-key-threatened", region))
    for arn in keys:
        key_id = arn.rsplit("/", 1)[-1]
        for call in ("ScheduleKeyDeletion", "DisableKey"):
            # Callers may name the key by ARN or by ID; CloudTrail records what they passed.
            assert matches(key_rule, samples.kms_call(call, arn, region)), (call, arn)
            assert matches(key_rule, samples.kms_call(call, key_id, region)), (call, key_id)
        assert not matches(key_rule, samples.kms_call("EnableKey", arn, region))
        assert not matches(key_rule, samples.kms_call("CancelKeyDeletion", arn, region))
    other = f"arn:aws:kms:{region}:111111111111:key/00000000-0000-4000-8000-000000000000"
    assert not matches(key_rule, samples.kms_call("ScheduleKeyDeletion", other, region))
    # Each region's rule watches its own region's keys (KMS events stay in their region).
    elsewhere = vault_key_arns(prod_graph, DR if region == PRIMARY else PRIMARY)[0]
    assert not matches(key_rule, samples.kms_call("ScheduleKeyDeletion", elsewhere, region))


def test_staging_key_rule_watches_only_active_types_keys(staging_graph: StackGraph) -> None:
    keys = vault_key_arns(staging_graph, PRIMARY)
    assert len(keys) == 6
    watched = pattern(rule(staging_graph, "dr-staging-backup-key-threatened", PRIMARY))["detail"]
    assert set(watched["requestParameters"]["keyId"]) == {
        form for arn in keys for form in (arn, arn.rsplit("/", 1)[-1])
    }


# --- targets and messages -----------------------------------------------------------------------

MATCHING_SAMPLES = {
    "backup-job-failed": lambda region: samples.backup_job("FAILED", region),
    "copy-job-failed": lambda region: samples.copy_job("PARTIAL", region),
    "restore-job-failed": lambda region: samples.restore_job("FAILED", region),
}


# What each message must name: the job, the resource, the vault (restores: the recovery point, whose
# description names the vault) and the reason.
MESSAGE_NAMES = {
    "backup-job-failed": {"job", "resource", "vault", "reason", "state"},
    "copy-job-failed": {"job", "resource", "source", "destination", "reason", "state"},
    "restore-job-failed": {"job", "recoverypoint", "created", "reason", "status"},
    "backup-key-threatened": {"call", "key", "caller"},
}


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("key", RULES)
def test_each_rule_publishes_a_readable_message_to_its_regions_topic(
    prod_graph: StackGraph, region: str, key: str
) -> None:
    name = f"dr-prod-{key}"
    [target] = targets_of(prod_graph, name, region)
    assert target.inputs["arn"] == f"arn:aws:sns:{region}:111111111111:dr-prod-backup-alerts"
    transformer = target.inputs["inputTransformer"]
    paths: dict[str, str] = transformer["inputPaths"]
    message = json.loads(transformer["inputTemplate"])  # a JSON string: SNS gets plain text
    assert isinstance(message, str)
    assert {f"<{variable}>" for variable in paths} == _placeholders(message)
    if key == "backup-key-threatened":
        event = samples.kms_call("ScheduleKeyDeletion", vault_key_arns(prod_graph, region)[0], region)
    else:
        event = MATCHING_SAMPLES[key](region)
    assert matches(pattern(rule(prod_graph, name, region)), event)
    # Every path exists in the event it will transform (a missing one would print nothing).
    values = {variable: resolve(path, event) for variable, path in paths.items()}
    assert set(values) >= MESSAGE_NAMES[key]
    detail = event["detail"]
    if key == "backup-key-threatened":
        assert values["key"] == detail["requestParameters"]["keyId"]
    else:
        assert values["job"] in (
            detail.get("backupJobId"),
            detail.get("copyJobId"),
            detail.get("restoreJobId"),
        )
        assert values["reason"] == detail["statusMessage"]


def _placeholders(text: str) -> set[str]:
    parts: set[str] = set()
    start = text.find("<")
    while start != -1:
        end = text.index(">", start)
        parts.add(text[start : end + 1])
        start = text.find("<", end)
    return parts
