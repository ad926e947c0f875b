"""Merging the workload accounts' latest coverage reports into one fleet picture.

Input: each account's ``latest.json`` as the coverage job writes it (``CoverageReport.as_dict`` of
``dr_runtime.operations.coverage``), found under ``coverage/<account>/<region>/`` (:mod:`.layout`).
The account comes from that path: the fleet bucket's policy lets an account write below its own ID
only, so the path cannot claim another account's numbers.

Output: coverage per account and type (recent recovery points / selected resources, the coverage job's
own measure), the fleet's totals from the fresh reports, every unprotected resource with a reason code,
and the accounts whose report is missing, stale, unreadable or incomplete.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dr_runtime.operations.inventory import ALL_TYPES
from dr_runtime.operations.selection_verdict import Decision

# Why a resource is unprotected: the reason codes of the fleet report (JSON ``reason``), with labels.
OPTED_OUT = Decision.OPTED_OUT.value
KUBERNETES_EXCLUDED = Decision.KUBERNETES_EXCLUDED.value
NO_PLAN = "no-plan"
NO_RECENT_POINT = "no-recent-point"
ENGINE_VAULT_MISMATCH = "engine-vault-mismatch"
REASONS: Mapping[str, str] = {
    NO_RECENT_POINT: "no recent recovery point",
    NO_PLAN: "no plan takes it",
    ENGINE_VAULT_MISMATCH: "engine does not match its vault",
    OPTED_OUT: "opted out by tag",
    KUBERNETES_EXCLUDED: "Kubernetes-owned volume",
}
# The coverage report's selection decisions (``excluded[].decision``) and the reason each becomes.
_DECISION_REASONS = {
    Decision.OPTED_OUT.value: OPTED_OUT,
    Decision.KUBERNETES_EXCLUDED.value: KUBERNETES_EXCLUDED,
    Decision.NOT_ROUTED.value: NO_PLAN,
}

# Account status, worst last.
OK = "ok"
INCOMPLETE = "incomplete"
STALE = "stale"
UNREADABLE = "unreadable"
MISSING = "missing"
_SEVERITY = (OK, INCOMPLETE, STALE, UNREADABLE, MISSING)
DEFAULT_MAX_AGE_HOURS = 36
"""A daily coverage job plus half a day's slack: an older report means at least one run did not publish."""


class ReportFormatError(ValueError):
    """A coverage report that is not the coverage job's JSON; the message names the file and the key."""


@dataclass(frozen=True)
class Counts:
    total: int = 0
    selected: int = 0
    recent: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.total + other.total, self.selected + other.selected, self.recent + other.recent)

    @property
    def percent(self) -> float:
        # The coverage job's rule: nothing selected leaves nothing unprotected.
        return 100.0 if self.selected == 0 else round(100.0 * self.recent / self.selected, 2)


@dataclass(frozen=True)
class Unprotected:
    account: str
    region: str
    type: str
    arn: str
    name: str
    reason: str
    detail: str

    @property
    def label(self) -> str:
        return REASONS[self.reason]


@dataclass(frozen=True)
class RegionReport:
    """One account's coverage report for one region, as read."""

    account: str
    region: str
    generated_at: datetime
    recent_hours: int
    types: Mapping[str, Counts]
    unprotected: tuple[Unprotected, ...]
    failed_types: Mapping[str, str]


@dataclass(frozen=True)
class Source:
    """A report file found for an account and region: its text, or why it could not be read."""

    account: str
    region: str
    location: str
    text: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class AccountEntry:
    account: str
    status: str
    problems: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    generated_at: datetime | None = None
    """The oldest of its regions' reports (what staleness is judged by)."""
    cells: Mapping[str, Counts] = field(default_factory=dict)
    expected: bool = True

    @property
    def overall(self) -> Counts | None:
        return sum(self.cells.values(), Counts()) if self.cells else None


