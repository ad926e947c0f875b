"""The policy verdict over the Analyzer interface, on the real graph and on mutated ones."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from components.config import from_namespaced, parse
from drplan import stack_policy_config, verdict
from drplan.graph import StackGraph
from drplan.policy_client import PolicyPackClient

from .conftest import stack_config


def mutate(graph: StackGraph, name: str, **inputs: object) -> StackGraph:
    resources = []
    for resource in graph.resources:
        if resource.name == name:
            resource = dataclasses.replace(resource, inputs={**copy.deepcopy(resource.inputs), **inputs})
        resources.append(resource)
    return dataclasses.replace(graph, resources=tuple(resources))


def _prod_facts() -> dict[str, Any]:
    """prod's own facts on the pack's defaults, as the plan sends them without a config file."""
    return stack_policy_config.with_stack_facts({}, parse(from_namespaced(stack_config("prod")), "prod"))


def test_backup_resources_of_prod_pass(plan_prod: StackGraph, pack: PolicyPackClient) -> None:
    result = verdict.check(plan_prod, pack, _prod_facts())
    assert result.ran
    assert result.policies >= 17
    # Everything the backup components register passes; other components are judged in the CLI test.
    backup = [f for f in result.findings if "ResourceTypeProtection" in f.urn]
    assert backup == []


def test_without_the_stacks_facts_the_isolated_vaults_are_unknown(
    plan_prod: StackGraph, pack: PolicyPackClient
) -> None:
    """The workload graph names the isolated account's vaults by ARN only (docs/isolated-account.md): without
    them as knownExternalVaults the pack cannot check the air-gapped copies, and says so."""
    result = verdict.check(plan_prod, pack, {})
    unknown = [f for f in result.mandatory if f.policy == "aws-backup-air-gapped-copy-retention"]
    assert unknown
    assert all("knownExternalVaults" in f.problem for f in unknown)


def test_key_without_rotation_is_a_mandatory_finding_with_its_fix(
    plan_prod: StackGraph, pack: PolicyPackClient
) -> None:
    result = verdict.check(mutate(plan_prod, "ebs-origin-key", enableKeyRotation=False), pack)
    (finding,) = [f for f in result.mandatory if f.policy == "aws-kms-key-rotation"]
    assert finding.resource == "kms:Key 'ebs-origin-key'"
    assert finding.urn.endswith("::ebs-origin-key")
    assert "rotation" in finding.problem.lower()
    assert finding.fix
    assert "Fix:" not in finding.problem


def test_selection_tag_union_is_reported(plan_prod: StackGraph, pack: PolicyPackClient) -> None:
    tagged = mutate(
        plan_prod,
        "s3-full-selection",
        selectionTags=[{"type": "STRINGEQUALS", "key": "backup", "value": "yes"}],
    )
    result = verdict.check(tagged, pack)
    assert any(
        f.policy == "aws-backup-selection-no-tag-union"
        and f.resource == "backup:Selection 's3-full-selection'"
        for f in result.mandatory
    )


def test_skipped_verdict_has_no_findings() -> None:
    assert verdict.SKIPPED.to_json() == {
        "ran": False,
        "pack": "",
        "version": "",
        "policies": 0,
        "mandatory": [],
        "advisory": [],
    }
