"""Reading IAM-style policy documents (KMS key policies, backup vault access policies)."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ACCOUNT_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


class DocumentError(ValueError):
    pass


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str
    effect: str
    actions: tuple[str, ...]
    not_actions: bool
    aws_principals: tuple[str, ...]
    other_principals: tuple[str, ...]
    wildcard_principal: bool
    conditions: Mapping[str, Mapping[str, Any]]

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement #{self.index}"

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def grants(self, action: str) -> bool:
        """Whether the statement covers ``action`` (wildcards in the statement's actions honoured)."""
        hit = any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in self.actions)
        return not hit if self.not_actions else hit

    def condition_values(self, key: str) -> list[tuple[str, Any]]:
        """(operator, value) pairs for a condition key, case-insensitive as IAM compares keys."""
        found: list[tuple[str, Any]] = []
        for operator, block in self.conditions.items():
            if not isinstance(block, Mapping):
                continue
            for k, v in block.items():
                if k.lower() == key.lower():
                    found.append((operator, v))
        return found


def org_restricted(st: Statement, keys: list[str]) -> bool:
    """Whether the statement carries a condition on one of ``keys`` (e.g. ``aws:PrincipalOrgID``) with a
    real value (not empty, not only wildcards)."""
    for key in keys:
        for _operator, value in st.condition_values(key):
            values = value if isinstance(value, list) else [value]
            if values and all(isinstance(v, str) and v.strip("*?") != "" for v in values):
                return True
    return False


def account_of(principal: str) -> str | None:
    if _ACCOUNT_ID.match(principal):
        return principal
    match = _ACCOUNT_ARN.match(principal)
    return match.group(1) if match else None


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def parse(document: Any) -> list[Statement]:
    """Statements of a policy given as JSON text or an object; raises DocumentError if malformed."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise DocumentError(f"the policy is not valid JSON ({exc})") from exc
    if not isinstance(document, Mapping):
        raise DocumentError("the policy is not a JSON object")
    raw = document.get("Statement")
    items = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise DocumentError("the policy has no Statement list")
    statements = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise DocumentError(f"statement #{i} is not an object")
        principal = item.get("Principal")
        wildcard = principal == "*"
        aws: tuple[str, ...] = ()
        other: list[str] = []
        if isinstance(principal, Mapping):
            aws = _strings(principal.get("AWS"))
            wildcard = wildcard or "*" in aws
            for kind, value in principal.items():
                if kind != "AWS":
                    other.extend(f"{kind}:{v}" for v in _strings(value))
                    wildcard = wildcard or "*" in _strings(value)
        if item.get("NotPrincipal") is not None and str(item.get("Effect")) == "Allow":
            wildcard = True  # Allow + NotPrincipal grants everyone else
        not_actions = "NotAction" in item
        conditions = item.get("Condition")
        statements.append(
            Statement(
                index=i,
                sid=str(item.get("Sid") or ""),
                effect=str(item.get("Effect") or ""),
                actions=_strings(item.get("NotAction") if not_actions else item.get("Action")),
                not_actions=not_actions,
                aws_principals=tuple(p for p in aws if p != "*"),
                other_principals=tuple(other),
                wildcard_principal=wildcard,
                conditions=conditions if isinstance(conditions, Mapping) else {},
            )
        )
    return statements
