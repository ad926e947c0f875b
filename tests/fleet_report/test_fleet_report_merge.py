"""Merging three accounts' coverage reports (one full, one with drift, one stale) and a missing one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dr_runtime.fleet_report import merge
from dr_runtime.fleet_report.report_sources import from_folder
from tests.fleet_report.reports import DRIFT, FULL, MISSING, NOW, REGION, STALE, fleet_reports, write_fleet


@pytest.fixture
def fleet(tmp_path: Path) -> merge.FleetReport:
    return merge.merge(from_folder(write_fleet(tmp_path)), NOW, expected=[FULL, DRIFT, STALE, MISSING])


def _entry(report: merge.FleetReport, account: str) -> merge.AccountEntry:
    return next(a for a in report.accounts if a.account == account)


def test_coverage_per_account_and_type(fleet: merge.FleetReport) -> None:
    assert fleet.types == ("S3", "EBS", "RDS")
    full, drift = _entry(fleet, FULL), _entry(fleet, DRIFT)
    assert {t: c.percent for t, c in full.cells.items()} == {"S3": 100.0, "EBS": 100.0, "RDS": 100.0}
    # Opted-out and Kubernetes-owned resources are found but not selected.
    assert full.cells["EBS"] == merge.Counts(total=2, selected=1, recent=1)
    assert {t: c.percent for t, c in drift.cells.items()} == {"S3": 100.0, "EBS": 50.0, "RDS": 50.0}
    assert drift.overall == merge.Counts(total=7, selected=6, recent=4)
    assert drift.overall is not None
    assert drift.overall.percent == 66.67


def test_statuses_missing_and_stale(fleet: merge.FleetReport) -> None:
    statuses = {a.account: a.status for a in fleet.accounts}
    assert statuses == {FULL: merge.OK, DRIFT: merge.BELOW_100, STALE: merge.STALE, MISSING: merge.MISSING}
    stale = _entry(fleet, STALE)
    assert stale.problems == (
        f"{REGION}: report is 4.0 days old (generated 2026-11-16T09:30:00+00:00; limit 36 h)",
    )
    assert _entry(fleet, MISSING).problems == ("no coverage report in the fleet bucket",)
    assert [a.account for a in fleet.attention] == [DRIFT, STALE, MISSING]


def test_fleet_totals_count_fresh_reports_only(fleet: merge.FleetReport) -> None:
    # The stale account's numbers (all 100%) would hide the drift; they are shown but not counted.
    assert fleet.totals["EBS"] == merge.Counts(total=4, selected=3, recent=2)
    assert fleet.totals["RDS"] == merge.Counts(total=3, selected=3, recent=2)
    assert fleet.overall.percent == 77.78


def test_unprotected_resources_say_why(fleet: merge.FleetReport) -> None:
    found = {(u.account, u.type, u.name, u.reason) for u in fleet.unprotected}
    assert found == {
        (DRIFT, "EBS", "vol-0b2", merge.NO_RECENT_POINT),
        (DRIFT, "RDS", "billing-db", merge.NO_RECENT_POINT),
        (DRIFT, "S3", "scratch", merge.OPTED_OUT),
        (FULL, "EBS", "vol-0k8", merge.KUBERNETES_EXCLUDED),
    }
    never = next(u for u in fleet.unprotected if u.name == "vol-0b2")
    assert never.detail == "last backup: never"
    assert never.arn == f"arn:aws:ec2:{REGION}:{DRIFT}:volume/vol-0b2"
    # Drift first: it is what broke, opt-outs are decisions.
    assert [u.reason for u in fleet.unprotected][:2] == [merge.NO_RECENT_POINT] * 2


def test_decision_codes_and_engine_mismatch_are_read(tmp_path: Path) -> None:
    reports = fleet_reports()
    report = reports[FULL]
    report["excluded"] = [
        {"type": "Aurora", "arn": "arn:aws:rds:us-east-1:111111111111:cluster:c1", "name": "c1",
         "reason": "no protected type's plans take it", "decision": "not-routed"},
    ]  # fmt: skip
    report["engine_mismatch"] = [
        {"type": "Neptune", "arn": "arn:aws:rds:us-east-1:111111111111:cluster:g1", "name": "g1",
         "reason": "engine neptune (Neptune): routed to the Aurora plans and vault"},
    ]  # fmt: skip
    fleet = merge.merge(from_folder(write_fleet(tmp_path, {FULL: report})), NOW)
    assert {(u.name, u.reason) for u in fleet.unprotected} == {
        ("c1", merge.NO_PLAN),
        ("g1", merge.ENGINE_VAULT_MISMATCH),
    }


def test_failed_listing_makes_an_account_incomplete(tmp_path: Path) -> None:
    report = fleet_reports()[FULL]
    report["failed_types"] = {"RDS": "AccessDenied: rds:DescribeDBInstances"}
    fleet = merge.merge(from_folder(write_fleet(tmp_path, {FULL: report})), NOW)
    entry = _entry(fleet, FULL)
    assert entry.status == merge.INCOMPLETE
    assert entry.problems == (f"{REGION}: RDS could not be listed: AccessDenied: rds:DescribeDBInstances",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not JSON"),
        ("[]", "not a JSON object"),
        (json.dumps({"generated_at": "yesterday"}), "'generated_at' ('yesterday') is not an ISO 8601 time"),
        (json.dumps({"generated_at": "2026-11-20T08:00:00"}), "has no time zone"),
        (
            json.dumps({"generated_at": "2026-11-20T08:00:00+00:00", "types": {"S3": {"total": 1}}}),
            "types.S3: 'selected' is missing or not int",
        ),
        (
            json.dumps({"account_id": "999999999999"}),
            "the report is for account 999999999999, not 333333333333",
        ),
        (
            json.dumps(
                {
                    "generated_at": "2026-11-20T08:00:00+00:00",
                    "recent_hours": 26,
                    "types": {},
                    "excluded": [{"type": "S3", "arn": "arn:aws:s3:::x", "reason": "tagged"}],
                }
            ),
            "'excluded[].decision' is None; expected one of opted-out, kubernetes-excluded, not-routed",
        ),
    ],
)
def test_unreadable_report_names_the_file_and_key(tmp_path: Path, text: str, problem: str) -> None:
    write_fleet(tmp_path)
    path = tmp_path / "coverage" / DRIFT / REGION / "latest.json"
    path.write_text(text)
    fleet = merge.merge(from_folder(tmp_path), NOW)
    entry = _entry(fleet, DRIFT)
    assert entry.status == merge.UNREADABLE
    assert entry.problems[0].startswith(str(path))
    assert problem in entry.problems[0]
    # The other accounts are still reported.
    assert _entry(fleet, FULL).status == merge.OK


def test_found_but_not_expected_is_shown_and_marked(tmp_path: Path) -> None:
    fleet = merge.merge(from_folder(write_fleet(tmp_path)), NOW, expected=[FULL])
    assert {a.account: a.expected for a in fleet.accounts} == {FULL: True, DRIFT: False, STALE: False}


def test_keys_outside_the_layout_are_ignored(tmp_path: Path) -> None:
    write_fleet(tmp_path)
    (tmp_path / "coverage" / "not-an-account" / REGION).mkdir(parents=True)
    (tmp_path / "coverage" / "not-an-account" / REGION / "latest.json").write_text("{}")
    assert {s.account for s in from_folder(tmp_path)} == {FULL, DRIFT, STALE}
