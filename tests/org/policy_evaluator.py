"""A small evaluator of ``Deny`` statements, to test the guardrails' SCPs as AWS would judge a request.

It covers the policy language the guardrails use: ``Action`` and ``Resource`` with ``*``/``?`` wildcards
(actions case-insensitive, ARNs matched component by component as ``ArnLike`` does), ``Principal: "*"``
(an RCP statement must name it), and the condition operators ``StringEquals``, ``StringNotEquals``,
``StringLike``, ``StringNotLike``, ``ArnLike``, ``ArnNotLike``, ``NumericLessThan`` and ``Bool``, alone, with
``ForAnyValue:``/``ForAllValues:``, or with the ``IfExists`` suffix (an absent key makes it true). The semantics follow the IAM
user guide's condition-operator and multivalued-key pages (docs/guardrails.md#how-the-tests-judge-the-documents):
every operator and every key of a block must hold; a negated operator holds when no policy value matches;
a key absent from the request makes a positive operator false and a negated one true; ``ForAnyValue`` with
an absent key is false, ``ForAllValues`` true. Resource policies (a vault access policy) are judged the same
way: their ``Allow`` statements never deny, and a ``Deny`` must name the wildcard principal. Anything else
raises, so a statement using more than this cannot pass a test by accident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ContextValue = str | int | Sequence[str]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    principal_arn: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> ContextValue | None:
        if key == "aws:PrincipalArn":
            return self.principal_arn
        return self.context.get(key)


def _wildcard(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    # fnmatch treats [..] as a class; IAM has no classes, so escape them.
    escaped = pattern.replace("[", "[[]")
    if case_sensitive:
        return fnmatchcase(value, escaped)
    return fnmatchcase(value.lower(), escaped.lower())


def arn_like(pattern: str, arn: str) -> bool:
    """``ArnLike``: the six colon-separated parts matched separately (the last may hold colons)."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(given) != 6:
        return False
    return all(_wildcard(w, g) for w, g in zip(wanted, given, strict=True))


def _single(operator: str, policy_values: Sequence[Any], value: Any) -> bool:
    if operator == "StringEquals":
        return any(value == v for v in policy_values)
    if operator == "StringLike":
        return any(_wildcard(v, value) for v in policy_values)
    if operator == "ArnLike":
        return any(arn_like(v, value) for v in policy_values)
    if operator == "NumericLessThan":
        return any(float(value) < float(v) for v in policy_values)
    if operator == "Bool":
        return any(str(value).lower() == str(v).lower() for v in policy_values)
    raise NotImplementedError(f"condition operator {operator}")


_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotLike": "ArnLike"}


def _holds(operator: str, policy_values: Sequence[Any], value: Any) -> bool:
    if operator in _NEGATED:
        return not _single(_NEGATED[operator], policy_values, value)
    return _single(operator, policy_values, value)


def condition_holds(condition: Mapping[str, Mapping[str, Any]], request: Request) -> bool:
    for qualified, keys in condition.items():
        qualifier, _, operator = qualified.rpartition(":")
        if_exists = operator.endswith("IfExists")
        operator = operator.removesuffix("IfExists")
        for key, raw in keys.items():
            policy_values = raw if isinstance(raw, list) else [raw]
            value = request.value(key)
            if if_exists and value is None:
                # IAM: a ...IfExists operator holds when the key is absent from the request.
                continue
            if qualifier:
                if qualifier not in ("ForAnyValue", "ForAllValues"):
                    raise NotImplementedError(f"set operator {qualifier}")
                if value is None:
                    result = qualifier == "ForAllValues"
                else:
                    if isinstance(value, str | int):
                        raise TypeError(f"{key} is multivalued here; give a list")
                    test = any if qualifier == "ForAnyValue" else all
                    result = test(_holds(operator, policy_values, v) for v in value)
            elif value is None:
                result = operator in _NEGATED
            else:
                if not isinstance(value, str | int):
                    raise TypeError(
                        f"{key} is single-valued for {operator}; {qualified} on a list is a policy bug"
                    )
                result = _holds(operator, policy_values, value)
            if not result:
                return False
    return True


def _wildcard_principal(principal: Any) -> bool:
    return bool(principal == "*" or principal == {"AWS": "*"})


def statement_denies(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether ``statement`` denies ``request``: an SCP statement, or one of a resource policy (which names a
    ``Principal``). In a resource policy an ``Allow`` never denies; a ``Deny`` is judged here only with the
    wildcard principal (who it binds is then decided by its conditions); any other principal raises."""
    resource_policy = "Principal" in statement
    if resource_policy:
        if statement["Effect"] == "Allow":
            return False
        if not _wildcard_principal(statement["Principal"]):
            raise NotImplementedError(f"a Deny with principal {statement['Principal']!r}")
    if statement["Effect"] != "Deny":
        raise NotImplementedError("an SCP here only denies")
    if set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition", "Principal"}:
        raise NotImplementedError(f"elements {sorted(statement)}")
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if not any(_wildcard(a, request.action, case_sensitive=False) for a in actions):
        return False
    if not any(arn_like(r, request.resource) for r in resources):
        return False
    return condition_holds(statement.get("Condition", {}), request)


def denying(documents: Sequence[Mapping[str, Any]], request: Request) -> list[str]:
    """The ``Sid`` of every statement, across the documents, that denies ``request``."""
    return [
        statement["Sid"]
        for document in documents
        for statement in document["Statement"]
        if statement_denies(statement, request)
    ]


def _principal_matches(principal: Any, principal_arn: str) -> bool:
    """A trust policy's ``Principal``: ``{"Federated": ...}`` or ``{"AWS": ...}``, one ARN or a list, compared
    exactly (the wildcard principal is refused: the roles here never trust it)."""
    if not isinstance(principal, Mapping) or set(principal) - {"Federated", "AWS"}:
        raise NotImplementedError(f"principal {principal!r}")
    for value in principal.values():
        values = value if isinstance(value, list) else [value]
        if "*" in values:
            raise NotImplementedError("a wildcard principal")
        if principal_arn in values:
            return True
    return False


def statement_allows(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether an ``Allow`` statement of an identity policy (``Resource``) or a trust policy (``Principal``,
    no ``Resource``) allows ``request``; ``request.principal_arn`` is the caller (for a web identity, the
    OIDC provider's ARN)."""
    if statement["Effect"] != "Allow":
        return False
    if set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition", "Principal"}:
        raise NotImplementedError(f"elements {sorted(statement)}")
    if "Principal" in statement and not _principal_matches(statement["Principal"], request.principal_arn):
        return False
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if not any(_wildcard(a, request.action, case_sensitive=False) for a in actions):
        return False
    if "Resource" in statement:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if not any(arn_like(r, request.resource) for r in resources):
            return False
    return condition_holds(statement.get("Condition", {}), request)


def allowed(documents: Sequence[Mapping[str, Any]], request: Request) -> bool:
    """IAM's decision within one account for these documents: an explicit deny wins, then any allow, else
    the implicit deny."""
    statements = [s for d in documents for s in d["Statement"]]
    if any(s["Effect"] == "Deny" and statement_denies(s, request) for s in statements):
        return False
    return any(statement_allows(s, request) for s in statements)
