"""A plan rule's cron and time zone as the UTC start times and weekdays the coverage job checks."""

from __future__ import annotations

import pytest

from components.operations.coverage_job import utc_starts, weekdays

EVERY_DAY = frozenset(range(7))


@pytest.mark.parametrize(
    ("expression", "days"),
    [
        ("cron(0 5 ? * * *)", None),
        ("cron(0 5 1 * ? *)", None),  # a date falls on every weekday over the months
        ("cron(0 5 ? * MON-FRI *)", {0, 1, 2, 3, 4}),
        ("cron(0 5 ? * 1,7 *)", {6, 5}),  # AWS: 1 = SUN, 7 = SAT
        ("cron(0 5 ? * sun *)", {6}),
        ("cron(0 5 ? * MON,TUE,WED,THU,FRI,SAT,SUN *)", None),
        # Special days are not resolved to a weekday by the grammar: any weekday may be one.
        ("cron(0 5 ? * 6L *)", None),
        ("cron(0 5 ? * 2#1 *)", None),
    ],
)
def test_weekdays(expression: str, days: set[int] | None) -> None:
    assert weekdays(expression) == (None if days is None else frozenset(days))


def test_utc_starts_follow_the_time_zone() -> None:
    assert utc_starts("cron(0 5 ? * * *)", "Etc/UTC", 2026) == {300: EVERY_DAY}
    # Summer and winter time both appear; Tokyo has none.
    assert utc_starts("cron(0 5 ? * * *)", "Europe/Berlin", 2026) == {180: EVERY_DAY, 240: EVERY_DAY}
    assert utc_starts("cron(0 5 ? * * *)", "Asia/Tokyo", 2026) == {1200: EVERY_DAY}
    # Monday 01:00 in Auckland is still Sunday in UTC.
    assert utc_starts("cron(0 1 ? * MON *)", "Pacific/Auckland", 2026) == {
        720: frozenset({6}),
        780: frozenset({6}),
    }
    # Several times a day, each its own start.
    assert utc_starts("cron(0 5,17 ? * * *)", "Etc/UTC", 2026) == {300: EVERY_DAY, 1020: EVERY_DAY}
