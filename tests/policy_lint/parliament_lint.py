"""Every policy document the repository's stacks register, linted with parliament (duo-labs/parliament).

parliament reads a document as an identity policy. Five of its findings are what that reading gets wrong for
the documents here, or where its copy of the Service Authorization Reference is older than the service's own
documentation; each is accepted below, narrowly (the finding, the resource type, what it names) and with its
reason. Anything else it finds fails the test. docs/iam-scoping.md ("Linted with parliament") explains each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import parliament
from parliament import statement as parliament_statement

from drplan.graph import StackGraph

_translate: Callable[[str], str] = parliament_statement.translate_documentation_types


def _translate_with_arn_arrays(name: str) -> str:
    """parliament 1.6.4 stops with "Unknown data format: ArrayOfARN" on a multivalued ARN key such as
    ``backup:CopyTargets``; such a key is compared with the ARN operators (ForAnyValue/ForAllValues), so it is
    typed as ARN, as parliament already types ``ArrayOfString`` as String."""
    return "Arn" if name == "ArrayOfARN" else _translate(name)


_value_check: Callable[[str, list[Any]], bool] = parliament_statement.is_value_in_correct_format_for_type


def _value_check_with_numbers(type_needed: str, values: list[Any]) -> bool:
    """parliament 1.6.4 matches condition values with a regular expression and fails on a JSON number
    (``"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": 30}``), which IAM accepts as the
    number it is; the value is checked as its decimal text."""
    return _value_check(type_needed, [v if isinstance(v, (bool, str)) else str(v) for v in values])


parliament_statement.translate_documentation_types = _translate_with_arn_arrays
parliament_statement.is_value_in_correct_format_for_type = _value_check_with_numbers

POLICY_KEYS = ("policy", "assumeRolePolicy", "content", "policyDocument", "accessPolicies")
"""The inputs that carry a policy document, over every resource type the stacks register."""


@dataclass(frozen=True)
class Document:
    stack: str
    type: str
    name: str
    key: str
    text: str


@dataclass(frozen=True)
class Finding:
    document: Document
    issue: str
    detail: str
    """parliament's detail, as JSON."""

    def __str__(self) -> str:
        d = self.document
        return f"{d.stack} {d.type} {d.name}.{d.key}: {self.issue} {self.detail}"


def documents(graphs: list[StackGraph]) -> Iterator[Document]:
    for graph in graphs:
        for resource in graph.resources:
            for key in POLICY_KEYS:
                value = resource.inputs.get(key)
                if isinstance(value, str) and '"Statement"' in value:
                    yield Document(graph.stack, resource.type, resource.name, key, value)


def lint(document: Document) -> list[Finding]:
    policy = parliament.analyze_policy_string(document.text)
    return [
        Finding(document, f.issue, json.dumps(f.detail, sort_keys=True, default=str)) for f in policy.findings
    ]


@dataclass(frozen=True)
class Accepted:
    issue: str
    type: str
    key: str
    names: Callable[[str], bool]
    """True for the finding's detail this acceptance covers."""
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            finding.issue == self.issue
            and finding.document.type == self.type
            and finding.document.key == self.key
            and self.names(finding.detail)
        )


def _any(detail: str) -> bool:
    return True


def _only(*allowed: str) -> Callable[[str], bool]:
    """The detail names only these actions (and at least one of them)."""

    def names(detail: str) -> bool:
        value: Any = json.loads(detail)
        named = {str(v) for v in value} if isinstance(value, list) else {str(value)}
        return bool(named) and named <= set(allowed)

    return names


def _no_resource_element(detail: str) -> bool:
    return "neither Resource nor NotResource" in detail


def _unknown_condition(key: str, actions: tuple[str, ...]) -> Callable[[str], bool]:
    def names(detail: str) -> bool:
        return any(json.loads(detail) == f"Unknown condition {key} for action {a}" for a in actions)

    return names


ACCEPTED = (
    Accepted(
        "RESOURCE_STAR",
        "aws:kms/key:Key",
        "policy",
        _any,
        # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
        'In a key policy, Resource "*" means the key the policy is attached to, and no other.',
    ),
    Accepted(
        "MALFORMED",
        "aws:iam/role:Role",
        "assumeRolePolicy",
        _no_resource_element,
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
        "A role's trust policy is the role's resource-based policy: it names principals, and its resource is "
        "the role itself, so it has no Resource element.",
    ),
    Accepted(
        "RESOURCE_STAR",
        "aws:iam/rolePolicy:RolePolicy",
        "policy",
        _only("config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus"),
        "Read-only listings of the account's own recorder, whose ARN ends in an ID AWS assigns. The current "
        "Service Authorization Reference gives them a recorder resource type, older copies none; '*' is the "
        "form that is authorised whichever way the service evaluates the call without a name [inferred].",
    ),
    Accepted(
        "RESOURCE_STAR",
        "aws:iam/rolePolicy:RolePolicy",
        "policy",
        _only("logs:GetQueryResults"),
        "The verifier's silence check reads its query's results by query ID; the API names no log group, and "
        "whether the service authorises the call against the group the query ran on is not documented [inferred]: "
        "'*' works either way, in the verifier's own account (StartQuery is scoped to the job-events group).",
    ),
    Accepted(
        "UNKNOWN_CONDITION_FOR_ACTION",
        "aws:organizations/policy:Policy",
        "content",
        _unknown_condition(
            "kms:ResourceAliases",
            ("kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKeyRotation"),
        ),
        # https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html
        "AWS KMS lists kms:ResourceAliases among the conditions of every operation on a KMS key; the Service "
        "Authorization Reference, parliament's source, does not list every key per action.",
    ),
)


def unaccepted(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not any(a.covers(f) for a in ACCEPTED)]
