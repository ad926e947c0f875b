"""The plan as text for a terminal, every line within 100 columns."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence

from drplan.matrix import (
    AIR_GAPPED,
    CROSS_REGION,
    IN_REGION,
    LOCKED_VAULT,
    OTHER,
    Matrix,
    Protection,
    TypeRow,
    VaultUse,
)
from drplan.storage import LAYOUTS, Estimate
from drplan.tree import Group, Node
from drplan.verdict import Verdict

WIDTH = 100
_NAMES = {
    IN_REGION: "in-region",
    CROSS_REGION: "cross-region",
    AIR_GAPPED: "air-gapped",
    LOCKED_VAULT: "locked vault",
    OTHER: "other",
}


def _heading(title: str) -> list[str]:
    return ["", title, "─" * min(len(title), WIDTH)]


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Iterable[int] = ()) -> list[str]:
    body = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]
    aligned = set(right)
    lines = []
    for row in body:
        cells = [
            c.rjust(w) if i in aligned else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent) or [indent]


# --- tree -----------------------------------------------------------------------------------------


def _nodes(nodes: Sequence[Node], prefix: str) -> list[str]:
    lines = []
    for i, node in enumerate(nodes):
        last = i == len(nodes) - 1
        lines.append(f"{prefix}{'└─ ' if last else '├─ '}{node.type}  {node.name}")
        lines.extend(_nodes(node.children, prefix + ("   " if last else "│  ")))
    return lines


def tree(groups: Sequence[Group], account_labels: Mapping[str, str]) -> list[str]:
    lines = _heading("RESOURCES by account and region, as a tree by component")
    for group in groups:
        place = group.place
        label = account_labels.get(place.account, "")
        who = f"{place.account} ({label})" if label else place.account
        providers = ", ".join(group.providers) or "none"
        lines.append(f"account {who} · {place.region} · provider {providers} · {group.count} resources")
        lines.extend(_nodes(group.roots, "  "))
    return lines


# --- matrix ---------------------------------------------------------------------------------------


def _days(values: Sequence[int]) -> str:
    return "/".join(str(v) for v in values) + "d" if values else "-"


def _points(use: VaultUse | None) -> str:
    if use is None:
        return "none"
    parts = []
    if use.points_per_day:
        parts.append(f"{use.points_per_day}/day, {_days(use.retention_days)}")
    if use.not_daily:
        parts.append("not daily: " + ", ".join(use.not_daily))
    if use.continuous_days is not None:
        parts.append(f"PITR {use.continuous_days}d")
    return " + ".join(parts) or "none"


def _rpo(use: VaultUse | None) -> str:
    if use is None:
        return "-"
    if use.continuous_days is not None:
        return "PITR"
    return f"{use.rpo_hours:g} h" if use.rpo_hours is not None else "?"


def _dr_region(matrix: Matrix) -> str:
    for row in matrix.rows:
        use = row.base.use(CROSS_REGION)
        if use is not None and use.vault.startswith("arn:"):
            return use.vault.split(":")[3]
    return "cross-region"


def _vault_name(use: VaultUse | None) -> str:
    return "-" if use is None else use.vault.rsplit(":", 1)[-1]


def _primary_region(matrix: Matrix) -> str:
    for row in matrix.rows:
        use = row.base.use(IN_REGION)
        if use is not None and use.vault.startswith("arn:"):
            return use.vault.split(":")[3]
    return "in-region"


def _change(before: VaultUse | None, after: VaultUse | None, name: str) -> str | None:
    if before is None and after is None:
        return None
    if after is None:
        return f"no {name} copy" if name != "in-region" else "no in-region point"
    if before is None:
        return f"{name} {_points(after)} (added)"
    if (_points(before), _rpo(before)) != (_points(after), _rpo(after)):
        return f"{name} {_points(before)} → {_points(after)}"
    return None


def effect(base: Protection, other: Protection, dr_region: str) -> str:
    """What a tag changes compared with the untagged resource, in words."""
    if not other.protected:
        return "in no plan: NOT BACKED UP" if base.protected else "in no plan (as untagged)"
    changes = []
    if other.plans != base.plans:
        changes.append("plans " + ", ".join(other.plans))
    for destination, name in (
        (IN_REGION, "in-region"),
        (CROSS_REGION, dr_region),
        (AIR_GAPPED, "air-gapped"),
        (LOCKED_VAULT, "locked vault"),
    ):
        text = _change(base.use(destination), other.use(destination), name)
        if text:
            changes.append(text)
    return "; ".join(changes) or "NO CHANGE"


def _isolated(base: Protection) -> str:
    """The copy in the isolated account: the air-gapped vault, or the locked vault for a type that cannot
    be copied into an air-gapped vault (marked, so the reader sees which)."""
    locked = base.use(LOCKED_VAULT)
    if locked is not None and base.use(AIR_GAPPED) is None:
        return f"{_points(locked)} (locked vault)"
    return _points(base.use(AIR_GAPPED))


def _matrix_row(row: TypeRow) -> list[str]:
    base = row.base
    in_region = base.use(IN_REGION)
    if in_region is None:
        scheduled = "-"
    elif in_region.points_per_day:
        scheduled = f"{in_region.points_per_day} x {_days(in_region.retention_days)}"
    else:
        scheduled = "PITR" if in_region.continuous_days is not None else "0"
    continuous = f"{in_region.continuous_days}d" if in_region and in_region.continuous_days else "-"
    return [
        row.label,
        _vault_name(in_region) if base.protected else "NOT PROTECTED",
        scheduled,
        _rpo(in_region),
        _points(base.use(CROSS_REGION)),
        _isolated(base),
        continuous,
    ]


def matrix(data: Matrix) -> list[str]:
    dr = _dr_region(data)
    lines = _heading("PROTECTION MATRIX for an untagged resource of each type (from the registered plans)")
    lines += _table(
        [
            "type",
            f"vault ({_primary_region(data)})",
            "points/day",
            "RPO",
            f"{dr} copy",
            "isolated copy",
            "PITR",
        ],
        [_matrix_row(r) for r in data.rows],
    )
    lines.append(
        "  points/day x days kept; RPO: longest gap between in-region points; copies: a day, days kept;\n"
        "  PITR: continuous backup (point-in-time restore), days kept"
    )
    others = [r for r in data.rows if r.base.use(OTHER)]
    for row in others:
        lines.append(f"  {row.label}: copies to vaults the stack does not own: {row.base.uses[OTHER].vault}")

    lines += _heading("OPT-OUT AND ROUTING TAGS: what each tag on a resource changes")
    for row in data.rows:
        if row.base_tags:
            tags = ", ".join(f"{k}={v}" for k, v in row.base_tags.items())
            lines.append(f"{row.label} (resource tagged {tags})")
        else:
            lines.append(row.label)
        width = max(len(s.label) for s in row.scenarios[1:]) if len(row.scenarios) > 1 else 0
        for scenario in row.scenarios[1:]:
            lead = f"  {scenario.label.ljust(width)}  "
            lines += textwrap.wrap(
                effect(row.base, scenario.protection, dr),
                WIDTH,
                initial_indent=lead,
                subsequent_indent=" " * len(lead),
            )
    if data.cluster_routes:
        lines.append("rds clusters by their dr-backup-engine tag → the types whose plans take them")
        for route in data.cluster_routes:
            value = "(untagged)" if route.engine_tag is None else route.engine_tag
            taken = ", ".join(route.components)
            if not route.components:
                taken = "none: NOT BACKED UP"
            elif len(route.components) > 1:
                taken += ": in several types' plans"
            lines.append(f"  {value.ljust(12)} → {taken}")
    return lines


# --- storage --------------------------------------------------------------------------------------


def _gib(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def storage(estimate: Estimate, source: str) -> list[str]:
    lines = _heading(f"STORAGE ESTIMATE in GiB for {source} (model: see the inventory file's header)")
    rows = []
    for t in estimate.types:
        totals = {
            layout: (t.total(layout) if t.by_layout.get(layout) is not None else None) for layout in LAYOUTS
        }
        split, part = totals["split"], totals["partitioned"]
        diff = "-" if split is None or part is None else f"{split - part:+,.0f}"
        rows.append([t.type_key, str(t.count), _gib(t.total_gib), _gib(split), _gib(part), diff])
    rows.append(
        [
            "total",
            "",
            _gib(sum(t.total_gib for t in estimate.types)),
            _gib(estimate.total("split")),
            _gib(estimate.total("partitioned")),
            f"{estimate.difference:+,.0f}",
        ]
    )
    lines += _table(
        ["type", "count", "data", "split", "partitioned", "split - partitioned"], rows, right=range(1, 6)
    )
    for layout in LAYOUTS:
        by_destination: dict[str, float] = {}
        for t in estimate.types:
            for destination, gib in (t.by_layout.get(layout) or {}).items():
                by_destination[destination] = by_destination.get(destination, 0.0) + gib
        parts = ", ".join(f"{_NAMES[d]} {_gib(v)}" for d, v in by_destination.items())
        current = " (this stack)" if layout == estimate.current else ""
        lines.append(f"  {layout}{current}: {parts}")
    unprotected = [t.type_key for t in estimate.types if any(v is None for v in t.by_layout.values())]
    if unprotected:
        lines.append(f"  '-': the stack does not protect {', '.join(unprotected)}")
    return lines


# --- verdict --------------------------------------------------------------------------------------


def verdict(data: Verdict) -> list[str]:
    if not data.ran:
        return [*_heading("POLICY VERDICT"), "skipped (--no-policy): the policy pack was not run"]
    lines = _heading(
        f"POLICY VERDICT: pack {data.pack}, {data.policies} policies, over its Analyzer interface"
    )
    outcome = "FAIL" if data.mandatory else "PASS"
    lines.append(f"{outcome}: {len(data.mandatory)} mandatory, {len(data.advisory)} advisory violations")
    for finding in [*data.mandatory, *data.advisory]:
        lines.append(f"  {finding.level.upper()}  {finding.policy}  {finding.resource}")
        lines += _wrap(finding.problem, "      ")
        lines += _wrap(f"fix: {finding.fix}", "      ")
    return lines
