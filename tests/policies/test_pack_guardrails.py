"""Rule ``aws-organizations-guardrails-attached`` over the pack's gRPC interface, on the organisation stack's
real graph (management config, and with more targets and the RCP on) and on mutated copies of it: a policy
left unattached from a configured target, attached to a target the config does not name, a configured
group with no policy at all, and a policy the pack cannot place are each one mandatory violation, with
the fix."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from drplan.graph import RegisteredResource, StackGraph
from drplan.policy_client import PolicyPackClient
from org import guardrails as org_guardrails
from tests.org.org_graphs import org_stack_config, run_org, set_org
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations, only

RULE = "aws-organizations-guardrails-attached"
POLICY = "aws:organizations/policy:Policy"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
OU = "ou-ab12-cd34ef56"


@pytest.fixture(scope="module")
def org_graph() -> StackGraph:
    return run_org(org_stack_config())


def _component(graph: StackGraph) -> RegisteredResource:
    (component,) = graph.by_type(org_guardrails.COMPONENT_TYPE)
    return component


def _without(graph: StackGraph, *urns: str) -> StackGraph:
    return replace(graph, resources=tuple(r for r in graph.resources if r.urn not in urns))


def _with(graph: StackGraph, *changed: RegisteredResource) -> StackGraph:
    by_urn = {r.urn: r for r in changed}
    kept = tuple(by_urn.pop(r.urn, r) for r in graph.resources)
    return replace(graph, resources=kept + tuple(by_urn.values()))


def _attachment(graph: StackGraph, name: str) -> RegisteredResource:
    (found,) = [r for r in graph.by_type(ATTACHMENT) if r.name == name]
    return found


def _rule(client: PolicyPackClient, graph: StackGraph) -> list[Any]:
    return [v for v in all_violations(client, graph) if v.policy_name == RULE]


def test_the_component_records_the_targets_its_config_names(org_graph: StackGraph) -> None:
    assert _component(org_graph).inputs == {
        "targets": [OU],
        "isolatedTargets": ["222222222222", "444444444444"],
        "rcpTargets": [],
    }


def test_the_org_stack_attaches_every_policy_to_every_target(
    client: PolicyPackClient, org_graph: StackGraph
) -> None:
    assert _rule(client, org_graph) == []


def test_more_targets_and_the_key_rcp_pass_too(client: PolicyPackClient) -> None:
    config = org_stack_config()
    set_org("guardrails.targets", [OU, "ou-ab12-99999999", "333333333333"])(config)
    set_org("guardrails.resourceControlPolicy", True)(config)
    graph = run_org(config)
    assert len(_component(graph).inputs["rcpTargets"]) == 5
    assert any(r.inputs.get("type") == "RESOURCE_CONTROL_POLICY" for r in graph.by_type(POLICY))
    assert _rule(client, graph) == []
    # ... and the RCP left off one of them is caught.
    (rcp_attachment,) = [r for r in graph.by_type(ATTACHMENT) if r.name == f"guardrails-key-rcp-{OU}"]
    found = only(_rule(client, _without(graph, rcp_attachment.urn)), RULE)
    assert f"it is not attached to {OU}" in found.message
    assert found.urn.endswith("::guardrails-key-rcp")
    assert "which guardrails.targets and isolatedTargets (resourceControlPolicy: true) names" in found.message


def test_a_policy_missing_from_a_configured_target_is_reported(
    client: PolicyPackClient, org_graph: StackGraph
) -> None:
    dropped = _attachment(org_graph, f"guardrails-2-{OU}")
    found = only(_rule(client, _without(org_graph, dropped.urn)), RULE)
    assert found.enforcement_level == "mandatory"
    assert found.urn.endswith("::guardrails-2")
    assert (
        f"it is not attached to {OU}, which guardrails.targets names: there it denies nothing"
        in found.message
    )
    assert (
        f"Fix: add aws.organizations.PolicyAttachment(policy_id=<policy>.id, target_id='{OU}')"
        in found.message
    )


def test_an_isolated_account_left_out_is_reported(client: PolicyPackClient, org_graph: StackGraph) -> None:
    dropped = _attachment(org_graph, "guardrails-isolated-1-444444444444")
    found = only(_rule(client, _without(org_graph, dropped.urn)), RULE)
    assert "it is not attached to 444444444444, which guardrails.isolatedTargets names" in found.message


def test_a_target_the_config_names_but_the_stack_never_attached(
    client: PolicyPackClient, org_graph: StackGraph
) -> None:
    """The component says one more OU; every backup SCP misses it (three violations, one per policy)."""
    component = fx.mutate(_component(org_graph), ("targets",), [OU, "ou-ab12-77777777"])
    found = _rule(client, _with(org_graph, component))
    assert len(found) == 3
    assert all("it is not attached to ou-ab12-77777777" in v.message for v in found)


def test_an_attachment_to_a_target_the_config_does_not_name(
    client: PolicyPackClient, org_graph: StackGraph
) -> None:
    original = _attachment(org_graph, f"guardrails-1-{OU}")
    extra = replace(
        fx.mutate(original, ("targetId",), "ou-ab12-55555555"),
        urn=original.urn.replace(f"guardrails-1-{OU}", "guardrails-1-ou-ab12-55555555"),
        name="guardrails-1-ou-ab12-55555555",
    )
    found = only(_rule(client, _with(org_graph, extra)), RULE)
    assert found.urn == extra.urn
    assert "to ou-ab12-55555555, which guardrails.targets does not name" in found.message
    assert "Fix: add 'ou-ab12-55555555' to guardrails.targets, or remove the attachment" in found.message


def test_a_configured_group_without_any_policy(client: PolicyPackClient, org_graph: StackGraph) -> None:
    isolated = [r.urn for r in org_graph.resources if "guardrails-isolated-1" in r.name]
    assert len(isolated) == 3  # the policy and its two attachments
    found = only(_rule(client, _without(org_graph, *isolated)), RULE)
    assert found.urn == _component(org_graph).urn
    assert (
        "guardrails.isolatedTargets names 222222222222, 444444444444 but the stack registers no policy"
        in found.message
    )


def test_a_policy_the_pack_cannot_place(client: PolicyPackClient, org_graph: StackGraph) -> None:
    (policy,) = [r for r in org_graph.by_type(POLICY) if r.name == "guardrails-3"]
    renamed = fx.mutate(policy, ("name",), "dr-org-something-else")
    found = only(_rule(client, _with(org_graph, renamed)), RULE)
    assert "matches none of the stack's groups" in found.message


def test_the_pack_knows_the_names_and_component_the_stack_uses() -> None:
    """The pack is self-contained: its copies of the names must match org/guardrails.py."""
    from policies.dr_policies import guardrail_attachments, tokens

    assert {org_guardrails.COMPONENT_TYPE} == tokens.BACKUP_GUARDRAILS
    patterns = {key: pattern for key, _, pattern in guardrail_attachments.GROUPS}
    assert patterns["targets"].search(org_guardrails.policy_name("dr-org", 0))
    assert patterns["isolatedTargets"].search(org_guardrails.isolated_policy_name("dr-org", 0))
    assert patterns["rcpTargets"].search(org_guardrails.key_rcp_name("dr-org"))
    assert not patterns["targets"].search(org_guardrails.isolated_policy_name("dr-org", 0))
    assert set(patterns) == {
        org_guardrails.TARGETS,
        org_guardrails.ISOLATED_TARGETS,
        org_guardrails.RCP_TARGETS,
    }
