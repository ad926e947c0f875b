"""Backup plan start windows against RDS backup and maintenance windows: interval arithmetic only.

AWS Backup cannot start a snapshot of an RDS-managed database (RDS instances, Multi-AZ DB clusters,
DocumentDB, Neptune; Aurora is exempt) in the hour before, or during, the database's daily automated
backup window or its weekly maintenance window; the job fails (docs/rds-windows.md). A plan rule's
job may start anywhere in ``[scheduled start, scheduled start + start window)``, so a rule collides with
a database when that interval meets ``[window start - 60 min, window end)``.

The deployment writes each rule's UTC start times (already evaluated from its cron expression and time
zone) into ``DR_PLAN_START_WINDOWS``; nothing here reads cron.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dr_runtime.errors import ConfigError
from dr_runtime.settings import Setting

SETTING = "DR_PLAN_START_WINDOWS"
PLAN_START_WINDOWS = Setting(
    "--plan-start-windows",
    SETTING,
    "JSON: per resource type, its plans' UTC start windows (the deployment writes it)",
)
LEAD_MINUTES = 60
"""AWS Backup will not start a database snapshot this long before either window opens."""
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# RDS's own day names, in date.weekday() order (0 = Monday).
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = "daily"
_HH_MM = r"([01]\d|2[0-3]):([0-5]\d)"
_DAILY = re.compile(rf"^{_HH_MM}-{_HH_MM}$")
_WEEKLY = re.compile(rf"^([a-z]{{3}}):{_HH_MM}-([a-z]{{3}}):{_HH_MM}$")
_TIME = re.compile(rf"^{_HH_MM}$")


class WindowFormatError(ValueError):
    """An RDS window string that is not in the documented format."""


class Takes(StrEnum):
    """Which resources a plan takes with respect to the cross-Region opt-out tag."""

    ALL = "all"
    WITHOUT_OPT_OUT = "without-cross-region-opt-out"
    WITH_OPT_OUT = "with-cross-region-opt-out"


@dataclass(frozen=True)
class PlanStart:
    """One rule start time in UTC, on the weekdays it runs (all seven for a daily rule)."""

    minute: int
    days: frozenset[int]


@dataclass(frozen=True)
class PlanWindows:
    """A backup rule of the stack as the deployment describes it."""

    plan: str
    takes: Takes
    start_minutes: int
    starts: tuple[PlanStart, ...]
    continuous: bool = False
    """AWS Backup runs continuous backups for these resources; it then schedules around the windows."""

    def takes_resource(self, cross_region_opt_out: bool) -> bool:
        """Whether the plan selects a (not opted-out) resource with or without the cross-Region opt-out."""
        if self.takes is Takes.ALL:
            return True
        return cross_region_opt_out is (self.takes is Takes.WITH_OPT_OUT)


@dataclass(frozen=True)
class Conflict:
    plan: str
    start: str
    """``05:00-06:00 UTC daily``: the rule's start window."""
    window: str
    """``backup`` or ``maintenance``."""
    rds_window: str
    """The database's window as RDS reports it."""
    blocked: str
    """The span in which AWS Backup cannot start the snapshot."""

    @property
    def reason(self) -> str:
        return (
            f"plan {self.plan} starts {self.start}; {self.window} window {self.rds_window} "
            f"blocks snapshot starts {self.blocked}"
        )


def clock(minute: int) -> str:
    minute %= MINUTES_PER_DAY
    return f"{minute // 60:02d}:{minute % 60:02d}"


def days_label(days: frozenset[int]) -> str:
    return EVERY_DAY if len(days) == 7 else ",".join(DAY_NAMES[d] for d in sorted(days))


def _weekly_clock(minute: int) -> str:
    minute %= MINUTES_PER_WEEK
    return f"{DAY_NAMES[minute // MINUTES_PER_DAY]}:{clock(minute)}"


def overlaps(a_start: int, a_length: int, b_start: int, b_length: int, period: int) -> bool:
    """Whether ``[a_start, a_start + a_length)`` meets ``[b_start, b_start + b_length)`` on a circle."""
    if a_length >= period or b_length >= period:
        return True
    return (b_start - a_start) % period < a_length or (a_start - b_start) % period < b_length


def daily_window(text: str) -> tuple[int, int]:
    """``"hh24:mi-hh24:mi"`` (UTC) -> (start minute of day, length); it may cross midnight."""
    match = _DAILY.match(text.strip())
    if match is None:
        raise WindowFormatError(f"backup window {text!r} is not hh24:mi-hh24:mi")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    length = (end - start) % MINUTES_PER_DAY
    if length == 0:
        raise WindowFormatError(f"backup window {text!r} is empty")
    return start, length


def weekly_window(text: str) -> tuple[int, int]:
    """``"ddd:hh24:mi-ddd:hh24:mi"`` (UTC) -> (start minute of week from Monday 00:00, length)."""
    match = _WEEKLY.match(text.strip().lower())
    if match is None or match.group(1) not in DAY_NAMES or match.group(4) not in DAY_NAMES:
        raise WindowFormatError(f"maintenance window {text!r} is not ddd:hh24:mi-ddd:hh24:mi")
    day1, h1, m1, day2, h2, m2 = match.groups()
    start = DAY_NAMES.index(day1) * MINUTES_PER_DAY + int(h1) * 60 + int(m1)
    end = DAY_NAMES.index(day2) * MINUTES_PER_DAY + int(h2) * 60 + int(m2)
    length = (end - start) % MINUTES_PER_WEEK
    if length == 0:
        raise WindowFormatError(f"maintenance window {text!r} is empty")
    return start, length


