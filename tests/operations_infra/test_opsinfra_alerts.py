"""The alert topics: encryption, who may publish, subscriptions, existing topics from config."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drplan.graph import StackGraph
from drplan.program import register_stack
from tests.operations_infra.graphs import DR, PRIMARY, TARGET, WORKLOAD, in_region, provider_name, statements

TOPIC = "aws:sns/topic:Topic"
REGIONS = [PRIMARY, DR]
NS = "aws-dr-backup:"


def _topic_arn(region: str) -> str:
    return f"arn:aws:sns:{region}:{WORKLOAD}:dr-prod-backup-alerts"


@pytest.mark.parametrize("region", REGIONS)
def test_topic_is_encrypted_with_its_own_rotating_key(prod_graph: StackGraph, region: str) -> None:
    [topic] = in_region(prod_graph, TOPIC, region)
    assert topic.inputs["name"] == "dr-prod-backup-alerts"
    keys = [
        k for k in in_region(prod_graph, "aws:kms/key:Key", region) if ":operations:RegionAlerts$" in k.urn
    ]
    assert len(keys) == 1
    key = keys[0]
    assert topic.inputs["kmsMasterKeyId"] == f"arn:aws:kms:{region}:{WORKLOAD}:key/{key.id}"
    assert key.inputs["enableKeyRotation"] is True
    policy = statements(key.inputs["policy"])
    owner = next(s for s in policy if s["Sid"] == "OwnerAccountAdministersThroughIam")
    assert owner["Principal"] == {"AWS": f"arn:aws:iam::{WORKLOAD}:root"}
    services = next(s for s in policy if s["Sid"] == "AlertPublishersEncryptForThisTopicOnly")
    assert sorted(services["Principal"]["Service"]) == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    assert sorted(services["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # SNS's real topic ARN format, which the encryption context carries.
    assert services["Condition"] == {
        "StringEquals": {
            "kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:{region}:{WORKLOAD}:dr-prod-backup-alerts"
        }
    }
    for statement in policy:
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] not in ("*", {"AWS": "*"})


def _wildcard(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, dict) and "*" in json.dumps(principal))


@pytest.mark.parametrize("region", REGIONS)
def test_topic_policy_lets_only_this_accounts_rules_and_alarms_publish(
    prod_graph: StackGraph, region: str
) -> None:
    [policy] = in_region(prod_graph, "aws:sns/topicPolicy:TopicPolicy", region)
    assert policy.inputs["arn"] == _topic_arn(region)
    document = statements(policy.inputs["policy"])
    allows = [s for s in document if s["Effect"] == "Allow"]
    assert {s["Principal"]["Service"] for s in allows} == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}
    for statement in allows:
        assert not _wildcard(statement["Principal"])
        assert statement["Action"] == "sns:Publish"
        assert statement["Resource"] == _topic_arn(region)
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": WORKLOAD}
    alarms = next(s for s in allows if s["Principal"]["Service"] == "cloudwatch.amazonaws.com")
    assert alarms["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:cloudwatch:{region}:{WORKLOAD}:alarm:*"
    }
    [deny] = [s for s in document if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_mails_the_configured_address(prod_graph: StackGraph, region: str) -> None:
    [subscription] = in_region(prod_graph, "aws:sns/topicSubscription:TopicSubscription", region)
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "dr-oncall@example.com"
    assert subscription.inputs["topic"] == _topic_arn(region)


def test_targets_wait_for_the_topic_policy(prod_graph: StackGraph) -> None:
    urns = {r.urn: r for r in prod_graph.resources}
    for target in prod_graph.by_type(TARGET):
        kinds = {urns[d].type for d in target.dependencies if d in urns}
        if target.inputs["arn"].startswith("arn:aws:events:"):
            # A forwarder to the verifier's bus waits for its role's permission instead.
            assert "aws:iam/rolePolicy:RolePolicy" in kinds, target.name
        else:
            assert "aws:sns/topicPolicy:TopicPolicy" in kinds, target.name


def test_existing_topics_get_their_regions_alerts(prod_stack_config: dict[str, Any]) -> None:
    same_account = f"arn:aws:sns:{PRIMARY}:{WORKLOAD}:paging"
    other_account = f"arn:aws:sns:{DR}:999999999999:central-paging"
    prod_stack_config[NS + "operations"]["alerts"]["topicArns"] = [same_account, other_account]
    graph = register_stack("prod", config=prod_stack_config)
    by_arn: dict[str, list[Any]] = {}
    for target in graph.by_type(TARGET):
        by_arn.setdefault(target.inputs["arn"], []).append(target)
    # Each existing topic gets all four rules of its own region, and only those.
    assert {provider_name(t) for t in by_arn[same_account]} == {"origin"}
    assert {provider_name(t) for t in by_arn[other_account]} == {"cross-region"}
    assert len(by_arn[same_account]) == len(by_arn[other_account]) == 4
    # Same account: the topic's own policy authorises EventBridge; other account: an execution role.
    assert all("roleArn" not in t.inputs for t in by_arn[same_account])
    roles = {t.inputs["roleArn"] for t in by_arn[other_account]}
    assert len(roles) == 1
    [trust] = [r for r in graph.by_type("aws:iam/role:Role") if r.name == "alerts-use2-external-publisher"]
    assert statements(trust.inputs["assumeRolePolicy"])[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": WORKLOAD}
    }
    policy = next(
        p
        for p in graph.by_type("aws:iam/rolePolicy:RolePolicy")
        if p.name == "alerts-use2-external-publisher-policy"
    )
    assert statements(policy.inputs["policy"]) == [
        {
            "Sid": "PublishToConfiguredTopics",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": [other_account],
        }
    ]
    # Alarms (primary region) notify the same-account existing topic too.
    for alarm in graph.by_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert same_account in alarm.inputs["alarmActions"]
