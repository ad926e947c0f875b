"""Stack config and the organisation's pack config must agree: the pack, configured as
examples/policy-config.<stack>.json configures it, over what the real program registers for a stack.

Where they agree the graph has no violations; where a stack changes a key the pack also reads (the
completion window, the opt-out tags, the Kubernetes clusters) the pack fails until its config follows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from components.config import StackConfig, from_namespaced, parse
from drplan import policy_config, stack_policy_config
from drplan.graph import RegisteredResource, StackGraph
from drplan.policy_client import PolicyPackClient, Violation
from drplan.program import REPO, read_stack_config, register_stack, stack_file
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations

STACKS = ("prod", "staging")
KUBERNETES = "aws-backup-selection-kubernetes-volumes"
COMPLETION = "aws-backup-plan-completion-window"
DR_OPT_OUT = "aws-backup-selection-dr-opt-out"
CROSS_REGION_OPT_OUT = "aws-backup-selection-cross-region-opt-out"
# Policies reading the DR opt-out tag key (the cross-region one reads crossRegionOptOutTagKey).
READ_DR_OPT_OUT = (DR_OPT_OUT, "aws-s3-bucket-backup-versioning", "aws-s3-bucket-backup-acls-disabled")


def raw_config(stack: str) -> dict[str, Any]:
    return read_stack_config(stack_file(stack))


def stack_config(raw: dict[str, Any], stack: str) -> StackConfig:
    return parse(from_namespaced(raw), stack)


def example(stack: str) -> policy_config.PolicyConfig:
    return policy_config.load(REPO / "examples" / f"policy-config.{stack}.json")


def pack_config_for(config: StackConfig) -> policy_config.PolicyConfig:
    """The pack settings a stack's config fixes (README "Policy pack configuration")."""
    tags = config.opt_out_tags
    result: policy_config.PolicyConfig = {
        COMPLETION: {"completionWindowMinutes": config.windows.completion_minutes},
        CROSS_REGION_OPT_OUT: {"crossRegionOptOutTagKey": tags.cross_region, "optOutTagValue": tags.value},
        KUBERNETES: {"kubernetesClusters": list(config.kubernetes_clusters)},
        "aws-backup-vault-policy-copy-sources": {"allowedCopySourceAccounts": [config.accounts.workload]},
    }
    for name in READ_DR_OPT_OUT:
        result[name] = {"drOptOutTagKey": tags.all, "optOutTagValue": tags.value}
    return with_isolated_vaults(result, config)


def with_isolated_vaults(
    settings: policy_config.PolicyConfig, config: StackConfig
) -> policy_config.PolicyConfig:
    """``settings`` with the stack's isolated vaults (registered by the isolated stack) as known external
    vaults, without which its copies into them cannot be judged."""
    result = {policy: dict(value) for policy, value in settings.items()}
    for policy in stack_policy_config.READ_EXTERNAL_VAULTS:
        result.setdefault(policy, {})["knownExternalVaults"] = stack_policy_config.isolated_vaults(config)
    return result


def isolated_only(stack: str = "prod") -> policy_config.PolicyConfig:
    return with_isolated_vaults({}, stack_config(raw_config(stack), stack))


@pytest.fixture
def client(pack: PolicyPackClient) -> Iterator[PolicyPackClient]:
    """The pack with nothing but prod's isolated vaults configured (a test configures more)."""
    pack.configure(isolated_only())
    yield pack
    pack.configure({})


@pytest.fixture(scope="module")
def graphs() -> dict[str, StackGraph]:
    return {stack: register_stack(stack) for stack in STACKS}


def _swap(graph: StackGraph, *changed: RegisteredResource) -> StackGraph:
    by_urn = {r.urn: r for r in changed}
    return replace(graph, resources=tuple(by_urn.get(r.urn, r) for r in graph.resources))


def _ebs_selections(graph: StackGraph) -> list[RegisteredResource]:
    found = [
        s
        for s in graph.by_type("aws:backup/selection:Selection")
        if s.inputs["resources"] == ["arn:aws:ec2:*:*:volume/*"]
    ]
    assert found, "the program registered no EBS selection"
    return found


def _of(violations: list[Violation], policy: str) -> list[Violation]:
    return [v for v in violations if v.policy_name == policy]


