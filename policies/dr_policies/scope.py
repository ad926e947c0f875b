"""What a backup selection can pick: resource types by ARN pattern, and tag conditions as constraints.

AWS Backup evaluates a selection as ``(resources + selectionTags matches) minus notResources``, then keeps
the resources satisfying every condition. Sources:
https://docs.aws.amazon.com/aws-backup/latest/devguide/assigning-resources-json.html,
https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupSelection.html.
The pack asks two kinds of question:

- *which resource types can this selection pick?* Each type is represented by a sample ARN matched
  against the selection's patterns. Aurora, DocumentDB and Neptune clusters share one ARN shape
  (``arn:aws:rds:<region>:<account>:cluster:<id>``), so they are told apart by a discriminator tag
  (``clusterEngineTagKey``, values ``clusterEngineTagValues``; a cluster with no or any other value is
  Aurora), as the conditions can only test tags;
- *can a resource with these tags be picked?* Conditions are evaluated with a missing tag matching
  StringNotEquals/StringNotLike, as in IAM. AWS calls the selection logic IAM-like but does not state
  this case outright (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_Conditions.html
  describes tagged resources only), so it is an inference.

Constraints on different tag keys are independent, so a set of conditions is satisfiable exactly when
the constraints on each key are; that makes "can these two selections pick the same cluster" decidable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .backup_selection import OPERATORS, TAG_PREFIX, arn_matches, holds
from .framework import ResourceView
from .pack_config import Settings
from .values import UnknownValue, get, get_list

_CLUSTER_ARN = "arn:aws:rds:us-east-1:111111111111:cluster:sample-cluster"
CLUSTER_TYPES = ("Aurora", "DocumentDB", "Neptune")
# One sample ARN per AWS Backup resource type (the types a selection pattern can reach).
SAMPLE_ARNS: dict[str, str] = {
    "S3": "arn:aws:s3:::sample-bucket",
    "EBS": "arn:aws:ec2:us-east-1:111111111111:volume/vol-0123456789abcdef0",
    "EC2": "arn:aws:ec2:us-east-1:111111111111:instance/i-0123456789abcdef0",
    "EFS": "arn:aws:elasticfilesystem:us-east-1:111111111111:file-system/fs-01234567",
    "DynamoDB": "arn:aws:dynamodb:us-east-1:111111111111:table/sample-table",
    "RDS": "arn:aws:rds:us-east-1:111111111111:db:sample-instance",
    "Aurora": _CLUSTER_ARN,
    "DocumentDB": _CLUSTER_ARN,
    "Neptune": _CLUSTER_ARN,
    "FSx": "arn:aws:fsx:us-east-1:111111111111:file-system/fs-0123456789abcdef0",
    "StorageGateway": "arn:aws:storagegateway:us-east-1:111111111111:gateway/sgw-12A3456B/volume/vol-1122AABB",
    "Redshift": "arn:aws:redshift:us-east-1:111111111111:cluster:sample-cluster",
    "Timestream": "arn:aws:timestream:us-east-1:111111111111:database/sample/table/sample",
    "CloudFormation": "arn:aws:cloudformation:us-east-1:111111111111:stack/sample/0000",
    "SAPHANA": "arn:aws:ssm-sap:us-east-1:111111111111:HANA/sample",
    "VirtualMachine": "arn:aws:backup-gateway:us-east-1:111111111111:vm/vm-0123456789abcdef0",
}
ALL_TYPES = tuple(SAMPLE_ARNS)

Constraint = tuple[str, str]
"""(operator, value) on one tag key."""


def _holds(constraint: Constraint, value: str | None) -> bool:
    op, expected = constraint
    return holds(op, expected, value)


def witnesses(constraints: Iterable[Constraint]) -> list[str | None]:
    """Values worth trying: absent, every literal, every pattern's simplest match, and a fresh value."""
    found: list[str | None] = [None, "\x00fresh"]
    for op, value in constraints:
        found.append(value)
        if op in ("stringLikes", "stringNotLikes"):
            found.append(value.replace("*", "").replace("?", "a"))
    return found


def satisfiable(constraints: list[Constraint], candidates: Iterable[str | None] | None = None) -> bool:
    """Whether some value of one tag key (``None``: the tag is absent) meets every constraint."""
    pool = list(candidates) if candidates is not None else witnesses(constraints)
    return any(all(_holds(c, v) for c in constraints) for v in pool)


