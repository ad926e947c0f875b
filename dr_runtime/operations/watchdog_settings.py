"""The watchdog's settings: each field's flag and environment variable, declared once.

The handler and the command read them (``WatchdogConfig.from_settings``); the component
(``components/operations/watchdog_job.py``) writes the function's environment from the same declarations
(``dr_runtime.settings.environment``). Standard library and ``dr_runtime`` only: Pulumi programs import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dr_runtime.errors import ConfigError
from dr_runtime.settings import Setting, check_topic_arn, names, optional, publish_metrics, whole_number

DEFAULT_THRESHOLD_MINUTES = 330
"""A job this old is alerted: 30 minutes before the default 360-minute completion window ends."""
DEFAULT_COMPLETION_WINDOW_MINUTES = 360
INTERVAL_MINUTES = 15
"""Minutes between scheduled runs."""
# Non-terminal states worth watching (dr_runtime/operations/watchdog.py says why CREATED is not).
WATCHABLE_BACKUP_STATES = frozenset({"RUNNING", "PENDING", "ABORTING"})
WATCHABLE_COPY_STATES = frozenset({"RUNNING"})

DEFAULT_BACKUP_STATES = ("RUNNING", "PENDING")
DEFAULT_COPY_STATES = ("RUNNING",)
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")

THRESHOLD = Setting(
    "--threshold-minutes",
    "DR_WATCHDOG_THRESHOLD_MINUTES",
    f"alert a job this many minutes old (default {DEFAULT_THRESHOLD_MINUTES})",
)
COMPLETION_WINDOW = Setting(
    "--completion-window-minutes",
    "DR_COMPLETION_WINDOW_MINUTES",
    f"the plans' completion window (default {DEFAULT_COMPLETION_WINDOW_MINUTES})",
)
INTERVAL = Setting(
    "--interval-minutes",
    "DR_WATCHDOG_INTERVAL_MINUTES",
    f"minutes between scheduled runs (default {INTERVAL_MINUTES})",
)
TOPIC = Setting(
    "--topic-arn", "DR_ALERT_TOPIC_ARN", "SNS topic for the alerts; without one the command lists only"
)
LEDGER = Setting("--ledger-table", "DR_WATCHDOG_LEDGER_TABLE", "DynamoDB table of alerted jobs (recommended)")
BACKUP_STATES = Setting(
    "--backup-states",
    "DR_WATCHDOG_BACKUP_STATES",
    f"comma-separated backup job states to watch (default {','.join(DEFAULT_BACKUP_STATES)}; "
    f"allowed {','.join(sorted(WATCHABLE_BACKUP_STATES))})",
)
COPY_STATES = Setting(
    "--copy-states",
    "DR_WATCHDOG_COPY_STATES",
    f"comma-separated copy job states to watch (default {','.join(DEFAULT_COPY_STATES)})",
)


@dataclass(frozen=True)
class WatchdogConfig:
    threshold_minutes: int = DEFAULT_THRESHOLD_MINUTES
    completion_window_minutes: int = DEFAULT_COMPLETION_WINDOW_MINUTES
    interval_minutes: int = INTERVAL_MINUTES
    topic_arn: str | None = None
    ledger_table: str | None = None
    backup_states: tuple[str, ...] = DEFAULT_BACKUP_STATES
    copy_states: tuple[str, ...] = DEFAULT_COPY_STATES
    publish_metrics: bool = True

    def __post_init__(self) -> None:
        for setting, value in (
            (THRESHOLD, self.threshold_minutes),
            (COMPLETION_WINDOW, self.completion_window_minutes),
            (INTERVAL, self.interval_minutes),
        ):
            if value < 1:
                raise ConfigError(f"{setting.label} = {value}: must be at least 1")
        if self.threshold_minutes >= self.completion_window_minutes:
            raise ConfigError(
                f"{THRESHOLD.label} = {self.threshold_minutes}: must be below {COMPLETION_WINDOW.label} "
                f"= {self.completion_window_minutes}, when AWS may already have cancelled the job"
            )
        if self.threshold_minutes + self.interval_minutes > self.completion_window_minutes:
            raise ConfigError(
                f"{THRESHOLD.label} = {self.threshold_minutes} plus {INTERVAL.label} = "
                f"{self.interval_minutes} must not exceed {COMPLETION_WINDOW.label} = "
                f"{self.completion_window_minutes}: a run must fall between the threshold and the window's end"
            )
        check_topic_arn(TOPIC, self.topic_arn)
        if self.ledger_table is not None and not _TABLE_NAME.match(self.ledger_table):
            raise ConfigError(
                f"{LEDGER.label} = {self.ledger_table!r}: must be a DynamoDB table name "
                "(3-255 letters, digits, '_', '-', '.')"
            )
        for setting, states, allowed in (
            (BACKUP_STATES, self.backup_states, WATCHABLE_BACKUP_STATES),
            (COPY_STATES, self.copy_states, WATCHABLE_COPY_STATES),
        ):
            bad = sorted(set(states) - allowed)
            if bad or not states:
                raise ConfigError(
                    f"{setting.label} = {','.join(states)!r}: allowed states are {', '.join(sorted(allowed))}"
                )

    @classmethod
    def from_settings(cls, env: Mapping[str, str], args: Any = None) -> WatchdogConfig:
        """From the environment (the handler) or flags over the environment (the command)."""
        return cls(
            threshold_minutes=whole_number(THRESHOLD, env, args, DEFAULT_THRESHOLD_MINUTES),
            completion_window_minutes=whole_number(
                COMPLETION_WINDOW, env, args, DEFAULT_COMPLETION_WINDOW_MINUTES
            ),
            interval_minutes=whole_number(INTERVAL, env, args, INTERVAL_MINUTES),
            topic_arn=optional(TOPIC, env, args),
            ledger_table=optional(LEDGER, env, args),
            backup_states=names(BACKUP_STATES, env, args, DEFAULT_BACKUP_STATES),
            copy_states=names(COPY_STATES, env, args, DEFAULT_COPY_STATES),
            publish_metrics=publish_metrics(env, args),
        )
