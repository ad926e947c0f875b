"""Rule 13: a production stack alerts on failed backup and copy jobs.

AWS Backup reports job outcomes only as EventBridge events (``source: aws.backup``, detail-types
``Backup Job State Change`` / ``Copy Job State Change``, field ``detail.state``;
https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html).
The stack must have an enabled rule on the default event bus whose pattern matches a FAILED backup job
event and one (possibly the same) matching a FAILED copy job event, each with at least one target.
Patterns are evaluated against sample events with EventBridge's matching semantics (exact values,
``prefix``/``suffix``/``anything-but``/``exists``/``equals-ignore-case``/``wildcard`` filters, ``$or``).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import tokens
from .framework import Finding, ResourceView, Rule, StackRule, StackView, cannot_verify
from .pack_config import Settings
from .type_coverage import production_stack
from .values import UnknownValue, get, is_unknown


def _filter_matches(item: Any, actual: Any) -> bool:
    if not isinstance(item, Mapping):
        return actual is not None and not isinstance(actual, Mapping | list) and actual == item
    if "exists" in item:
        return (actual is not None) == bool(item["exists"])
    if actual is None or isinstance(actual, Mapping | list):
        return False
    text = str(actual)
    if "prefix" in item:
        return isinstance(item["prefix"], str) and text.startswith(item["prefix"])
    if "suffix" in item:
        return isinstance(item["suffix"], str) and text.endswith(item["suffix"])
    if "equals-ignore-case" in item:
        return str(item["equals-ignore-case"]).lower() == text.lower()
    if "wildcard" in item:
        return fnmatch.fnmatchcase(text, str(item["wildcard"]))
    if "anything-but" in item:
        excluded = item["anything-but"]
        if isinstance(excluded, Mapping):
            return not _filter_matches(excluded, actual)
        return actual not in (excluded if isinstance(excluded, list) else [excluded])
    return False  # numeric, cidr, ...: not used on these fields; treat as not matching


def pattern_matches(pattern: Any, event: Mapping[str, Any]) -> bool:
    """EventBridge event pattern matching (the subset relevant to AWS Backup job events)."""
    if not isinstance(pattern, Mapping):
        return False
    for key, expected in pattern.items():
        if key == "$or":
            if not isinstance(expected, list) or not any(pattern_matches(p, event) for p in expected):
                return False
            continue
        actual = event.get(key)
        if isinstance(expected, Mapping):
            if not pattern_matches(expected, actual if isinstance(actual, Mapping) else {}):
                return False
        elif isinstance(expected, list):
            values = actual if isinstance(actual, list) else [actual]
            if not any(_filter_matches(item, v) for item in expected for v in values):
                return False
        else:
            return False
    return True


def _event(detail_type: str, rule: ResourceView) -> dict[str, Any]:
    return {
        "version": "0",
        "source": "aws.backup",
        "detail-type": detail_type,
        "account": rule.provider.account or "111111111111",
        "region": rule.region or "us-east-1",
        "resources": [],
        "detail": {"state": "FAILED"},
    }


NEEDED = {"backup": "Backup Job State Change", "copy": "Copy Job State Change"}


def _listens(rule: ResourceView) -> bool:
    bus = get(rule.props, "eventBusName")
    if bus not in (None, "", "default") and not str(bus).endswith(":event-bus/default"):
        return False
    state = get(rule.props, "state")
    return state != "DISABLED" and get(rule.props, "isEnabled") is not False


def _targets(stack: StackView, rules: list[ResourceView]) -> dict[str, int]:
    """Number of targets per rule URN (linked by the target's ``rule`` dependency, else by rule name)."""
    by_name: dict[tuple[str, str | None], list[ResourceView]] = {}
    for rule in rules:
        name = rule.props.get("name")
        if isinstance(name, str) and not is_unknown(name):
            by_name.setdefault((name, rule.region), []).append(rule)
    counts: dict[str, int] = {}
    for target in stack.of(tokens.EVENT_TARGETS):
        linked = [
            u
            for u in target.depends_on("rule")
            if u in stack.by_urn and stack.by_urn[u].type in tokens.EVENT_RULES
        ]
        if not linked:
            name = target.props.get("rule")
            if isinstance(name, str) and not is_unknown(name):
                linked = [r.urn for r in by_name.get((name, target.region), [])]
        for urn in linked:
            counts[urn] = counts.get(urn, 0) + 1
    return counts


def check_failure_alerts(stack: StackView, settings: Settings) -> Iterator[Finding]:
    name = production_stack(stack, settings)
    if name is None:
        return
    rules = stack.of(tokens.EVENT_RULES)
    counts = _targets(stack, rules)
    for kind, detail_type in NEEDED.items():
        alerting = False
        untargeted: ResourceView | None = None
        unknown: tuple[ResourceView, UnknownValue] | None = None
        for rule in rules:
            try:
                if not _listens(rule):
                    continue
                raw = get(rule.props, "eventPattern")
            except UnknownValue as error:
                unknown = unknown or (rule, error)
                continue
            try:
                pattern = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                continue
            if not pattern_matches(pattern, _event(detail_type, rule)):
                continue
            if counts.get(rule.urn, 0) > 0:
                alerting = True
                break
            untargeted = untargeted or rule
        if alerting:
            continue
        if untargeted is not None:
            yield Finding(
                untargeted,
                f"it matches failed {kind} jobs ('{detail_type}', state FAILED) but has no EventTarget, so nobody "
                "is told",
                "add aws.cloudwatch.EventTarget(rule=<rule>.name, arn=<SNS topic or other target ARN>)",
            )
        elif unknown is not None:
            yield cannot_verify(
                unknown[0], unknown[1], f"Production stacks must alert on failed {kind} jobs."
            )
        else:
            yield Finding(
                None,
                f"production stack '{name}' has no EventBridge rule (with a target) matching failed AWS Backup "
                f"{kind} jobs ('{detail_type}' with detail.state FAILED)",
                "add aws.cloudwatch.EventRule(event_pattern=json.dumps({'source': ['aws.backup'], 'detail-type': "
                f"['{detail_type}'], 'detail': {{'state': ['FAILED']}}}})) and an aws.cloudwatch.EventTarget "
                "sending it to the on-call SNS topic",
            )


RULES: list[Rule] = [
    StackRule(
        name="aws-backup-production-failure-alerts",
        description=(
            "A production stack with backup plans must alert on failed backup and copy jobs: an enabled "
            "EventBridge rule (aws.cloudwatch.EventRule, default bus) whose event pattern matches source aws.backup, "
            "'Backup Job State Change' / 'Copy Job State Change' with detail.state FAILED, and at least one "
            "EventTarget. Fix: add the rule(s) and a target such as an SNS topic."
        ),
        remediation_steps=(
            "Create `aws.cloudwatch.EventRule(event_pattern=json.dumps({'source': ['aws.backup'], 'detail-type': "
            "['Backup Job State Change'], 'detail': {'state': ['FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL']}}))`, the "
            "same for 'Copy Job State Change' (`FAILED`, `PARTIAL`), and an `aws.cloudwatch.EventTarget` for each "
            "pointing at the alert topic."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("productionStacks",),
        tokens=tokens.PLANS,
        reads=tokens.EVENT_RULES | tokens.EVENT_TARGETS,
        related_tokens={},
        concept=r"^aws:backup/plan:",
        check=check_failure_alerts,
    ),
]
