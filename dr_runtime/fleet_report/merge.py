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

from dr_runtime.fleet_report import tier_figures as tf
from dr_runtime.operations.copy_tiers import coverage_percent
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

# Account status, worst last (docs/verifier.md, "In the fleet report").
OK = "ok"
BELOW_100 = "below-100"
FELL = "fell"
DISAGREE = "disagree"
INCOMPLETE = "incomplete"
STALE = "stale"
EVIDENCE_STALE = "evidence-stale"
EVIDENCE_UNREADABLE = "evidence-unreadable"
EVIDENCE_MISSING = "evidence-missing"
UNREADABLE = "unreadable"
MISSING = "missing"
_SEVERITY = (
    OK,
    BELOW_100,
    FELL,
    DISAGREE,
    INCOMPLETE,
    STALE,
    EVIDENCE_STALE,
    EVIDENCE_UNREADABLE,
    EVIDENCE_MISSING,
    UNREADABLE,
    MISSING,
)
DEFAULT_MAX_AGE_HOURS = 36
"""A daily coverage job plus half a day's slack: an older report means at least one run did not publish."""
DEFAULT_MAX_EVIDENCE_AGE_HOURS = 13
"""The verifier runs at least every 6 hours: two runs missed and an hour's slack."""
DEFAULT_FALL_POINTS = 10.0
"""A tier's figure that dropped by more than this many percentage points since the previous report fell."""
DEFAULT_FALL_WINDOW_HOURS = 24
"""Without ``--previous``, ``fell`` compares with the verifier's newest run at least this old: long enough
for a mass opt-out to show, short enough that it shows within a day (the air-gapped copies last 7)."""
DEFAULT_DISAGREE_POINTS = 5.0
"""Self-reported and verified figures of a tier further apart than this many points disagree."""
# The evidence's state per account (JSON ``evidence.state``).
EVIDENCE_NOT_READ = "not-requested"
EVIDENCE_READ = "read"


