"""When an AWS Backup cron schedule fires within a day, for recovery points per day and RPO.

AWS cron has six fields: minutes hours day-of-month month day-of-week year. Only the minutes and hours
fields decide the times of day; a schedule that restricts days (day-of-month, month or day-of-week) is
not daily, and the plan shows it as such instead of guessing an average.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")
_EVERY_DAY = ("*", "?")
MINUTES_PER_DAY = 24 * 60


class ScheduleError(ValueError):
    """A schedule expression this module cannot read."""


def _field(text: str, low: int, high: int) -> list[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = int(first), int(last)
        else:
            start = int(base)
            # 'a/b' means from a to the end in steps of b.
            end = high if step_text else start
        if not (low <= start <= end <= high) or step < 1:
            raise ValueError(part)
        values.update(range(start, end + 1, step))
    return sorted(values)


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
    match = _CRON.match(expression.strip())
    if match is None:
        raise ScheduleError(f"{expression!r} is not an AWS cron expression")
    minutes, hours, day_of_month, month, day_of_week, _year = match.groups()
    if day_of_month not in _EVERY_DAY or month not in _EVERY_DAY or day_of_week not in _EVERY_DAY:
        return None
    try:
        times = [h * 60 + m for h in _field(hours, 0, 23) for m in _field(minutes, 0, 59)]
    except ValueError as exc:
        raise ScheduleError(f"{expression!r}: cannot read field part {exc}") from None
    return Daily(expression, tuple(sorted(times)))


def max_gap_hours(minutes_of_day: list[int]) -> float:
    """Longest time between consecutive firings over a day boundary: the worst-case data loss (RPO)."""
    times = sorted(set(minutes_of_day))
    if not times:
        raise ValueError("no firing times")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps.append(times[0] + MINUTES_PER_DAY - times[-1])
    return max(gaps) / 60