@dataclass(frozen=True)
class FleetReport:
    generated_at: datetime
    max_age_hours: int
    types: tuple[str, ...]
    accounts: tuple[AccountEntry, ...]
    unprotected: tuple[Unprotected, ...]
    totals: Mapping[str, Counts]
    """Per type, over the accounts with a fresh report."""

    @property
    def attention(self) -> tuple[AccountEntry, ...]:
        return tuple(a for a in self.accounts if a.status != OK)

    @property
    def overall(self) -> Counts:
        return sum(self.totals.values(), Counts())

    def status_counts(self) -> dict[str, int]:
        return {status: sum(1 for a in self.accounts if a.status == status) for status in _SEVERITY}

    def as_dict(self) -> dict[str, Any]:
        def counts(c: Counts) -> dict[str, Any]:
            return {
                "total": c.total,
                "selected": c.selected,
                "recent": c.recent,
                "coverage_percent": c.percent,
            }

        return {
            "generated_at": self.generated_at.isoformat(),
            "max_age_hours": self.max_age_hours,
            "types": list(self.types),
            "accounts": [
                {
                    "account": a.account,
                    "status": a.status,
                    "expected": a.expected,
                    "problems": list(a.problems),
                    "regions": list(a.regions),
                    "generated_at": None if a.generated_at is None else a.generated_at.isoformat(),
                    "types": {t: counts(c) for t, c in a.cells.items()},
                }
                for a in self.accounts
            ],
            "totals": {t: counts(c) for t, c in self.totals.items()},
            "unprotected": [
                {
                    "account": u.account,
                    "region": u.region,
                    "type": u.type,
                    "arn": u.arn,
                    "name": u.name,
                    "reason": u.reason,
                    "detail": u.detail,
                }
                for u in self.unprotected
            ],
            "status_counts": self.status_counts(),
        }


# --- reading one report -----------------------------------------------------------------------------


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ReportFormatError(f"{where}: '{key}' is missing or not {getattr(kind, '__name__', kind)}")
    return value