@dataclass(frozen=True)
class Thresholds:
    max_evidence_age_hours: int = DEFAULT_MAX_EVIDENCE_AGE_HOURS
    fall_points: float = DEFAULT_FALL_POINTS
    disagree_points: float = DEFAULT_DISAGREE_POINTS


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
        return coverage_percent(self.recent, self.selected)


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
    tiers: tf.TierFigures | None = None
    """Its coverage per copy tier; None for a report without (coverage report schema 1)."""
    tiers_not_measured: str | None = None


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
    self_reported: tf.TierFigures | None = None
    verified: tf.TierFigures | None = None
    """The verifier's figures, when its evidence was read, fresh and counted."""
    evidence_state: str = EVIDENCE_NOT_READ
    """``not-requested``, ``read``, ``missing``, ``unreadable`` or ``stale``."""
    verified_at: datetime | None = None
    tiers: Mapping[str, tf.Chosen | None] = field(default_factory=dict)
    """Per copy tier, the figure the report goes by (None: measured by nobody)."""
    tier_types: Mapping[str, Mapping[str, tf.Chosen]] = field(default_factory=dict)
    """Per copy tier and resource type, the figure the report goes by."""

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
    thresholds: Thresholds = Thresholds()
    evidence_read: bool = False
    """Whether the verifier's evidence was read at all (``--evidence-bucket`` or ``--evidence-dir``)."""

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tf.TIER_NAMES

    def report_stale(self, entry: AccountEntry) -> bool:
        """Whether the account's (oldest) coverage report is older than ``max_age_hours``, whatever its
        status says (a worse one, e.g. ``evidence-missing``, hides ``stale``)."""
        limit = self.generated_at - timedelta(hours=self.max_age_hours)
        return entry.generated_at is not None and entry.generated_at < limit

    def tier_types(self, tier: str) -> tuple[str, ...]:
        """The resource types of a tier's heat-map: the report's types first, then the verifier's others."""
        seen = {t for a in self.accounts for t in a.tier_types.get(tier, {})}
        return tuple(t for t in self.types if t in seen) + tuple(sorted(seen - set(self.types)))

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

        def chosen(c: tf.Chosen | None) -> dict[str, Any] | None:
            return None if c is None else c.as_dict()

        def tiers(a: AccountEntry) -> dict[str, Any]:
            return {
                tier: {
                    **(
                        chosen(a.tiers.get(tier))
                        or {"coverage_percent": None, "rpo_hours": None, "source": None}
                    ),
                    "self_reported": None
                    if a.self_reported is None or tier not in a.self_reported.totals
                    else a.self_reported.totals[tier].as_dict(),
                    "verified": None
                    if a.verified is None or tier not in a.verified.totals
                    else a.verified.totals[tier].as_dict(),
                    "types": {t: c.as_dict() for t, c in a.tier_types.get(tier, {}).items()},
                }
                for tier in tf.TIER_NAMES
            }

        return {
            "generated_at": self.generated_at.isoformat(),
            "max_age_hours": self.max_age_hours,
            "thresholds": {
                "max_evidence_age_hours": self.thresholds.max_evidence_age_hours,
                "fall_points": self.thresholds.fall_points,
                "disagree_points": self.thresholds.disagree_points,
            },
            "evidence_read": self.evidence_read,
            "tiers": list(tf.TIER_NAMES),
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
                    "evidence": {
                        "state": a.evidence_state,
                        "verified_at": None if a.verified_at is None else a.verified_at.isoformat(),
                    },
                    "tiers": tiers(a),
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
    try:
        tier_figures = tf.self_reported(data, where)
    except tf.EvidenceFormatError as exc:
        raise ReportFormatError(str(exc)) from None
    not_measured = data.get("tiers_not_measured")
    return RegionReport(
        account=source.account,
        region=source.region,
        generated_at=generated,
        recent_hours=_require(data, "recent_hours", int, where),
        types=types,
        unprotected=tuple(found),
        failed_types={str(k): str(v) for k, v in failed.items()},
        tiers=tier_figures,
        tiers_not_measured=None if not_measured is None else str(not_measured),
    )


# --- merging ----------------------------------------------------------------------------------------


def _ordered_types(reports: Iterable[RegionReport]) -> tuple[str, ...]:
    seen = {t for r in reports for t in r.types}
    return tuple(t for t in ALL_TYPES if t in seen) + tuple(sorted(seen - set(ALL_TYPES)))


def _age(now: datetime, then: datetime) -> str:
    hours = (now - then).total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"


def previous_figures(document: Any, where: str) -> dict[str, dict[str, float]]:
    """account -> tier -> the coverage % a previous fleet report (its ``--json``) went by."""
    accounts = document.get("accounts") if isinstance(document, Mapping) else None
    if not isinstance(accounts, list):
        raise ReportFormatError(f"{where}: not a fleet report's JSON (no 'accounts' list)")
    found: dict[str, dict[str, float]] = {}
    for item in accounts:
        if not isinstance(item, Mapping) or not isinstance(item.get("account"), str):
            raise ReportFormatError(f"{where}: 'accounts[]' must be objects with an 'account'")
        tiers = item.get("tiers") or {}
        if not isinstance(tiers, Mapping):
            raise ReportFormatError(f"{where}: 'accounts[].tiers' of {item['account']} must be an object")
        found[item["account"]] = {
            str(tier): float(figure["coverage_percent"])
            for tier, figure in tiers.items()
            if isinstance(figure, Mapping) and isinstance(figure.get("coverage_percent"), int | float)
        }
    return found


def earlier_figures(earlier: Sequence[Source]) -> dict[str, tuple[datetime, dict[str, float]]]:
    """account -> (when the verifier ran, tier -> its verified %) of each account's earlier evidence
    (``report_sources.EvidenceFound.earlier``). Evidence that cannot be read is left out: ``fell`` then
    has nothing to compare with for the account, as without a previous report."""
    found: dict[str, tuple[datetime, dict[str, float]]] = {}
    for source in earlier:
        if source.error is not None or source.text is None:
            continue
        try:
            evidence = tf.parse_evidence(source.account, source.location, source.text)
        except tf.EvidenceFormatError:
            continue
        found[source.account] = (
            evidence.verified_at,
            {
                tier: cell.percent
                for tier, cell in evidence.figures.totals.items()
                if cell.percent is not None
            },
        )
    return found


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%".replace(".00%", "%")


def _judge_tiers(
    own: tf.TierFigures | None,
    verified: tf.TierFigures | None,
    previous: Mapping[str, float],
    thresholds: Thresholds,
    not_measured: str | None,
    since: str = "the previous report",
) -> tuple[list[str], list[str], dict[str, tf.Chosen | None], dict[str, dict[str, tf.Chosen]]]:
    """Statuses and problems of the account's tiers, and the figures the report goes by; ``previous``:
    the figures of ``since``, which ``fell`` compares with."""
    statuses: list[str] = []
    problems: list[str] = []
    chosen: dict[str, tf.Chosen | None] = {}
    chosen_types: dict[str, dict[str, tf.Chosen]] = {}
    for tier in tf.TIER_NAMES:
        mine = None if own is None else own.totals.get(tier)
        theirs = None if verified is None else verified.totals.get(tier)
        pick = tf.choose(theirs, mine)
        chosen[tier] = pick
        types = {
            *(own.types.get(tier, {}) if own else {}),
            *(verified.types.get(tier, {}) if verified else {}),
        }
        chosen_types[tier] = {
            rtype: c
            for rtype in sorted(types)
            if (
                c := tf.choose(
                    None if verified is None else verified.types.get(tier, {}).get(rtype),
                    None if own is None else own.types.get(tier, {}).get(rtype),
                )
            )
            is not None
        }
        if pick is None:
            why = (
                "its report has no per-tier figures (coverage report schema 1)"
                if own is None
                else f"the account's report did not measure it ({not_measured or 'not measured'})"
            )
            statuses.append(INCOMPLETE)
            problems.append(f"{tier}: measured by nobody: {why}, and no verified figure")
            continue
        percent = pick.cell.percent
        assert percent is not None
        if percent < 100.0:
            statuses.append(BELOW_100)
            problems.append(
                f"{tier}: {_percent(percent)} {pick.source} ({pick.cell.covered} of {pick.cell.eligible} "
                f"resources; RPO {'-' if pick.cell.rpo_hours is None else f'{pick.cell.rpo_hours:g} h'})"
            )
        if mine is not None and theirs is not None and mine.measured and theirs.measured:
            gap = abs((mine.percent or 0.0) - (theirs.percent or 0.0))
            if gap > thresholds.disagree_points:
                statuses.append(DISAGREE)
                problems.append(
                    f"{tier}: self-reported {_percent(mine.percent)} but verified {_percent(theirs.percent)} "
                    f"({gap:.2f} points apart; tolerance {thresholds.disagree_points:g})"
                )
        before = previous.get(tier)
        if before is not None and before - percent > thresholds.fall_points:
            statuses.append(FELL)
            problems.append(
                f"{tier}: fell from {_percent(before)} to {_percent(percent)} since {since} "
                f"(more than {thresholds.fall_points:g} points)"
            )
    return statuses, problems, chosen, chosen_types


def _evidence(
    account: str, found: Sequence[Source], now: datetime, thresholds: Thresholds
) -> tuple[str, str | None, tf.TierFigures | None, datetime | None, str | None]:
    """(evidence state, status or None, figures to use, verified at, problem) of one account."""
    if not found:
        return "missing", EVIDENCE_MISSING, None, None, "no verifier evidence for the account"
    source = found[0]
    try:
        if source.error is not None:
            raise tf.EvidenceFormatError(f"{source.location}: {source.error}")
        evidence = tf.parse_evidence(account, source.location, source.text or "")
    except tf.EvidenceFormatError as exc:
        return "unreadable", EVIDENCE_UNREADABLE, None, None, f"verifier evidence: {exc}"
    age = now - evidence.verified_at
    if age > timedelta(hours=thresholds.max_evidence_age_hours):
        return (
            "stale",
            EVIDENCE_STALE,
            None,
            evidence.verified_at,
            f"verifier evidence is {_age(now, evidence.verified_at)} old (verified "
            f"{evidence.verified_at.isoformat()}; limit {thresholds.max_evidence_age_hours} h): not used",
        )
    if evidence.why_not is not None:
        figures = evidence.figures if evidence.figures.totals else None
        return (
            EVIDENCE_READ,
            EVIDENCE_UNREADABLE,
            figures,
            evidence.verified_at,
            f"verifier evidence: {evidence.why_not}",
        )
    return EVIDENCE_READ, None, evidence.figures, evidence.verified_at, None


def merge(
    sources: Sequence[Source],
    now: datetime,
    expected: Sequence[str] = (),
    max_age_hours: int = DEFAULT_MAX_AGE_HOURS,
    *,
    evidence: Sequence[Source] | None = None,
    previous: Mapping[str, Mapping[str, float]] | None = None,
    thresholds: Thresholds = Thresholds(),
    earlier: Sequence[Source] = (),
) -> FleetReport:
    """The fleet picture from every report found plus the accounts expected to have one.

    ``evidence``: the verifier's latest evidence per account (``Source.region`` empty); None when it was
    not asked for, which leaves every figure self-reported. ``previous``: account -> tier -> the
    percent a previous fleet report went by (``previous_figures``). ``earlier``: the verifier's evidence
    of an earlier run per account, which ``fell`` compares with where ``previous`` has no figures."""
    history = earlier_figures(earlier)
    cutoff = now - timedelta(hours=max_age_hours)
    by_account: dict[str, list[Source]] = {}
    for source in sources:
        by_account.setdefault(source.account, []).append(source)
    evidence_of: dict[str, list[Source]] = {}
    for source in evidence or ():
        evidence_of.setdefault(source.account, []).append(source)

    reports: list[RegionReport] = []
    entries: list[AccountEntry] = []
    fresh: set[str] = set()
    for account in sorted(set(by_account) | set(expected) | set(evidence_of)):
        found = sorted(by_account.get(account, []), key=lambda s: s.region)
        problems: list[str] = []
        statuses = [OK]
        readable: list[RegionReport] = []
        if not found:
            statuses.append(MISSING)
            problems.append("no coverage report in the fleet bucket")
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
        if found and not set(statuses) & {UNREADABLE, STALE}:
            fresh.add(account)
        reports.extend(readable)
        cells: dict[str, Counts] = {}
        for report in readable:
            for name, counts in report.types.items():
                cells[name] = cells.get(name, Counts()) + counts
        own: tf.TierFigures | None = None
        if readable and all(r.tiers is not None for r in readable):
            own = sum((r.tiers for r in readable if r.tiers is not None), tf.TierFigures())
        state, verified_at, verified = EVIDENCE_NOT_READ, None, None
        if evidence is not None:
            state, status, verified, verified_at, problem = _evidence(
                account, evidence_of.get(account, []), now, thresholds
            )
            if status is not None and problem is not None:
                statuses.append(status)
                problems.append(problem)
        before, since = (previous or {}).get(account), "the previous report"
        if before is None and account in history:
            ran, before = history[account]
            since = f"the verifier's run of {ran.isoformat()}"
        tier_statuses, tier_problems, chosen, chosen_types = _judge_tiers(
            own,
            verified,
            before or {},
            thresholds,
            next((r.tiers_not_measured for r in readable if r.tiers_not_measured), None),
            since,
        )
        if readable or verified is not None:
            statuses += tier_statuses
            problems += tier_problems
        entries.append(
            AccountEntry(
                account=account,
                status=max(statuses, key=_SEVERITY.index),
                problems=tuple(problems),
                regions=tuple(r.region for r in readable),
                generated_at=min((r.generated_at for r in readable), default=None),
                cells=cells,
                expected=not expected or account in expected,
                self_reported=own,
                verified=verified,
                evidence_state=state,
                verified_at=verified_at,
                tiers=chosen,
                tier_types=chosen_types,
            )
        )

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
        thresholds=thresholds,
        evidence_read=evidence is not None,
    )
