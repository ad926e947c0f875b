"""One table of schedule expressions and what AWS makes of them, run against both copies of the grammar
(``dr_model/cron.py`` and the policy pack's ``policies/dr_policies/cron.py``) and against the config,
the pack's rule and the offline plan's matrix. Sources: docs/schedule-expressions.md.

``error`` is a fragment of the message ``parse_cron`` raises (``None``: valid). ``backup`` and
``scheduler`` are the same for ``parse_backup_cron`` and ``parse_scheduler`` when they differ from
``error`` (``VALID`` where only they accept it). ``times`` are the firing minutes of a valid cron
expression on a day it fires; ``skips`` a fragment of why it does not fire every day (``None``: daily).
"""

from __future__ import annotations

from dataclasses import dataclass

SAME = "<same as error>"
VALID = "<valid>"


@dataclass(frozen=True)
class Vector:
    expression: str
    error: str | None = None
    backup: str | None = SAME
    scheduler: str | None = SAME
    times: tuple[int, ...] | None = None
    skips: str | None = None

    def expected(self, grammar: str) -> str | None:
        """The error fragment ``grammar`` ('cron', 'backup', 'scheduler') must raise, or None."""
        value = {"cron": self.error, "backup": self.backup, "scheduler": self.scheduler}[grammar]
        if value == SAME:
            return self.error
        return None if value == VALID else value


_HOURLY = "AWS Backup snapshots run at most hourly"

