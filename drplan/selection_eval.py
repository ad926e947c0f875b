"""Which resources a registered backup selection takes, by AWS Backup's documented semantics.

(`resources` matched by ARN pattern, OR-ed) union (`selectionTags`, OR-ed) minus `notResources`, then every
condition must hold (AND). A negated condition holds for a resource that lacks the tag
(docs/aws-facts.md#1-selection-semantics, 1.1-1.6). Works on selection inputs in the engine's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

_TAG_PREFIX = "aws:ResourceTag/"


def _arn_matches(pattern: str, arn: str) -> bool:
    # AWS Backup ARN patterns use '*' as "anything"; fnmatch's other wildcards never appear in them.
    return fnmatchcase(arn, pattern)


def _condition_holds(operator: str, key: str, value: str, tags: Mapping[str, str]) -> bool:
    actual = tags.get(key.removeprefix(_TAG_PREFIX))
    if operator == "stringEquals":
        return actual == value
    if operator == "stringNotEquals":
        return actual != value
    if operator == "stringLikes":
        return actual is not None and fnmatchcase(actual, value)
    if operator == "stringNotLikes":
        return actual is None or not fnmatchcase(actual, value)
    raise ValueError(f"unknown condition operator {operator!r}")


def selects(selection: Mapping[str, Any], arn: str, tags: Mapping[str, str]) -> bool:
    by_arn = any(_arn_matches(p, arn) for p in selection.get("resources", []))
    by_tag = any(
        tags.get(t["key"]) == t["value"]
        for t in selection.get("selectionTags", [])
        if t.get("type", "STRINGEQUALS") == "STRINGEQUALS"
    )
    if not (by_arn or by_tag):
        return False
    if any(_arn_matches(p, arn) for p in selection.get("notResources", [])):
        return False
    for block in selection.get("conditions", []):
        for operator, entries in block.items():
            for entry in entries:
                if not _condition_holds(operator, entry["key"], entry["value"], tags):
                    return False
    return True
