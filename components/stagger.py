"""Staggered schedules: each workload account's backup rules moved later by an offset from its account id.

A fleet whose stacks all back up (and so copy) at the same minute sends every copy job to the isolated
account at once. ``schedules.staggerMinutes`` spreads them: each stack's two daily rules start
:func:`offset` minutes later, a function of the workload account alone (SHA-256, in steps of
:data:`STEP_MINUTES` within the window), so an account keeps its offset on every run and machine and
adding an account moves no other. The shifted expression goes everywhere the rule's schedule goes,
the coverage job's RDS window check included (docs/rds-windows.md). Off (0) by default.
"""

from __future__ import annotations

import hashlib

from dr_model import cron

STEP_MINUTES = 5
MAX_WINDOW_MINUTES = 12 * 60
"""A longer spread would move a rule by half a day or more: choose other schedules instead."""
MINUTES_PER_DAY = 24 * 60


def offset(account: str, window_minutes: int) -> int:
    """Minutes the account's rules move later, in ``[0, window_minutes)``, a multiple of the step."""
    if window_minutes <= 0:
        return 0
    slots = max(1, window_minutes // STEP_MINUTES)
    digest = int.from_bytes(hashlib.sha256(account.encode("ascii")).digest()[:8], "big")
    return (digest % slots) * STEP_MINUTES


def shifted(expression: str, minutes: int) -> str:
    """A daily AWS Backup cron expression fired ``minutes`` later (raises ``cron.ScheduleError`` for a
    schedule that does not fire every day: moving it across midnight would change its days)."""
    if minutes == 0:
        return expression
    parsed = cron.parse_backup_cron(expression)
    if parsed.skipped_days() is not None:
        raise cron.ScheduleError(f"{expression} does not run every day, so it cannot be staggered")
    times = sorted({(t + minutes) % MINUTES_PER_DAY for t in parsed.minutes_of_day})
    minute = times[0] % 60  # one minute field: every firing keeps the same minute of its hour
    hours = ",".join(str(t // 60) for t in times)
    _, _, *days = parsed.fields
    return f"cron({minute} {hours} {' '.join(days)})"
