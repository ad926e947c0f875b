"""The silence check (``dr_runtime/verifier/event_silence.py``) against a real botocore CloudWatch Logs
client with a Stubber, so every StartQuery / GetQueryResults / StopQuery request and answer is checked
against the service model: a fleet account with no job event is ``events-silent``, one with events is
not; a query that fails, ends badly, times out or hits its row limit is ``unreadable`` for every account
and fails the run, never "no silence"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from dr_runtime.errors import ConfigError
from dr_runtime.report import RunSummary
from dr_runtime.verifier import event_silence
from dr_runtime.verifier.evaluation import AccountVerdict, Kind

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
GROUP = "/aws/events/dr-org-backup-job-events"
FLEET = ("111111111111", "333333333333", "444444444444")
CONFIG = event_silence.SilenceConfig(log_group=GROUP)


def _logs() -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "logs", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _row(account: str, events: int) -> list[dict[str, str]]:
    return [{"field": "account", "value": account}, {"field": "events", "value": str(events)}]


def _start(stub: Stubber, hours: int = 24) -> None:
    stub.add_response(
        "start_query",
        {"queryId": "q-1"},
        {
            "logGroupName": GROUP,
            "startTime": int((NOW - timedelta(hours=hours)).timestamp()),
            "endTime": int(NOW.timestamp()),
            "queryString": event_silence.QUERY,
            "limit": event_silence.MAX_ROWS,
        },
    )


def _results(stub: Stubber, status: str, rows: list[list[dict[str, str]]] | None = None) -> None:
    stub.add_response("get_query_results", {"status": status, "results": rows or []}, {"queryId": "q-1"})


def _run(logs: Any, config: event_silence.SilenceConfig = CONFIG) -> tuple[list[AccountVerdict], RunSummary]:
    verdicts = [AccountVerdict(account) for account in FLEET]
    summary = RunSummary("verifier")
    sleeps: list[float] = []
    event_silence.check(config, verdicts, summary, lambda: logs, NOW, sleeps.append)
    return verdicts, summary


def _kinds(verdicts: list[AccountVerdict]) -> dict[str, list[Kind]]:
    return {v.account_id: [f.kind for f in v.findings] for v in verdicts}


def test_accounts_with_events_pass_and_the_silent_one_is_found() -> None:
    logs = _logs()
    with Stubber(logs) as stub:
        _start(stub)
        _results(stub, "Running")
        _results(stub, "Complete", [_row("111111111111", 12), _row("444444444444", 3)])
        verdicts, summary = _run(logs)
        stub.assert_no_pending_responses()
    assert _kinds(verdicts) == {
        "111111111111": [],
        "333333333333": [Kind.EVENTS_SILENT],
        "444444444444": [],
    }
    [silent] = verdicts[1].findings
    assert "333333333333" in silent.message
    assert "24 h" in silent.message
    assert verdicts[0].evidence["events"] == {
        "log_group": GROUP,
        "since": (NOW - timedelta(hours=24)).isoformat(),
        "state": "read",
        "job_events": 12,
    }
    assert verdicts[1].evidence["events"]["job_events"] == 0
    assert summary.failed == {}


def test_a_row_with_zero_events_is_silence_and_the_window_follows_the_setting() -> None:
    logs = _logs()
    with Stubber(logs) as stub:
        _start(stub, hours=48)
        _results(stub, "Complete", [_row(a, 0 if a == "111111111111" else 5) for a in FLEET])
        verdicts, summary = _run(logs, event_silence.SilenceConfig(log_group=GROUP, silent_hours=48))
    assert _kinds(verdicts)["111111111111"] == [Kind.EVENTS_SILENT]
    assert _kinds(verdicts)["333333333333"] == []
    assert summary.failed == {}


def test_a_query_that_cannot_start_is_unreadable_for_every_account_and_fails_the_run() -> None:
    logs = _logs()
    with Stubber(logs) as stub:
        stub.add_client_error("start_query", "AccessDeniedException", "not authorised", expected_params=None)
        verdicts, summary = _run(logs)
    assert _kinds(verdicts) == {a: [Kind.UNREADABLE] for a in FLEET}
    assert "AccessDeniedException" in summary.failed["events"]
    assert all(v.evidence["events"]["state"] == "unreadable" for v in verdicts)
    assert all(v.evidence["events"]["job_events"] is None for v in verdicts)


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "Timeout", "Unknown"])
def test_a_query_that_ends_badly_is_unreadable(status: str) -> None:
    logs = _logs()
    with Stubber(logs) as stub:
        _start(stub)
        _results(stub, status, [_row("111111111111", 4)])
        verdicts, summary = _run(logs)
    assert _kinds(verdicts) == {a: [Kind.UNREADABLE] for a in FLEET}
    assert status in summary.failed["events"]


def test_a_query_that_never_completes_is_stopped_and_unreadable() -> None:
    logs = _logs()
    polls = int(event_silence.QUERY_DEADLINE_SECONDS / event_silence.POLL_SECONDS) + 1
    with Stubber(logs) as stub:
        _start(stub)
        for _ in range(polls):
            _results(stub, "Running")
        stub.add_response("stop_query", {"success": True}, {"queryId": "q-1"})
        verdicts, summary = _run(logs)
        stub.assert_no_pending_responses()
    assert _kinds(verdicts) == {a: [Kind.UNREADABLE] for a in FLEET}
    assert "did not complete" in summary.failed["events"]


def test_a_full_page_of_rows_is_unreadable_not_a_partial_answer() -> None:
    logs = _logs()
    rows = [_row(f"{n:012d}", 1) for n in range(event_silence.MAX_ROWS)]
    with Stubber(logs) as stub:
        _start(stub)
        _results(stub, "Complete", rows)
        verdicts, summary = _run(logs)
    assert _kinds(verdicts) == {a: [Kind.UNREADABLE] for a in FLEET}
    assert "limit" in summary.failed["events"]


def test_an_unexpected_row_is_unreadable() -> None:
    logs = _logs()
    with Stubber(logs) as stub:
        _start(stub)
        _results(stub, "Complete", [[{"field": "account", "value": "111111111111"}]])
        verdicts, summary = _run(logs)
    assert _kinds(verdicts) == {a: [Kind.UNREADABLE] for a in FLEET}
    assert "unexpected row" in summary.failed["events"]


def test_without_a_log_group_nothing_is_read_and_the_skip_is_said() -> None:
    def no_client() -> Any:
        raise AssertionError("no client may be made")

    verdicts = [AccountVerdict(a) for a in FLEET]
    summary = RunSummary("verifier")
    assert event_silence.check(event_silence.SilenceConfig(), verdicts, summary, no_client, NOW) is None
    assert "events" in summary.skipped
    assert _kinds(verdicts) == {a: [] for a in FLEET}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DR_VERIFIER_EVENTS_LOG_GROUP": "bad group!"}, "--events-log-group"),
        (
            {"DR_VERIFIER_EVENTS_LOG_GROUP": GROUP, "DR_VERIFIER_EVENTS_SILENT_HOURS": "0"},
            "--events-silent-hours",
        ),
        (
            {"DR_VERIFIER_EVENTS_LOG_GROUP": GROUP, "DR_VERIFIER_EVENTS_SILENT_HOURS": "169"},
            "--events-silent-hours",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        event_silence.SilenceConfig.from_settings(env)


def test_good_settings_are_read() -> None:
    config = event_silence.SilenceConfig.from_settings(
        {"DR_VERIFIER_EVENTS_LOG_GROUP": GROUP, "DR_VERIFIER_EVENTS_SILENT_HOURS": "168"}
    )
    assert (config.log_group, config.silent_hours) == (GROUP, 168)
    assert event_silence.SilenceConfig.from_settings({}) == event_silence.SilenceConfig()
