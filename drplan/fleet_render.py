"""The fleet plan's text output: the fleet table (stack, workload account, layout, protected types, copies
and retentions, policy verdict), the cross-stack checks, notes, mandatory violations and the stacks not
planned."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from dr_model import catalog
from drplan import fleet_checks, matrix
from drplan.cli import INVALID_INPUT, MANDATORY_VIOLATION, PLAN_FAILED
from drplan.fleet_checks import Finding, StackSummary

WIDTH = 100


def _days(values: Sequence[int]) -> str:
    return "/".join(str(v) for v in values) if values else "-"


def _copies(s: StackSummary) -> str:
    days = s.retention_days
    parts = [
        _days(days.get(matrix.IN_REGION, ())),
        f"{_days(days.get(matrix.CROSS_REGION, ()))} {s.dr_region}",
        f"{_days(days.get(matrix.AIR_GAPPED, ()))} air-gapped",
    ]
    if days.get("continuous"):
        parts.append(f"PITR {_days(days['continuous'])}")
    return " · ".join(parts)


def _types(s: StackSummary) -> str:
    total = len(catalog.TYPE_KEYS)
    if not s.unprotected_types:
        return f"all {total}"
    return f"{len(s.protected_types)}/{total}: not {', '.join(s.unprotected_types)}"


def _verdict(s: StackSummary, no_policy: bool) -> str:
    if s.code == INVALID_INPUT:
        return "INVALID"
    if s.code == PLAN_FAILED:
        return "ERROR"
    if no_policy or not s.policy_ran:
        return "skipped"
    if s.mandatory:
        return f"FAIL ({len(s.mandatory)} mandatory)"
    return f"PASS ({s.advisory} advisory)" if s.advisory else "PASS"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    body = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]


def _heading(title: str) -> list[str]:
    return ["", title, "─" * min(len(title), WIDTH)]


def render(
    summaries: Sequence[StackSummary], findings: Sequence[Finding], no_policy: bool, seconds: float
) -> list[str]:
    rows = [
        [s.stack, s.workload_account or "-", s.layout or "-", _types(s) if s.planned else "-",
         _copies(s) if s.planned else "-", _verdict(s, no_policy)]
        for s in summaries
    ]  # fmt: skip
    lines = [
        f"aws-dr-backup fleet plan · {len(summaries)} stacks · {seconds:.1f} s",
        "(each program ran under Pulumi's mocks: nothing was deployed and no AWS API was called)",
        *_heading("FLEET"),
        *_table(
            [
                "stack",
                "workload account",
                "layout",
                "protected types",
                "days kept: in-region · copies",
                "policy",
            ],
            rows,
        ),
    ]
    lines += _heading("CROSS-STACK CHECKS")
    for check, description in fleet_checks.CHECKS:
        conflicts = [f for f in findings if f.check == check and f.level == fleet_checks.CONFLICT]
        lines.append(f"{'CONFLICT' if conflicts else 'ok'}  {description}")
        for f in conflicts:
            lines += textwrap.wrap(f.message, WIDTH, initial_indent="    ", subsequent_indent="      ")
    notes = [f for f in findings if f.level == fleet_checks.NOTE]
    stack_notes = [(s.stack, n) for s in summaries for n in s.notes]
    if notes or stack_notes:
        lines += _heading("NOTES")
        for text in [f.message for f in notes] + [f"{stack} {note}" for stack, note in stack_notes]:
            lines += textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="    ")
    failing = [s for s in summaries if s.code == MANDATORY_VIOLATION]
    if failing:
        lines += _heading("MANDATORY POLICY VIOLATIONS")
        for s in failing:
            for finding in s.mandatory:
                lines.append(f"  {s.stack}: {finding['policy']}  {finding['resource']}: {finding['problem']}")
    broken = [s for s in summaries if s.code in (INVALID_INPUT, PLAN_FAILED)]
    if broken:
        lines += _heading("STACKS NOT PLANNED")
        for s in broken:
            lines += [f"  {line}" for line in f"{s.stack}: {s.message}".splitlines()]
    return lines
