"""The organisation stack through the policy pack's gRPC interface: its real graph passes; each rule that
applies to it reports a one-property mutation on the mutated resource, with the fix."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from drplan.graph import RegisteredResource, StackGraph
from drplan.policy_client import PolicyPackClient
from drplan.program import register_stack
from tests.org.org_graphs import (
    BUCKET,
    BUCKET_POLICY,
    GLOBAL_SETTINGS,
    ORGANIZATION_ID,
    org_stack_config,
    run_org,
)
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations, only

GLOBAL = "aws-backup-global-settings-cross-account"
BUCKET_RULE = "aws-s3-bucket-policy-org-scoped"


@pytest.fixture(scope="module")
def org_graph() -> StackGraph:
    return run_org(org_stack_config())


def _with(graph: StackGraph, mutated: RegisteredResource) -> StackGraph:
    return replace(graph, resources=tuple(mutated if r.urn == mutated.urn else r for r in graph.resources))


def _first(graph: StackGraph, type_token: str) -> RegisteredResource:
    return graph.by_type(type_token)[0]


def _statement(sid: str, edit: Any) -> Any:
    def apply(document: dict[str, Any]) -> None:
        edit(next(s for s in document["Statement"] if s["Sid"] == sid))

    return apply


def test_org_stack_passes_the_pack(client: PolicyPackClient, org_graph: StackGraph) -> None:
    assert all_violations(client, org_graph) == []


@pytest.mark.parametrize("value", ["false", fx.DELETE])
def test_global_settings_must_keep_cross_account_backup_on(
    client: PolicyPackClient, org_graph: StackGraph, value: Any
) -> None:
    settings = fx.mutate(
        _first(org_graph, GLOBAL_SETTINGS), ("globalSettings", "isCrossAccountBackupEnabled"), value
    )
    found = only(all_violations(client, _with(org_graph, settings)), GLOBAL)
    assert found.urn == settings.urn
    assert found.enforcement_level == "mandatory"
    shown = "'false'" if value == "false" else "not set"
    assert (
        f"isCrossAccountBackupEnabled is {shown}, so every copy into the isolated account fails"
        in found.message
    )
    assert 'Fix: set global_settings["isCrossAccountBackupEnabled"] = "true"' in found.message


def _wildcard(statement: dict[str, Any]) -> None:
    statement["Principal"] = {"AWS": "*"}


def _unscoped(statement: dict[str, Any]) -> None:
    del statement["Condition"]


def _other_org(statement: dict[str, Any]) -> None:
    statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": "*"}}


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (_wildcard, "statement 'CoveragePublishOwnPrefix' allows principal '*' (s3:PutObject)"),
        (
            _unscoped,
            "statement 'CoveragePublishOwnPrefix' grants whole accounts (111111111111, 333333333333, 555555555555, 666666666666) without an "
            "organisation condition",
        ),
        (
            _other_org,
            "grants whole accounts (111111111111, 333333333333, 555555555555, 666666666666) without an organisation condition",
        ),
    ],
    ids=["wildcard-principal", "no-org-condition", "wildcard-org-condition"],
)
def test_fleet_bucket_policy_must_name_principals_inside_the_organisation(
    client: PolicyPackClient, org_graph: StackGraph, edit: Any, fragment: str
) -> None:
    policy = fx.with_policy(_first(org_graph, BUCKET_POLICY), _statement("CoveragePublishOwnPrefix", edit))
    found = only(all_violations(client, _with(org_graph, policy)), BUCKET_RULE)
    assert found.urn == policy.urn
    assert found.enforcement_level == "mandatory"
    assert fragment in found.message
    assert "Fix:" in found.message


def test_deny_for_everyone_and_named_roles_pass(client: PolicyPackClient, org_graph: StackGraph) -> None:
    # The TLS-only Deny names '*' and the reports role statement names one role, no org condition: both fine.
    policy = _first(org_graph, BUCKET_POLICY)
    assert '"Effect": "Deny"' in policy.inputs["policy"]
    assert ORGANIZATION_ID in policy.inputs["policy"]
    reader = fx.with_policy(
        policy,
        lambda document: document["Statement"].append(
            {
                "Sid": "OwnAccount",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ),
    )
    # The bucket's own account (its provider's) may be named without an organisation condition.
    assert all_violations(client, _with(org_graph, reader)) == []


def test_workload_stacks_bucket_policies_pass(client: PolicyPackClient) -> None:
    prod = register_stack("prod")
    policies = prod.by_type(BUCKET_POLICY)
    assert policies
    for policy in policies:
        assert [
            v for v in client.analyze(policy, graph=prod).violations if v.policy_name == BUCKET_RULE
        ] == []
