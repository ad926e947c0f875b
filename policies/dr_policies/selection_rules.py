"""Rule 7: backup selections. Opt-out tags honoured as AND-ed StringNotEquals conditions, Kubernetes
volumes excluded, no accidental union of ``resources`` with ``selectionTags``, no conditions-only
selection (AWS rejects it).
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from . import refs, scope, tokens
from .backup_selection import KUBERNETES_OWNED_VALUE as KUBERNETES_OWNED
from .backup_selection import OPERATORS, TAG_PREFIX
from .framework import Finding, ResourceRule, ResourceView, Rule, StackRule, StackView, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, get, get_list


def _conditions(selection: ResourceView, operators: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(operator, key, value) of every condition of the given operators, across condition blocks."""
    found: list[tuple[str, str, str]] = []
    for i, _block in enumerate(get_list(selection.props, "conditions")):
        for op in operators:
            for j, _item in enumerate(get_list(selection.props, "conditions", i, op)):
                key = get(selection.props, "conditions", i, op, j, "key")
                value = get(selection.props, "conditions", i, op, j, "value")
                found.append((op, str(key), str(value)))
    return found


def _opt_out(selection: ResourceView, tag_key: str, value: str, why: str) -> Iterator[Finding]:
    wanted = TAG_PREFIX + tag_key
    conditions = _conditions(selection, OPERATORS)
    if any(op == "stringNotEquals" and key == wanted and val == value for op, key, val in conditions):
        return
    near = [(op, key, val) for op, key, val in conditions if key.endswith(tag_key)]
    hint = ""
    if near:
        op, key, val = near[0]
        hint = f" (found {op} {key}={val!r}: the key must be exactly '{wanted}' and the operator StringNotEquals)"
    yield Finding(
        selection,
        f"it does not exclude resources tagged {tag_key}={value!r}{hint}; {why}",
        f"add conditions=[SelectionConditionArgs(string_not_equals=[SelectionConditionStringNotEqualArgs("
        f"key='{wanted}', value='{value}')])] (conditions are AND-ed; selection tags are not)",
    )


def check_dr_opt_out(selection: ResourceView, settings: Settings) -> Iterator[Finding]:
    yield from _opt_out(
        selection,
        str(settings["drOptOutTagKey"]),
        str(settings["optOutTagValue"]),
        "teams cannot opt a resource out of DR backups",
    )


def _picks_ebs(selection: ResourceView) -> bool:
    """Whether the selection's patterns reach EBS volumes (``*``, ``arn:aws:ec2:*:*:volume/*``, selection tags)."""
    return scope.scope_of(selection).arn_selected(scope.SAMPLE_ARNS["EBS"])


def check_kubernetes_volumes(selection: ResourceView, settings: Settings) -> Iterator[Finding]:
    clusters = settings.str_list("kubernetesClusters")
    if not clusters or not _picks_ebs(selection):
        return
    template = str(settings["kubernetesClusterTagKeyTemplate"])
    conditions = _conditions(selection, OPERATORS)
    for cluster in clusters:
        key = TAG_PREFIX + template.replace("{cluster}", cluster)
        if ("stringNotEquals", key, KUBERNETES_OWNED) in conditions:
            continue
        found = [f"{op} {val!r}" for op, k, val in conditions if k == key]
        hint = f" (found {', '.join(found)} on that key)" if found else ""
        yield Finding(
            selection,
            f"it can pick EBS volumes but does not exclude those of Kubernetes cluster '{cluster}'{hint}: it "
            f"needs StringNotEquals {key} = '{KUBERNETES_OWNED}' (tag keys in conditions take no wildcards, so "
            "one condition per cluster)",
            f"add SelectionConditionStringNotEqualArgs(key='{key}', value='{KUBERNETES_OWNED}') to the "
            "selection's string_not_equals conditions, one per cluster; if this stack has no cluster "
            f"'{cluster}', the policy's kubernetesClusters must list this stack's clusters only (a policy "
            "group per set of stacks sharing clusters)",
        )


def check_tags_with_resources(selection: ResourceView, _settings: Settings) -> Iterator[Finding]:
    resources = get_list(selection.props, "resources")
    tags = get_list(selection.props, "selectionTags")
    if resources and tags:
        yield Finding(
            selection,
            f"it combines resources {resources} with selectionTags: AWS OR-s them, so every resource "
            "carrying the tag (of any type) is backed up in addition to the listed ones",
            "replace selection_tags with conditions (string_equals), which AWS AND-s with resources",
        )


