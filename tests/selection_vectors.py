"""Selection vectors: one table both copies of AWS Backup's selection semantics run
(``dr_model/backup_selection.py`` and the policy pack's ``policies/dr_policies/backup_selection.py``).

Each vector is a selection in the engine's shape, a resource (ARN and tags) and whether AWS Backup takes it
(docs/aws-facts.md#1-selection-semantics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VOLUME = "arn:aws:ec2:us-east-1:111111111111:volume/vol-0123456789abcdef0"
TABLE = "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
CLUSTER = "arn:aws:rds:us-east-1:111111111111:cluster:orders"
OPT_OUT = "aws:ResourceTag/exclude-disaster-recovery-backup"
ENGINE = "aws:ResourceTag/dr-backup-engine"
OWNED = "aws:ResourceTag/kubernetes.io/cluster/prod-eks"


@dataclass(frozen=True)
class Vector:
    name: str
    selection: dict[str, Any]
    arn: str
    tags: dict[str, str] = field(default_factory=dict)
    selected: bool = True


def _cond(operator: str, key: str, value: str) -> dict[str, Any]:
    return {operator: [{"key": key, "value": value}]}


EBS = ["arn:aws:ec2:*:*:volume/*"]
OPT_OUT_SELECTION = {"resources": EBS, "conditions": [_cond("stringNotEquals", OPT_OUT, "true")]}
KUBERNETES_SELECTION = {"resources": EBS, "conditions": [_cond("stringNotEquals", OWNED, "owned")]}
DOCDB_SELECTION = {
    "resources": ["arn:aws:rds:*:*:cluster:*"],
    "conditions": [_cond("stringEquals", ENGINE, "documentdb")],
}

VECTORS: tuple[Vector, ...] = (
    Vector("pattern matches", {"resources": EBS}, VOLUME),
    Vector("pattern misses", {"resources": EBS}, TABLE, selected=False),
    Vector("star takes everything", {"resources": ["*"]}, TABLE),
    Vector("patterns are OR-ed", {"resources": [*EBS, "arn:aws:dynamodb:*:*:table/*"]}, TABLE),
    Vector(
        "ARN patterns are case-sensitive", {"resources": ["arn:aws:ec2:*:*:VOLUME/*"]}, VOLUME, selected=False
    ),
    Vector("notResources removes", {"resources": ["*"], "notResources": EBS}, VOLUME, selected=False),
    Vector("notResources leaves the rest", {"resources": ["*"], "notResources": EBS}, TABLE),
    Vector(
        "no resources, no tags: nothing",
        {"conditions": [_cond("stringEquals", OPT_OUT, "x")]},
        VOLUME,
        {OPT_OUT[16:]: "x"},
        selected=False,
    ),
    Vector(
        "selectionTags take any type",
        {"selectionTags": [{"type": "STRINGEQUALS", "key": "backup", "value": "yes"}]},
        TABLE,
        {"backup": "yes"},
    ),
    Vector(
        "selectionTags need the value",
        {"selectionTags": [{"type": "STRINGEQUALS", "key": "backup", "value": "yes"}]},
        TABLE,
        {"backup": "Yes"},
        selected=False,
    ),
    Vector(
        "selectionTags OR resources",
        {"resources": EBS, "selectionTags": [{"type": "STRINGEQUALS", "key": "backup", "value": "yes"}]},
        TABLE,
        {"backup": "yes"},
    ),
    Vector(
        "notResources beat selectionTags",
        {
            "selectionTags": [{"type": "STRINGEQUALS", "key": "b", "value": "y"}],
            "notResources": ["arn:aws:dynamodb:*"],
        },
        TABLE,
        {"b": "y"},
        selected=False,
    ),
    Vector("opt-out: untagged is in", OPT_OUT_SELECTION, VOLUME),
    Vector("opt-out: tagged true is out", OPT_OUT_SELECTION, VOLUME, {OPT_OUT[16:]: "true"}, selected=False),
    Vector("opt-out: values are case-sensitive", OPT_OUT_SELECTION, VOLUME, {OPT_OUT[16:]: "True"}),
    Vector("opt-out: false stays in", OPT_OUT_SELECTION, VOLUME, {OPT_OUT[16:]: "false"}),
    Vector(
        "kubernetes: owned volume is out", KUBERNETES_SELECTION, VOLUME, {OWNED[16:]: "owned"}, selected=False
    ),
    Vector("kubernetes: shared volume is in", KUBERNETES_SELECTION, VOLUME, {OWNED[16:]: "shared"}),
    Vector(
        "kubernetes: another cluster's volume is in",
        KUBERNETES_SELECTION,
        VOLUME,
        {"kubernetes.io/cluster/other": "owned"},
    ),
    Vector("engine: tagged cluster is in", DOCDB_SELECTION, CLUSTER, {ENGINE[16:]: "documentdb"}),
    Vector("engine: untagged cluster is out", DOCDB_SELECTION, CLUSTER, selected=False),
    Vector("engine: other value is out", DOCDB_SELECTION, CLUSTER, {ENGINE[16:]: "neptune"}, selected=False),
    Vector(
        "conditions are AND-ed across blocks",
        {
            "resources": ["*"],
            "conditions": [
                _cond("stringEquals", ENGINE, "neptune"),
                _cond("stringNotEquals", OPT_OUT, "true"),
            ],
        },
        CLUSTER,
        {ENGINE[16:]: "neptune", OPT_OUT[16:]: "true"},
        selected=False,
    ),
    Vector(
        "conditions AND-ed: both hold",
        {
            "resources": ["*"],
            "conditions": [
                {
                    "stringEquals": [{"key": ENGINE, "value": "neptune"}],
                    "stringNotEquals": [{"key": OPT_OUT, "value": "true"}],
                }
            ],
        },
        CLUSTER,
        {ENGINE[16:]: "neptune"},
    ),
    Vector(
        "stringLikes matches a pattern",
        {"resources": ["*"], "conditions": [_cond("stringLikes", "aws:ResourceTag/env", "prod-*")]},
        TABLE,
        {"env": "prod-eu"},
    ),
    Vector(
        "stringLikes needs the tag",
        {"resources": ["*"], "conditions": [_cond("stringLikes", "aws:ResourceTag/env", "*")]},
        TABLE,
        selected=False,
    ),
    Vector(
        "stringNotLikes holds without the tag",
        {"resources": ["*"], "conditions": [_cond("stringNotLikes", "aws:ResourceTag/env", "test*")]},
        TABLE,
    ),
    Vector(
        "stringNotLikes excludes a match",
        {"resources": ["*"], "conditions": [_cond("stringNotLikes", "aws:ResourceTag/env", "test*")]},
        TABLE,
        {"env": "test-1"},
        selected=False,
    ),
    Vector(
        "condition keys are case-sensitive",
        {"resources": ["*"], "conditions": [_cond("stringEquals", "aws:ResourceTag/Env", "prod")]},
        TABLE,
        {"env": "prod"},
        selected=False,
    ),
    Vector(
        "a key without the prefix names no tag",
        {"resources": ["*"], "conditions": [_cond("stringEquals", "env", "prod")]},
        TABLE,
        {"env": "prod"},
        selected=False,
    ),
    Vector(
        "a negated unprefixed key holds",
        {"resources": ["*"], "conditions": [_cond("stringNotEquals", "env", "prod")]},
        TABLE,
        {"env": "prod"},
    ),
)
