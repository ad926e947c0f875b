"""Coverage per copy tier: in-Region backups, cross-Region copies (the DR Region's vaults) and copies into
the isolated account (its air-gapped vault, or its locked vault for RDS DB instances), each on its own.

Plain data and pure functions, plus the one listing the copy tiers need (``ListCopyJobs`` of this account
and Region, completed, over ``COPY_LOOKBACK_HOURS``). A copy job is listed in its source Region under the
account that started it (docs/coverage-checks.md, "Coverage per copy tier"), so the primary Region's
listing holds both the cross-Region copies and the copies into the isolated account.

Every tier counts the same resources, the *eligible* ones: every resource of the type found in the
Region except the Kubernetes-owned volumes of the clusters the stack names. A resource excluded by the
opt-out tag (or the cross-Region opt-out tag, for the cross-Region tier), or a cluster no plan takes, is
eligible and not covered: an opt-out never raises coverage, so tagging everything out reads 0 %, not 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dr_runtime.operations import inventory as inv


class CopyTier(StrEnum):
    IN_REGION = "in-region"
    """A recovery point in this Region (``ListProtectedResources`` ``LastBackupTime``)."""
    CROSS_REGION = "cross-region"
    """A completed copy job into a vault of this account in the DR Region."""
    AIR_GAPPED = "air-gapped"
    """A completed copy job into the isolated account (its air-gapped vault; its locked vault for the
    types an air-gapped vault cannot take)."""


TIERS = tuple(CopyTier)
COPY_TIERS = (CopyTier.CROSS_REGION, CopyTier.AIR_GAPPED)
COPY_LOOKBACK_HOURS = 8 * 24
"""How far back the copy jobs are listed: the air-gapped copies' 7 days of retention and a day more, so
the age of a resource's newest copy (its RPO) is known beyond the recent window."""


def coverage_percent(covered: int, eligible: int) -> float:
    """The coverage rule every report shares: covered of eligible, to two decimals, and 100 only when nothing
    is eligible (nothing left unprotected)."""
    return 100.0 if eligible == 0 else round(100.0 * covered / eligible, 2)


@dataclass(frozen=True)
class TierFigure:
    """One tier of one type (or all types): covered of eligible, and the ages of the newest points."""

    eligible: int = 0
    covered: int = 0
    newest: datetime | None = None
    """The newest point of the tier over the eligible resources."""
    oldest_newest: datetime | None = None
    """The oldest of the covered resources' newest points: the RPO the tier achieves."""
    measured: bool = True
    """False when the tier could not be measured (its settings are missing, or the listing failed)."""

    @property
    def percent(self) -> float | None:
        """None when not measured; 100 only when every eligible resource is covered (and for none)."""
        if not self.measured:
            return None
        return coverage_percent(self.covered, self.eligible)

    def __add__(self, other: TierFigure) -> TierFigure:
        return TierFigure(
            self.eligible + other.eligible,
            self.covered + other.covered,
            _latest(self.newest, other.newest),
            _earliest(self.oldest_newest, other.oldest_newest),
            self.measured and other.measured,
        )

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "covered": self.covered,
            "measured": self.measured,
            "coverage_percent": self.percent,
            "newest_age_hours": _age(now, self.newest),
            "rpo_hours": _age(now, self.oldest_newest),
        }


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round((now - then).total_seconds() / 3600, 2)


@dataclass(frozen=True)
class Destinations:
    """Where this account's copies go: the DR Region (same account) and the isolated account."""

    account_id: str
    dr_region: str
    isolated_account: str

    def tier_of(self, vault_arn: str) -> CopyTier | None:
        """The copy tier of a destination vault ARN (``arn:<partition>:backup:<region>:<account>:...``)."""
        parts = vault_arn.split(":")
        if len(parts) < 6 or parts[2] != "backup":
            return None
        region, account = parts[3], parts[4]
        if account == self.isolated_account:
            return CopyTier.AIR_GAPPED
        if account == self.account_id and region == self.dr_region:
            return CopyTier.CROSS_REGION
        return None


def newest_copies(
    jobs: Iterable[Mapping[str, Any]], where: Destinations
) -> dict[CopyTier, dict[str, datetime]]:
    """Copy tier -> resource ARN -> the newest completed copy job's ``CreationDate``."""
    found: dict[CopyTier, dict[str, datetime]] = {tier: {} for tier in COPY_TIERS}
    for job in jobs:
        if job.get("State") != "COMPLETED":
            continue
        tier = where.tier_of(str(job.get("DestinationBackupVaultArn", "")))
        arn, when = job.get("ResourceArn"), job.get("CreationDate")
        if tier is None or not isinstance(arn, str) or not isinstance(when, datetime):
            continue
        known = found[tier].get(arn)
        if known is None or when > known:
            found[tier][arn] = when
    return found


def list_copy_jobs(backup: Any, now: datetime) -> list[dict[str, Any]]:
    """This account's completed copy jobs of the lookback, every page."""
    since = now - timedelta(hours=COPY_LOOKBACK_HOURS)
    return [
        job
        for page in inv.pages(backup, "list_copy_jobs", ByState="COMPLETED", ByCreatedAfter=since)
        for job in page.get("CopyJobs", [])
    ]


def figure(
    eligible: Iterable[str],
    covering: Iterable[str],
    points: Mapping[str, datetime],
    cutoff: datetime,
    *,
    measured: bool = True,
) -> TierFigure:
    """``eligible`` resource ARNs, of which those in ``covering`` may count (the tier's plans take them)
    when their newest point in ``points`` is at least ``cutoff``."""
    wanted = list(eligible)
    takes = set(covering)
    seen = [points[arn] for arn in wanted if arn in takes and arn in points]
    covered = [points[arn] for arn in wanted if arn in takes and arn in points and points[arn] >= cutoff]
    if not measured:
        return TierFigure(len(wanted), 0, measured=False)
    return TierFigure(len(wanted), len(covered), max(seen, default=None), min(covered, default=None))
