"""Running the organisation program (``org/__main__.py``) under Pulumi's mocks, and reading its graph."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import REPO, read_stack_config, register_stack
from org.org_config import PROJECT
from tests.config_mutations import Mutation, drop_key, set_key
from tests.isolated.isolated_graphs import STACKS as ISOLATED_STACKS
from tests.isolated.isolated_graphs import run_isolated

ORG_DIR = REPO / "org"
STACK = "management"
NS = f"{PROJECT}:"
MANAGEMENT, REPORTS, DELEGATED = "777777777777", "222222222222", "888888888888"
VERIFIER = "999999999999"
"""The example's security account, where the air-gap verifier runs."""
WORKLOADS = ("111111111111", "333333333333", "555555555555", "666666666666")
ORGANIZATION_ID = "o-exampleorg01"
BUCKET = "dr-org-fleet-222222222222-us-east-1"
JOB_BUCKET = "dr-org-job-reports-888888888888-us-east-1"
"""The job reports' bucket, in the account of the report plans (here the delegated administrator)."""
GLOBAL_SETTINGS = "aws:backup/globalSettings:GlobalSettings"
REPORT_PLAN = "aws:backup/reportPlan:ReportPlan"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
DELEGATED_ADMIN = "aws:organizations/delegatedAdministrator:DelegatedAdministrator"
SERVICE_ACCESS = "aws:organizations/awsServiceAccess:AwsServiceAccess"
RAM_SHARING = "aws:ram/sharingWithOrganization:SharingWithOrganization"
LINKED_ROLE = "aws:iam/serviceLinkedRole:ServiceLinkedRole"


WORKLOAD_STACKS = ("prod", "staging", "payments", "analytics")


def fleet_graphs() -> dict[str, StackGraph]:
    """Every stack of the example fleet that the guardrails protect: the workload stacks and, since the
    split (docs/isolated-account.md), the isolated stacks that keep their air-gapped and locked vaults."""
    return {
        **{stack: register_stack(stack) for stack in WORKLOAD_STACKS},
        **{stack: run_isolated(stack) for stack in ISOLATED_STACKS},
    }


def org_stack_config() -> dict[str, Any]:
    return read_stack_config(ORG_DIR / f"Pulumi.{STACK}.yaml")


def run_org(config: dict[str, Any], recorder: list[RegisteredResource] | None = None) -> StackGraph:
    return register_stack(
        STACK, config=config, program=ORG_DIR / "__main__.py", recorder=recorder, project=PROJECT
    )


def set_org(path: str, value: Any) -> Mutation:
    """Sets an organisation-stack key (``a.b.c`` under the project's namespace)."""
    return set_key(NS.removesuffix(":"), path, value)


def drop_org(path: str) -> Mutation:
    return drop_key(NS.removesuffix(":"), path)


def assert_refused_before_registering(
    config: dict[str, Any], mutate: Mutation, expected: tuple[str, ...]
) -> None:
    """The mutated config fails with one config error carrying every expected fragment, and the program
    registers nothing first."""
    mutate(config)
    registered: list[RegisteredResource] = []
    with pytest.raises(ConfigError) as caught:
        run_org(config, recorder=registered)
    message = str(caught.value)
    assert message.startswith(f"Invalid configuration for stack '{STACK}':")
    for fragment in expected:
        assert fragment in message, message
    assert registered == []


def one(graph: StackGraph, type_token: str) -> RegisteredResource:
    found = graph.by_type(type_token)
    assert len(found) == 1, f"{type_token}: {len(found)} registered"
    return found[0]


def provider_of(graph: StackGraph, resource: RegisteredResource) -> dict[str, Any]:
    """The provider's inputs, with ``account`` (its one allowed account) added."""
    provider = graph.by_urn()[resource.provider_urn]
    return {**provider.inputs, "account": json.loads(provider.inputs["allowedAccountIds"])[0]}


def of_bucket(graph: StackGraph, type_token: str, bucket: str) -> RegisteredResource:
    """The one resource of ``type_token`` that configures ``bucket`` (``bucket`` input, or the bucket itself)."""
    found = [r for r in graph.by_type(type_token) if r.inputs.get("bucket") == bucket]
    assert len(found) == 1, f"{type_token} of {bucket}: {len(found)} registered"
    return found[0]


def statements(policy: RegisteredResource) -> list[dict[str, Any]]:
    return list(json.loads(policy.inputs["policy"])["Statement"])
