"""Rule 2: backup rule windows. Completion window exactly the configured value (360 min: every job ends
inside the 6-hour slot the DR runbook assumes); start window at least 60 minutes and below it.

Both policies can remediate (set the configured values) when an organisation enables them with
enforcement level ``remediate``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import tokens
from .framework import Finding, ResourceRule, ResourceView, Rule, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, as_number, contains_unknown, get, get_list

AWS_DEFAULT_COMPLETION = 10080
AWS_DEFAULT_START = 480


def _rule_label(rule: Any, index: int) -> str:
    name = rule.get("ruleName") if isinstance(rule, dict) else None
    return f"rule '{name}'" if isinstance(name, str) and not contains_unknown(name) else f"rules[{index}]"


def _shown(raw: Any, number: float | None) -> str:
    return f"{number:g}" if number is not None else repr(raw)


def check_completion(plan: ResourceView, settings: Settings) -> Iterator[Finding]:
    wanted = settings.int("completionWindowMinutes")
    for i, rule in enumerate(get_list(plan.props, "rules")):
        try:
            raw = get(plan.props, "rules", i, "completionWindow")
        except UnknownValue as unknown:
            yield cannot_verify(plan, unknown, "The completion window decides whether jobs finish in time.")
            continue
        value = AWS_DEFAULT_COMPLETION if raw is None else as_number(raw)
        if value != wanted:
            shown = "not set (AWS default 10080 = 7 days)" if raw is None else _shown(raw, value)
            yield Finding(
                plan,
                f"{_rule_label(rule, i)} has completionWindow {shown}, the organisation requires exactly {wanted} "
                "(policy config completionWindowMinutes)",
                f"set completion_window={wanted} on the rule (PlanRuleArgs)",
            )


def check_start(plan: ResourceView, settings: Settings) -> Iterator[Finding]:
    minimum = settings.int("minStartWindowMinutes")
    for i, rule in enumerate(get_list(plan.props, "rules")):
        try:
            raw_start = get(plan.props, "rules", i, "startWindow")
            raw_completion = get(plan.props, "rules", i, "completionWindow")
        except UnknownValue as unknown:
            yield cannot_verify(
                plan, unknown, "The start window must be compared with the completion window."
            )
            continue
        start = AWS_DEFAULT_START if raw_start is None else as_number(raw_start)
        completion = AWS_DEFAULT_COMPLETION if raw_completion is None else as_number(raw_completion)
        label = _rule_label(rule, i)
        shown = "not set (AWS default 480)" if raw_start is None else _shown(raw_start, start)
        if start is None or start < minimum:
            yield Finding(
                plan,
                f"{label} has startWindow {shown}, below the minimum of {minimum} minutes",
                f"set start_window={minimum} on the rule",
            )
        elif completion is not None and start >= completion:
            yield Finding(
                plan,
                f"{label} has startWindow {shown} but completionWindow {completion:g}: a job could still be "
                "waiting to start when it should already have finished",
                f"set start_window={minimum} (below completion_window)",
            )


def _remediated(plan: ResourceView, settings: Settings, fix_start: bool) -> dict[str, Any] | None:
    rules = plan.props.get("rules")
    if not isinstance(rules, list) or contains_unknown(rules):
        return None
    props = copy.deepcopy(plan.props)
    changed = False
    for rule in props["rules"]:
        if not isinstance(rule, dict):
            continue
        if not fix_start:
            completion = settings.int("completionWindowMinutes")
            if as_number(rule.get("completionWindow")) != completion:
                rule["completionWindow"] = completion
                changed = True
            continue
        minimum = settings.int("minStartWindowMinutes")
        start = as_number(rule.get("startWindow", AWS_DEFAULT_START))
        limit = as_number(rule.get("completionWindow", AWS_DEFAULT_COMPLETION))
        if start is None or start < minimum or (limit is not None and start >= limit):
            rule["startWindow"] = minimum
            changed = True
    return props if changed else None


def remediate_completion(plan: ResourceView, settings: Settings) -> dict[str, Any] | None:
    return _remediated(plan, settings, fix_start=False)


def remediate_start(plan: ResourceView, settings: Settings) -> dict[str, Any] | None:
    return _remediated(plan, settings, fix_start=True)


RULES: list[Rule] = [
    ResourceRule(
        name="aws-backup-plan-completion-window",
        description=(
            "Every backup rule must use the organisation's completion window (default 360 minutes, the "
            "6-hour DR slot); the AWS default of 7 days lets a stuck job hide for a week. Fix: set "
            "completion_window on each rule to the configured value."
        ),
        remediation_steps=(
            "Set `completion_window=<completionWindowMinutes>` (default 360) on every `PlanRuleArgs`; or "
            "enable this policy with enforcement level `remediate` to have the pack set it."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("completionWindowMinutes",),
        tokens=tokens.PLANS,
        related_tokens={},
        concept=r"^aws:backup/plan:",
        check=check_completion,
        remediate=remediate_completion,
    ),
    ResourceRule(
        name="aws-backup-plan-start-window",
        description=(
            "Every backup rule's start window must be at least the configured minimum (default 60 minutes, "
            "the AWS minimum) and shorter than its completion window. Fix: set start_window to the minimum."
        ),
        remediation_steps=(
            "Set `start_window=<minStartWindowMinutes>` (default 60) on every `PlanRuleArgs`, below its "
            "completion window; or enable this policy with enforcement level `remediate`."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_keys=("minStartWindowMinutes",),
        tokens=tokens.PLANS,
        related_tokens={},
        concept=r"^aws:backup/plan:",
        check=check_start,
        remediate=remediate_start,
    ),
]
