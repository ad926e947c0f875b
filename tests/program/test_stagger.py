"""schedules.staggerMinutes: each account's rules move by a hash of its account, off by default."""

from __future__ import annotations

from typing import Any

import pytest

from components import stagger
from dr_model import cron
from drplan.graph import StackGraph
from drplan.program import register_stack
from tests.program.program_refusals import assert_refused

PLAN = "aws:backup/plan:Plan"
NS = "aws-dr-backup:"
ACCOUNTS = [f"{n:012d}" for n in range(100_000_000_000, 100_000_000_000 + 400 * 7919, 7919)]


def _schedules(graph: StackGraph) -> set[str]:
    return {rule["schedule"] for r in graph.by_type(PLAN) for rule in r.inputs["rules"]}


def test_the_offset_is_deterministic_within_the_window_and_spreads_accounts() -> None:
    offsets = [stagger.offset(a, 120) for a in ACCOUNTS]
    assert offsets == [stagger.offset(a, 120) for a in ACCOUNTS]
    assert all(0 <= o < 120 and o % stagger.STEP_MINUTES == 0 for o in offsets)
    # 400 accounts over 24 slots: every slot used, none holding more than a tenth of them.
    assert len(set(offsets)) == 120 // stagger.STEP_MINUTES
    assert max(offsets.count(o) for o in set(offsets)) < 40
    assert stagger.offset(ACCOUNTS[0], 0) == 0


@pytest.mark.parametrize(
    ("expression", "minutes", "expected"),
    [
        ("cron(0 7 ? * * *)", 35, "cron(35 7 ? * * *)"),
        ("cron(50 23 ? * * *)", 20, "cron(10 0 ? * * *)"),
        ("cron(0 1,13 * * ? *)", 90, "cron(30 2,14 * * ? *)"),
        ("cron(0 7 ? * * *)", 0, "cron(0 7 ? * * *)"),
    ],
)
def test_a_daily_schedule_shifts(expression: str, minutes: int, expected: str) -> None:
    assert stagger.shifted(expression, minutes) == expected
    shifted = cron.parse_backup_cron(expected)
    original = cron.parse_backup_cron(expression)
    assert {(t + minutes) % 1440 for t in original.minutes_of_day} == set(shifted.minutes_of_day)


def test_a_schedule_on_some_days_is_not_shifted() -> None:
    with pytest.raises(cron.ScheduleError, match="does not run every day"):
        stagger.shifted("cron(0 7 ? * MON-FRI *)", 10)


def test_off_by_default_the_rules_keep_their_schedules(prod: StackGraph) -> None:
    assert _schedules(prod) == {"cron(0 5 ? * * *)", "cron(0 7 ? * * *)"}


def test_staggered_rules_move_by_the_accounts_offset(prod_config: dict[str, Any]) -> None:
    prod_config[f"{NS}schedules"] = {"staggerMinutes": 120}
    graph = register_stack("prod", config=prod_config)
    offset = stagger.offset(prod_config[f"{NS}accounts"]["workload"], 120)
    assert offset > 0  # the documentation account's offset; with 0 this test would prove nothing
    expected = {stagger.shifted("cron(0 5 ? * * *)", offset), stagger.shifted("cron(0 7 ? * * *)", offset)}
    assert _schedules(graph) == expected
    # Only the schedules differ: the same resources, the same names.
    assert len(graph.resources) == len(register_stack("prod").resources)


@pytest.mark.parametrize(
    ("schedules", "fragment"),
    [
        ({"staggerMinutes": 721}, "schedules.staggerMinutes"),
        ({"staggerMinutes": -5}, "schedules.staggerMinutes"),
        (
            {"staggerMinutes": 60, "crossAccount": "cron(0 7 ? * SUN *)"},
            "needs daily schedules, and crossAccount",
        ),
    ],
)
def test_bad_stagger_fails_before_anything_is_registered(
    prod_config: dict[str, Any], schedules: dict[str, Any], fragment: str
) -> None:
    prod_config[f"{NS}schedules"] = schedules
    assert_refused("prod", prod_config, fragment)
