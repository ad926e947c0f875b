"""The protection matrix: what each resource type actually gets, read from the registered graph.

For every ``ResourceTypeProtection`` component: its plans' rules (schedule, continuous, lifecycle, copy
actions, each copy's destination classified by matching its ARN with the vaults in the graph) and its
selections, evaluated with AWS Backup's selection semantics (:mod:`dr_model.backup_selection`) on a
representative ARN of the type under several tag sets: none, each opt-out tag, a Kubernetes-owned EBS
volume, and each value of the cluster engine tag. Nothing here reads the layout or retention config: if
the program ignored a setting, the matrix shows what it built instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.config import StackConfig
from dr_model import catalog
from dr_model.backup_selection import KUBERNETES_OWNED_VALUE, kubernetes_tag_key, selects
from drplan import schedule_times as schedule
from drplan.graph import UNKNOWN, RegisteredResource, StackGraph
from drplan.places import Places

COMPONENT_TYPE = "aws-dr-backup:backup:ResourceTypeProtection"
PLAN_TYPE = "aws:backup/plan:Plan"
SELECTION_TYPE = "aws:backup/selection:Selection"
VAULT_TYPE = "aws:backup/vault:Vault"
LAG_VAULT_TYPE = "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"
LOCK_TYPE = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"

IN_REGION = "inRegion"
CROSS_REGION = "crossRegion"
AIR_GAPPED = "airGapped"
LOCKED_VAULT = "lockedVault"
"""A standard vault of another account under a vault lock: the isolated copy of a type AWS Backup cannot
copy into an air-gapped vault (``catalog.IsolatedCopy.LOCKED_VAULT``)."""
OTHER = "other"
DESTINATIONS = (IN_REGION, CROSS_REGION, AIR_GAPPED, LOCKED_VAULT, OTHER)
# Placeholder for the parts of a type's ARN pattern that name a resource.
_EXAMPLE = "example"


@dataclass(frozen=True)
class TagScenarios:
    """The tags whose effect the matrix shows (the stack's own opt-out tag keys and clusters)."""

    opt_out_all: str
    opt_out_cross_region: str
    opt_out_value: str
    kubernetes_clusters: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: StackConfig, extra_clusters: tuple[str, ...] = ()) -> TagScenarios:
        """The stack's opt-out tags and clusters (and ``extra_clusters``, which the tests add)."""
        opt = config.opt_out_tags
        return cls(opt.all, opt.cross_region, opt.value, config.kubernetes_clusters + extra_clusters)


@dataclass(frozen=True)
class Stream:
    """Recovery points one rule puts into one vault."""

    destination: str
    vault: str
    plan: str
    continuous: bool
    """Continuous (point-in-time) backup; only ever in the in-region vault."""
    minutes_of_day: tuple[int, ...] | None
    """Scheduled points (snapshots, or copies) by time of day; ``None`` when the schedule is not daily."""
    schedule: str
    retention_days: int | None
    cold_storage_after_days: int | None = None

    @property
    def per_day(self) -> int:
        return len(self.minutes_of_day or ())


@dataclass(frozen=True)
class VaultUse:
    """Everything one resource gets in one destination, summed over the plans it enters."""

    destination: str
    vault: str
    streams: tuple[Stream, ...]

    @property
    def continuous_days(self) -> int | None:
        days = [s.retention_days or 0 for s in self.streams if s.continuous]
        return max(days) if days else None

    @property
    def points_per_day(self) -> int:
        """Scheduled recovery points (or copies) a day; continuous backup not counted."""
        return sum(s.per_day for s in self.streams if not s.continuous)

    @property
    def retention_days(self) -> tuple[int, ...]:
        return tuple(
            sorted({s.retention_days for s in self.streams if not s.continuous and s.retention_days})
        )

    @property
    def retained_points(self) -> int:
        """Scheduled points kept at any time: points a day x days kept, per rule."""
        return sum(s.per_day * (s.retention_days or 0) for s in self.streams if not s.continuous)

    @property
    def not_daily(self) -> tuple[str, ...]:
        return tuple(sorted({s.schedule for s in self.streams if s.minutes_of_day is None}))

    @property
    def rpo_hours(self) -> float | None:
        """Longest gap between scheduled points; ``None`` when continuous or no daily schedule."""
        if self.continuous_days is not None:
            return None
        times = [t for s in self.streams if not s.continuous for t in (s.minutes_of_day or ())]
        return schedule.max_gap_hours(times) if times else None

    def to_json(self) -> dict[str, Any]:
        return {
            "vault": self.vault,
            "pointsPerDay": self.points_per_day,
            "retentionDays": list(self.retention_days),
            "retainedPoints": self.retained_points,
            "continuous": self.continuous_days is not None,
            "continuousDays": self.continuous_days,
            "rpoHours": self.rpo_hours,
            "notDailySchedules": list(self.not_daily),
            "plans": sorted({s.plan for s in self.streams}),
        }


