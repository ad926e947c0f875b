"""Silence: a fleet account whose AWS Backup job events stopped reaching the verifier's bus.

Every workload stack forwards its AWS Backup events to the verifier's bus; a rule there writes every
backup and copy job event to one log group (``org/verifier_events.py``). Each run, one CloudWatch Logs
Insights query counts the last ``--events-silent-hours`` of those events per source account
(``stats count(*) by account``), and every account of ``--fleet`` with none is an ``events-silent``
finding: its forwarding rules were deleted or disabled, its plans stopped, or it never forwarded. A query
that cannot be run or does not complete is an ``unreadable`` finding on every account and fails the run:
missing data is never "no silence".

Why a query and not a metric filter with an ``AccountId`` dimension: CloudWatch Logs may disable a metric
filter that yields 1,000 dimension values within an hour, which a fleet of 1,000 accounts reaches; and a
metric of an account that sends nothing has no data point at all, so only a reader that knows the fleet
can tell silence from absence. One query serves any fleet size up to its 10,000-row limit
(docs/verifier.md, "Events out of the account").

Standard library and ``dr_runtime`` only.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import ConfigError, item_reason
from dr_runtime.report import RunSummary
from dr_runtime.settings import Setting, optional, whole_number
from dr_runtime.verifier.evaluation import AccountVerdict, Finding, Kind

DEFAULT_SILENT_HOURS = 24
"""The plans run daily: a day without one job event is a stop (issue 18)."""
MAX_SILENT_HOURS = 7 * 24
QUERY = "stats count(*) as events by account | limit 10000"
MAX_ROWS = 10_000
"""StartQuery's ``limit`` of this query: one row per account that sent something."""
POLL_SECONDS = 2.0
QUERY_DEADLINE_SECONDS = 300.0
"""A Lambda run has 600 s; a query of one day's job events takes seconds."""
RUNNING = frozenset({"Scheduled", "Running"})
_LOG_GROUP = r"[\.\-_/#A-Za-z0-9]{1,512}"

LOG_GROUP = Setting(
    "--events-log-group",
    "DR_VERIFIER_EVENTS_LOG_GROUP",
    "log group of the fleet's forwarded job events (org stack); without it the silence check is skipped",
)
SILENT_HOURS = Setting(
    "--events-silent-hours",
    "DR_VERIFIER_EVENTS_SILENT_HOURS",
    f"an account with no job event for this many hours is silent (default {DEFAULT_SILENT_HOURS})",
)
SETTINGS = (LOG_GROUP, SILENT_HOURS)


@dataclass(frozen=True)
class SilenceConfig:
    log_group: str | None = None
    silent_hours: int = DEFAULT_SILENT_HOURS

    def __post_init__(self) -> None:
        if self.log_group is not None and not re.fullmatch(_LOG_GROUP, self.log_group):
            raise ConfigError(
                f"{LOG_GROUP.label} = {self.log_group!r}: must be a log group name of 1-512 letters, digits "
                "and . - _ / #"
            )
        if not 1 <= self.silent_hours <= MAX_SILENT_HOURS:
            raise ConfigError(
                f"{SILENT_HOURS.label} = {self.silent_hours}: must be between 1 and {MAX_SILENT_HOURS}"
            )

    @classmethod
    def from_settings(cls, env: Mapping[str, str], args: Any = None) -> SilenceConfig:
        return cls(
            log_group=optional(LOG_GROUP, env, args),
            silent_hours=whole_number(SILENT_HOURS, env, args, DEFAULT_SILENT_HOURS),
        )


@dataclass(frozen=True)
class EventCounts:
    """Job events per source account in the window, or the reason they could not be read."""

    counts: dict[str, int]
    since: datetime
    error: str | None = None


