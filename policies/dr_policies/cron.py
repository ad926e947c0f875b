"""AWS schedule expressions, one grammar for the whole repository.

``cron(Minutes Hours Day-of-month Month Day-of-week Year)`` as EventBridge, EventBridge Scheduler and
AWS Backup read it; ``rate(value unit)`` and ``at(yyyy-mm-ddThh:mm:ss)`` as EventBridge Scheduler
reads them; and AWS Backup's own rules on top (cron only, at most one backup an hour). The sources and
the choices made where AWS documents nothing are in docs/schedule-expressions.md.

This file exists twice, byte for byte: ``dr_model/cron.py`` (the ground floor) and
``policies/dr_policies/cron.py`` (the policy pack, which is published on its own). The tests run one
table of vectors against both and fail when the two files differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

EXAMPLE = "cron(0 5 ? * * *)"
SHAPE = "cron(Minutes Hours Day-of-month Month Day-of-week Year)"
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# EventBridge Scheduler's ScheduleExpression is at most 256 characters (botocore scheduler model).
MAX_LENGTH = 256
RATE_UNITS = {"minute": 1, "hour": 60, "day": 24 * 60}


class ScheduleError(ValueError):
    """Not a valid expression; the message says which part is wrong and what is allowed."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    steps: bool = True
    """Whether '/' is allowed (AWS lists it for every field but day-of-week)."""

    @property
    def allowed(self) -> str:
        named = f" or {self.names[0]}-{self.names[-1]}" if self.names else ""
        return f"{self.low}-{self.high}{named}"


_MINUTES = _Field("minutes", 0, 59)
_HOURS = _Field("hours", 0, 23)
_DAY_OF_MONTH = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, MONTH_NAMES)
_DAY_OF_WEEK = _Field("day-of-week", 1, 7, DAY_NAMES, steps=False)
_YEAR = _Field("year", 1970, 2199)

_BODY = re.compile(r"[^\s()]+(?: [^\s()]+)*")
_ITEM = re.compile(r"(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/([0-9]{1,4}))?")
_NUMBER = re.compile(r"[0-9]{1,4}")
_WEEKDAY_NEAREST = re.compile(r"([0-9]{1,2})W", re.IGNORECASE)
_DAY = "|".join(DAY_NAMES)
# A special day inside a list or range: 'L', 'LW', 'L-3', '15W', '6L', 'FRIL'.
_SPECIAL = re.compile(rf"L|LW|L-[0-9]+|[0-9]+W|([1-7]|{_DAY})L", re.IGNORECASE)
_LAST_WEEKDAY = re.compile(rf"([1-7]|{_DAY})L", re.IGNORECASE)
_NTH_WEEKDAY = re.compile(rf"([1-7]|{_DAY})#([0-9])", re.IGNORECASE)
_RATE = re.compile(r"rate\(([0-9]{1,9}) ([a-z]+)\)")
_AT = re.compile(r"at\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\)")


@dataclass(frozen=True)
class Cron:
    """A valid cron expression, its fields read."""

    expression: str
    fields: tuple[str, str, str, str, str, str]
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    """``None`` when the field is '?' or a special day ('L', '15W')."""
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    """``None`` when the field is '?' or a special day ('L', '6L', '3#2')."""
    years: frozenset[int] | None
    """``None`` when the field is '*'."""

    @property
    def minutes_of_day(self) -> tuple[int, ...]:
        """Firing times on a day it fires, as minutes after midnight, ascending."""
        return tuple(sorted(h * 60 + m for h in self.hours for m in self.minutes))

    def skipped_days(self) -> str | None:
        """Why the schedule does not fire every day, or ``None`` when it does."""
        _, _, dom, month, dow, year = self.fields
        if dom != "?" and (self.days_of_month is None or len(self.days_of_month) < 31):
            return f"day-of-month '{dom}' runs only on some days of the month"
        if dow != "?" and (self.days_of_week is None or len(self.days_of_week) < 7):
            return f"day-of-week '{dow}' runs only on some days of the week"
        if len(self.months) < 12:
            return f"month '{month}' runs only in some months"
        if self.years is not None:
            return f"year '{year}' stops the schedule after some years"
        return None


@dataclass(frozen=True)
class Rate:
    expression: str
    value: int
    unit: str

    @property
    def minutes(self) -> int:
        return self.value * RATE_UNITS[self.unit.removesuffix("s")]


@dataclass(frozen=True)
class At:
    expression: str
    when: datetime


def _number(field: _Field, token: str, text: str) -> int:
    upper = token.upper()
    if upper in field.names:
        return field.names.index(upper) + 1
    if not _NUMBER.fullmatch(token):
        raise ScheduleError(f"{field.name} '{text}': '{token}' is not a value of {field.allowed}")
    value = int(token)
    if not field.low <= value <= field.high:
        raise ScheduleError(f"{field.name} '{text}': {value} is outside {field.allowed}")
    return value


def _item(field: _Field, item: str, text: str) -> range:
    match = _ITEM.fullmatch(item)
    if match is None or (match.group(2) is not None and not field.steps):
        slash = "" if field.steps else " (no '/' in day-of-week)"
        raise ScheduleError(
            f"{field.name} '{text}': '{item}' is not a value, range 'a-b', step 'a/n' or '*'{slash}; "
            f"values are {field.allowed}"
        )
    base, step_text = match.groups()
    step = 1
    if step_text is not None:
        step = int(step_text)
        if not 1 <= step <= field.high - field.low:
            raise ScheduleError(f"{field.name} '{text}': step {step} must be 1-{field.high - field.low}")
    if base == "*":
        return range(field.low, field.high + 1, step)
    if "-" in base:
        first, last = base.split("-")
        start, end = _number(field, first, text), _number(field, last, text)
        if start > end:
            raise ScheduleError(
                f"{field.name} '{text}': range '{base}' runs backwards; list it as two ranges instead"
            )
        return range(start, end + 1, step)
    start = _number(field, base, text)
    # 'a/n' runs from a to the end of the field in steps of n.
    return range(start, (field.high if step_text is not None else start) + 1, step)