VECTORS: tuple[Vector, ...] = (
    # --- valid, daily ----------------------------------------------------------------------------
    Vector("cron(0 5 ? * * *)", times=(300,)),
    Vector("cron(0 7 ? * * *)", times=(420,)),
    Vector("cron(0 9 * * ? *)", times=(540,)),
    Vector("cron(15 12 * * ? *)", times=(735,)),
    Vector("cron(0 0/6 ? * * *)", times=(0, 360, 720, 1080)),
    Vector("cron(30 1,13 ? * * *)", times=(90, 810)),
    Vector("cron(0 5-7 ? * * *)", times=(300, 360, 420)),
    Vector("cron(0 */12 ? * * *)", times=(0, 720)),
    Vector("cron(0 20-23/2 ? * * *)", times=(1200, 1320)),
    Vector("cron(0 * ? * * *)", times=tuple(h * 60 for h in range(24))),
    Vector("cron(0 5 1-31 * ? *)", times=(300,)),
    Vector("cron(0 5 ? * 1-7 *)", times=(300,)),
    Vector("cron(0 5 ? * SUN-SAT *)", times=(300,)),
    Vector("cron(0 5 ? JAN-DEC * *)", times=(300,)),
    Vector("cron(05 05 ? * * *)", times=(305,)),
    # More than once an hour: valid cron, valid for EventBridge Scheduler, not for AWS Backup.
    Vector("cron(0/15 * ? * * *)", backup=_HOURLY, scheduler=VALID, times=tuple(range(0, 1440, 15))),
    Vector("cron(0,30 * ? * * *)", backup=_HOURLY, scheduler=VALID, times=tuple(range(0, 1440, 30))),
    Vector("cron(1/10 * ? * * *)", backup=_HOURLY, scheduler=VALID, times=tuple(range(1, 1440, 10))),
    # --- valid, not every day --------------------------------------------------------------------
    Vector("cron(0 10 ? * SAT *)", times=(600,), skips="day-of-week 'SAT'"),
    Vector("cron(0 5 ? * MON-FRI *)", times=(300,), skips="day-of-week 'MON-FRI'"),
    Vector("cron(0 5 ? * mon *)", times=(300,), skips="day-of-week 'mon'"),
    Vector("cron(0 5 1 * ? *)", times=(300,), skips="day-of-month '1'"),
    Vector("cron(0 5 1,15 * ? *)", times=(300,), skips="day-of-month '1,15'"),
    Vector("cron(0 5 L * ? *)", times=(300,), skips="day-of-month 'L'"),
    Vector("cron(0 5 15W * ? *)", times=(300,), skips="day-of-month '15W'"),
    Vector("cron(0 5 ? * L *)", times=(300,), skips="day-of-week 'L'"),
    Vector("cron(0 10 ? * 6L 2002-2005)", times=(600,), skips="day-of-week '6L'"),
    Vector("cron(0 9 ? * 2#1 *)", times=(540,), skips="day-of-week '2#1'"),
    Vector("cron(0 9 ? * MON#5 *)", times=(540,), skips="day-of-week 'MON#5'"),
    Vector("cron(0 5 ? JUL * *)", times=(300,), skips="month 'JUL'"),
    Vector("cron(0 5 ? 1,4,7,10 * *)", times=(300,), skips="month '1,4,7,10'"),
    Vector("cron(0 5 ? * * 2030)", times=(300,), skips="year '2030'"),
    Vector("cron(0 5 ? * * 2025-2199)", times=(300,), skips="year '2025-2199'"),
    Vector("cron(0 5 ? * * 2025/5)", times=(300,), skips="year '2025/5'"),
    # --- invalid: the wrapper and the fields -----------------------------------------------------
    Vector(
        "every day",
        error="not wrapped in cron(...)",
        backup="not wrapped in cron(...)",
        scheduler="cron(...), rate(...) or at(...)",
    ),
    Vector("cron 0 5 ? * * *", error="not wrapped in cron(...)", scheduler="cron(...), rate(...) or at(...)"),
    Vector(
        "CRON(0 5 ? * * *)", error="not wrapped in cron(...)", scheduler="cron(...), rate(...) or at(...)"
    ),
    Vector(
        " cron(0 5 ? * * *)", error="not wrapped in cron(...)", scheduler="cron(...), rate(...) or at(...)"
    ),
    Vector("cron(0 5 ? * * *) ", error="not wrapped in cron(...)"),
    Vector("cron(0 5 ? * *)", error="it has 5 fields"),
    Vector("cron(0 0 5 ? * * *)", error="it has 7 fields"),
    Vector("cron()", error="separated by single spaces"),
    Vector("cron(0  5 ? * * *)", error="separated by single spaces"),
    Vector("cron( 0 5 ? * * *)", error="separated by single spaces"),
    Vector("cron(0\t5 ? * * *)", error="separated by single spaces"),
    Vector("cron(0 5 * * * *)", error="exactly one of day-of-month and day-of-week must be '?'"),
    Vector("cron(0 5 ? * ? *)", error="exactly one of day-of-month and day-of-week must be '?'"),
    Vector("cron(0 5 1 * MON *)", error="exactly one of day-of-month and day-of-week must be '?'"),
    Vector("cron(? 5 ? * * *)", error="minutes '?': '?' is allowed only in day-of-month or day-of-week"),
    Vector("cron(0 5 * ? ? *)", error="month '?'"),
    Vector("cron(0 5 ? * * ?)", error="year '?'"),
    # --- invalid: values out of range ------------------------------------------------------------
    Vector("cron(60 5 ? * * *)", error="minutes '60': 60 is outside 0-59"),
    Vector("cron(0 25 ? * * *)", error="hours '25': 25 is outside 0-23"),
    Vector("cron(0 24 ? * * *)", error="hours '24': 24 is outside 0-23"),
    Vector("cron(0 5 0 * ? *)", error="day-of-month '0': 0 is outside 1-31"),
    Vector("cron(0 5 32 * ? *)", error="day-of-month '32': 32 is outside 1-31"),
    Vector("cron(0 5 ? 13 * *)", error="month '13': 13 is outside 1-12"),
    Vector("cron(0 5 ? 0 * *)", error="month '0': 0 is outside 1-12"),
    Vector("cron(0 5 ? * 0 *)", error="day-of-week '0': 0 is outside 1-7"),
    Vector("cron(0 5 ? * 8 *)", error="day-of-week '8': 8 is outside 1-7"),
    Vector("cron(0 5 ? * * 1969)", error="year '1969': 1969 is outside 1970-2199"),
    Vector("cron(0 5 ? * * 2200)", error="year '2200': 2200 is outside 1970-2199"),
    Vector("cron(0 5-25 ? * * *)", error="hours '5-25': 25 is outside 0-23"),
    # --- invalid: names, lists, ranges, steps ----------------------------------------------------
    Vector("cron(0 5 ? * MOM *)", error="day-of-week 'MOM': 'MOM' is not a value of 1-7 or SUN-SAT"),
    Vector("cron(0 5 ? JANUARY * *)", error="month 'JANUARY': 'JANUARY' is not a value of 1-12 or JAN-DEC"),
    Vector("cron(0 MON ? * * *)", error="hours 'MON': 'MON' is not a value of 0-23"),
    Vector("cron(0 5 ? * FRI-MON *)", error="range 'FRI-MON' runs backwards"),
    Vector("cron(0 22-2 ? * * *)", error="range '22-2' runs backwards"),
    Vector("cron(0 5, ? * * *)", error="hours '5,': '' is not a value"),
    Vector("cron(0 5 ? * MON/2 *)", error="no '/' in day-of-week"),
    Vector("cron(0 0/0 ? * * *)", error="hours '0/0': step 0 must be 1-23"),
    Vector("cron(0/60 * ? * * *)", error="minutes '0/60': step 60 must be 1-59"),
    Vector("cron(0 5/ ? * * *)", error="hours '5/'"),
    Vector("cron(0 -5 ? * * *)", error="hours '-5'"),
    Vector("cron(0 \uff15 ? * * *)", error="hours '\uff15'"),  # a full-width digit
    # --- invalid: special days -------------------------------------------------------------------
    Vector("cron(0 5 1,L * ? *)", error="day-of-month '1,L': 'L' or '15W' must be the field's only value"),
    Vector("cron(0 5 LW * ? *)", error="day-of-month 'LW': 'L' or '15W' must be the field's only value"),
    Vector("cron(0 5 L-3 * ? *)", error="day-of-month 'L-3': 'L' or '15W' must be the field's only value"),
    Vector("cron(0 5 32W * ? *)", error="day-of-month '32W': 32 is outside 1-31"),
    Vector("cron(0 5 W * ? *)", error="day-of-month 'W'"),
    Vector("cron(0 5 ? * 3#6 *)", error="the week of the month after '#' must be 1-5"),
    Vector("cron(0 5 ? * 3#0 *)", error="the week of the month after '#' must be 1-5"),
    Vector(
        "cron(0 5 ? * 3#1,6#3 *)",
        error="day-of-week '3#1,6#3': 'L', '6L' or '3#2' must be the field's only value",
    ),
    Vector("cron(0 5 ? * 8L *)", error="day-of-week '8L'"),
    Vector("cron(0 5 15W ? * *)", error="(got '15W' and '*')"),
    Vector("cron(0 5 ? * 5W *)", error="day-of-week '5W'"),
    Vector("cron(0 5 L ? * *)", error="(got 'L' and '*')"),
    # --- rate(...) and at(...): EventBridge Scheduler only ---------------------------------------
    Vector(
        "rate(1 day)",
        error="not wrapped in cron(...)",
        backup="AWS Backup accepts only cron(...) schedules, not rate(...)",
        scheduler=VALID,
    ),
    Vector("rate(2 hours)", error="not wrapped in cron(...)", backup="not rate(...)", scheduler=VALID),
    Vector("rate(15 minutes)", error="not wrapped in cron(...)", backup="not rate(...)", scheduler=VALID),
    Vector("rate(1 minute)", error="not wrapped in cron(...)", backup="not rate(...)", scheduler=VALID),
    Vector(
        "rate(2 hour)",
        error="not wrapped in cron(...)",
        backup="not rate(...)",
        scheduler="needs the unit 'hours'",
    ),
    Vector(
        "rate(1 days)",
        error="not wrapped in cron(...)",
        backup="not rate(...)",
        scheduler="needs the unit 'day'",
    ),
    Vector(
        "rate(0 days)",
        error="not wrapped in cron(...)",
        backup="not rate(...)",
        scheduler="rate value 0 must be a positive",
    ),
    Vector(
        "rate(1 week)", error="not wrapped in cron(...)", backup="not rate(...)", scheduler="rate unit 'week'"
    ),
    Vector(
        "rate(1.5 hours)",
        error="not wrapped in cron(...)",
        backup="not rate(...)",
        scheduler="a rate is rate(value unit)",
    ),
    Vector(
        "rate(2  hours)",
        error="not wrapped in cron(...)",
        backup="not rate(...)",
        scheduler="a rate is rate(value unit)",
    ),
    Vector(
        "at(2030-01-01T09:00:00)", error="not wrapped in cron(...)", backup="not at(...)", scheduler=VALID
    ),
    Vector(
        "at(2030-02-30T09:00:00)",
        error="not wrapped in cron(...)",
        backup="not at(...)",
        scheduler="not a date and time that exists",
    ),
    Vector(
        "at(2030-01-01 09:00:00)",
        error="not wrapped in cron(...)",
        backup="not at(...)",
        scheduler="at(yyyy-mm-ddThh:mm:ss)",
    ),
    Vector(
        "cron(0 5 ? * * *" + " " * 251 + ")",
        error="separated by single spaces",
        scheduler="EventBridge Scheduler allows 256",
    ),
)