@dataclass(frozen=True)
class Protection:
    """What one resource with a given tag set gets from one type's plans."""

    tags: dict[str, str]
    plans: tuple[str, ...]
    uses: dict[str, VaultUse] = field(default_factory=dict)

    def use(self, destination: str) -> VaultUse | None:
        return self.uses.get(destination)

    @property
    def protected(self) -> bool:
        return bool(self.plans)

    def to_json(self) -> dict[str, Any]:
        return {
            "tags": self.tags,
            "plans": list(self.plans),
            **{d: (self.uses[d].to_json() if d in self.uses else None) for d in DESTINATIONS},
        }


@dataclass(frozen=True)
class Scenario:
    label: str
    """``none`` or ``<tag key>=<value>``."""
    kind: str
    """``none``, ``opt-out``, ``cross-region-opt-out``, ``kubernetes-owned``."""
    protection: Protection


@dataclass(frozen=True)
class TypeRow:
    component: str
    type_key: str | None
    label: str
    arn: str | None
    """The representative ARN evaluated; ``None`` for a component no catalog type matches."""
    base_tags: dict[str, str]
    """Tags the representative resource carries in every scenario (the cluster engine tag)."""
    scenarios: tuple[Scenario, ...]

    @property
    def base(self) -> Protection:
        return self.scenarios[0].protection

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "type": self.type_key,
            "label": self.label,
            "representativeArn": self.arn,
            "baseTags": self.base_tags,
            "protection": self.base.to_json(),
            "scenarios": [
                {"label": s.label, "kind": s.kind, **s.protection.to_json()} for s in self.scenarios[1:]
            ],
        }


@dataclass(frozen=True)
class ClusterRoute:
    engine_tag: str | None
    """Value of the engine tag, ``None`` for an untagged cluster."""
    components: tuple[str, ...]
    """Components whose plans take the cluster: exactly one is right."""


@dataclass(frozen=True)
class Matrix:
    rows: tuple[TypeRow, ...]
    cluster_routes: tuple[ClusterRoute, ...]

    def row(self, type_key: str) -> TypeRow:
        for row in self.rows:
            if row.type_key == type_key:
                return row
        raise KeyError(type_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "types": [r.to_json() for r in self.rows],
            "clusterRouting": {
                "tag": catalog.CLUSTER_ENGINE_TAG,
                "routes": [
                    {"engineTag": c.engine_tag, "components": list(c.components)} for c in self.cluster_routes
                ],
            },
        }


def type_of(component_name: str) -> catalog.ResourceType | None:
    """The catalog type a component protects: its name is the type key (``r3-ebs`` in synthetic stacks)."""
    return catalog.BY_KEY.get(component_name) or catalog.BY_KEY.get(component_name.rsplit("-", 1)[-1])


def representative_arn(pattern: str, region: str, account: str) -> str:
    """A concrete ARN the type's pattern stands for, in the stack's region and workload account."""
    parts = pattern.split(":", 5)
    if len(parts) == 6:
        parts[3] = region if parts[3] == "*" else parts[3]
        parts[4] = account if parts[4] == "*" else parts[4]
        parts[5] = parts[5].replace("*", _EXAMPLE)
    return ":".join(parts)


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class IsolatedVaults:
    """The isolated account's vaults a stack copies into, which its graph does not hold."""

    air_gapped: frozenset[str] = frozenset()
    locked: frozenset[str] = frozenset()

    @classmethod
    def of(cls, config: StackConfig) -> IsolatedVaults:
        locked = config.locked_vault_arn
        return cls(
            frozenset({config.air_gapped_vault_arn}), frozenset() if locked is None else frozenset({locked})
        )


