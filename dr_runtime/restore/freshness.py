"""Whether a chosen recovery point is as recent as its copy schedule allows, and what its retention says.

A point is *stale* when it is older than the schedule lets a point be: the longest gap between two
firings of the rule that makes the copies, plus the rule's completion window (AWS may finish a backup
that late), plus ``COPY_MARGIN`` for the copy job that follows the backup. A stale point means the
copies stopped: the plan still offers it (it may be all there is) but says so, and ``plan`` exits 1.

The schedule is, in this order: the rule AWS Backup recorded on the point (``CreatedBy.BackupRuleCron``),
else the stack file's schedule for the source (``--stack``: ``schedules.crossRegion`` for the
cross-region copies; for the air-gapped vault the longer of ``crossRegion`` and ``crossAccount``, as both
plans copy there). Without either the age is not judged and the plan says that instead.
Cron expressions are read by the repository's one grammar (``dr_model/cron.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dr_model import cron

COPY_MARGIN = timedelta(hours=6)
"""Time allowed for the copy job after the backup completed. AWS documents no bound for copy jobs (they
have no completion window); six hours is the margin chosen here (docs/restore.md)."""
MINUTES_PER_DAY = 24 * 60
MONTH = timedelta(days=31)


@dataclass(frozen=True)
class Schedule:
    expression: str
    source: str
    """Where the expression came from: ``recovery point (CreatedBy.BackupRuleCron)`` or the stack key."""


def longest_gap(expression: str) -> timedelta:
    """The longest time between two firings of an AWS cron expression (raises ``cron.ScheduleError``)."""
    parsed = cron.parse_cron(expression)
    times = parsed.minutes_of_day
    if not times:  # pragma: no cover - the grammar refuses empty fields
        raise cron.ScheduleError(f"{expression}: no firing time")
    gaps = [b - a for a, b in itertools.pairwise(times)] + [times[0] + MINUTES_PER_DAY - times[-1]]
    within_day = timedelta(minutes=max(gaps))
    if parsed.skipped_days() is None:
        return within_day
    dom = parsed.fields[2]
    weekdays = parsed.days_of_week
    if dom == "?" and weekdays is not None and len(parsed.months) == 12 and parsed.years is None:
        days = sorted(weekdays)
        day_gaps = [b - a for a, b in itertools.pairwise(days)] + [days[0] + 7 - days[-1]]
        # From the last firing of one firing day to the first of the next one.
        first, last = times[0], times[-1]
        return timedelta(days=max(day_gaps) - 1, minutes=MINUTES_PER_DAY - last + first)
    return MONTH  # day-of-month, month or year restrictions: judged against a month


def allowed_age(expression: str, completion_window: timedelta) -> timedelta:
    return longest_gap(expression) + completion_window + COPY_MARGIN


def recorded_schedule(points: Sequence[Mapping[str, Any]]) -> Schedule | None:
    """The rule AWS Backup recorded on the newest of ``points`` that carries one."""
    for point in sorted(points, key=lambda p: p["CreationDate"], reverse=True):
        expression = (point.get("CreatedBy") or {}).get("BackupRuleCron")
        if isinstance(expression, str) and expression:
            return Schedule(expression, "recovery point (CreatedBy.BackupRuleCron)")
    return None


def judge(
    created: datetime, now: datetime, schedule: Schedule | None, completion_window: timedelta
) -> dict[str, Any]:
    """The ``freshness`` entry of a planned resource."""
    age = now - created
    if schedule is None:
        return {
            "stale": False,
            "judged": False,
            "why": "copy schedule unknown (no CreatedBy.BackupRuleCron on the point, no --stack): age not judged",
        }
    try:
        allowed = allowed_age(schedule.expression, completion_window)
    except cron.ScheduleError as error:
        return {
            "stale": False,
            "judged": False,
            "why": f"schedule {schedule.expression!r} from {schedule.source} unreadable ({error}): age not judged",
        }
    hours = round(allowed.total_seconds() / 3600, 1)
    entry: dict[str, Any] = {
        "stale": age > allowed,
        "judged": True,
        "schedule": schedule.expression,
        "scheduleFrom": schedule.source,
        "allowedAgeHours": hours,
    }
    if age > allowed:
        entry["why"] = (
            f"STALE: {round(age.total_seconds() / 3600, 1)} h old, older than the {hours} h that "
            f"{schedule.expression} ({schedule.source}) allows (its longest gap "
            f"{round(longest_gap(schedule.expression).total_seconds() / 3600, 1)} h + completion window "
            f"{round(completion_window.total_seconds() / 3600, 1)} h + copy margin "
            f"{round(COPY_MARGIN.total_seconds() / 3600)} h): copies of this resource stopped; "
            "find out why before relying on it"
        )
    return entry


def retention_note(
    delete_at: datetime | None, now: datetime, warn_within: timedelta
) -> tuple[str, bool] | None:
    """A warning about the point's scheduled deletion, and whether that time has already passed."""
    if delete_at is None:
        return None
    stamp = _iso(delete_at)
    if delete_at <= now:
        return (
            f"EXPIRED: the recovery point's retention ended at {stamp} (in the past); AWS Backup has not "
            "deleted it yet and may do so at any moment, even during the restore: restore it first or "
            "choose another point",
            True,
        )
    if delete_at - now < warn_within:
        return f"the recovery point expires at {stamp}: restore before then", False
    return None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
