"""Rule 12: backup schedules. Valid AWS Backup cron expressions, and at least daily (RPO <= maxRpoHours).

AWS Backup takes ``cron(Minutes Hours Day-of-month Month Day-of-week Year)``: six fields, exactly one of
day-of-month and day-of-week ``?``; it rejects ``rate(...)``, and runs snapshot backups at most hourly
(https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupRuleInput.html,
https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html).
A rule without a schedule runs at AWS's default ``cron(0 5 ? * * *)``.
A schedule that skips days (specific days of the week or month, ``L``, ``W``, ``#``) or months or years
leaves gaps longer than a day, so its RPO exceeds 24 hours.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import refs, tokens
from .config import Settings
from .framework import Finding, ResourceRule, ResourceView, Rule, cannot_verify
from .values import UnknownValue, get

AWS_DEFAULT_SCHEDULE = "cron(0 5 ? * * *)"
_CRON = re.compile(r"^cron\((.*)\)$")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


class CronError(ValueError):
    pass


class SkipsDays(ValueError):  # noqa: N818 - a verdict, not a malformed expression
    pass


def _number(token: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(token.upper()) if names else None
    if value is None:
        if not token.isdigit():
            raise CronError(f"'{token}' is not a number or name")
        value = int(token)
    if not low <= value <= high:
        raise CronError(f"{value} is outside {low}-{high}")
    return value


def _expand(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """The values a cron field allows ('*' and '?' allow all)."""
    names = names or {}
    if field in ("*", "?"):
        return set(range(low, high + 1))
    values: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"step '{step_text}' in '{part}' is not a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, low, high, names), _number(last, low, high, names)
        else:
            start = _number(base, low, high, names)
            end = high if step_text else start
        values.update(range(start, end + 1, step) if start <= end else [])
    return values


@dataclass(frozen=True)
class Schedule:
    minutes: set[int]
    hours: set[int]


def parse(expression: str) -> Schedule:
    """A valid AWS Backup cron expression that runs every day; raises CronError or SkipsDays."""
    text = expression.strip()
    if text.startswith("rate("):
        raise CronError("AWS Backup accepts only cron(...) schedules, not rate(...)")
    match = _CRON.match(text)
    if match is None:
        raise CronError("it is not wrapped in cron(...)")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise CronError(
            f"it has {len(fields)} fields; AWS cron has 6 (minutes hours day-of-month month day-of-week year)"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise CronError("exactly one of day-of-month and day-of-week must be '?'")
    for special, where in ((dom, "day-of-month"), (dow, "day-of-week")):
        if any(c in special for c in "LW#"):
            raise SkipsDays(f"{where} '{special}' runs only on some days")
    minutes = _expand(minute, 0, 59)
    hours = _expand(hour, 0, 23)
    days = _expand(dom, 1, 31)
    months = _expand(month, 1, 12, _MONTHS)
    weekdays = _expand(dow, 1, 7, _DAYS)
    if year != "*":
        _expand(year, 1970, 2199)
    if len(minutes) > 1:
        raise CronError(
            f"minutes '{minute}' runs more than once an hour; AWS Backup snapshots run at most hourly"
        )
    if len(days) < 31:
        raise SkipsDays(f"day-of-month '{dom}' runs only on some days of the month")
    if len(weekdays) < 7:
        raise SkipsDays(f"day-of-week '{dow}' runs only on some days of the week")
    if len(months) < 12:
        raise SkipsDays(f"month '{month}' runs only in some months")
    if year != "*":
        raise SkipsDays(f"year '{year}' stops the schedule after some years")
    return Schedule(minutes, hours)


def longest_gap_minutes(schedule: Schedule) -> int:
    times = sorted(h * 60 + m for h in schedule.hours for m in schedule.minutes)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps.append(times[0] + 24 * 60 - times[-1])
    return max(gaps)


def _rules(plan: ResourceView) -> Iterator[tuple[int, str, Any]]:
    for i, rule in enumerate(refs.plan_rules(plan)):
        name = rule.get("ruleName") if isinstance(rule, dict) else None
        label = f"rule '{name}'" if isinstance(name, str) else f"rules[{i}]"
        yield i, label, rule


def check_schedule_valid(plan: ResourceView, _settings: Settings) -> Iterator[Finding]:
    for i, label, _rule in _rules(plan):
        try:
            schedule = get(plan.props, "rules", i, "schedule")
        except UnknownValue as unknown:
            yield cannot_verify(plan, unknown, "AWS Backup rejects invalid cron expressions.")
            continue
        if schedule is None:
            continue
        try:
            parse(str(schedule))
        except CronError as error:
            yield Finding(
                plan,
                f"{label} schedule {schedule!r} is not a valid AWS Backup cron expression: {error}",
                f"use cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. schedule='{AWS_DEFAULT_SCHEDULE}'",
            )
        except SkipsDays:
            continue  # valid: the RPO policy reports it


def check_schedule_rpo(plan: ResourceView, settings: Settings) -> Iterator[Finding]:
    max_hours = settings.int("maxRpoHours")
    for i, label, _rule in _rules(plan):
        try:
            schedule = get(plan.props, "rules", i, "schedule")
        except UnknownValue as unknown:
            yield cannot_verify(plan, unknown, f"Backups must run at least every {max_hours} hours.")
            continue
        text = AWS_DEFAULT_SCHEDULE if schedule is None else str(schedule)
        try:
            gap = longest_gap_minutes(parse(text))
        except CronError:
            continue  # the validity policy reports it
        except SkipsDays as skip:
            yield Finding(
                plan,
                f"{label} schedule {text!r} does not run every day ({skip}), so recovery points can be more than "
                f"{max_hours} hours apart",
                "run it every day: '*' in day-of-month (with '?' in day-of-week) or '*' in day-of-week (with '?' "
                f"in day-of-month), e.g. '{AWS_DEFAULT_SCHEDULE}'",
            )
            continue
        if gap > max_hours * 60:
            yield Finding(
                plan,
                f"{label} schedule {text!r} leaves up to {gap / 60:g} hours between backups; the RPO allows at most "
                f"{max_hours}",
                f"add hours to the schedule so no two runs are more than {max_hours} hours apart "
                "(e.g. 'cron(0 0/12 ? * * *)' for 12 hours)",
            )


_PLAN = r"^aws:backup/plan:"

RULES: list[Rule] = [
    ResourceRule(
        name="aws-backup-plan-schedule-valid",
        description=(
            "Every backup rule's schedule must be an AWS Backup cron expression: cron(...) with six fields, exactly "
            "one of day-of-month and day-of-week '?', at most hourly; AWS rejects rate(...) and anything else. "
            "Fix: write the schedule as cron(Minutes Hours Day-of-month Month Day-of-week Year)."
        ),
        remediation_steps=(
            "Set `schedule='cron(0 5 ? * * *)'` style expressions on every `PlanRuleArgs` (six fields, one of "
            "day-of-month/day-of-week `?`, a single minute value)."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=(),
        tokens=tokens.PLANS,
        related_tokens={},
        concept=_PLAN,
        check=check_schedule_valid,
    ),
    ResourceRule(
        name="aws-backup-plan-schedule-rpo",
        description=(
            "Every backup rule must run at least daily, with no gap longer than maxRpoHours (24) between runs: a "
            "schedule on specific days of the week or month, some months or years, breaks the recovery point "
            "objective. Fix: schedule it every day (and more often if the RPO is shorter)."
        ),
        remediation_steps=(
            "Use '*' for the day field that is not '?', '*' for month and year (e.g. `cron(0 5 ? * * *)`); for an "
            "RPO under 24 hours list or step the hours (`cron(0 0/12 ? * * *)`)."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("maxRpoHours",),
        tokens=tokens.PLANS,
        related_tokens={},
        concept=_PLAN,
        check=check_schedule_rpo,
    ),
]