@dataclass(frozen=True)
class Scope:
    """A selection's resources, exclusions, legacy selection tags and conditions, as plain data."""

    patterns: tuple[str, ...]
    excluded: tuple[str, ...]
    tag_union: tuple[tuple[str, str], ...]
    """``selectionTags`` (key, value): AWS adds every resource so tagged, of any type."""
    conditions: Mapping[str, tuple[Constraint, ...]]
    """Tag key (without ``aws:ResourceTag/``) -> constraints."""

    def arn_selected(self, arn: str) -> bool:
        if any(arn_matches(p, arn) for p in self.excluded):
            return False
        return bool(self.tag_union) or any(arn_matches(p, arn) for p in self.patterns)

    def admits(self, tags: Mapping[str, str]) -> bool:
        """Whether a resource carrying exactly ``tags`` passes every condition."""
        return all(all(_holds(c, tags.get(key)) for c in cs) for key, cs in self.conditions.items())

    def satisfiable_except(self, key: str) -> bool:
        return all(satisfiable(list(cs)) for k, cs in self.conditions.items() if k != key)

    def on(self, key: str) -> list[Constraint]:
        return list(self.conditions.get(key, ()))


def scope_of(selection: ResourceView) -> Scope:
    """The selection's scope; raises UnknownValue (via ``get``) when a part of it is unknown at preview.

    Computed once per selection and call (several policies ask for it).
    """
    cached = selection.memo.get("scope")
    if cached is None:
        try:
            cached = _scope_of(selection)
        except UnknownValue as unknown:
            cached = unknown
        selection.memo["scope"] = cached
    if isinstance(cached, UnknownValue):
        raise cached
    return cached


def _scope_of(selection: ResourceView) -> Scope:
    conditions: dict[str, list[Constraint]] = {}
    for i, _block in enumerate(get_list(selection.props, "conditions")):
        for op in OPERATORS:
            for j, _item in enumerate(get_list(selection.props, "conditions", i, op)):
                key = str(get(selection.props, "conditions", i, op, j, "key"))
                value = str(get(selection.props, "conditions", i, op, j, "value"))
                bare = key[len(TAG_PREFIX) :] if key.startswith(TAG_PREFIX) else "\x00unprefixed:" + key
                conditions.setdefault(bare, []).append((op, value))
    tag_union: list[tuple[str, str]] = []
    for i, _tag in enumerate(get_list(selection.props, "selectionTags")):
        tag_union.append(
            (
                str(get(selection.props, "selectionTags", i, "key")),
                str(get(selection.props, "selectionTags", i, "value")),
            )
        )
    return Scope(
        patterns=tuple(str(p) for p in get_list(selection.props, "resources")),
        excluded=tuple(str(p) for p in get_list(selection.props, "notResources")),
        tag_union=tuple(tag_union),
        conditions={k: tuple(v) for k, v in conditions.items()},
    )


@dataclass(frozen=True)
class Engines:
    """The cluster discriminator: tag key and the value of each non-Aurora engine."""

    key: str
    values: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> Engines:
        raw = settings["clusterEngineTagValues"]
        values = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        return cls(key=str(settings["clusterEngineTagKey"]), values=values)

    def candidates(self, cluster_type: str, constraints: list[Constraint]) -> list[str | None]:
        """Discriminator values that make a cluster ``cluster_type``."""
        if cluster_type in self.values:
            return [self.values[cluster_type]]
        others = set(self.values.values())
        return [v for v in witnesses(constraints) if v not in others]


def dedicated_engine(sc: Scope, engines: Engines) -> str | None:
    """The non-Aurora engine a cluster selection is dedicated to (it admits that engine's value only)."""
    if not sc.arn_selected(_CLUSTER_ARN):
        return None
    on_key = sc.on(engines.key)
    if satisfiable(on_key, engines.candidates("Aurora", on_key)):
        return None
    for engine, value in engines.values.items():
        if satisfiable(on_key, [value]):
            return engine
    return None


def routed(engines: Engines, scopes: Iterable[Scope]) -> Engines:
    """The discriminator restricted to the engines some selection is dedicated to.

    A stack that does not route an engine separately protects its clusters as Aurora (the default
    engine), so for "which types reach a vault" such clusters count as Aurora.
    """
    dedicated = {dedicated_engine(sc, engines) for sc in scopes}
    return Engines(engines.key, {k: v for k, v in engines.values.items() if k in dedicated})


def cluster_types(engines: Engines) -> tuple[str, ...]:
    """Every type except the cluster engines the discriminator does not route."""
    return tuple(t for t in ALL_TYPES if t not in CLUSTER_TYPES or t == "Aurora" or t in engines.values)


def types_selected(scope: Scope, engines: Engines, among: Iterable[str] = ALL_TYPES) -> list[str]:
    """The resource types (of ``among``) the selection can pick."""
    picked: list[str] = []
    for rtype in among:
        arn = SAMPLE_ARNS.get(rtype)
        if arn is None or not scope.arn_selected(arn):
            continue
        if rtype in CLUSTER_TYPES:
            if not scope.satisfiable_except(engines.key):
                continue
            on_key = scope.on(engines.key)
            if not satisfiable(on_key, engines.candidates(rtype, on_key)):
                continue
        elif not all(satisfiable(list(cs)) for cs in scope.conditions.values()):
            continue
        picked.append(rtype)
    return picked
