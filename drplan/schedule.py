"""When an AWS Backup cron schedule fires: times of day (recovery points per day, RPO), weekdays, and
the UTC start times of a schedule evaluated in its time zone (the coverage job's RDS window check).

The expression is read by the repository's one cron grammar (``components/cron.py``). Only the minutes
and hours fields decide the times of day; a schedule that restricts days (day-of-month, month,
day-of-week or year) is not daily, and the plan shows it as such instead of guessing an average.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from components import cron

MINUTES_PER_DAY = 24 * 60


class ScheduleError(ValueError):
    """A schedule expression this module cannot read."""


@dataclass(frozen=True)
class Daily:
    expression: str
    minutes_of_day: tuple[int, ...]
    """Firing times as minutes after midnight (in the rule's time zone), ascending."""

    @property
    def per_day(self) -> int:
        return len(self.minutes_of_day)


def parse(expression: str) -> Daily | None:
    """The daily firing times, or ``None`` for a schedule that does not fire every day."""
    parsed = _parse(expression)
    if parsed.skipped_days() is not None:
        return None
    return Daily(expression, parsed.minutes_of_day)


def _parse(expression: str) -> cron.Cron:
    try:
        return cron.parse_cron(expression)
    except cron.ScheduleError as exc:
        raise ScheduleError(f"{expression!r} is not an AWS cron expression: {exc}") from None


def weekdays(expression: str) -> frozenset[int] | None:
    """The days of the week (``date.weekday()``: 0 = Monday) the schedule may fire on; ``None`` for any.

    Only a plain day-of-week list or range narrows it (``MON-FRI``, ``2,4``). A day-of-month, month or
    year restriction leaves every weekday possible, since over the months each date falls on each
    weekday; so do the special days ``6L`` and ``2#1``, which the grammar does not resolve to a set.
    """
    days = _parse(expression).days_of_week
    if days is None or len(days) == 7:
        return None
    # AWS numbers the days 1 (SUN) to 7 (SAT).
    return frozenset((day + 5) % 7 for day in days)


def utc_starts(expression: str, timezone: str, year: int) -> dict[int, frozenset[int]]:
    """UTC minute of day -> UTC weekdays (0 = Monday) on which the schedule may start, over ``year``.

    Evaluated on every date of ``year`` in ``timezone``, so a zone with daylight saving time yields
    both of its UTC start times, and a start that crosses midnight in UTC lands on the right weekday.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{timezone!r} is not an IANA time zone") from None
    times = _parse(expression).minutes_of_day
    days = weekdays(expression)
    found: dict[int, set[int]] = defaultdict(set)
    day = date(year, 1, 1)
    while day.year == year:
        if days is None or day.weekday() in days:
            for minute in times:
                local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
                start = local.astimezone(UTC)
                found[start.hour * 60 + start.minute].add(start.weekday())
        day += timedelta(days=1)
    return {minute: frozenset(found[minute]) for minute in sorted(found)}


def max_gap_hours(minutes_of_day: list[int]) -> float:
    """Longest time between consecutive firings over a day boundary: the worst-case data loss (RPO)."""
    times = sorted(set(minutes_of_day))
    if not times:
        raise ValueError("no firing times")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps.append(times[0] + MINUTES_PER_DAY - times[-1])
    return max(gaps) / 60