def read_event_counts(
    logs: Any,
    log_group: str,
    since: datetime,
    until: datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> EventCounts:
    """One Logs Insights query over ``[since, until]``, polled until it completes or the deadline."""
    try:
        query_id = logs.start_query(
            logGroupName=log_group,
            startTime=int(since.timestamp()),
            endTime=int(until.timestamp()),
            queryString=QUERY,
            limit=MAX_ROWS,
        )["queryId"]
        waited = 0.0
        while True:
            answer = logs.get_query_results(queryId=query_id)
            status = answer.get("status", "Unknown")
            if status not in RUNNING:
                break
            if waited >= QUERY_DEADLINE_SECONDS:
                with contextlib.suppress(ClientError, BotoCoreError):
                    logs.stop_query(queryId=query_id)
                return EventCounts(
                    {}, since, f"the query did not complete within {QUERY_DEADLINE_SECONDS:.0f} s"
                )
            sleep(POLL_SECONDS)
            waited += POLL_SECONDS
    except (ClientError, BotoCoreError) as error:
        return EventCounts({}, since, item_reason(error))
    if status != "Complete":
        return EventCounts({}, since, f"the query ended {status}")
    rows = answer.get("results", [])
    if len(rows) >= MAX_ROWS:
        return EventCounts(
            {}, since, f"the query returned {len(rows)} rows, its limit: accounts may be missing"
        )
    counts: dict[str, int] = {}
    for row in rows:
        fields = {cell.get("field"): cell.get("value") for cell in row}
        account, events = fields.get("account"), fields.get("events")
        if account is None or events is None or not str(events).isdigit():
            return EventCounts({}, since, f"the query returned an unexpected row {row!r}")
        counts[str(account)] = counts.get(str(account), 0) + int(str(events))
    return EventCounts(counts, since)


def findings(accounts: Sequence[str], reading: EventCounts, config: SilenceConfig) -> dict[str, Finding]:
    """Per fleet account with a finding: ``unreadable`` for all when the read failed, else ``events-silent``
    for each account with no job event in the window (a count of zero or no row at all)."""
    hours = config.silent_hours
    if reading.error is not None:
        return {
            account: Finding(
                account,
                Kind.UNREADABLE,
                f"the fleet's forwarded job events ({config.log_group}) could not be read: {reading.error}; "
                "silence of this account is not checked",
            )
            for account in accounts
        }
    return {
        account: Finding(
            account,
            Kind.EVENTS_SILENT,
            f"no AWS Backup job event from {account} reached the verifier's event bus in the last {hours} h: "
            "its forwarding rules (<prefix>-forward-*, both Regions) may be deleted or disabled, or its plans "
            "stopped",
        )
        for account in accounts
        if reading.counts.get(account, 0) == 0
    }


def check(
    config: SilenceConfig,
    verdicts: Sequence[AccountVerdict],
    summary: RunSummary,
    logs: Callable[[], Any],
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
) -> EventCounts | None:
    """Read the counts (``logs`` makes the client of the verifier's own account), add each account's finding
    to its verdict and its evidence, and fail the run when the read failed; None (and ``skipped.events``)
    when no log group is configured."""
    if config.log_group is None:
        summary.skipped["events"] = f"no {LOG_GROUP.label}: the accounts' event silence was not checked"
        return None
    since = now - timedelta(hours=config.silent_hours)
    reading = read_event_counts(logs(), config.log_group, since, now, sleep)
    found = findings([verdict.account_id for verdict in verdicts], reading, config)
    for verdict in verdicts:
        finding = found.get(verdict.account_id)
        if finding is not None:
            verdict.findings.append(finding)
        verdict.evidence["events"] = {
            "log_group": config.log_group,
            "since": since.isoformat(),
            "state": "unreadable" if reading.error is not None else "read",
            "job_events": None if reading.error is not None else reading.counts.get(verdict.account_id, 0),
        }
        if "findings" in verdict.evidence:
            verdict.evidence["findings"] = [f.as_dict() for f in verdict.findings]
    if reading.error is not None:
        summary.failed["events"] = reading.error
    return reading
