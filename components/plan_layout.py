"""Plans, rules and selections for one resource type, as plain data.

The two layouts (README, "Plan layouts") differ only here:

- ``split``: a cross-region plan and a cross-account plan; a resource not opted out of the
  cross-region copy is in both, so it gets two in-region recovery points a day.
- ``partitioned``: a "full" plan with both copies and an "account-only" plan with the air-gapped
  copy alone; the cross-region opt-out tag decides which one a resource enters, so each resource is
  in exactly one plan and gets one in-region recovery point a day.

Selections always use ``resources`` (the type's ARN pattern) plus AND-ed ``conditions``, never
``selection_tags``, which AWS unions with ``resources`` (docs/aws-facts.md#1-selection-semantics, 1.1-1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from components.config import Layout, Lifecycle, StackConfig
from dr_model import backup_selection, catalog


class Destination(StrEnum):
    CROSS_REGION = "cross-region"
    AIR_GAPPED = "air-gapped"
    LOCKED_VAULT = "locked-vault"
    """The isolated account's locked standard vault (``catalog.IsolatedCopy.LOCKED_VAULT`` types)."""


ISOLATED_DESTINATIONS = {
    catalog.IsolatedCopy.AIR_GAPPED: Destination.AIR_GAPPED,
    catalog.IsolatedCopy.LOCKED_VAULT: Destination.LOCKED_VAULT,
}


@dataclass(frozen=True)
class CopySpec:
    destination: Destination
    lifecycle: Lifecycle


@dataclass(frozen=True)
class RuleSpec:
    name: str
    schedule: str
    timezone: str
    start_window: int
    completion_window: int
    lifecycle: Lifecycle
    continuous: bool
    copies: tuple[CopySpec, ...]


@dataclass(frozen=True)
class Condition:
    operator: str
    """``string_equals`` or ``string_not_equals`` (the Pulumi argument names)."""
    key: str
    """Tag key without the ``aws:ResourceTag/`` prefix."""
    value: str

    @property
    def condition_key(self) -> str:
        return backup_selection.condition_key(self.key)


@dataclass(frozen=True)
class SelectionSpec:
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class PlanSpec:
    key: str
    """Stable suffix for names: ``cross-region``, ``cross-account``, ``full``, ``account-only``."""
    rule: RuleSpec
    selection: SelectionSpec

    @property
    def copies_cross_region(self) -> bool:
        return any(c.destination is Destination.CROSS_REGION for c in self.rule.copies)


def _selection(config: StackConfig, rtype: catalog.ResourceType, cross_region: bool | None) -> SelectionSpec:
    """``cross_region``: True keeps only resources without the cross-region opt-out, False only those
    with it, None ignores it."""
    tags = config.opt_out_tags
    conditions = [Condition("string_not_equals", tags.all, tags.value)]
    if cross_region is True:
        conditions.append(Condition("string_not_equals", tags.cross_region, tags.value))
    elif cross_region is False:
        conditions.append(Condition("string_equals", tags.cross_region, tags.value))
    route = rtype.cluster_route
    if route is not None:
        if route.equals is not None:
            conditions.append(Condition("string_equals", catalog.CLUSTER_ENGINE_TAG, route.equals))
        # Only values another *active* type claims are excluded (catalog.takes_cluster says why).
        claimed = catalog.claimed_engine_values(config.active_types)
        conditions.extend(
            Condition("string_not_equals", catalog.CLUSTER_ENGINE_TAG, other)
            for other in route.not_equals
            if other in claimed
        )
    if rtype.kubernetes_volumes:
        conditions.extend(
            Condition(
                "string_not_equals",
                backup_selection.kubernetes_tag_key(name),
                backup_selection.KUBERNETES_OWNED_VALUE,
            )
            for name in config.kubernetes_clusters
        )
    return SelectionSpec(resources=rtype.selection_arns, conditions=tuple(conditions))


def _rule(
    config: StackConfig, name: str, schedule: str, continuous: bool, copies: tuple[CopySpec, ...]
) -> RuleSpec:
    lifecycle = (
        Lifecycle(delete_after_days=config.retention.s3_continuous_days)
        if continuous
        else config.retention.in_region
    )
    return RuleSpec(
        name=name,
        schedule=config.schedules.staggered(schedule, config.accounts.workload),
        timezone=config.schedules.timezone,
        start_window=config.windows.start_minutes,
        completion_window=config.windows.completion_minutes,
        lifecycle=lifecycle,
        continuous=continuous,
        copies=copies,
    )


def plans_for(config: StackConfig, rtype: catalog.ResourceType) -> tuple[PlanSpec, ...]:
    cross_region = CopySpec(Destination.CROSS_REGION, config.retention.cross_region_copy)
    # The isolated account's copy: its air-gapped vault, or its locked vault for a type AWS Backup cannot
    # copy into an air-gapped vault (catalog.IsolatedCopy); both vaults take the same retention range.
    air_gapped = CopySpec(ISOLATED_DESTINATIONS[rtype.isolated_copy], config.retention.air_gapped_copy)
    schedules = config.schedules
    continuous = rtype.continuous_cross_account
    if config.layout is Layout.SPLIT:
        return (
            PlanSpec(
                "cross-region",
                _rule(config, "cross-region-daily", schedules.cross_region, False, (cross_region,)),
                _selection(config, rtype, cross_region=True),
            ),
            PlanSpec(
                "cross-account",
                _rule(config, "cross-account-daily", schedules.cross_account, continuous, (air_gapped,)),
                _selection(config, rtype, cross_region=None),
            ),
        )
    return (
        PlanSpec(
            "full",
            _rule(config, "full-daily", schedules.cross_region, continuous, (cross_region, air_gapped)),
            _selection(config, rtype, cross_region=True),
        ),
        PlanSpec(
            "account-only",
            _rule(config, "account-only-daily", schedules.cross_account, continuous, (air_gapped,)),
            _selection(config, rtype, cross_region=False),
        ),
    )


def retention_into(plans: tuple[PlanSpec, ...], destination: Destination | None) -> tuple[int, int]:
    """(shortest, longest) ``deleteAfterDays`` the plans give a recovery point in one vault: the rules' own
    target vault (``destination`` None) or the vault their copy actions to ``destination`` reach.

    Continuous rules and cold-storage lifecycles count with their total retention (``deleteAfterDays``), which is
    what a vault lock compares with its minimum and maximum (docs/aws-facts.md#3-logically-air-gapped-vaults, 3.12).
    """
    days = [
        lifecycle.delete_after_days
        for spec in plans
        for lifecycle in (
            [spec.rule.lifecycle]
            if destination is None
            else [c.lifecycle for c in spec.rule.copies if c.destination is destination]
        )
    ]
    if not days:
        raise ValueError(f"no plan puts recovery points into the {destination or 'target'} vault")
    return min(days), max(days)