@pytest.mark.parametrize("stack", STACKS)
def test_example_pack_config_agrees_with_its_stack(stack: str) -> None:
    """The shipped examples carry exactly the values the stack files fix (and the pack's floors)."""
    config = stack_config(raw_config(stack), stack)
    shipped = example(stack)
    for policy, settings in pack_config_for(config).items():
        assert shipped[policy] == settings, policy
    start = shipped["aws-backup-plan-start-window"]["minStartWindowMinutes"]
    assert start <= config.windows.start_minutes
    floor = shipped["aws-backup-air-gapped-vault-retention"]["airGappedMinRetentionDays"]
    assert floor <= config.air_gapped_vault.min_retention_days


@pytest.mark.parametrize("stack", STACKS)
def test_stack_passes_with_its_example_pack_config(
    client: PolicyPackClient, graphs: dict[str, StackGraph], stack: str
) -> None:
    client.configure(example(stack))
    assert all_violations(client, graphs[stack]) == []


def test_one_stacks_pack_config_fails_another_stack(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    """Why each set of stacks needs its own policy group: prod's clusters, account and isolated vaults are not
    staging's."""
    client.configure(example("prod"))
    violations = all_violations(client, graphs["staging"])
    assert {v.policy_name for v in violations} == {
        KUBERNETES,
        "aws-backup-vault-policy-copy-sources",
        "aws-backup-air-gapped-copy-retention",
        "aws-backup-air-gapped-supported-types",
    }
    # staging's copies go to the isolated account 444444444444, which prod's file does not describe.
    assert all(
        "444444444444" in v.message
        for v in violations
        if v.policy_name == "aws-backup-air-gapped-copy-retention"
    )
    clusters = ("platform-prod-1", "platform-prod-2")
    named = {
        (v.urn, c) for v in _of(violations, KUBERNETES) for c in clusters if f"cluster '{c}'" in v.message
    }
    assert named == {(s.urn, c) for s in _ebs_selections(graphs["staging"]) for c in clusters}
    assert len(_of(violations, KUBERNETES)) == len(named)


def test_kubernetes_clusters_of_the_stack_pass(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    clusters = list(stack_config(raw_config("prod"), "prod").kubernetes_clusters)
    assert len(clusters) == 2
    client.configure({**isolated_only(), KUBERNETES: {"kubernetesClusters": clusters}})
    assert all_violations(client, graphs["prod"]) == []


def test_dropping_one_clusters_exclusion_fails_naming_it(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    graph = graphs["prod"]
    dropped = "aws:ResourceTag/kubernetes.io/cluster/platform-prod-2"
    selections = _ebs_selections(graph)
    changed = []
    for selection in selections:
        kept = [c for c in selection.inputs["conditions"][0]["stringNotEquals"] if c["key"] != dropped]
        assert len(kept) == len(selection.inputs["conditions"][0]["stringNotEquals"]) - 1
        changed.append(fx.mutate(selection, ("conditions", 0, "stringNotEquals"), kept))
    broken = _swap(graph, *changed)

    client.configure(example("prod"))
    violations = all_violations(client, broken)
    assert sorted((v.policy_name, v.urn, v.enforcement_level) for v in violations) == sorted(
        (KUBERNETES, s.urn, "mandatory") for s in selections
    )
    for violation in violations:
        assert "does not exclude those of Kubernetes cluster 'platform-prod-2'" in violation.message
        assert f"SelectionConditionStringNotEqualArgs(key='{dropped}', value='owned')" in violation.message
        assert "platform-prod-1" not in violation.message

    # Without the clusters in the pack's config the rule has nothing to check.
    client.configure(isolated_only())
    assert all_violations(client, broken) == []


def test_a_cluster_the_stack_lacks_fails(client: PolicyPackClient, graphs: dict[str, StackGraph]) -> None:
    config = example("prod")
    config[KUBERNETES]["kubernetesClusters"].append("platform-prod-3")
    client.configure(config)
    violations = all_violations(client, graphs["prod"])
    assert {(v.policy_name, v.urn) for v in violations} == {
        (KUBERNETES, s.urn) for s in _ebs_selections(graphs["prod"])
    }
    assert all("Kubernetes cluster 'platform-prod-3'" in v.message for v in violations)


def test_completion_window_of_the_stack_needs_the_same_pack_setting(client: PolicyPackClient) -> None:
    raw = {**raw_config("prod"), "aws-dr-backup:windows": {"startMinutes": 60, "completionMinutes": 480}}
    graph = register_stack("prod", config=raw)
    violations = all_violations(client, graph)
    assert {v.policy_name for v in violations} == {COMPLETION}
    assert all("completionWindow 480, the organisation requires exactly 360" in v.message for v in violations)
    client.configure(pack_config_for(stack_config(raw, "prod")))
    assert all_violations(client, graph) == []


def test_custom_opt_out_tags_need_the_same_pack_settings(client: PolicyPackClient) -> None:
    opt_out = {"all": "dr-backup-skip", "crossRegion": "dr-backup-stay-in-region", "value": "yes"}
    raw = {**raw_config("prod"), "aws-dr-backup:optOutTags": opt_out}
    graph = register_stack("prod", config=raw)
    violations = all_violations(client, graph)
    assert {v.policy_name for v in violations} == {DR_OPT_OUT, CROSS_REGION_OPT_OUT}
    assert all("exclude-disaster-recovery-backup='true'" in v.message for v in _of(violations, DR_OPT_OUT))
    client.configure(pack_config_for(stack_config(raw, "prod")))
    assert all_violations(client, graph) == []
    # Each policy reads its own copy of the keys: configuring only one leaves the other failing.
    client.configure(
        {**isolated_only(), DR_OPT_OUT: {"drOptOutTagKey": "dr-backup-skip", "optOutTagValue": "yes"}}
    )
    assert {v.policy_name for v in all_violations(client, graph)} == {CROSS_REGION_OPT_OUT}


# --- one organisation-wide file, the stacks' facts from their own config (drplan/stack_policy_config.py) ---

REPO_STACKS = ("prod", "staging", "payments", "analytics")


def organisation() -> policy_config.PolicyConfig:
    return policy_config.load(REPO / stack_policy_config.ORG_POLICY_CONFIG)


@pytest.mark.parametrize("stack", STACKS)
def test_the_organisations_file_with_a_stacks_facts_is_its_kept_example(stack: str) -> None:
    """prod's and staging's own files are what the organisation's file and their stack files give."""
    config = stack_config(raw_config(stack), stack)
    assert stack_policy_config.with_stack_facts(organisation(), config) == example(stack)


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_every_stack_passes_with_the_organisations_file_and_its_facts(
    client: PolicyPackClient, stack: str
) -> None:
    config = stack_config(raw_config(stack), stack)
    client.configure(stack_policy_config.with_stack_facts(organisation(), config))
    assert all_violations(client, register_stack(stack)) == []


def test_the_stacks_facts_make_the_organisations_file_check_its_clusters(
    client: PolicyPackClient, graphs: dict[str, StackGraph]
) -> None:
    """prod with one cluster's exclusion dropped: the organisation's file with prod's facts catches it, the
    organisation's file alone (no clusters to check) lets it through."""
    dropped = "aws:ResourceTag/kubernetes.io/cluster/platform-prod-2"
    selections = _ebs_selections(graphs["prod"])
    broken = _swap(
        graphs["prod"],
        *[
            fx.mutate(
                s,
                ("conditions", 0, "stringNotEquals"),
                [c for c in s.inputs["conditions"][0]["stringNotEquals"] if c["key"] != dropped],
            )
            for s in selections
        ],
    )
    config = stack_config(raw_config("prod"), "prod")
    client.configure(stack_policy_config.with_stack_facts(organisation(), config))
    assert {(v.policy_name, v.urn) for v in all_violations(client, broken)} == {
        (KUBERNETES, s.urn) for s in selections
    }
    client.configure(with_isolated_vaults(organisation(), config))
    assert all_violations(client, broken) == []


def test_the_organisations_file_does_not_follow_a_stacks_own_completion_window(
    client: PolicyPackClient,
) -> None:
    """Only account facts come from the stack: a stack changing a setting the organisation fixes still fails."""
    raw = {**raw_config("prod"), "aws-dr-backup:windows": {"startMinutes": 60, "completionMinutes": 480}}
    client.configure(stack_policy_config.with_stack_facts(organisation(), stack_config(raw, "prod")))
    violations = all_violations(client, register_stack("prod", config=raw))
    assert {v.policy_name for v in violations} == {COMPLETION}