class _Stack:
    """Graph-wide lookups, computed once."""

    def __init__(self, graph: StackGraph, isolated: IsolatedVaults) -> None:
        self.places = places = Places(graph)
        self.lag_arns = {
            arn for r in graph.by_type(LAG_VAULT_TYPE) if (arn := places.vault_arn(r)) is not None
        }
        self.vaults = {arn: r for r in graph.by_type(VAULT_TYPE) if (arn := places.vault_arn(r)) is not None}
        locks = {
            (places.of(r).account, places.of(r).region, r.inputs.get("backupVaultName"))
            for r in graph.by_type(LOCK_TYPE)
        }
        self.locked_arns = {
            arn
            for arn, r in self.vaults.items()
            if (places.of(r).account, places.of(r).region, r.inputs.get("name")) in locks
        }
        # The isolated account's vaults are the isolated stack's (docs/isolated-account.md): the workload
        # graph names them only in its copy actions, by the ARNs the stack config gives.
        self.lag_arns |= isolated.air_gapped
        self.locked_arns |= isolated.locked
        self.children: dict[str, list[RegisteredResource]] = {}
        for resource in graph.resources:
            self.children.setdefault(resource.parent, []).append(resource)


class _Component:
    """One ResourceTypeProtection component's plans and selections, ready to evaluate."""

    def __init__(
        self, component: RegisteredResource, children: list[RegisteredResource], stack: _Stack
    ) -> None:
        self.component = component
        self.plans = [r for r in children if r.type == PLAN_TYPE]
        self.selections = [r for r in children if r.type == SELECTION_TYPE]
        self.places = stack.places
        self.lag_arns = stack.lag_arns
        self.locked_arns = stack.locked_arns
        self.vaults = stack.vaults
        self._plan_by_urn = {p.urn: p for p in self.plans}
        self._plan_by_id = {p.id: p for p in self.plans}

    @property
    def origin(self) -> tuple[str, str]:
        """(region, account) of the plans: where the protected resources live."""
        place = self.places.of(self.plans[0]) if self.plans else None
        return (place.region, place.account) if place else ("us-east-1", "111111111111")

    def plan_of(self, selection: RegisteredResource) -> RegisteredResource | None:
        for urn in selection.property_dependencies.get("planId", ()):
            if urn in self._plan_by_urn:
                return self._plan_by_urn[urn]
        plan_id = selection.inputs.get("planId")
        return self._plan_by_id.get(plan_id) if isinstance(plan_id, str) and plan_id != UNKNOWN else None

    def _destination(self, plan: RegisteredResource, arn: Any) -> tuple[str, str]:
        if not isinstance(arn, str) or arn == UNKNOWN:
            return OTHER, "unknown at preview"
        if arn in self.lag_arns:
            return AIR_GAPPED, arn
        vault = self.vaults.get(arn)
        plan_place = self.places.of(plan)
        if vault is not None:
            place = self.places.of(vault)
            if place.account == plan_place.account and place.region != plan_place.region:
                return CROSS_REGION, arn
            if place.account != plan_place.account and arn in self.locked_arns:
                return LOCKED_VAULT, arn
        elif arn in self.locked_arns:
            return LOCKED_VAULT, arn
        return OTHER, arn

    def streams(self, plan: RegisteredResource) -> list[Stream]:
        name = str(plan.inputs.get("name", plan.name))
        place = self.places.of(plan)
        out: list[Stream] = []
        for rule in plan.inputs.get("rules", []):
            expression = str(rule.get("schedule", ""))
            daily = schedule.parse(expression) if expression else None
            times = daily.minutes_of_day if daily is not None else None
            lifecycle = rule.get("lifecycle") or {}
            target = str(rule.get("targetVaultName", ""))
            target_arn = f"arn:aws:backup:{place.region}:{place.account}:backup-vault:{target}"
            continuous = bool(rule.get("enableContinuousBackup", False))
            out.append(
                Stream(
                    destination=IN_REGION,
                    vault=target_arn,
                    plan=name,
                    continuous=continuous,
                    minutes_of_day=times,
                    schedule=expression,
                    retention_days=_number(lifecycle.get("deleteAfter")),
                    cold_storage_after_days=_number(lifecycle.get("coldStorageAfter")),
                )
            )
            for action in rule.get("copyActions", []):
                destination, vault = self._destination(plan, action.get("destinationVaultArn"))
                copy_life = action.get("lifecycle") or {}
                # Copies of a continuous backup are snapshots taken at the rule's schedule.
                out.append(
                    Stream(
                        destination=destination,
                        vault=vault,
                        plan=name,
                        continuous=False,
                        minutes_of_day=times,
                        schedule=expression,
                        retention_days=_number(copy_life.get("deleteAfter")),
                        cold_storage_after_days=_number(copy_life.get("coldStorageAfter")),
                    )
                )
        return out

    def protection(self, arn: str, tags: Mapping[str, str]) -> Protection:
        plans: list[str] = []
        streams: list[Stream] = []
        for selection in self.selections:
            plan = self.plan_of(selection)
            if plan is None or not selects(selection.inputs, arn, tags):
                continue
            plans.append(str(plan.inputs.get("name", plan.name)))
            streams.extend(self.streams(plan))
        uses: dict[str, VaultUse] = {}
        for destination in DESTINATIONS:
            mine = tuple(s for s in streams if s.destination == destination)
            if mine:
                vaults = sorted({s.vault for s in mine})
                uses[destination] = VaultUse(destination, ", ".join(vaults), mine)
        return Protection(dict(tags), tuple(sorted(plans)), uses)


