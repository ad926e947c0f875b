"""parliament over every policy document of every stack the repository deploys (workload, organisation,
isolated), and the lint itself both ways: it still finds what it must, and each acceptance covers a finding
that exists and nothing beside it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from drplan.graph import StackGraph
from drplan.program import REPO, register_stack
from tests.isolated.isolated_graphs import STACKS as ISOLATED_STACKS
from tests.isolated.isolated_graphs import run_isolated
from tests.org.org_graphs import org_stack_config, run_org
from tests.policy_lint.parliament_lint import (
    ACCEPTED,
    Accepted,
    Document,
    Finding,
    documents,
    lint,
    unaccepted,
)

WORKLOAD_STACKS = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO.glob("Pulumi.*.yaml")
)


@pytest.fixture(scope="module")
def graphs() -> list[StackGraph]:
    return [
        *(register_stack(stack) for stack in WORKLOAD_STACKS),
        run_org(org_stack_config()),
        *(run_isolated(stack) for stack in ISOLATED_STACKS),
    ]


@pytest.fixture(scope="module")
def findings(graphs: list[StackGraph]) -> list[Finding]:
    return [finding for document in documents(graphs) for finding in lint(document)]


def test_every_kind_of_policy_document_is_linted(graphs: list[StackGraph]) -> None:
    kinds = {(d.type, d.key) for d in documents(graphs)}
    assert {
        ("aws:iam/role:Role", "assumeRolePolicy"),
        ("aws:iam/rolePolicy:RolePolicy", "policy"),
        ("aws:kms/key:Key", "policy"),
        ("aws:backup/vaultPolicy:VaultPolicy", "policy"),
        ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
        ("aws:sns/topicPolicy:TopicPolicy", "policy"),
        ("aws:organizations/policy:Policy", "content"),
        ("aws:cloudwatch/eventBusPolicy:EventBusPolicy", "policy"),
        ("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "policyDocument"),
    } <= kinds
    assert {g.project for g in graphs} == {"aws-dr-backup", "aws-dr-backup-org", "aws-dr-backup-isolated"}


def test_no_document_has_a_finding_beyond_the_accepted_ones(findings: list[Finding]) -> None:
    assert [str(f) for f in unaccepted(findings)] == []


@pytest.mark.parametrize("accepted", ACCEPTED, ids=lambda a: f"{a.issue}-{a.type.rsplit(':', 1)[1]}")
def test_each_acceptance_covers_a_finding_the_documents_have(
    findings: list[Finding], accepted: Accepted
) -> None:
    assert any(accepted.covers(f) for f in findings), (
        f"{accepted.issue} on {accepted.type} is no longer found"
    )


def _statements(document: Document) -> list[dict[str, object]]:
    statements: list[dict[str, object]] = json.loads(document.text)["Statement"]
    return statements


def _with(document: Document, statement: dict[str, object]) -> Document:
    policy = json.loads(document.text)
    policy["Statement"] = [*policy["Statement"], statement]
    return replace(document, text=json.dumps(policy))


def _one(graphs: list[StackGraph], type_: str) -> Document:
    """A document of this type parliament finds nothing in, to widen by one statement."""
    return next(d for d in documents(graphs) if d.type == type_ and not unaccepted(lint(d)))


def test_a_wildcard_grant_in_a_role_policy_is_reported(graphs: list[StackGraph]) -> None:
    document = _one(graphs, "aws:iam/rolePolicy:RolePolicy")
    widened = _with(document, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert [f.issue for f in unaccepted(lint(widened))] == ["RESOURCE_STAR"]


def test_the_config_acceptance_does_not_cover_another_action_on_star(graphs: list[StackGraph]) -> None:
    document = _one(graphs, "aws:iam/rolePolicy:RolePolicy")
    widened = _with(
        document,
        {
            "Effect": "Allow",
            "Action": ["config:DescribeConfigurationRecorders", "config:DeleteConfigurationRecorder"],
            "Resource": "*",
        },
    )
    assert any(f.issue == "RESOURCE_STAR" for f in unaccepted(lint(widened)))


def test_a_misspelt_action_and_a_wrong_condition_type_are_reported(graphs: list[StackGraph]) -> None:
    document = _one(graphs, "aws:organizations/policy:Policy")
    misspelt = _with(document, {"Effect": "Deny", "Action": "backup:DeleteBackupVaults", "Resource": "*"})
    assert "UNKNOWN_ACTION" in {f.issue for f in unaccepted(lint(misspelt))}
    # backup:CopyTargets is typed ArrayOfARN: parliament checks it as an ARN once it can read the type.
    numeric = _with(
        document,
        {
            "Effect": "Deny",
            "Action": "backup:CopyFromBackupVault",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"backup:CopyTargets": "3"}},
        },
    )
    assert "MISMATCHED_TYPE" in {f.issue for f in unaccepted(lint(numeric))}


def test_the_key_policy_acceptance_is_limited_to_key_policies(graphs: list[StackGraph]) -> None:
    vault = _one(graphs, "aws:backup/vaultPolicy:VaultPolicy")
    widened = _with(
        vault,
        {
            "Effect": "Allow",
            "Action": "backup:DescribeBackupVault",
            "Resource": "*",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        },
    )
    assert any(f.issue == "RESOURCE_STAR" for f in unaccepted(lint(widened)))
