"""Rule 8: continuous (point-in-time) backup and lifecycles.

AWS Backup supports continuous backup only for S3, RDS, Aurora and SAP HANA on EC2; its retention is
1-35 days and it cannot move to cold storage. Every lifecycle (a rule's and each copy action's) must keep
a recovery point at least 90 days after it moves to cold storage. AWS rejects or silently degrades
plans that break these (a continuous rule over EBS falls back to snapshots). Sources:
https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html,
https://docs.aws.amazon.com/aws-backup/latest/devguide/API_Lifecycle.html.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import refs, scope, tokens
from .framework import Finding, ResourceRule, ResourceView, Rule, StackRule, StackView, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, as_number, get

COLD_STORAGE_MIN_DAYS = 90


def _rule_label(rule: Any, index: int) -> str:
    name = rule.get("ruleName") if isinstance(rule, Mapping) else None
    return f"rule '{name}'" if isinstance(name, str) else f"rules[{index}]"


def _continuous(plan: ResourceView, index: int) -> bool:
    return get(plan.props, "rules", index, "enableContinuousBackup") is True


def check_continuous_retention(plan: ResourceView, settings: Settings) -> Iterator[Finding]:
    limit = settings.int("maxContinuousRetentionDays")
    for i, rule in enumerate(refs.plan_rules(plan)):
        try:
            if not _continuous(plan, i):
                continue
            label = _rule_label(rule, i)
            delete_after = as_number(get(plan.props, "rules", i, "lifecycle", "deleteAfter"))
            cold = as_number(get(plan.props, "rules", i, "lifecycle", "coldStorageAfter"))
        except UnknownValue as unknown:
            yield cannot_verify(
                plan, unknown, "Continuous rules must keep 1-35 days and use no cold storage."
            )
            continue
        if delete_after is None or delete_after < 1:
            yield Finding(
                plan,
                f"continuous {label} sets no lifecycle.deleteAfter (keep forever), but continuous backups "
                f"are kept at most {limit} days",
                f"set lifecycle=PlanRuleLifecycleArgs(delete_after=N) with 1 <= N <= {limit}",
            )
        elif delete_after > limit:
            yield Finding(
                plan,
                f"continuous {label} keeps recovery points {delete_after:g} days; continuous backups are kept "
                f"at most {limit} days",
                f"set delete_after to at most {limit}, or add a separate snapshot rule for longer retention",
            )
        if cold is not None and cold > 0:
            yield Finding(
                plan,
                f"continuous {label} moves recovery points to cold storage after {cold:g} days; continuous "
                "backups cannot use cold storage",
                "remove cold_storage_after from the continuous rule's lifecycle",
            )


def _lifecycles(plan: ResourceView) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    for i, rule in enumerate(refs.plan_rules(plan)):
        label = _rule_label(rule, i)
        yield label, ("rules", i, "lifecycle")
        actions = get(plan.props, "rules", i, "copyActions")
        for j, _action in enumerate(actions if isinstance(actions, list) else []):
            yield f"{label} copyActions[{j}]", ("rules", i, "copyActions", j, "lifecycle")


def check_cold_storage_gap(plan: ResourceView, _settings: Settings) -> Iterator[Finding]:
    for label, path in _lifecycles(plan):
        try:
            cold = as_number(get(plan.props, *path, "coldStorageAfter"))
            delete_after = as_number(get(plan.props, *path, "deleteAfter"))
        except UnknownValue as unknown:
            yield cannot_verify(plan, unknown, "deleteAfter must be at least coldStorageAfter + 90.")
            continue
        # -1 (or unset) means "never": no minimum applies.
        if cold is None or cold <= 0 or delete_after is None or delete_after <= 0:
            continue
        if delete_after < cold + COLD_STORAGE_MIN_DAYS:
            yield Finding(
                plan,
                f"{label} lifecycle deletes after {delete_after:g} days but moves to cold storage after "
                f"{cold:g}; AWS Backup keeps cold recovery points at least {COLD_STORAGE_MIN_DAYS} days",
                f"set delete_after to at least {cold + COLD_STORAGE_MIN_DAYS:g} (cold_storage_after + "
                f"{COLD_STORAGE_MIN_DAYS}) or drop cold_storage_after",
            )


def _continuous_rules(plan: ResourceView) -> list[str]:
    """Labels of the plan's continuous rules (raises UnknownValue when a flag is unknown)."""
    return [_rule_label(rule, i) for i, rule in enumerate(refs.plan_rules(plan)) if _continuous(plan, i)]


