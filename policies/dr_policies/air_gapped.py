"""Rules 3 and 4: logically air-gapped vault retention, and copies into such vaults.

AWS rejects (at run time, not at deploy time) a copy into an air-gapped vault whose retention is
outside the vault's [min, max] (both ends included); min/max changes replace the vault, so they must be
right first time. Nor can it copy every type into such a vault (``airGappedUnsupportedResourceTypes``):
each nightly copy of one fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import refs, scope, tokens
from .framework import Finding, ResourceRule, ResourceView, Rule, StackRule, StackView, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, as_number, get


def check_vault_retention(vault: ResourceView, settings: Settings) -> Iterator[Finding]:
    floor = settings.int("airGappedMinRetentionDays")
    raw_min = vault.get("minRetentionDays")
    raw_max = vault.get("maxRetentionDays")
    low, high = as_number(raw_min), as_number(raw_max)
    if low is None or low < floor:
        shown = "not set" if raw_min is None else f"{raw_min}"
        yield Finding(
            vault,
            f"minRetentionDays is {shown}; air-gapped recovery points must be kept at least {floor} days",
            f"set min_retention_days={floor} or more (changing it replaces the vault)",
        )
    if high is None:
        yield Finding(vault, "maxRetentionDays is not set", "set max_retention_days >= min_retention_days")
    elif low is not None and high < low:
        yield Finding(
            vault,
            f"maxRetentionDays {raw_max} is below minRetentionDays {raw_min}",
            "set max_retention_days >= min_retention_days",
        )


def _bounds(dest: refs.VaultRef) -> tuple[float | None, float | None]:
    if dest.resource is not None:
        return as_number(dest.resource.get("minRetentionDays")), as_number(
            dest.resource.get("maxRetentionDays")
        )
    entry: Mapping[str, Any] = dest.external or {}
    return as_number(entry.get("minRetentionDays")), as_number(entry.get("maxRetentionDays"))


def _verdict(dest: refs.VaultRef, delete_after: float | None) -> tuple[bool | None, str]:
    """(True = compliant, False = violation, None = undecidable, why)."""
    if dest.air_gapped is None:
        return None, (
            f"it copies into {dest.label}, which is not in this stack, so the pack cannot tell whether it is "
            "air-gapped (describe it in knownExternalVaults)"
        )
    if not dest.air_gapped:
        return True, ""
    low, high = _bounds(dest)
    if delete_after is None:
        return False, f"its copy into air-gapped {dest.label} sets no lifecycle.deleteAfter"
    if low is None or high is None:
        return None, f"the retention bounds of air-gapped {dest.label} are not known"
    if not low <= delete_after <= high:
        return False, (
            f"its copy into air-gapped {dest.label} keeps recovery points {delete_after:g} days, outside the "
            f"vault's [{low:g}, {high:g}]"
        )
    return True, ""


def check_copy_retention(stack: StackView, settings: Settings) -> Iterator[Finding]:
    known_external = list(settings["knownExternalVaults"])
    for plan in stack.of(tokens.PLANS):
        try:
            rules = refs.plan_rules(plan)
        except UnknownValue as unknown:
            yield cannot_verify(plan, unknown, "Copy actions into air-gapped vaults cannot be checked.")
            continue
        for i, rule in enumerate(rules):
            if not isinstance(rule, Mapping):
                continue
            try:
                get(plan.props, "rules", i, "copyActions")
            except UnknownValue as unknown:
                yield cannot_verify(plan, unknown, "Copy actions into air-gapped vaults cannot be checked.")
                continue
            destinations = refs.copy_destinations(
                stack, plan, rule, refs.target_vaults(stack, plan, rule), known_external
            )
            for j, candidates in enumerate(destinations.per_action):
                where = f"rules[{i}].copyActions[{j}]"
                try:
                    delete_after = as_number(
                        get(plan.props, "rules", i, "copyActions", j, "lifecycle", "deleteAfter")
                    )
                    if not candidates:
                        raise UnknownValue(("rules", i, "copyActions", j, "destinationVaultArn"))
                    verdicts = [_verdict(c, delete_after) for c in candidates]
                except UnknownValue as unknown:
                    yield cannot_verify(
                        plan, unknown, "Its retention must lie inside an air-gapped vault's [min, max]."
                    )
                    continue
                failing = [why for ok, why in verdicts if ok is False]
                if failing and len(failing) == len(verdicts):
                    yield Finding(
                        plan,
                        f"{where}: {failing[0]}; AWS fails such copy jobs at run time",
                        "set the copy action's lifecycle delete_after inside the air-gapped vault's "
                        "[min_retention_days, max_retention_days]",
                    )
                elif any(ok is not True for ok, _ in verdicts):
                    undecided = next((why for ok, why in verdicts if ok is None), "")
                    reason = undecided or (
                        f"{where}'s destination is unknown at preview and could be "
                        + " or ".join(c.label for c in candidates)
                    )
                    yield cannot_verify(
                        plan, f"{where}: {reason}", "Its retention must lie inside the vault's [min, max]."
                    )


def _copies_into_air_gapped(stack: StackView, plan: ResourceView, known: list[Any]) -> bool | None:
    """Whether a rule of ``plan`` copies into a logically air-gapped vault (None: cannot tell at preview)."""
    try:
        rules = refs.plan_rules(plan)
    except UnknownValue:
        return None
    undecided = False
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            continue
        try:
            get(plan.props, "rules", i, "copyActions")
        except UnknownValue:
            undecided = True
            continue
        destinations = refs.copy_destinations(stack, plan, rule, refs.target_vaults(stack, plan, rule), known)
        for candidates in destinations.per_action:
            kinds = {c.air_gapped for c in candidates}
            if kinds == {True}:
                return True
            if not candidates or True in kinds or None in kinds:
                undecided = True
    return None if undecided else False


def check_supported_types(stack: StackView, settings: Settings) -> Iterator[Finding]:
    unsupported = settings.str_list("airGappedUnsupportedResourceTypes")
    if not unsupported:
        return
    engines = scope.Engines.from_settings(settings)
    known = list(settings["knownExternalVaults"])
    verdicts: dict[str, bool | None] = {}
    for selection in stack.of(tokens.SELECTIONS):
        try:
            types = scope.types_selected(scope.scope_of(selection), engines, unsupported)
        except UnknownValue as unknown:
            yield cannot_verify(selection, unknown, "Some types cannot be copied into an air-gapped vault.")
            continue
        if not types:
            continue
        plans = refs.plan_of_selection(stack, selection)
        if len(plans) != 1:
            continue
        plan = plans[0]
        if plan.urn not in verdicts:
            verdicts[plan.urn] = _copies_into_air_gapped(stack, plan, known)
        verdict = verdicts[plan.urn]
        if verdict is None:
            yield cannot_verify(
                selection,
                f"whether {plan.label} copies into an air-gapped vault is unknown at preview",
                f"AWS Backup cannot copy {types[0]} into an air-gapped vault.",
            )
        elif verdict:
            yield Finding(
                selection,
                f"it can pick {', '.join(types)}, and its plan {plan.label} copies into a logically air-gapped "
                f"vault, which AWS Backup cannot copy {types[0]} into: every such copy job fails",
                f"protect {types[0]} with its own plan whose copy goes to a standard vault of the isolated "
                "account under a compliance-mode vault lock, and narrow this selection to the other types",
            )


RULES: list[Rule] = [
    ResourceRule(
        name="aws-backup-air-gapped-vault-retention",
        description=(
            "A logically air-gapped vault must keep recovery points at least the configured minimum (default "
            "7 days) and its maxRetentionDays must not be below minRetentionDays. Fix: set min_retention_days "
            "to at least the minimum and max_retention_days >= min_retention_days before the first deployment "
            "(changes replace the vault)."
        ),
        remediation_steps=(
            "Set `min_retention_days` >= `airGappedMinRetentionDays` (default 7) and `max_retention_days` >= "
            "`min_retention_days` on the `LogicallyAirGappedVault`. Both force replacement: plan the change."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_keys=("airGappedMinRetentionDays",),
        tokens=tokens.AIR_GAPPED_VAULTS,
        related_tokens={},
        concept=r"^aws:backup/\w*[aA]irGapped\w*:",
        check=check_vault_retention,
    ),
    StackRule(
        name="aws-backup-air-gapped-copy-retention",
        description=(
            "Every copy action into a logically air-gapped vault must set a retention (lifecycle.deleteAfter) "
            "inside that vault's [minRetentionDays, maxRetentionDays]; otherwise AWS fails the copy job at run "
            "time. Fix: set the copy action's delete_after inside the vault's bounds."
        ),
        remediation_steps=(
            "On each `PlanRuleCopyActionArgs` whose destination is an air-gapped vault, set "
            "`lifecycle=PlanRuleCopyActionLifecycleArgs(delete_after=N)` with min <= N <= max of that vault. "
            "For vaults outside the stack, describe them in `knownExternalVaults`."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("knownExternalVaults",),
        tokens=tokens.PLANS,
        reads=tokens.VAULTS,
        related_tokens={},
        concept=r"^aws:backup/plan:",
        check=check_copy_retention,
    ),
    StackRule(
        name="aws-backup-air-gapped-supported-types",
        description=(
            "No plan that copies into a logically air-gapped vault may select a resource type AWS Backup "
            "cannot copy into one (airGappedUnsupportedResourceTypes, default RDS DB instances): each such "
            "copy job fails every night. Fix: copy those types into a standard vault of the isolated account "
            "under a compliance-mode vault lock."
        ),
        remediation_steps=(
            "Give each type in `airGappedUnsupportedResourceTypes` its own plan and selection whose copy "
            "action's `destination_vault_arn` is a standard `aws.backup.Vault` in the isolated account with an "
            "`aws.backup.VaultLockConfiguration` (`changeable_for_days` set: compliance mode) and a vault "
            "policy allowing only the workload account `backup:CopyIntoBackupVault`."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=(
            "airGappedUnsupportedResourceTypes",
            "clusterEngineTagKey",
            "clusterEngineTagValues",
            "knownExternalVaults",
        ),
        tokens=tokens.SELECTIONS,
        reads=tokens.PLANS | tokens.VAULTS,
        related_tokens={},
        concept=r"^aws:backup/selection:",
        check=check_supported_types,
    ),
]
