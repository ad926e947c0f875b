"""Coverage per copy tier in the fleet report: each account's own figures (``self-reported``, from its
coverage report's ``tiers``) beside the verifier's (``verified``, from its evidence's ``coverage``), and
which of the two the report goes by (verified where present).

Plain data and parsing, no AWS calls. The tiers are the coverage job's (``copy_tiers.CopyTier``); the
verifier's evidence names the same three (``evaluation.COVERAGE_TIERS``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dr_runtime.operations.copy_tiers import TIERS, coverage_percent

TIER_NAMES = tuple(t.value for t in TIERS)
VERIFIED = "verified"
SELF_REPORTED = "self-reported"


class EvidenceFormatError(ValueError):
    """Verifier evidence that is not the verifier's JSON; the message names the file and the key."""


@dataclass(frozen=True)
class TierCell:
    """Covered of eligible in one tier (of one type or all types), and the RPO achieved (hours)."""

    eligible: int = 0
    covered: int = 0
    rpo_hours: float | None = None
    measured: bool = True

    @property
    def percent(self) -> float | None:
        if not self.measured:
            return None
        return coverage_percent(self.covered, self.eligible)

    def __add__(self, other: TierCell) -> TierCell:
        rpo = [r for r in (self.rpo_hours, other.rpo_hours) if r is not None]
        return TierCell(
            self.eligible + other.eligible,
            self.covered + other.covered,
            max(rpo, default=None),
            self.measured and other.measured,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "covered": self.covered,
            "measured": self.measured,
            "coverage_percent": self.percent,
            "rpo_hours": self.rpo_hours,
        }


@dataclass(frozen=True)
class TierFigures:
    """One source's figures: per tier over every type, and per tier and type."""

    totals: Mapping[str, TierCell] = field(default_factory=dict)
    types: Mapping[str, Mapping[str, TierCell]] = field(default_factory=dict)
    """tier -> resource type -> cell"""

    def __add__(self, other: TierFigures) -> TierFigures:
        totals = dict(self.totals)
        for tier, cell in other.totals.items():
            totals[tier] = totals[tier] + cell if tier in totals else cell
        types = {tier: dict(cells) for tier, cells in self.types.items()}
        for tier, cells in other.types.items():
            mine = types.setdefault(tier, {})
            for rtype, cell in cells.items():
                mine[rtype] = mine[rtype] + cell if rtype in mine else cell
        return TierFigures(totals, types)


@dataclass(frozen=True)
class Chosen:
    """The figure the report goes by for one tier (or tier and type), and where it comes from."""

    cell: TierCell
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "coverage_percent": self.cell.percent,
            "rpo_hours": self.cell.rpo_hours,
            "source": self.source,
        }


def choose(verified: TierCell | None, self_reported: TierCell | None) -> Chosen | None:
    """Verified when it was measured, else self-reported when measured, else None (not measured)."""
    if verified is not None and verified.measured:
        return Chosen(verified, VERIFIED)
    if self_reported is not None and self_reported.measured:
        return Chosen(self_reported, SELF_REPORTED)
    return None


def _number(raw: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = raw.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvidenceFormatError(f"{where}: '{key}' is missing or not a number")
    return value


def self_reported(data: Mapping[str, Any], where: str) -> TierFigures | None:
    """A coverage report's ``tiers`` (schema 2); None for a report without them (schema 1)."""
    raw = data.get("tiers")
    if raw is None:
        return None

    def cell(item: Any, at: str) -> TierCell:
        if not isinstance(item, Mapping):
            raise EvidenceFormatError(f"{at} must be an object")
        return TierCell(
            int(_number(item, "eligible", at)),
            int(_number(item, "covered", at)),
            _number(item, "rpo_hours", at, optional=True),
            item.get("measured") is not False,
        )

    if not isinstance(raw, Mapping):
        raise EvidenceFormatError(f"{where}: 'tiers' must be an object")
    totals = {t: cell(raw[t], f"{where}: tiers.{t}") for t in TIER_NAMES if t in raw}
    types: dict[str, dict[str, TierCell]] = {t: {} for t in totals}
    for rtype, item in (data.get("types") or {}).items():
        for tier, figure in ((item or {}).get("tiers") or {}).items():
            if tier in types:
                types[tier][str(rtype)] = cell(figure, f"{where}: types.{rtype}.tiers.{tier}")
    return TierFigures(totals, types)


@dataclass(frozen=True)
class Evidence:
    """One account's latest verifier evidence, as the fleet report needs it."""

    account: str
    verified_at: datetime
    figures: TierFigures
    """Empty when the verifier could not count (no vault read, or evidence before schema 3)."""
    why_not: str | None = None
    """Why there are no figures, or some tiers are not measured."""


def parse_evidence(account: str, location: str, text: str) -> Evidence:
    """The verifier's ``latest.json`` for ``account``; raises EvidenceFormatError naming file and key."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvidenceFormatError(f"{location}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, Mapping):
        raise EvidenceFormatError(f"{location}: not a JSON object")
    if data.get("account_id") != account:
        raise EvidenceFormatError(
            f"{location}: the evidence is for account {data.get('account_id')}, not {account}"
        )
    try:
        verified_at = datetime.fromisoformat(str(data.get("verified_at")).replace("Z", "+00:00"))
    except ValueError:
        raise EvidenceFormatError(f"{location}: 'verified_at' is missing or not an ISO 8601 time") from None
    if verified_at.tzinfo is None:
        raise EvidenceFormatError(f"{location}: 'verified_at' has no time zone")
    coverage = data.get("coverage")
    if coverage is None:
        why = (
            "the verifier read no vault of the account (or its baseline), so it counted nothing"
            if "coverage" in data
            else f"evidence of schema {data.get('schema')!r} has no 'coverage' (schema 3 and later)"
        )
        return Evidence(account, verified_at.astimezone(UTC), TierFigures(), why)
    if not isinstance(coverage, Mapping):
        raise EvidenceFormatError(f"{location}: 'coverage' must be an object")

    def cell(item: Any, measured: bool, at: str) -> TierCell:
        if not isinstance(item, Mapping):
            raise EvidenceFormatError(f"{at} must be an object")
        return TierCell(
            int(_number(item, "baseline", at)),
            int(_number(item, "fresh", at)),
            _number(item, "rpo_hours", at, optional=True),
            measured,
        )

    totals: dict[str, TierCell] = {}
    types: dict[str, dict[str, TierCell]] = {}
    for tier in TIER_NAMES:
        raw = coverage.get(tier)
        if not isinstance(raw, Mapping):
            raise EvidenceFormatError(f"{location}: 'coverage.{tier}' is missing or not an object")
        measured = raw.get("measured") is True
        totals[tier] = cell(raw, measured, f"{location}: coverage.{tier}")
        per_type = raw.get("types", {})
        if not isinstance(per_type, Mapping):
            raise EvidenceFormatError(f"{location}: 'coverage.{tier}.types' must be an object")
        types[tier] = {
            str(t): cell(v, measured, f"{location}: coverage.{tier}.types.{t}") for t, v in per_type.items()
        }
    unmeasured = [t for t, c in totals.items() if not c.measured]
    partial = None if not unmeasured else f"the verifier could not read the inputs of {', '.join(unmeasured)}"
    return Evidence(account, verified_at.astimezone(UTC), TierFigures(totals, types), partial)