def check_not_conditions_only(selection: ResourceView, _settings: Settings) -> Iterator[Finding]:
    resources = get_list(selection.props, "resources")
    tags = get_list(selection.props, "selectionTags")
    if not resources and not tags:
        has_conditions = bool(get_list(selection.props, "conditions"))
        yield Finding(
            selection,
            "it has neither resources nor selectionTags"
            + (" (conditions alone are rejected by AWS)" if has_conditions else ""),
            "add resources=['*'] or the resource type's ARN pattern (e.g. 'arn:aws:ec2:*:*:volume/*') and keep "
            "the conditions",
        )


def check_condition_blocks(selection: ResourceView, _settings: Settings) -> Iterator[Finding]:
    blocks = get_list(selection.props, "conditions")
    if len(blocks) > 1:
        yield Finding(
            selection,
            f"it has {len(blocks)} condition blocks; the provider has been reported to keep only the first",
            "put all conditions in one SelectionConditionArgs (its lists are AND-ed)",
        )


def _copies_cross_region(stack: StackView, plan: ResourceView, settings: Settings) -> tuple[bool | None, str]:
    undecided = ""
    known_external = list(settings["knownExternalVaults"])
    for i, rule in enumerate(refs.plan_rules(plan)):
        if not isinstance(rule, dict) or not rule.get("copyActions"):
            continue
        get(plan.props, "rules", i, "copyActions")
        sources = refs.target_vaults(stack, plan, rule)
        destinations = refs.copy_destinations(stack, plan, rule, sources, known_external)
        source_region = sources[0].region if len(sources) == 1 else plan.region
        for j, candidates in enumerate(destinations.per_action):
            regions = [c.region for c in candidates]
            if source_region is None or not candidates or None in regions:
                undecided = (
                    f"the region of {plan.label} rules[{i}].copyActions[{j}]'s destination is not known"
                )
                continue
            differing = sorted({r for r in regions if r is not None and r != source_region})
            if not differing:
                continue
            pooled_exact = j in destinations.unknown and destinations.pool_is_exact
            if len(differing) == len(set(regions)) or len(candidates) == 1 or pooled_exact:
                return True, f"{plan.label} copies from {source_region} to {', '.join(differing)}"
            undecided = f"{plan.label} rules[{i}].copyActions[{j}] may copy to {', '.join(differing)}"
    return (None, undecided) if undecided else (False, "")


def check_cross_region_opt_out(stack: StackView, settings: Settings) -> Iterator[Finding]:
    tag_key = str(settings["crossRegionOptOutTagKey"])
    value = str(settings["optOutTagValue"])
    verdicts: dict[str, tuple[bool | None, str]] = {}
    for selection in stack.of(tokens.SELECTIONS):
        plans = refs.plan_of_selection(stack, selection)
        if len(plans) != 1:
            yield cannot_verify(
                selection,
                "its plan cannot be identified (planId has no dependency on a plan in this stack)",
                "Selections of plans that copy cross-region must honour the cross-region opt-out tag.",
            )
            continue
        plan = plans[0]
        if plan.urn not in verdicts:
            try:
                verdicts[plan.urn] = _copies_cross_region(stack, plan, settings)
            except UnknownValue as unknown:
                verdicts[plan.urn] = (None, f"{plan.label} {unknown} is unknown at preview")
        crosses, why = verdicts[plan.urn]
        if crosses is False:
            continue
        try:
            findings = list(_opt_out(selection, tag_key, value, f"its plan copies cross-region ({why})"))
        except UnknownValue as unknown:
            yield cannot_verify(
                selection, unknown, "Its conditions must honour the cross-region opt-out tag."
            )
            continue
        if not findings:
            continue
        if crosses is None:
            yield cannot_verify(
                selection,
                f"it does not honour {tag_key} and {why}",
                "Selections of plans that copy cross-region must honour the cross-region opt-out tag.",
            )
        else:
            yield from findings


_SELECTION = r"^aws:backup/selection:"

