"""AWS Backup's selection semantics: which resources a backup selection takes, as pure functions.

A selection takes ``(resources matched by ARN pattern, OR-ed) union (selectionTags, OR-ed)`` minus
``notResources``, then keeps the resources meeting every condition (AND). A negated condition holds for a
resource that lacks the tag (docs/aws-facts.md#1-selection-semantics, 1.1-1.6). Selections are in the
engine's shape (``resources``, ``notResources``, ``selectionTags``, ``conditions`` with ``stringEquals``,
``stringNotEquals``, ``stringLikes``, ``stringNotLikes``).

The program builds its selections with these keys and values (``components/plan_layout.py``), the offline plan
and the coverage job evaluate with them, and the policy pack, published alone, carries a byte-for-byte copy
(``policies/dr_policies/backup_selection.py``); both copies run the vectors of ``tests/selection_vectors.py``.
Standard library only: the coverage Lambda bundle ships this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

TAG_PREFIX = "aws:ResourceTag/"
"""Condition keys name a tag as ``aws:ResourceTag/<key>``."""
OPERATORS = ("stringEquals", "stringNotEquals", "stringLikes", "stringNotLikes")
NEGATIVE_OPERATORS = ("stringNotEquals", "stringNotLikes")
DEFAULT_OPT_OUT_TAG = "exclude-disaster-recovery-backup"
"""Tag key that opts a resource out of every DR backup, unless the stack (or pack config) names another."""
DEFAULT_CROSS_REGION_OPT_OUT_TAG = "exclude-cross-region-backup"
"""Tag key that opts a resource out of the cross-Region copy alone."""
DEFAULT_OPT_OUT_VALUE = "true"
"""The value both opt-out tags carry to opt out (case-sensitive, like the operators)."""
KUBERNETES_CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
KUBERNETES_OWNED_VALUE = "owned"
"""The value Kubernetes gives ``kubernetes.io/cluster/<name>`` on volumes the cluster created and owns
(``shared`` marks resources it only uses)."""


def condition_key(tag_key: str) -> str:
    """The condition key that tests tag ``tag_key``."""
    return TAG_PREFIX + tag_key


def kubernetes_tag_key(cluster: str) -> str:
    """The tag key Kubernetes puts on the volumes of ``cluster``."""
    return KUBERNETES_CLUSTER_TAG_PREFIX + cluster


def arn_matches(pattern: str, arn: str) -> bool:
    """Whether ``arn`` matches a selection's ARN pattern (``*`` is "anything", case-sensitive)."""
    # AWS Backup ARN patterns use '*' as "anything"; fnmatch's other wildcards never appear in them.
    return fnmatchcase(arn, pattern)


def holds(operator: str, expected: str, actual: str | None) -> bool:
    """Whether one condition holds for a resource whose tag has value ``actual`` (``None``: no such tag)."""
    if operator == "stringEquals":
        return actual == expected
    if operator == "stringNotEquals":
        return actual != expected
    if operator == "stringLikes":
        return actual is not None and fnmatchcase(actual, expected)
    if operator == "stringNotLikes":
        return actual is None or not fnmatchcase(actual, expected)
    raise ValueError(f"unknown condition operator {operator!r}; allowed: {', '.join(OPERATORS)}")


def condition_holds(operator: str, key: str, expected: str, tags: Mapping[str, str]) -> bool:
    """Whether the condition ``operator key expected`` holds for a resource carrying ``tags``.

    A key without the ``aws:ResourceTag/`` prefix names no tag, so no resource carries it.
    """
    actual = tags.get(key[len(TAG_PREFIX) :]) if key.startswith(TAG_PREFIX) else None
    return holds(operator, expected, actual)


def selects(selection: Mapping[str, Any], arn: str, tags: Mapping[str, str]) -> bool:
    """Whether AWS Backup's ``selection`` takes the resource ``arn`` carrying ``tags``."""
    by_arn = any(arn_matches(p, arn) for p in selection.get("resources", []))
    by_tag = any(
        tags.get(t["key"]) == t["value"]
        for t in selection.get("selectionTags", [])
        if t.get("type", "STRINGEQUALS") == "STRINGEQUALS"
    )
    if not (by_arn or by_tag):
        return False
    if any(arn_matches(p, arn) for p in selection.get("notResources", [])):
        return False
    for block in selection.get("conditions", []):
        for operator, entries in block.items():
            for entry in entries:
                if not condition_holds(operator, entry["key"], entry["value"], tags):
                    return False
    return True
