"""One cron grammar: both copies (program config and policy pack) run the same vectors, and the pack's
schedule rule and the offline plan's matrix agree on every one of them."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

import components.cron as program_cron
import policies.dr_policies.cron as pack_cron
from drplan import schedule as plan_schedule
from policies.dr_policies import schedules as pack_schedules
from tests.cron_vectors import VECTORS, Vector

REPO = Path(__file__).resolve().parents[2]
COPIES = {"program": program_cron, "pack": pack_cron}
ENTRY_POINTS = {"cron": "parse_cron", "backup": "parse_backup_cron", "scheduler": "parse_scheduler"}
IDS = [v.expression for v in VECTORS]


def test_the_pack_copy_is_the_program_copy() -> None:
    program = (REPO / "components" / "cron.py").read_bytes()
    pack = (REPO / "policies" / "dr_policies" / "cron.py").read_bytes()
    assert pack == program, "policies/dr_policies/cron.py must be a byte-for-byte copy of components/cron.py"


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


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_plan_matrix_reads_what_the_grammar_reads(vector: Vector) -> None:
    if vector.expected("cron") is not None:
        with pytest.raises(plan_schedule.ScheduleError):
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
