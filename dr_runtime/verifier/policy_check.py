"""A vault's access policy compared with the one the program builds: plain Python.

The verifier cannot import the program's builder (``components/documents.py``,
``copy_into_vault_policy``), so the deployment hands it the builder's own output as a template: the
document built for the placeholder vault ARN ``VAULT_ARN`` and the placeholder workload account
``WORKLOAD_ACCOUNT`` (``--vault-policy``). Per vault, the placeholders are filled in with the vault's ARN
and its workload account, and the policy AWS returns is compared statement by statement, as meaning and
not as text: statement order, ``Sid``, a single value against a one-element list, the case of action
names, and an account ID against its ``arn:aws:iam::<account>:root`` form are not differences.
Everything else is: an extra statement (another principal, another action, a Deny added), a missing one
(the workload account's copy-in, a Deny removed), a changed condition or resource.
"""

from __future__ import annotations

import json
import re
from typing import Any

VAULT_ARN = "${VaultArn}"
WORKLOAD_ACCOUNT = "${WorkloadAccount}"
_ACCOUNT = re.compile(r"^\d{12}$")
_LISTS = ("Action", "NotAction", "Resource", "NotResource")


class PolicyTemplateError(ValueError):
    """The template is not a policy document with both placeholders."""


def parse_template(raw: str) -> dict[str, Any]:
    try:
        body: Any = json.loads(raw)
    except json.JSONDecodeError:
        raise PolicyTemplateError("is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("Statement"), list | dict):
        raise PolicyTemplateError("must be a policy document with a 'Statement'")
    for token in (VAULT_ARN, WORKLOAD_ACCOUNT):
        if token not in raw:
            raise PolicyTemplateError(f"must hold the placeholder {token}")
    return body


def _fill(value: Any, vault_arn: str, account: str) -> Any:
    if isinstance(value, str):
        return value.replace(VAULT_ARN, vault_arn).replace(WORKLOAD_ACCOUNT, account)
    if isinstance(value, list):
        return [_fill(item, vault_arn, account) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, vault_arn, account) for key, item in value.items()}
    return value


def expected_policy(template: dict[str, Any], vault_arn: str, account: str) -> dict[str, Any]:
    filled: dict[str, Any] = _fill(template, vault_arn, account)
    return filled


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return sorted(str(item) for item in items)


def _principal(value: Any) -> Any:
    if not isinstance(value, dict):
        return str(value)  # "*"
    normal: dict[str, list[str]] = {}
    for kind, ids in value.items():
        normal[str(kind)] = sorted(
            f"arn:aws:iam::{item}:root" if kind == "AWS" and _ACCOUNT.match(item) else item
            for item in _strings(ids)
        )
    return normal


def _statement(statement: Any) -> str:
    """One statement in a canonical form, as text (so statements can be counted and compared)."""
    if not isinstance(statement, dict):
        return json.dumps({"unreadable statement": statement}, sort_keys=True, default=str)
    normal: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in ("Principal", "NotPrincipal"):
            normal[key] = _principal(value)
        elif key in _LISTS:
            items = _strings(value)
            normal[key] = [item.lower() for item in items] if key.endswith("Action") else items
        elif key == "Condition" and isinstance(value, dict):
            normal[key] = {
                str(op): {str(k): _strings(v) for k, v in body.items()} if isinstance(body, dict) else body
                for op, body in value.items()
            }
        else:
            normal[key] = value
    return json.dumps(normal, sort_keys=True, default=str)


def _statements(document: Any) -> list[str]:
    if not isinstance(document, dict):
        return []
    body = document.get("Statement", [])
    return sorted(_statement(s) for s in (body if isinstance(body, list) else [body]))


def _describe(canonical: str) -> str:
    statement = json.loads(canonical)
    if not isinstance(statement, dict) or "Effect" not in statement:
        return canonical
    who = statement.get("Principal", statement.get("NotPrincipal", "?"))
    if isinstance(who, dict):
        who = ", ".join(item for ids in who.values() for item in ids)
    what = statement.get("Action", statement.get("NotAction", "?"))
    where = statement.get("Resource", statement.get("NotResource", "?"))
    condition = (
        f" if {json.dumps(statement['Condition'], sort_keys=True)}" if "Condition" in statement else ""
    )
    return (
        f"{statement['Effect']} {', '.join(what) if isinstance(what, list) else what} "
        f"to {who} on {', '.join(where) if isinstance(where, list) else where}{condition}"
    )


def differences(expected: dict[str, Any], actual_text: str) -> list[str]:
    """What differs between the built policy and the one AWS returned; empty when they mean the same."""
    try:
        actual: Any = json.loads(actual_text)
    except json.JSONDecodeError:
        return ["the policy AWS returned is not JSON"]
    want, have = _statements(expected), _statements(actual)
    missing, extra = list(want), []
    for statement in have:
        if statement in missing:
            missing.remove(statement)
        else:
            extra.append(statement)
    found = [f"missing: {_describe(s)}" for s in missing]
    found += [f"not built by the program: {_describe(s)}" for s in extra]
    return found
