"""When an AWS Backup cron schedule fires within a day, for recovery points per day and RPO.

The expression is read by the repository's one cron grammar (``dr_model/cron.py``). Only the minutes
and hours fields decide the times of day; a schedule that restricts days (day-of-month, month,
day-of-week or year) is not daily, and the plan shows it as such instead of guessing an average.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from dr_model import cron

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Daily:
    expression: str
    minutes_of_day: tuple[int, ...]
    """Firing times as minutes after midnight (in the rule's time zone), ascending."""

    @property
    def per_day(self) -> int:
        return len(self.minutes_of_day)


def parse(expression: str) -> Daily | None:
    """The daily firing times, or ``None`` for a schedule that does not fire every day (raises
    ``dr_model.cron.ScheduleError`` naming the expression)."""
    try:
        parsed = cron.parse_cron(expression)
    except cron.ScheduleError as exc:
        raise cron.ScheduleError(f"{expression!r} is not an AWS cron expression: {exc}") from None
    if parsed.skipped_days() is not None:
        return None
    return Daily(expression, parsed.minutes_of_day)


def max_gap_hours(minutes_of_day: list[int]) -> float:
    """Longest time between consecutive firings over a day boundary: the worst-case data loss (RPO)."""
    times = sorted(set(minutes_of_day))
    if not times:
        raise ValueError("no firing times")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    gaps.append(times[0] + MINUTES_PER_DAY - times[-1])
    return max(gaps) / 60