def _timestamp(raw: Any, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        raise ReportFormatError(f"{where}: 'generated_at' ({raw!r}) is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ReportFormatError(f"{where}: 'generated_at' ({raw!r}) has no time zone")
    return parsed.astimezone(UTC)


def _items(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ReportFormatError(f"{where}: '{key}' must be a list of objects")
    return value


def _excluded_reason(item: Mapping[str, Any], where: str) -> str:
    decision = item.get("decision")
    if not isinstance(decision, str) or decision not in _DECISION_REASONS:
        raise ReportFormatError(
            f"{where}: 'excluded[].decision' is {decision!r}; expected one of {', '.join(_DECISION_REASONS)}"
        )
    return _DECISION_REASONS[decision]


def parse_report(source: Source) -> RegionReport:
    """One ``latest.json``; raises ReportFormatError naming the file and the key that is wrong."""
    where = source.location
    try:
        data = json.loads(source.text or "")
    except json.JSONDecodeError as exc:
        raise ReportFormatError(f"{where}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, Mapping):
        raise ReportFormatError(f"{where}: not a JSON object")
    claimed = data.get("account_id")
    if claimed is not None and claimed != source.account:
        raise ReportFormatError(f"{where}: the report is for account {claimed}, not {source.account}")
    generated = _timestamp(_require(data, "generated_at", str, where), where)
    types: dict[str, Counts] = {}
    for name, raw in _require(data, "types", Mapping, where).items():
        if not isinstance(raw, Mapping):
            raise ReportFormatError(f"{where}: 'types.{name}' must be an object")
        types[name] = Counts(
            *(_require(raw, key, int, f"{where}: types.{name}") for key in ("total", "selected", "recent"))
        )

    def unprotected(item: Mapping[str, Any], reason: str, detail: str) -> Unprotected:
        return Unprotected(
            source.account,
            source.region,
            str(item.get("type", "")),
            str(item.get("arn", "")),
            str(item.get("name", "")),
            reason,
            detail,
        )

    found = [
        unprotected(i, NO_RECENT_POINT, f"last backup: {i.get('last_backup', 'never')}")
        for i in _items(data, "drift", where)
    ]
    found += [
        unprotected(i, _excluded_reason(i, where), str(i.get("reason", "")))
        for i in _items(data, "excluded", where)
    ]
    found += [
        unprotected(i, ENGINE_VAULT_MISMATCH, str(i.get("reason", "")))
        for i in _items(data, "engine_mismatch", where)
    ]
    failed = data.get("failed_types", {})
    if not isinstance(failed, Mapping):
        raise ReportFormatError(f"{where}: 'failed_types' must be an object")
    return RegionReport(
        account=source.account,
        region=source.region,
        generated_at=generated,
        recent_hours=_require(data, "recent_hours", int, where),
        types=types,
        unprotected=tuple(found),
        failed_types={str(k): str(v) for k, v in failed.items()},
    )


# --- merging ----------------------------------------------------------------------------------------


def _ordered_types(reports: Iterable[RegionReport]) -> tuple[str, ...]:
    seen = {t for r in reports for t in r.types}
    return tuple(t for t in ALL_TYPES if t in seen) + tuple(sorted(seen - set(ALL_TYPES)))


def _age(now: datetime, then: datetime) -> str:
    hours = (now - then).total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"


def merge(
    sources: Sequence[Source],
    now: datetime,
    expected: Sequence[str] = (),
    max_age_hours: int = DEFAULT_MAX_AGE_HOURS,
) -> FleetReport:
    """The fleet picture from every report found plus the accounts expected to have one."""
    cutoff = now - timedelta(hours=max_age_hours)
    by_account: dict[str, list[Source]] = {}
    for source in sources:
        by_account.setdefault(source.account, []).append(source)

    reports: list[RegionReport] = []
    entries: list[AccountEntry] = []
    for account in sorted(set(by_account) | set(expected)):
        found = sorted(by_account.get(account, []), key=lambda s: s.region)
        if not found:
            entries.append(AccountEntry(account, MISSING, ("no coverage report in the fleet bucket",)))
            continue
        problems: list[str] = []
        statuses = [OK]
        readable: list[RegionReport] = []
        for source in found:
            try:
                if source.error is not None:
                    raise ReportFormatError(f"{source.location}: {source.error}")
                readable.append(parse_report(source))
            except ReportFormatError as exc:
                statuses.append(UNREADABLE)
                problems.append(str(exc))
        for report in readable:
            if report.generated_at < cutoff:
                statuses.append(STALE)
                problems.append(
                    f"{report.region}: report is {_age(now, report.generated_at)} old "
                    f"(generated {report.generated_at.isoformat()}; limit {max_age_hours} h)"
                )
            for name, error in sorted(report.failed_types.items()):
                statuses.append(INCOMPLETE)
                problems.append(f"{report.region}: {name} could not be listed: {error}")
        reports.extend(readable)
        cells: dict[str, Counts] = {}
        for report in readable:
            for name, counts in report.types.items():
                cells[name] = cells.get(name, Counts()) + counts
        entries.append(
            AccountEntry(
                account=account,
                status=max(statuses, key=_SEVERITY.index),
                problems=tuple(problems),
                regions=tuple(r.region for r in readable),
                generated_at=min((r.generated_at for r in readable), default=None),
                cells=cells,
                expected=not expected or account in expected,
            )
        )

    fresh = {a.account for a in entries if a.status in (OK, INCOMPLETE)}
    types = _ordered_types(reports)
    totals = {t: Counts() for t in types}
    for report in reports:
        if report.account in fresh:
            for name, counts in report.types.items():
                totals[name] = totals[name] + counts
    unprotected = sorted(
        (u for r in reports for u in r.unprotected),
        key=lambda u: (list(REASONS).index(u.reason), u.account, u.type, u.arn),
    )
    return FleetReport(
        generated_at=now,
        max_age_hours=max_age_hours,
        types=types,
        accounts=tuple(entries),
        unprotected=tuple(unprotected),
        totals=totals,
    )