def conflicts(
    plans: Iterable[PlanWindows], backup_window: str | None, maintenance_window: str | None
) -> list[Conflict]:
    """Every (rule start, window) pair in which AWS Backup could not start the snapshot.

    ``plans`` are the rules that select the database. ``backup_window`` is ``None`` when the database
    takes no automated backups (retention 0). Raises ``WindowFormatError`` for an unreadable window.
    """
    daily = daily_window(backup_window) if backup_window else None
    weekly = weekly_window(maintenance_window) if maintenance_window else None
    rules = tuple(plans)
    # With continuous backup AWS Backup schedules its snapshots around the windows itself.
    if any(rule.continuous for rule in rules):
        return []
    found: list[Conflict] = []
    for rule in rules:
        for start in rule.starts:
            end = start.minute + rule.start_minutes
            label = f"{clock(start.minute)}-{clock(end)} UTC {days_label(start.days)}"
            if daily is not None and backup_window is not None:
                blocked = (daily[0] - LEAD_MINUTES, daily[1] + LEAD_MINUTES)
                if overlaps(start.minute, rule.start_minutes, *blocked, MINUTES_PER_DAY):
                    span = f"{clock(blocked[0])}-{clock(blocked[0] + blocked[1])} UTC daily"
                    found.append(Conflict(rule.plan, label, "backup", backup_window, span))
            if weekly is not None and maintenance_window is not None:
                blocked = (weekly[0] - LEAD_MINUTES, weekly[1] + LEAD_MINUTES)
                if any(
                    overlaps(
                        day * MINUTES_PER_DAY + start.minute,
                        rule.start_minutes,
                        *blocked,
                        MINUTES_PER_WEEK,
                    )
                    for day in start.days
                ):
                    span = f"{_weekly_clock(blocked[0])}-{_weekly_clock(blocked[0] + blocked[1])} UTC"
                    found.append(Conflict(rule.plan, label, "maintenance", maintenance_window, span))
    return found


def _starts(raw: Any, where: str) -> tuple[PlanStart, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}.starts must be a non-empty list, got {raw!r}")
    starts: list[PlanStart] = []
    for index, item in enumerate(raw):
        here = f"{where}.starts[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{here} must be an object with utc and days, got {item!r}")
        utc, days = item.get("utc"), item.get("days")
        match = _TIME.match(utc) if isinstance(utc, str) else None
        if match is None:
            raise ConfigError(f"{here}.utc must be hh:mm, got {utc!r}")
        if days == EVERY_DAY:
            weekdays = frozenset(range(7))
        elif isinstance(days, str) and days and all(d in DAY_NAMES for d in days.split(",")):
            weekdays = frozenset(DAY_NAMES.index(d) for d in days.split(","))
        else:
            raise ConfigError(f"{here}.days must be {EVERY_DAY!r} or a list like 'mon,tue', got {days!r}")
        starts.append(PlanStart(int(match.group(1)) * 60 + int(match.group(2)), weekdays))
    return tuple(starts)


def parse_setting(raw: str | None) -> dict[str, tuple[PlanWindows, ...]] | None:
    """``DR_PLAN_START_WINDOWS``: resource type -> its plan rules; ``None`` when the setting is absent."""
    if raw is None or not raw.strip():
        return None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{PLAN_START_WINDOWS.label}: not JSON ({error.msg} at character {error.pos})"
        ) from None
    if not isinstance(document, Mapping):
        raise ConfigError(f"{PLAN_START_WINDOWS.label}: must map resource types to lists of plans")
    result: dict[str, tuple[PlanWindows, ...]] = {}
    for resource_type, rules in document.items():
        if not isinstance(rules, list):
            raise ConfigError(
                f"{PLAN_START_WINDOWS.label}: {resource_type} must be a list of plans, got {rules!r}"
            )
        parsed: list[PlanWindows] = []
        for index, rule in enumerate(rules):
            where = f"{PLAN_START_WINDOWS.label}: {resource_type}[{index}]"
            if not isinstance(rule, Mapping):
                raise ConfigError(f"{where} must be an object, got {rule!r}")
            plan, takes, minutes = rule.get("plan"), rule.get("takes"), rule.get("start_minutes")
            if not isinstance(plan, str) or not plan:
                raise ConfigError(f"{where}.plan must be a plan name, got {plan!r}")
            if takes not in {t.value for t in Takes}:
                allowed = ", ".join(t.value for t in Takes)
                raise ConfigError(f"{where}.takes must be one of {allowed}, got {takes!r}")
            if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1:
                raise ConfigError(f"{where}.start_minutes must be a positive integer, got {minutes!r}")
            continuous = rule.get("continuous", False)
            if not isinstance(continuous, bool):
                raise ConfigError(f"{where}.continuous must be true or false, got {continuous!r}")
            parsed.append(
                PlanWindows(plan, Takes(takes), minutes, _starts(rule.get("starts"), where), continuous)
            )
        result[str(resource_type)] = tuple(parsed)
    return result


def describe(plans: Mapping[str, Sequence[PlanWindows]]) -> dict[str, list[dict[str, Any]]]:
    """The setting's document again (what the deployment wrote, for the JSON report)."""
    return {
        resource_type: [
            {
                "plan": rule.plan,
                "takes": rule.takes.value,
                "start_minutes": rule.start_minutes,
                "starts": [
                    {
                        "utc": clock(start.minute),
                        "days": days_label(start.days),
                    }
                    for start in rule.starts
                ],
                **({"continuous": True} if rule.continuous else {}),
            }
            for rule in rules
        ]
        for resource_type, rules in plans.items()
    }
