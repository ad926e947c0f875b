"""The fleet report as a table (a terminal), JSON (tools) or one self-contained HTML page (people).

The page is rendered from ``templates/fleet.html.j2`` with Jinja2 (autoescaped): styles inline, no
external resource (its Content-Security-Policy refuses any), a heat-map of coverage per account and type.
"""

from __future__ import annotations

import json
from importlib import resources

import jinja2

from dr_runtime.fleet_report import tier_figures as tf
from dr_runtime.fleet_report.merge import REASONS, Counts, FleetReport

# Heat-map bands: (lowest percent, CSS class, legend). Below the last band: "low".
BANDS = ((100.0, "full", "100%"), (95.0, "high", "95-99.99%"), (80.0, "mid", "80-94.99%"))
LOW = ("low", "below 80%")
TEMPLATE = "fleet.html.j2"


SOURCE_MARKS = {tf.VERIFIED: "v", tf.SELF_REPORTED: "s"}
"""How the table and the page mark a figure's source."""


def band(counts: Counts | None) -> str:
    return band_of(None if counts is None else counts.percent)


def band_of(percent: float | None) -> str:
    if percent is None:
        return "none"
    return next((css for floor, css, _ in BANDS if percent >= floor), LOW[0])


def chosen_percent(chosen: tf.Chosen | None) -> float | None:
    return None if chosen is None else chosen.cell.percent


def chosen_text(chosen: tf.Chosen | None) -> str:
    percent = chosen_percent(chosen)
    if chosen is None or percent is None:
        return "-"
    return f"{percent:.2f}%".replace(".00%", "%") + f" {SOURCE_MARKS[chosen.source]}"


def rpo_text(chosen: tf.Chosen | None) -> str:
    return "-" if chosen is None or chosen.cell.rpo_hours is None else f"{chosen.cell.rpo_hours:g} h"


def _tier_table(report: FleetReport) -> list[str]:
    header = ("ACCOUNT", *(f"{t.upper()}{extra}" for t in report.tier_names for extra in ("", " RPO")))
    rows: list[tuple[str, ...]] = [header]
    for entry in report.accounts:
        cells: list[str] = []
        for tier in report.tier_names:
            chosen = entry.tiers.get(tier)
            cells += [chosen_text(chosen), rpo_text(chosen)]
        rows.append((entry.account, *cells))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]


def _percent(counts: Counts | None) -> str:
    return "-" if counts is None else f"{counts.percent:.2f}%".replace(".00%", "%")


def table(report: FleetReport) -> str:
    header = ("ACCOUNT", "STATUS", *report.types, "ALL")
    rows: list[tuple[str, ...]] = [header]
    for entry in report.accounts:
        cells = [_percent(entry.cells.get(t)) for t in report.types]
        rows.append((entry.account, entry.status, *cells, _percent(entry.overall)))
    rows.append(
        ("fleet (fresh)", "", *(_percent(report.totals[t]) for t in report.types), _percent(report.overall))
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines += [
        "",
        "Coverage per copy tier (v verified by the verifier, s self-reported by the account; "
        "RPO = age of the oldest newest point):"
        if report.evidence_read
        else "Coverage per copy tier (s self-reported by the account: no verifier evidence read; "
        "RPO = age of the oldest newest point):",
        *_tier_table(report),
    ]
    counts = report.status_counts()
    lines += [
        "",
        f"Accounts: {len(report.accounts)} ({', '.join(f'{n} {s}' for s, n in counts.items() if n)}); "
        f"reports older than {report.max_age_hours} h are stale",
    ]
    if report.attention:
        lines.append("Needs attention:")
        for entry in report.attention:
            lines.append(f"  {entry.account}  {entry.status}")
            lines.extend(f"    {problem}" for problem in entry.problems)
    lines.append(f"Unprotected resources: {len(report.unprotected)}")
    for item in report.unprotected:
        lines.append(f"  {item.account}  {item.type:<10}  {item.label:<32}  {item.arn}  {item.detail}")
    return "\n".join(lines)


def as_json(report: FleetReport) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=True)


def _environment() -> jinja2.Environment:
    source = resources.files("dr_runtime.fleet_report").joinpath("templates", TEMPLATE).read_text("utf-8")
    environment = jinja2.Environment(
        loader=jinja2.DictLoader({TEMPLATE: source}),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["percent"] = _percent
    environment.filters["band"] = band
    environment.filters["band_of"] = band_of
    environment.filters["chosen_percent"] = chosen_percent
    environment.filters["chosen_text"] = chosen_text
    environment.filters["rpo"] = rpo_text
    return environment


def html(report: FleetReport) -> str:
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            report=report,
            reasons=REASONS,
            bands=BANDS,
            low=LOW,
            status_counts=report.status_counts(),
        )
    )
