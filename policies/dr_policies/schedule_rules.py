"""Rule 12: backup schedules. Valid AWS Backup cron expressions, and at least daily (RPO <= maxRpoHours).

AWS Backup takes ``cron(Minutes Hours Day-of-month Month Day-of-week Year)``: six fields, each in its
range, exactly one of day-of-month and day-of-week ``?``; it rejects ``rate(...)``, and runs snapshot
backups at most hourly (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupRuleInput.html,
https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html). The grammar is
``cron.py`` (a copy of the program's ``dr_model/cron.py``, so the pack and the stack config accept
exactly the same expressions). A rule without a schedule runs at AWS's default ``cron(0 5 ? * * *)``.
A schedule that skips days (specific days of the week or month, ``L``, ``W``, ``#``) or months or years
leaves gaps longer than a day, so its RPO exceeds 24 hours.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import cron, refs, tokens
from .framework import Finding, ResourceRule, ResourceView, Rule, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, get

AWS_DEFAULT_SCHEDULE = cron.EXAMPLE
CronError = cron.ScheduleError


class SkipsDays(ValueError):  # noqa: N818 - a verdict, not a malformed expression
    pass


def parse(expression: str) -> cron.Cron:
    """A valid AWS Backup cron expression that runs every day; raises CronError or SkipsDays.

    The grammar is ``cron.py``, the same file as the program's ``dr_model/cron.py``.
    """
    schedule = cron.parse_backup_cron(expression)
    skipped = schedule.skipped_days()
    if skipped is not None:
        raise SkipsDays(skipped)
    return schedule


def longest_gap_minutes(schedule: cron.Cron) -> int:
    times = schedule.minutes_of_day
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
