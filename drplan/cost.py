"""What the storage estimate costs a month: per tier, per layout and per air-gapped retention option.

Prices come from a table kept as data (``drplan/prices.json``), every figure with its source URL and
date; a figure without a source is ``null`` there and shows as *unsourced* in the plan, never as a
guess. ``--price-file`` overrides figures of the table (the same shape, only the figures it names).

The model, per protected type and per vault its points land in (GiB from :func:`drplan.storage.vault_gib`):

- in-region and cross-region vaults: ``warm`` storage, and ``cold`` for the share of retained points
  older than the rule's ``coldStorageAfter`` (a rule without one keeps everything warm);
- the air-gapped vault: ``airGapped`` storage; the locked standard vault of the isolated account:
  ``warm`` (both in the primary region, where the isolated account keeps them);
- cross-region copies add ``interRegionTransfer`` out of the primary region for the data copied in a
  month: the day's change for incremental types, each copy in full otherwise, times
  :data:`DAYS_PER_MONTH` (the first full copy is left out: a steady-state month).

It prices what the storage estimate models and nothing else (no restores, requests, Audit Manager).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config import backup_regions
from dr_model import catalog
from drplan.matrix import AIR_GAPPED, CROSS_REGION, IN_REGION, LOCKED_VAULT, OTHER, Matrix, VaultUse
from drplan.storage import Inventory, TypeInventory, vault_gib

DEFAULT_PRICE_FILE = Path(__file__).resolve().parent / "prices.json"
PRICE_FILE_FLAG = "--price-file"
DAYS_PER_MONTH = 30
WIDTH = 100
DEFAULT_KEY = "default"

WARM = "warm"
COLD = "cold"
AIR_GAPPED_TIER = "airGapped"
TRANSFER = "interRegionTransfer"
TIERS = (WARM, COLD, AIR_GAPPED_TIER, TRANSFER)
FIGURE_KEYS = ("usd", "source", "date")

# Cost lines of an estimate: where the money goes, in the order the plan shows them.
LINE_IN_REGION = "in-region"
LINE_CROSS_REGION = "cross-region"
LINE_TRANSFER = "transfer"
LINE_ISOLATED = "isolated account"
LINES = (LINE_IN_REGION, LINE_CROSS_REGION, LINE_TRANSFER, LINE_ISOLATED)


class PriceFileError(ValueError):
    """A price table that cannot be used; the message names the file, the key and what is allowed."""


@dataclass(frozen=True)
class Figure:
    usd: float | None
    source: str | None
    date: str | None

    @property
    def sourced(self) -> bool:
        return self.usd is not None


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Mapping[str, Mapping[str, Figure]]]
    """region -> tier -> key (``default`` or a type key) -> figure."""
    files: tuple[str, ...]

    def figure(self, region: str, tier: str, type_key: str) -> Figure:
        by_key = self.prices.get(region, {}).get(tier, {})
        return by_key.get(type_key) or by_key.get(DEFAULT_KEY) or Figure(None, None, None)


def _figure(value: Any, where: str) -> Figure:
    if not isinstance(value, Mapping):
        raise PriceFileError(f"{where}: must be an object with {', '.join(FIGURE_KEYS)}")
    unknown = sorted(set(value) - set(FIGURE_KEYS))
    if unknown:
        raise PriceFileError(f"{where}.{unknown[0]}: unknown key; allowed: {', '.join(FIGURE_KEYS)}")
    usd, source, date = value.get("usd"), value.get("source"), value.get("date")
    if usd is not None and (isinstance(usd, bool) or not isinstance(usd, int | float) or usd < 0):
        raise PriceFileError(f"{where}.usd: {usd!r} is not a price; allowed: a number of at least 0, or null")
    for key, text in (("source", source), ("date", date)):
        if text is not None and not isinstance(text, str):
            raise PriceFileError(f"{where}.{key}: {text!r} must be text or null")
    if usd is not None and not (source and date):
        raise PriceFileError(
            f"{where}: a price of {usd} needs its source (a URL) and date; give them, or usd: null for unsourced"
        )
    if source is not None and not source.startswith("https://"):
        raise PriceFileError(f"{where}.source: {source!r} must be an https:// URL")
    return Figure(None if usd is None else float(usd), source, date)


def parse_prices(document: Any, shown: str) -> dict[str, dict[str, dict[str, Figure]]]:
    """The ``prices`` of a price document, checked: known regions, tiers and keys, sourced figures."""
    if not isinstance(document, Mapping) or not isinstance(document.get("prices"), Mapping):
        raise PriceFileError(
            f"price file {shown}: needs an object 'prices' of region -> tier -> key -> figure"
        )
    unknown_top = sorted(set(document) - {"comment", "currency", "prices"})
    if unknown_top:
        raise PriceFileError(
            f"price file {shown}: {unknown_top[0]}: unknown key; allowed: comment, currency, prices"
        )
    if document.get("currency", "USD") != "USD":
        raise PriceFileError(f"price file {shown}: currency {document['currency']!r}: only USD is supported")
    regions, _ = backup_regions()
    keys = (DEFAULT_KEY, *catalog.TYPE_KEYS)
    out: dict[str, dict[str, dict[str, Figure]]] = {}
    for region, tiers in document["prices"].items():
        where = f"price file {shown}: prices.{region}"
        if regions and region not in regions:
            raise PriceFileError(f"{where}: not an AWS region where AWS Backup runs")
        if not isinstance(tiers, Mapping):
            raise PriceFileError(f"{where}: must be an object of tier -> key -> figure")
        for tier, by_key in tiers.items():
            if tier not in TIERS:
                raise PriceFileError(f"{where}.{tier}: unknown tier; allowed: {', '.join(TIERS)}")
            if not isinstance(by_key, Mapping):
                raise PriceFileError(f"{where}.{tier}: must be an object of key -> figure")
            for key, value in by_key.items():
                if key not in keys:
                    raise PriceFileError(f"{where}.{tier}.{key}: unknown type; allowed: {', '.join(keys)}")
                out.setdefault(region, {}).setdefault(tier, {})[key] = _figure(value, f"{where}.{tier}.{key}")
    return out


def _read(path: Path, flag: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PriceFileError(f"{flag} {path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PriceFileError(f"{flag} {path}: not a readable JSON file ({exc})") from None


def load_prices(override: Path | None = None, base: Path = DEFAULT_PRICE_FILE) -> PriceTable:
    """The bundled table, with the figures of ``override`` (``--price-file``) in place of its own."""
    prices = parse_prices(_read(base, "price table"), str(base.name))
    files = [f"drplan/{base.name}" if base == DEFAULT_PRICE_FILE else str(base)]
    if override is not None:
        for region, tiers in parse_prices(_read(override, PRICE_FILE_FLAG), str(override)).items():
            for tier, by_key in tiers.items():
                prices.setdefault(region, {}).setdefault(tier, {}).update(by_key)
        files.append(str(override))
    return PriceTable(prices, tuple(files))


@dataclass
class Cost:
    """USD a month by cost line, and the figures that had no source (so the line is incomplete)."""

    usd: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LINES, 0.0))
    unsourced: set[tuple[str, str, str]] = field(default_factory=set)
    """(region, tier, type key) whose price is unknown: that GiB is not in the total."""
    unsourced_lines: set[str] = field(default_factory=set)

    @property
    def total(self) -> float:
        return sum(self.usd.values())

    def add(self, other: Cost) -> None:
        for line, usd in other.usd.items():
            self.usd[line] = self.usd.get(line, 0.0) + usd
        self.unsourced |= other.unsourced
        self.unsourced_lines |= other.unsourced_lines

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": "USD",
            "perMonth": {line: round(v, 2) for line, v in self.usd.items()},
            "total": round(self.total, 2),
            "complete": not self.unsourced,
            "unsourcedLines": sorted(self.unsourced_lines),
            "unsourced": [{"region": r, "tier": t, "type": k} for r, t, k in sorted(self.unsourced)],
        }


def cold_share(use: VaultUse) -> float:
    """Share of a vault's retained scheduled points past their rule's ``coldStorageAfter``."""
    kept = cold = 0
    for s in use.streams:
        if s.continuous or not s.retention_days:
            continue
        kept += s.per_day * s.retention_days
        if s.cold_storage_after_days is not None:
            cold += s.per_day * max(0, s.retention_days - s.cold_storage_after_days)
    return cold / kept if kept else 0.0


def transfer_gib(use: VaultUse, size: TypeInventory) -> float:
    """GiB copied into a vault in a month, steady state (see the module's model)."""
    if use.points_per_day == 0:
        return 0.0
    if size.incremental:
        return size.total_gib * size.daily_change_percent / 100 * DAYS_PER_MONTH
    return size.total_gib * use.points_per_day * DAYS_PER_MONTH


@dataclass(frozen=True)
class Regions:
    primary: str
    dr: str


def stack_cost(
    uses: Iterable[tuple[str, VaultUse]], inventory: Inventory, regions: Regions, prices: PriceTable
) -> Cost:
    """Monthly cost of the (type key, vault use) pairs of one stack for ``inventory``."""
    cost = Cost()

    def charge(line: str, region: str, tier: str, key: str, gib: float) -> None:
        if gib <= 0:
            return
        figure = prices.figure(region, tier, key)
        if figure.usd is None:
            cost.unsourced.add((region, tier, key))
            cost.unsourced_lines.add(line)
        else:
            cost.usd[line] += gib * figure.usd

    for key, use in uses:
        size = inventory.types.get(key)
        if size is None:
            continue
        gib = vault_gib(use, size)
        destination = use.destination
        if destination in (IN_REGION, CROSS_REGION, OTHER):
            line = LINE_CROSS_REGION if destination == CROSS_REGION else LINE_IN_REGION
            region = regions.dr if destination == CROSS_REGION else regions.primary
            share = cold_share(use)
            charge(line, region, WARM, key, gib * (1 - share))
            charge(line, region, COLD, key, gib * share)
            if destination == CROSS_REGION:
                charge(LINE_TRANSFER, regions.primary, TRANSFER, key, transfer_gib(use, size))
        elif destination == AIR_GAPPED:
            charge(LINE_ISOLATED, regions.primary, AIR_GAPPED_TIER, key, gib)
        elif destination == LOCKED_VAULT:
            charge(LINE_ISOLATED, regions.primary, WARM, key, gib)
    return cost


def matrix_uses(data: Matrix) -> tuple[tuple[str, VaultUse], ...]:
    """(type key, vault use) of every protected type's untagged resource: what the estimate prices."""
    return tuple((row.type_key, use) for row in data.rows if row.type_key for use in row.base.uses.values())


def unsourced_note(cost: Cost) -> str:
    if not cost.unsourced:
        return ""
    grouped: dict[tuple[str, str], list[str]] = {}
    for region, tier, key in sorted(cost.unsourced):
        grouped.setdefault((tier, region), []).append(key)
    names = "; ".join(f"{tier} in {region} ({', '.join(keys)})" for (tier, region), keys in grouped.items())
    return f"no sourced price, so not in the total (give one with {PRICE_FILE_FLAG}): {names}"


def usd(value: float, lines: Iterable[str] = (), incomplete: set[str] | None = None) -> str:
    """A monthly figure, with '+?' where part of it had no sourced price."""
    mark = "+?" if incomplete and any(line in incomplete for line in lines) else ""
    return f"${value:,.0f}{mark}"


def render(
    by_layout: Mapping[str, Cost], current: str, by_days: Mapping[int, Cost], prices: PriceTable
) -> list[str]:
    """The plan's MONTHLY COST section: each layout per cost line, and the air-gapped retention options."""
    title = f"MONTHLY COST in USD (prices: {' + '.join(prices.files)}; model: drplan/cost.py)"
    lines = ["", title, "─" * min(len(title), WIDTH)]
    layouts = list(by_layout)
    header = ["", *(f"{layout}{' (this stack)' if layout == current else ''}" for layout in layouts)]
    rows = [
        [
            line,
            *(
                usd(by_layout[layout].usd[line], [line], by_layout[layout].unsourced_lines)
                for layout in layouts
            ),
        ]
        for line in LINES
    ]
    rows.append(
        [
            "total",
            *(usd(by_layout[layout].total, LINES, by_layout[layout].unsourced_lines) for layout in layouts),
        ]
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append(
            "  "
            + "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    if by_days:
        lines += _wrap(
            f"by retention.airGappedCopy.deleteAfterDays (layout {current}): "
            + ", ".join(
                f"{days} days {usd(c.total, LINES, c.unsourced_lines)}" for days, c in by_days.items()
            )
        )
    every = Cost()
    for c in [*by_layout.values(), *by_days.values()]:
        every.add(c)
    note = unsourced_note(every)
    if note:
        lines += _wrap(f"'+?': {note}")
    return lines


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="    ")


def fleet_report(
    summaries: Iterable[Any], inventory: Inventory, prices: PriceTable, shown: int = 20
) -> tuple[dict[str, Any], list[str]]:
    """Each planned stack's monthly cost for ``inventory`` (its own layout and retentions) and the fleet's:
    the JSON block and the text section (the ``shown`` dearest accounts, all of them in --json)."""
    per_stack: dict[str, tuple[str, Cost]] = {}
    fleet = Cost()
    for s in summaries:
        if not s.planned:
            continue
        regions = Regions(str(s.settings.get("regions.primary", "")), s.dr_region)
        c = stack_cost(s.vault_uses, inventory, regions, prices)
        per_stack[s.stack] = (s.workload_account, c)
        fleet.add(c)
    document = {
        "prices": list(prices.files),
        "fleet": fleet.to_json(),
        "stacks": {stack: {"account": account, **c.to_json()} for stack, (account, c) in per_stack.items()},
    }
    title = (
        f"MONTHLY COST in USD, each account with the inventory's sizes (prices: {' + '.join(prices.files)})"
    )
    lines = ["", title, "─" * min(len(title), WIDTH)]
    header = ["stack", "account", *LINES, "total"]
    rows = []
    dearest = sorted(per_stack.items(), key=lambda kv: (-kv[1][1].total, kv[0]))
    for stack, (account, c) in dearest[:shown]:
        rows.append(
            [stack, account, *(usd(c.usd[line], [line], c.unsourced_lines) for line in LINES),
             usd(c.total, LINES, c.unsourced_lines)]
        )  # fmt: skip
    rows.append(
        ["fleet", f"{len(per_stack)} accounts", *(usd(fleet.usd[line], [line], fleet.unsourced_lines) for line in LINES),
         usd(fleet.total, LINES, fleet.unsourced_lines)]
    )  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append(
            "  " + "  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        )  # fmt: skip
    if len(per_stack) > shown:
        lines.append(f"  the {shown} dearest of {len(per_stack)} accounts; every one in --json")
    note = unsourced_note(fleet)
    if note:
        lines += _wrap(f"'+?': {note}")
    return document, lines
