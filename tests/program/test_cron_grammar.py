"""One cron grammar: both copies (program config and policy pack) run the same vectors, and the config,
the pack's schedule rule and the offline plan's matrix agree on every one of them."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import dr_model.cron as program_cron
import policies.dr_policies.cron as pack_cron
from components.config import ConfigError, parse
from drplan import schedule_times as plan_schedule
from policies.dr_policies import schedule_rules as pack_schedules
from tests.cron_vectors import VECTORS, Vector

REPO = Path(__file__).resolve().parents[2]
COPIES = {"program": program_cron, "pack": pack_cron}
ENTRY_POINTS = {"cron": "parse_cron", "backup": "parse_backup_cron", "scheduler": "parse_scheduler"}
IDS = [v.expression for v in VECTORS]


def test_the_pack_copy_is_the_program_copy() -> None:
    program = (REPO / "dr_model" / "cron.py").read_bytes()
    pack = (REPO / "policies" / "dr_policies" / "cron.py").read_bytes()
    assert pack == program, "policies/dr_policies/cron.py must be a byte-for-byte copy of dr_model/cron.py"


@pytest.mark.parametrize("copy", COPIES.values(), ids=COPIES.keys())
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
@pytest.mark.parametrize("grammar", ENTRY_POINTS)
def test_vector(copy: ModuleType, vector: Vector, grammar: str) -> None:
    entry = getattr(copy, ENTRY_POINTS[grammar])
    expected = vector.expected(grammar)
    if expected is not None:
        with pytest.raises(copy.ScheduleError) as caught:
            entry(vector.expression)
        assert expected in str(caught.value)
        return
    parsed = entry(vector.expression)
    if isinstance(parsed, copy.Cron):
        assert parsed.minutes_of_day == vector.times
        skipped = parsed.skipped_days()
        if vector.skips is None:
            assert skipped is None
        else:
            assert skipped is not None
            assert vector.skips in skipped


def test_the_table_covers_every_outcome() -> None:
    # Each grammar both accepts and rejects something, and valid crons both skip days and do not.
    for grammar in ENTRY_POINTS:
        outcomes = {v.expected(grammar) is None for v in VECTORS}
        assert outcomes == {True, False}, grammar
    assert len(VECTORS) >= 90
    assert {v.skips is None for v in VECTORS if v.times} == {True, False}


def _prod_with(stack: dict[str, Any], path: tuple[str, ...], value: str) -> dict[str, Any]:
    raw = {**stack}
    node = raw[path[0]] = dict(raw.get(path[0]) or {})
    for part in path[1:-1]:
        node[part] = dict(node.get(part) or {})
        node = node[part]
    node[path[-1]] = value
    return raw


@pytest.fixture(scope="module")
def prod_raw() -> dict[str, Any]:
    from components.config import from_namespaced
    from drplan.program import read_stack_config, stack_file

    return from_namespaced(read_stack_config(stack_file("prod")))


def _config_error(raw: dict[str, Any]) -> str | None:
    try:
        parse(raw, "prod")
    except ConfigError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_config_accepts_a_backup_schedule_exactly_when_the_pack_does(
    prod_raw: dict[str, Any], vector: Vector
) -> None:
    error = _config_error(_prod_with(prod_raw, ("schedules", "crossRegion"), vector.expression))
    assert error is None or "aws-dr-backup:schedules.crossRegion = " in error
    try:
        pack_schedules.parse(vector.expression)
        pack_ok = True
    except pack_schedules.CronError:
        pack_ok = False
    except pack_schedules.SkipsDays:
        pack_ok = True  # valid; the RPO rule, not the validity rule, reports it
    assert (error is None) == pack_ok == (vector.expected("backup") is None)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_config_job_schedules_follow_eventbridge_scheduler(prod_raw: dict[str, Any], vector: Vector) -> None:
    recurring = not vector.expression.startswith("at(")
    for path in (("bridges", "memorydb", "schedule"), ("operations", "coverageSchedule")):
        error = _config_error(_prod_with(prod_raw, path, vector.expression))
        assert error is None or f"aws-dr-backup:{'.'.join(path)} = " in error
        assert (error is None) == (vector.expected("scheduler") is None and recurring), path


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_config_restore_testing_schedule_is_aws_cron(prod_raw: dict[str, Any], vector: Vector) -> None:
    error = _config_error(
        _prod_with(prod_raw, ("operations", "restoreTesting", "schedule"), vector.expression)
    )
    assert error is None or "aws-dr-backup:operations.restoreTesting.schedule = " in error
    assert (error is None) == (vector.expected("cron") is None)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_plan_matrix_reads_what_the_grammar_reads(vector: Vector) -> None:
    if vector.expected("cron") is not None:
        with pytest.raises(program_cron.ScheduleError):
            plan_schedule.parse(vector.expression)
        return
    daily = plan_schedule.parse(vector.expression)
    if vector.skips is not None:
        assert daily is None
    else:
        assert daily is not None
        assert daily.minutes_of_day == vector.times


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_pack_rules_read_what_the_grammar_reads(vector: Vector) -> None:
    expected = vector.expected("backup")
    if expected is not None:
        with pytest.raises(pack_schedules.CronError) as caught:
            pack_schedules.parse(vector.expression)
        assert expected in str(caught.value)
    elif vector.skips is not None:
        with pytest.raises(pack_schedules.SkipsDays) as skipped:
            pack_schedules.parse(vector.expression)
        assert vector.skips in str(skipped.value)
    else:
        gap = pack_schedules.longest_gap_minutes(pack_schedules.parse(vector.expression))
        assert vector.times is not None
        assert gap == plan_schedule.max_gap_hours(list(vector.times)) * 60