def check_continuous_types(stack: StackView, settings: Settings) -> Iterator[Finding]:
    supported = set(settings.str_list("continuousBackupResourceTypes"))
    engines = scope.Engines.from_settings(settings)
    verdicts: dict[str, list[str] | UnknownValue] = {}
    for selection in stack.of(tokens.SELECTIONS):
        try:
            unsupported = [
                t for t in scope.types_selected(scope.scope_of(selection), engines) if t not in supported
            ]
        except UnknownValue as unknown:
            unsupported = ["(unknown)"]
            pending: UnknownValue | None = unknown
        else:
            pending = None
        if not unsupported:
            continue
        plans = refs.plan_of_selection(stack, selection)
        if len(plans) != 1:
            yield cannot_verify(
                selection,
                "its plan cannot be identified (planId has no dependency on a plan in this stack)",
                "A continuous rule's selections may pick only types that support continuous backup.",
            )
            continue
        plan = plans[0]
        if plan.urn not in verdicts:
            try:
                verdicts[plan.urn] = _continuous_rules(plan)
            except UnknownValue as unknown:
                verdicts[plan.urn] = unknown
        continuous = verdicts[plan.urn]
        if isinstance(continuous, UnknownValue):
            yield cannot_verify(
                selection,
                f"{plan.label} {continuous} is unknown at preview",
                "A continuous rule's selections may pick only types that support continuous backup.",
            )
            continue
        if not continuous:
            continue
        if pending is not None:
            yield cannot_verify(
                selection, pending, "A continuous rule's selections may pick only supported types."
            )
            continue
        yield Finding(
            selection,
            f"its plan {plan.label} has continuous {', '.join(continuous)}, but the selection can also pick "
            f"{', '.join(unsupported)}, which AWS Backup cannot back up continuously (it falls back to "
            f"snapshots or fails); continuous backup supports {', '.join(sorted(supported))}",
            "narrow resources to a supported type's ARN pattern (e.g. 'arn:aws:s3:::*' or "
            "'arn:aws:rds:*:*:db:*'), or give the other types a plan without enable_continuous_backup",
        )


_PLAN = r"^aws:backup/plan:"

RULES: list[Rule] = [
    StackRule(
        name="aws-backup-continuous-supported-types",
        description=(
            "A selection of a plan with a continuous (point-in-time) rule must pick only resource types that "
            "support continuous backup (S3, RDS, Aurora, SAP HANA): a pattern such as '*' or 'arn:aws:ec2:*' "
            "also picks EBS, EFS or DynamoDB, which AWS then backs up differently than planned. Fix: narrow "
            "the selection's resources or use a separate snapshot plan for the other types."
        ),
        remediation_steps=(
            "Set the selection's `resources` to the supported type's ARN pattern (`arn:aws:s3:::*`, "
            "`arn:aws:rds:*:*:db:*`, or `arn:aws:rds:*:*:cluster:*` with a condition keeping DocumentDB and "
            "Neptune out), or set `enable_continuous_backup=False` on the plan rule."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("continuousBackupResourceTypes", "clusterEngineTagKey", "clusterEngineTagValues"),
        tokens=tokens.SELECTIONS,
        reads=tokens.PLANS,
        related_tokens={},
        concept=r"^aws:backup/selection:",
        check=check_continuous_types,
    ),
    ResourceRule(
        name="aws-backup-continuous-retention",
        description=(
            "A continuous backup rule must keep recovery points 1-35 days (lifecycle.deleteAfter set, at most "
            "maxContinuousRetentionDays) and must not use cold storage; AWS rejects anything else. Fix: set "
            "delete_after <= 35 and remove cold_storage_after."
        ),
        remediation_steps=(
            "On each `PlanRuleArgs` with `enable_continuous_backup=True`, set "
            "`lifecycle=PlanRuleLifecycleArgs(delete_after=N)` with 1 <= N <= 35 and no `cold_storage_after`. "
            "For longer retention add a separate snapshot rule."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("maxContinuousRetentionDays",),
        tokens=tokens.PLANS,
        related_tokens={},
        concept=_PLAN,
        check=check_continuous_retention,
    ),
    ResourceRule(
        name="aws-backup-lifecycle-cold-storage-minimum",
        description=(
            "Every lifecycle (a plan rule's and each copy action's) that moves recovery points to cold storage "
            "must keep them at least 90 more days (deleteAfter >= coldStorageAfter + 90); AWS rejects the plan "
            "otherwise. Fix: raise delete_after or drop cold_storage_after."
        ),
        remediation_steps=(
            "In `PlanRuleLifecycleArgs` and `PlanRuleCopyActionLifecycleArgs`, set `delete_after` >= "
            "`cold_storage_after` + 90, or remove `cold_storage_after`."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_keys=(),
        tokens=tokens.PLANS,
        related_tokens={},
        concept=_PLAN,
        check=check_cold_storage_gap,
    ),
]