def _scenarios(rtype: catalog.ResourceType, tags: TagScenarios) -> list[tuple[str, str, dict[str, str]]]:
    value = tags.opt_out_value
    out = [
        ("none", "none", {}),
        (f"{tags.opt_out_all}={value}", "opt-out", {tags.opt_out_all: value}),
        (f"{tags.opt_out_cross_region}={value}", "cross-region-opt-out", {tags.opt_out_cross_region: value}),
    ]
    if rtype.kubernetes_volumes:
        owned = KUBERNETES_OWNED_VALUE
        out.extend(
            (f"{kubernetes_tag_key(name)}={owned}", "kubernetes-owned", {kubernetes_tag_key(name): owned})
            for name in tags.kubernetes_clusters
        )
    return out


def _base_tags(rtype: catalog.ResourceType) -> dict[str, str]:
    route = rtype.cluster_route
    if route is not None and route.equals is not None:
        return {catalog.CLUSTER_ENGINE_TAG: route.equals}
    return {}


def _row(component: _Component, tags: TagScenarios) -> TypeRow:
    name = component.component.name
    rtype = type_of(name)
    if rtype is None:
        return TypeRow(name, None, name, None, {}, (Scenario("none", "none", Protection({}, ())),))
    region, account = component.origin
    arn = representative_arn(rtype.selection_arns[0], region, account)
    base = _base_tags(rtype)
    scenarios = tuple(
        Scenario(label, kind, component.protection(arn, {**base, **extra}))
        for label, kind, extra in _scenarios(rtype, tags)
    )
    return TypeRow(name, rtype.key, rtype.label, arn, base, scenarios)


def _engine_values() -> list[str | None]:
    routed = [t.cluster_route.equals for t in catalog.CATALOG if t.cluster_route and t.cluster_route.equals]
    # An untagged cluster, each routed engine, and a value nobody routes (a typo, or "aurora").
    return [None, *routed, "aurora"]


def _cluster_routes(components: Sequence[_Component]) -> tuple[ClusterRoute, ...]:
    clustered = [c for c in components if (t := type_of(c.component.name)) and t.cluster_route]
    if not clustered:
        return ()
    region, account = clustered[0].origin
    arn = representative_arn(catalog.RDS_CLUSTER_ARN, region, account)
    routes = []
    for value in _engine_values():
        tags = {} if value is None else {catalog.CLUSTER_ENGINE_TAG: value}
        taken = tuple(c.component.name for c in clustered if c.protection(arn, tags).protected)
        routes.append(ClusterRoute(value, taken))
    return tuple(routes)


def build(graph: StackGraph, tags: TagScenarios, isolated: IsolatedVaults) -> Matrix:
    """The matrix of one stack's graph; ``isolated``: the isolated account's vaults its copies go to."""
    stack = _Stack(graph, isolated)
    # Rows in the catalog's order: components register asynchronously, in no fixed order.
    order = {key: index for index, key in enumerate(catalog.TYPE_KEYS)}
    registered = sorted(graph.by_type(COMPONENT_TYPE), key=lambda c: (order.get(c.name, len(order)), c.name))
    components = [_Component(c, stack.children.get(c.urn, []), stack) for c in registered]
    return Matrix(
        rows=tuple(_row(c, tags) for c in components),
        cluster_routes=_cluster_routes(components),
    )
