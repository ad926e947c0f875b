"""The verdict on one workload account: pure, from what the run read (``readings``) and the settings.

Findings (``Kind``):

- ``unreadable``: an input of the account could not be read (its vault listing, its job listings, its
  baseline). Missing data is never "all good": the checks that needed it are not passed, they are
  reported as not made.
- ``no-vault``: the isolated account has no vault of the account's name.
- ``no-copies``: the vault exists and holds no usable recovery point.
- ``stale``: the newest usable recovery point in the vault is older than interval + completion window +
  margin (``VerifierConfig.stale_after_minutes``).
- ``mass-drop``: of the resources in the account's baseline (an air-gapped copy in the last
  ``baseline_days``), more than ``drop_percent`` percent have no fresh one (a mass opt-out, a deleted
  selection, a copy action dropped from one plan). Not raised beside ``stale``, which already says that
  no copy is fresh.

The job listings are evidence, not a verdict of their own: they say whether backups and cross-Region
copies go on while air-gapped copies stopped, which tells a dropped copy action from a stopped plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dr_runtime.verifier.evidence_layout import SCHEMA, iso
from dr_runtime.verifier.readings import AccountReading, BaselineEntry, Sighting, Tier
from dr_runtime.verifier.settings import VerifierConfig

LISTED_RESOURCES = 20
"""How many missing resources a finding's message names (the evidence has them all)."""


class Kind(StrEnum):
    UNREADABLE = "unreadable"
    NO_VAULT = "no-vault"
    NO_COPIES = "no-copies"
    STALE = "stale"
    MASS_DROP = "mass-drop"


@dataclass(frozen=True)
class Finding:
    account_id: str
    kind: Kind
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"account_id": self.account_id, "kind": self.kind.value, "message": self.message}


@dataclass
class AccountVerdict:
    account_id: str
    findings: list[Finding] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    """The document written to the evidence bucket (``latest.json`` and the run's history)."""
    baseline: dict[str, BaselineEntry] | None = None
    """The baseline to store, or None to leave the stored one alone (the vault could not be read)."""
    newest_age_hours: float | None = None
    fresh_resources: int | None = None
    baseline_resources: int | None = None
    """None where the input was missing: no metric is published then, so alarms see missing data."""

    @property
    def inputs_read(self) -> bool:
        return not any(finding.kind is Kind.UNREADABLE for finding in self.findings)


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def _newest(sightings: Iterable[Sighting]) -> dict[tuple[str, Tier], Sighting]:
    newest: dict[tuple[str, Tier], Sighting] = {}
    for sighting in sightings:
        key = (sighting.resource_arn, sighting.tier)
        if key not in newest or sighting.time > newest[key].time:
            newest[key] = sighting
    return newest


def _resources(newest: dict[tuple[str, Tier], Sighting], fresh_since: datetime) -> list[dict[str, Any]]:
    by_resource: dict[str, dict[str, Any]] = {}
    for (arn, tier), sighting in sorted(newest.items()):
        row = by_resource.setdefault(arn, {"resource_arn": arn, "resource_type": "", "tiers": {}})
        row["resource_type"] = row["resource_type"] or sighting.resource_type
        row["tiers"][tier.value] = {"newest": iso(sighting.time), "fresh": sighting.time >= fresh_since}
    return list(by_resource.values())


def _names(arns: Iterable[str]) -> str:
    listed = sorted(arns)
    more = f" and {len(listed) - LISTED_RESOURCES} more" if len(listed) > LISTED_RESOURCES else ""
    return ", ".join(listed[:LISTED_RESOURCES]) + more


def _job_context(newest: dict[tuple[str, Tier], Sighting], fresh_since: datetime) -> str:
    counts = {
        tier: sum(1 for (_arn, t), s in newest.items() if t is tier and s.time >= fresh_since)
        for tier in (Tier.IN_REGION, Tier.CROSS_REGION, Tier.AIR_GAPPED_JOB)
    }
    return (
        f"job listings in the same window: {counts[Tier.IN_REGION]} resource(s) backed up in-Region, "
        f"{counts[Tier.CROSS_REGION]} copied cross-Region, {counts[Tier.AIR_GAPPED_JOB]} copied to the "
        "air-gapped vault"
    )