def _values(field: _Field, text: str) -> frozenset[int]:
    items = text.split(",")
    if field in (_DAY_OF_MONTH, _DAY_OF_WEEK) and ("#" in text or any(_SPECIAL.fullmatch(i) for i in items)):
        alone = "'L' or '15W'" if field is _DAY_OF_MONTH else "'L', '6L' or '3#2'"
        raise ScheduleError(f"{field.name} '{text}': {alone} must be the field's only value")
    values: set[int] = set()
    for item in items:
        values.update(_item(field, item, text))
    return frozenset(values)


def _day_of_month(text: str) -> frozenset[int] | None:
    if text == "?" or text.upper() == "L":
        return None
    nearest = _WEEKDAY_NEAREST.fullmatch(text)
    if nearest is not None:
        _number(_DAY_OF_MONTH, nearest.group(1), text)
        return None
    return _values(_DAY_OF_MONTH, text)


def _day_of_week(text: str) -> frozenset[int] | None:
    if text == "?" or text.upper() == "L" or _LAST_WEEKDAY.fullmatch(text):
        return None
    nth = _NTH_WEEKDAY.fullmatch(text)
    if nth is not None:
        if not 1 <= int(nth.group(2)) <= 5:
            raise ScheduleError(f"day-of-week '{text}': the week of the month after '#' must be 1-5")
        return None
    return _values(_DAY_OF_WEEK, text)


def parse_cron(expression: str) -> Cron:
    """Read an AWS cron expression; raises ScheduleError naming the field that is wrong."""
    if not expression.startswith("cron(") or not expression.endswith(")"):
        raise ScheduleError(f"it is not wrapped in cron(...): AWS cron is {SHAPE}, e.g. {EXAMPLE}")
    body = expression[len("cron(") : -1]
    if not _BODY.fullmatch(body):
        raise ScheduleError(f"its fields must be separated by single spaces: {SHAPE}, e.g. {EXAMPLE}")
    parts = body.split(" ")
    if len(parts) != 6:
        raise ScheduleError(f"it has {len(parts)} fields; AWS cron has 6: {SHAPE}, e.g. {EXAMPLE}")
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(
            f"exactly one of day-of-month and day-of-week must be '?' (got '{dom}' and '{dow}'), e.g. {EXAMPLE}"
        )
    for name, text in (("minutes", minute), ("hours", hour), ("month", month), ("year", year)):
        if "?" in text:
            raise ScheduleError(f"{name} '{text}': '?' is allowed only in day-of-month or day-of-week")
    return Cron(
        expression=expression,
        fields=(minute, hour, dom, month, dow, year),
        minutes=_values(_MINUTES, minute),
        hours=_values(_HOURS, hour),
        days_of_month=_day_of_month(dom),
        months=_values(_MONTH, month),
        days_of_week=_day_of_week(dow),
        years=None if year == "*" else _values(_YEAR, year),
    )


def parse_backup_cron(expression: str) -> Cron:
    """An AWS Backup rule's schedule: cron only, and snapshot backups run at most once an hour."""
    if expression.startswith(("rate(", "at(")):
        kind = expression.split("(", 1)[0]
        raise ScheduleError(
            f"AWS Backup accepts only cron(...) schedules, not {kind}(...): {SHAPE}, e.g. {EXAMPLE}"
        )
    cron = parse_cron(expression)
    if len(cron.minutes) > 1:
        raise ScheduleError(
            f"minutes '{cron.fields[0]}' runs more than once an hour; AWS Backup snapshots run at most hourly: "
            "give one minute"
        )
    return cron


def parse_rate(expression: str) -> Rate:
    match = _RATE.fullmatch(expression)
    if match is None:
        raise ScheduleError("a rate is rate(value unit): a whole number and minute(s), hour(s) or day(s)")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise ScheduleError(f"rate value {value} must be a positive whole number")
    if unit.removesuffix("s") not in RATE_UNITS:
        raise ScheduleError(f"rate unit '{unit}' must be minute(s), hour(s) or day(s)")
    plural = unit.endswith("s")
    if plural != (value > 1):
        wanted = unit.removesuffix("s") + ("s" if value > 1 else "")
        raise ScheduleError(f"rate({value} {unit}) needs the unit '{wanted}': singular for 1, plural above")
    return Rate(expression, value, unit)


def parse_at(expression: str) -> At:
    match = _AT.fullmatch(expression)
    if match is None:
        raise ScheduleError("a one-time schedule is at(yyyy-mm-ddThh:mm:ss)")
    try:
        when = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ScheduleError(f"at({match.group(1)}) is not a date and time that exists") from None
    return At(expression, when)


def parse_scheduler(expression: str) -> Cron | Rate | At:
    """An EventBridge Scheduler schedule expression: cron(...), rate(...) or at(...)."""
    if len(expression) > MAX_LENGTH:
        raise ScheduleError(
            f"it is {len(expression)} characters long; EventBridge Scheduler allows {MAX_LENGTH}"
        )
    if expression.startswith("rate("):
        return parse_rate(expression)
    if expression.startswith("at("):
        return parse_at(expression)
    if expression.startswith("cron("):
        return parse_cron(expression)
    raise ScheduleError(
        f"it must be cron(...), rate(...) or at(...), e.g. cron(0 2 * * ? *) or rate(2 hours); cron is {SHAPE}"
    )