RULES: list[Rule] = [
    ResourceRule(
        name="aws-backup-selection-dr-opt-out",
        description=(
            "Every backup selection must honour the DR opt-out tag with an AND-ed condition StringNotEquals "
            "aws:ResourceTag/<drOptOutTagKey> = '<optOutTagValue>' (policy config; defaults "
            "exclude-disaster-recovery-backup and 'true'). Fix: add that condition to the selection's conditions."
        ),
        remediation_steps=(
            "Add `SelectionConditionArgs(string_not_equals=[SelectionConditionStringNotEqualArgs(key="
            "'aws:ResourceTag/<drOptOutTagKey>', value='<optOutTagValue>')])` to the selection."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("drOptOutTagKey", "optOutTagValue"),
        tokens=tokens.SELECTIONS,
        related_tokens={},
        concept=_SELECTION,
        check=check_dr_opt_out,
    ),
    StackRule(
        name="aws-backup-selection-cross-region-opt-out",
        description=(
            "Every selection of a plan that copies to another region must also honour the cross-region "
            "opt-out tag, e.g. for data that must stay in its region: StringNotEquals "
            "aws:ResourceTag/<crossRegionOptOutTagKey> = '<optOutTagValue>' (policy config; defaults "
            "exclude-cross-region-backup and 'true'). Fix: add that condition to the selection."
        ),
        remediation_steps=(
            "Add a `string_not_equals` condition on `aws:ResourceTag/<crossRegionOptOutTagKey>` = "
            "`<optOutTagValue>` to every selection whose plan has a copy action into another region."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("crossRegionOptOutTagKey", "optOutTagValue", "knownExternalVaults"),
        tokens=tokens.SELECTIONS,
        reads=tokens.PLANS | tokens.VAULTS,
        related_tokens={},
        concept=_SELECTION,
        check=check_cross_region_opt_out,
    ),
    ResourceRule(
        name="aws-backup-selection-kubernetes-volumes",
        description=(
            "A selection that can pick EBS volumes (its resources match arn:aws:ec2:*:*:volume/*, e.g. '*', or "
            "it uses selectionTags) must exclude the volumes of every Kubernetes cluster in the policy's "
            "kubernetesClusters (those tagged kubernetes.io/cluster/<name> = 'owned'). Tag keys take no "
            "wildcards, so one condition per cluster. Fix: add StringNotEquals "
            "aws:ResourceTag/kubernetes.io/cluster/<name> = 'owned' for each cluster."
        ),
        remediation_steps=(
            "For each name in the policy's `kubernetesClusters` (the stack's `kubernetesClusters`), add "
            "`SelectionConditionStringNotEqualArgs(key='aws:ResourceTag/kubernetes.io/cluster/<name>', "
            "value='owned')` to the EBS selection's `string_not_equals` conditions. Configure each stack's "
            "policy group with that stack's clusters."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("kubernetesClusters", "kubernetesClusterTagKeyTemplate"),
        tokens=tokens.SELECTIONS,
        related_tokens={},
        concept=_SELECTION,
        check=check_kubernetes_volumes,
    ),
    ResourceRule(
        name="aws-backup-selection-no-tag-union",
        description=(
            "A selection must not combine resources with selectionTags: AWS OR-s them, so every tagged "
            "resource of any type is backed up on top of the listed ARNs. Fix: use conditions instead of "
            "selection_tags."
        ),
        remediation_steps="Move each `selection_tags` entry to `conditions` (`string_equals`), which AWS AND-s.",
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=(),
        tokens=tokens.SELECTIONS,
        related_tokens={},
        concept=_SELECTION,
        check=check_tags_with_resources,
    ),
    ResourceRule(
        name="aws-backup-selection-not-conditions-only",
        description=(
            "A selection needs resources or selectionTags; AWS rejects one with conditions only. Fix: add "
            "resources=['*'] or the resource type's ARN pattern."
        ),
        remediation_steps="Set `resources=['*']` (or a type ARN pattern) next to the conditions.",
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_keys=(),
        tokens=tokens.SELECTIONS,
        related_tokens={},
        concept=_SELECTION,
        check=check_not_conditions_only,
    ),
    ResourceRule(
        name="aws-backup-selection-single-condition-block",
        description=(
            "A selection should put all its conditions in one conditions block: with several blocks the "
            "provider has been reported to apply only the first, silently dropping opt-outs. Fix: merge them."
        ),
        remediation_steps="Merge all `SelectionConditionArgs` into one; its lists are AND-ed.",
        enforcement=EnforcementLevel.ADVISORY,
        severity=Severity.MEDIUM,
        config_keys=(),
        tokens=tokens.SELECTIONS,
        related_tokens={},
        concept=_SELECTION,
        check=check_condition_blocks,
    ),
]