def evaluate(config: VerifierConfig, reading: AccountReading, now: datetime) -> AccountVerdict:
    account = reading.account_id
    verdict = AccountVerdict(account)
    fresh_since = now - timedelta(minutes=config.stale_after_minutes)
    baseline_since = now - timedelta(days=config.baseline_days)

    def find(kind: Kind, message: str) -> None:
        verdict.findings.append(Finding(account, kind, message))

    vault, jobs, stored = reading.vault, reading.jobs, reading.baseline
    for error in (vault.error, jobs.error, stored.error):
        if error is not None:
            find(Kind.UNREADABLE, f"{error}; the checks that need it were not made for {account}")

    newest = _newest([*vault.sightings, *jobs.sightings])
    context = "" if jobs.error is not None else f" ({_job_context(newest, fresh_since)})"
    lag = {arn: s for (arn, tier), s in newest.items() if tier is Tier.AIR_GAPPED}
    newest_copy = max((s.time for s in lag.values()), default=None)
    fresh = {arn for arn, s in lag.items() if s.time >= fresh_since}

    vault_read = vault.error is None and vault.found
    if vault.error is None and not vault.found:
        find(
            Kind.NO_VAULT,
            f"no vault {reading.vault_name} in the isolated account {config.isolated_account}: "
            f"{account} has no air-gapped copies{context}",
        )
    elif vault_read and newest_copy is None:
        unusable = (
            f" ({vault.unusable} recovery point(s) in a state a restore cannot use)" if vault.unusable else ""
        )
        find(Kind.NO_COPIES, f"vault {reading.vault_name} holds no usable recovery point{unusable}{context}")
    elif vault_read and newest_copy is not None and newest_copy < fresh_since:
        find(
            Kind.STALE,
            f"newest air-gapped copy of {account} is {_hours(now - newest_copy)} h old (from "
            f"{iso(newest_copy)}), older than {config.stale_after_minutes} minutes (interval "
            f"{config.interval_minutes} + completion window {config.completion_window_minutes} + margin "
            f"{config.margin_minutes}); the copies expire about 7 days after their backups{context}",
        )

    if vault_read:
        baseline: dict[str, BaselineEntry] = {
            arn: entry for arn, entry in (stored.entries or {}).items() if entry.last_seen >= baseline_since
        }
        for arn, sighting in lag.items():
            if sighting.time >= baseline_since and (
                arn not in baseline or sighting.time > baseline[arn].last_seen
            ):
                baseline[arn] = BaselineEntry(sighting.resource_type, sighting.time)
        missing = set(baseline) - fresh
        verdict.fresh_resources, verdict.baseline_resources = len(fresh), len(baseline)
        verdict.newest_age_hours = None if newest_copy is None else _hours(now - newest_copy)
        if stored.error is None:
            verdict.baseline = baseline
            # A stale account has no fresh copy at all: the stale finding says so, not a second one.
            stale = any(finding.kind is Kind.STALE for finding in verdict.findings)
            if not stale and baseline and len(missing) * 100 > config.drop_percent * len(baseline):
                find(
                    Kind.MASS_DROP,
                    f"{len(fresh)} of the {len(baseline)} resource(s) of {account} with an air-gapped copy "
                    f"in the last {config.baseline_days} days have a fresh one: "
                    f"{round(len(missing) * 100 / len(baseline))} % dropped, more than "
                    f"{config.drop_percent} %; without one: {_names(missing)}{context}",
                )

    verdict.evidence = {
        "schema": SCHEMA,
        "account_id": account,
        "verified_at": iso(now),
        "vault": {
            "name": reading.vault_name,
            "arn": reading.vault_arn,
            "state": "unreadable" if vault.error else ("read" if vault.found else "not-found"),
            "usable_recovery_points": len(vault.sightings),
            "unusable_recovery_points": vault.unusable,
        },
        "jobs": {"state": "unreadable" if jobs.error else "read", "since": iso(fresh_since)},
        "baseline": {
            "state": "unreadable" if stored.error else ("none" if stored.entries is None else "read"),
            "days": config.baseline_days,
            "resources": verdict.baseline_resources,
        },
        "stale_after_minutes": config.stale_after_minutes,
        "newest_air_gapped": None if newest_copy is None else iso(newest_copy),
        "newest_air_gapped_age_hours": verdict.newest_age_hours,
        "fresh_air_gapped_resources": verdict.fresh_resources,
        "resources": _resources(newest, fresh_since),
        "findings": [finding.as_dict() for finding in verdict.findings],
    }
    return verdict
