"""The verdict on one workload account: pure, from what the run read (``readings``) and the settings.

Each copy tier in the isolated account is verified on its own (``readings.COPY_TIERS``): the
logically air-gapped vault of every account, and the locked standard vault of an account whose stack has
one (RDS DB instances, which AWS Backup cannot copy into an air-gapped vault). Findings (``Kind``), each
naming its tier where it has one:

- ``unreadable``: an input of the account could not be read (a vault listing, a vault policy, the RAM
  shares, the job listings, the baseline). Missing data is never "all good": the checks that needed it
  are not passed, they are reported as not made.
- ``no-vault``: the isolated account has no vault of the tier's name.
- ``no-copies``: the vault exists and holds no usable recovery point.
- ``stale``: the tier's newest usable recovery point is older than interval + completion window +
  margin (``VerifierConfig.stale_after_minutes``).
- ``mass-drop``: of the resources in the tier's baseline (a copy in the tier in the last
  ``baseline_days``), more than ``drop_percent`` percent have no fresh one (a mass opt-out, a deleted
  selection, a copy action dropped from one plan). Not raised beside the tier's ``stale``, which already
  says that no copy is fresh.
- ``vault-policy-drift``: a vault's access policy is missing or differs from the one the program builds
  (``policy_check``).
- ``vault-state-drift``: a vault's own description (``DescribeBackupVault``) is not what the stack
  built: the air-gapped vault is not of type ``LOGICALLY_AIR_GAPPED_BACKUP_VAULT`` (the locked one not a
  ``BACKUP_VAULT``), it is not locked, its min/max retention is not the stack's, or (where the organisation
  turned multi-party approval on) the air-gapped vault has no approval team.
- ``ram-share-drift``: the air-gapped vault is not shared with its workload account by its own share
  alone (``air_gapped_share_name``): the share is gone or not active, the vault or the workload account
  is no longer associated, or the vault is shared with anyone else.

The job listings are evidence, not a verdict of their own: they say whether backups and cross-Region
copies go on while copies into the isolated account stopped, which tells a dropped copy action from a
stopped plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dr_runtime.verifier import policy_check
from dr_runtime.verifier.evidence_layout import iso
from dr_runtime.verifier.naming import air_gapped_share_name
from dr_runtime.verifier.readings import (
    COPY_JOB_TIER,
    AccountReading,
    BaselineEntry,
    ShareReading,
    Sighting,
    Tier,
    TierReading,
)
from dr_runtime.verifier.settings import VerifierConfig

EVIDENCE_SCHEMA = 3
"""2: per copy tier (``vaults``, ``tiers``), the policy and share checks. 3: ``coverage``, the verified
coverage per fleet tier and resource type (``_coverage``), which the fleet report reads."""
COVERAGE_TIERS = {"in-region": Tier.IN_REGION, "cross-region": Tier.CROSS_REGION, "air-gapped": None}
"""The fleet report's tiers (``copy_tiers.CopyTier`` values) and the sighting each is verified by; None:
the baseline entry's own copy tier in the isolated account (its air-gapped or its locked vault)."""
LIVE_ASSOCIATIONS = frozenset({"ASSOCIATED", "ASSOCIATING"})
"""RAM association states that give (or are about to give) access (botocore ``ResourceShareAssociationStatus``)."""
VAULT_TYPES = {Tier.AIR_GAPPED: "LOGICALLY_AIR_GAPPED_BACKUP_VAULT", Tier.LOCKED: "BACKUP_VAULT"}
"""The ``VaultType`` each tier's vault is built as (``components/archive.py``)."""
WORDS = {Tier.AIR_GAPPED: ("air-gapped", "an air-gapped"), Tier.LOCKED: ("locked", "a locked")}

LISTED_RESOURCES = 20
"""How many missing resources a finding's message names (the evidence has them all)."""


class Kind(StrEnum):
    UNREADABLE = "unreadable"
    NO_VAULT = "no-vault"
    NO_COPIES = "no-copies"
    STALE = "stale"
    MASS_DROP = "mass-drop"
    VAULT_POLICY_DRIFT = "vault-policy-drift"
    VAULT_STATE_DRIFT = "vault-state-drift"
    RAM_SHARE_DRIFT = "ram-share-drift"
    EVENTS_SILENT = "events-silent"
    """No job event of the account reached the verifier's bus for a day (``event_silence``)."""


@dataclass(frozen=True)
class Finding:
    account_id: str
    kind: Kind
    message: str
    tier: Tier | None = None
    """The copy tier the finding is about; None for the account's other inputs (jobs, baseline)."""

    def as_dict(self) -> dict[str, str | None]:
        return {
            "account_id": self.account_id,
            "kind": self.kind.value,
            "tier": None if self.tier is None else self.tier.value,
            "message": self.message,
        }


@dataclass(frozen=True)
class TierFigures:
    """One tier's figures, only for a vault that was read: no metric is published for the others, so
    alarms see missing data rather than a good value."""

    newest_age_hours: float | None
    fresh_resources: int
    baseline_resources: int


@dataclass
class AccountVerdict:
    account_id: str
    findings: list[Finding] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    """The document written to the evidence bucket (``latest.json`` and the run's history)."""
    baseline: dict[str, BaselineEntry] | None = None
    """The baseline to store, or None to leave the stored one alone (no vault was read, or the stored
    baseline could not be): a tier whose vault was not read keeps its stored entries."""
    tiers: dict[Tier, TierFigures] = field(default_factory=dict)
    """The figures of each tier whose vault was read."""

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


def _job_context(newest: dict[tuple[str, Tier], Sighting], fresh_since: datetime, tier: Tier) -> str:
    job_tier = COPY_JOB_TIER[tier]
    counts = {
        t: sum(1 for (_arn, seen), s in newest.items() if seen is t and s.time >= fresh_since)
        for t in (Tier.IN_REGION, Tier.CROSS_REGION, job_tier)
    }
    return (
        f"job listings in the same window: {counts[Tier.IN_REGION]} resource(s) backed up in-Region, "
        f"{counts[Tier.CROSS_REGION]} copied cross-Region, {counts[job_tier]} copied to the "
        f"{WORDS[tier][0]} vault"
    )


def _share_drift(share: ShareReading, account: str, vault_name: str, vault_arn: str) -> list[str]:
    """What differs from the program's share: the one share named after the vault, active, associating
    the vault and the workload account, and nothing else associating either to the vault."""
    name = air_gapped_share_name(vault_name)
    ours = {
        item.share_arn
        for item in share.resources
        if item.entity == vault_arn
        and item.status == "ASSOCIATED"
        and (share.names.get(item.share_arn) or item.share_name) == name
        and share.shares.get(item.share_arn) == "ACTIVE"
    }
    problems: list[str] = []
    if not ours:
        seen = sorted(
            f"{item.share_arn} ({share.names.get(item.share_arn) or item.share_name}, association "
            f"{item.status}, share {share.shares.get(item.share_arn, 'not listed')})"
            for item in share.resources
        )
        problems.append(
            f"no active share named {name} associates {vault_arn}"
            + (f" (associations found: {', '.join(seen)})" if seen else "")
            + f": {account} cannot see the vault to restore from it"
        )
    others = sorted({item.share_arn for item in share.resources if item.status in LIVE_ASSOCIATIONS} - ours)
    if others:
        problems.append(f"the vault is also associated with share(s) {', '.join(others)}")
    if ours and not any(
        p.share_arn in ours and p.entity == account and p.status == "ASSOCIATED" for p in share.principals
    ):
        states = sorted({p.status for p in share.principals if p.share_arn in ours and p.entity == account})
        problems.append(
            f"share {name} does not associate {account}"
            + (f" (its association is {', '.join(states)})" if states else "")
        )
    strangers = sorted(
        f"{p.entity} ({p.status}, share {p.share_arn})"
        for p in share.principals
        if p.entity != account and p.status in LIVE_ASSOCIATIONS
    )
    if strangers:
        problems.append(f"the vault is shared with principals other than {account}: {', '.join(strangers)}")
    return problems


def evaluate(config: VerifierConfig, reading: AccountReading, now: datetime) -> AccountVerdict:
    account = reading.account_id
    verdict = AccountVerdict(account)
    fresh_since = now - timedelta(minutes=config.stale_after_minutes)
    template = config.policy_template

    def find(kind: Kind, message: str, tier: Tier | None = None) -> None:
        verdict.findings.append(Finding(account, kind, message, tier))

    jobs, stored = reading.jobs, reading.baseline
    for error in (jobs.error, stored.error):
        if error is not None:
            find(Kind.UNREADABLE, f"{error}; the checks that need it were not made for {account}")

    sightings = [s for part in reading.tiers for s in part.vault.sightings]
    newest = _newest([*sightings, *jobs.sightings])
    new_baseline: dict[str, BaselineEntry] = {}
    any_read = False
    vaults_evidence: dict[str, Any] = {}
    tiers_evidence: dict[str, Any] = {}
    for part in reading.tiers:
        read, evidence = _tier(
            config,
            verdict,
            part,
            newest,
            None if stored.error else stored.entries,
            jobs_read=jobs.error is None,
            judge_drop=stored.error is None,
            now=now,
        )
        vaults_evidence[part.tier.value] = evidence
        if read is not None:
            any_read = True
            new_baseline.update(read)
        else:
            # Not read: its stored entries are kept as they are, for the next run to judge.
            new_baseline.update({arn: e for arn, e in (stored.entries or {}).items() if e.tier is part.tier})
        figures = verdict.tiers.get(part.tier)
        if figures is not None:
            tiers_evidence[part.tier.value] = {
                "newest": None
                if figures.newest_age_hours is None
                else iso(now - timedelta(hours=figures.newest_age_hours)),
                "newest_age_hours": figures.newest_age_hours,
                "fresh_resources": figures.fresh_resources,
                "baseline_resources": figures.baseline_resources,
            }
        if template is not None and part.vault.policy is not None:
            policy = part.vault.policy
            if policy.error is not None:
                find(
                    Kind.UNREADABLE,
                    f"{policy.error}; the policy check was not made for {part.vault_name}",
                    part.tier,
                )
            elif policy.document is None:
                find(
                    Kind.VAULT_POLICY_DRIFT,
                    f"vault {part.vault_name} has no access policy; the program's lets {account} copy in, "
                    "and without it the copies into the vault are refused",
                    part.tier,
                )
            else:
                expected = policy_check.expected_policy(template, part.vault_arn, account)
                found = policy_check.differences(expected, policy.document)
                if found:
                    find(
                        Kind.VAULT_POLICY_DRIFT,
                        f"the access policy of vault {part.vault_name} differs from the one the program "
                        f"builds: {'; '.join(found)}",
                        part.tier,
                    )

        if part.vault.state is not None:
            _state(config, verdict, part, vaults_evidence[part.tier.value])

    share_state = "not-read"
    share = reading.share
    if share is not None and reading.tiers:
        lag = reading.tiers[0]
        if share.error is not None:
            share_state = "unreadable"
            find(Kind.UNREADABLE, f"{share.error}; the share check was not made for {account}", lag.tier)
        else:
            problems = _share_drift(share, account, lag.vault_name, lag.vault_arn)
            share_state = "drift" if problems else "matches"
            if problems:
                find(
                    Kind.RAM_SHARE_DRIFT,
                    f"the RAM share of vault {lag.vault_name} is not the program's: {'; '.join(problems)}",
                    lag.tier,
                )

    if any_read and stored.error is None:
        verdict.baseline = new_baseline
    coverage = (
        None
        if verdict.baseline is None
        else _coverage(
            verdict.baseline,
            newest,
            fresh_since,
            now,
            vaults_read=all(part.vault.error is None for part in reading.tiers),
            jobs_read=jobs.error is None,
        )
    )

    verdict.evidence = {
        "schema": EVIDENCE_SCHEMA,
        "account_id": account,
        "verified_at": iso(now),
        "vaults": vaults_evidence,
        "share": {
            "state": share_state,
            "shares": dict(sorted(share.shares.items())) if share is not None else {},
            "principals": sorted(
                f"{p.entity} {p.status} ({p.share_arn})" for p in (share.principals if share else [])
            ),
        },
        "jobs": {"state": "unreadable" if jobs.error else "read", "since": iso(fresh_since)},
        "baseline": {
            "state": "unreadable" if stored.error else ("none" if stored.entries is None else "read"),
            "days": config.baseline_days,
            "resources": {tier: figures["baseline_resources"] for tier, figures in tiers_evidence.items()},
        },
        "stale_after_minutes": config.stale_after_minutes,
        "tiers": tiers_evidence,
        "coverage": coverage,
        "resources": _resources(newest, fresh_since),
        "findings": [finding.as_dict() for finding in verdict.findings],
    }
    return verdict


def _coverage(
    baseline: dict[str, BaselineEntry],
    newest: dict[tuple[str, Tier], Sighting],
    fresh_since: datetime,
    now: datetime,
    *,
    vaults_read: bool,
    jobs_read: bool,
) -> dict[str, Any]:
    """Per fleet tier and resource type, of the baseline's resources (a copy in the isolated account in
    the last ``baseline_days``) those with a fresh point in the tier, and the RPO achieved (the age of the
    oldest of their newest points). A tier whose inputs were not read is ``measured: false``."""

    def figures(items: list[datetime | None]) -> dict[str, Any]:
        fresh = [t for t in items if t is not None and t >= fresh_since]
        return {
            "baseline": len(items),
            "fresh": len(fresh),
            "rpo_hours": None if not fresh else _hours(now - min(fresh)),
        }

    found: dict[str, Any] = {}
    for name, sighting_tier in COVERAGE_TIERS.items():
        by_type: dict[str, list[datetime | None]] = {}
        for arn, entry in sorted(baseline.items()):
            seen = newest.get((arn, sighting_tier or entry.tier))
            by_type.setdefault(entry.resource_type, []).append(None if seen is None else seen.time)
        every = [t for times in by_type.values() for t in times]
        found[name] = {
            "measured": vaults_read if sighting_tier is None else jobs_read,
            **figures(every),
            "types": {rtype: figures(times) for rtype, times in sorted(by_type.items())},
        }
    return found


def _state(
    config: VerifierConfig, verdict: AccountVerdict, part: TierReading, evidence: dict[str, Any]
) -> None:
    """The vault's description against what the stack built; its findings and its evidence."""
    account, state = verdict.account_id, part.vault.state
    assert state is not None
    if state.error is not None:
        verdict.findings.append(
            Finding(
                account,
                Kind.UNREADABLE,
                f"{state.error}; the vault-state check was not made for {part.vault_name}",
                part.tier,
            )
        )
        evidence["description"] = "unreadable"
        return
    evidence["description"] = {
        "type": state.vault_type,
        "locked": state.locked,
        "min_retention_days": state.min_retention_days,
        "max_retention_days": state.max_retention_days,
        "mpa_approval_team_arn": state.mpa_team_arn,
    }
    problems = []
    wanted_type = VAULT_TYPES[part.tier]
    if state.vault_type != wanted_type:
        problems.append(f"its type is {state.vault_type}, not {wanted_type}")
    if state.locked is not True:
        problems.append("it is not locked: its recovery points can be deleted before they expire")
    entry = next((a for a in config.fleet if a.account_id == account), None)
    if entry is not None and entry.retention is not None:
        found = (state.min_retention_days, state.max_retention_days)
        if found != entry.retention:
            problems.append(
                f"its retention is {found[0]}-{found[1]} days (min-max), not the stack's "
                f"{entry.retention[0]}-{entry.retention[1]}"
            )
    if config.mpa_team_required and part.tier is Tier.AIR_GAPPED and state.mpa_team_arn is None:
        problems.append(
            "it has no multi-party approval team (MpaApprovalTeamArn), though the organisation turned "
            "multi-party approval on: a restore after the loss of the workload account has no approvers"
        )
    if problems:
        verdict.findings.append(
            Finding(
                account,
                Kind.VAULT_STATE_DRIFT,
                f"vault {part.vault_name} is not as the stack built it: {'; '.join(problems)}",
                part.tier,
            )
        )


def _tier(
    config: VerifierConfig,
    verdict: AccountVerdict,
    part: TierReading,
    newest: dict[tuple[str, Tier], Sighting],
    stored: dict[str, BaselineEntry] | None,
    *,
    jobs_read: bool,
    judge_drop: bool,
    now: datetime,
) -> tuple[dict[str, BaselineEntry] | None, dict[str, Any]]:
    """One tier's findings and figures; its new baseline entries (None when its vault was not read) and
    its vault's evidence."""
    account, tier, vault = verdict.account_id, part.tier, part.vault
    word, a_word = WORDS[tier]
    fresh_since = now - timedelta(minutes=config.stale_after_minutes)
    baseline_since = now - timedelta(days=config.baseline_days)

    def find(kind: Kind, message: str) -> None:
        verdict.findings.append(Finding(account, kind, message, tier))

    if vault.error is not None:
        find(Kind.UNREADABLE, f"{vault.error}; the checks that need it were not made for {account}")
    context = "" if not jobs_read else f" ({_job_context(newest, fresh_since, tier)})"
    copies = {arn: s for (arn, seen), s in newest.items() if seen is tier}
    newest_copy = max((s.time for s in copies.values()), default=None)
    fresh = {arn for arn, s in copies.items() if s.time >= fresh_since}
    vault_read = vault.error is None and vault.found
    evidence: dict[str, Any] = {
        "name": part.vault_name,
        "arn": part.vault_arn,
        "state": "unreadable" if vault.error else ("read" if vault.found else "not-found"),
        "usable_recovery_points": len(vault.sightings),
        "unusable_recovery_points": vault.unusable,
    }
    if vault.error is None and not vault.found:
        what = (
            f"{account} has no air-gapped copies"
            if tier is Tier.AIR_GAPPED
            else f"{account} has no locked copies of the types an air-gapped vault cannot take (RDS DB "
            "instances), though its stack has the vault"
        )
        find(
            Kind.NO_VAULT,
            f"no vault {part.vault_name} in the isolated account {config.isolated_account}: {what}{context}",
        )
    elif vault_read and newest_copy is None:
        unusable = (
            f" ({vault.unusable} recovery point(s) in a state a restore cannot use)" if vault.unusable else ""
        )
        find(Kind.NO_COPIES, f"vault {part.vault_name} holds no usable recovery point{unusable}{context}")
    elif vault_read and newest_copy is not None and newest_copy < fresh_since:
        find(
            Kind.STALE,
            f"newest {word} copy of {account} is {_hours(now - newest_copy)} h old (from "
            f"{iso(newest_copy)}, vault {part.vault_name}), older than {config.stale_after_minutes} minutes "
            f"(interval {config.interval_minutes} + completion window {config.completion_window_minutes} + "
            f"margin {config.margin_minutes}); the copies expire about 7 days after their backups{context}",
        )
    if not vault_read:
        return None, evidence

    baseline: dict[str, BaselineEntry] = {
        arn: entry
        for arn, entry in (stored or {}).items()
        if entry.tier is tier and entry.last_seen >= baseline_since
    }
    for arn, sighting in copies.items():
        if sighting.time >= baseline_since and (
            arn not in baseline or sighting.time > baseline[arn].last_seen
        ):
            baseline[arn] = BaselineEntry(sighting.resource_type, sighting.time, tier)
    missing = set(baseline) - fresh
    verdict.tiers[tier] = TierFigures(
        newest_age_hours=None if newest_copy is None else _hours(now - newest_copy),
        fresh_resources=len(fresh),
        baseline_resources=len(baseline),
    )
    stale = any(f.kind is Kind.STALE and f.tier is tier for f in verdict.findings)
    # A stale tier has no fresh copy at all: the stale finding says so, not a second one. A baseline that
    # could not be read is not judged against.
    if not stale and judge_drop and baseline and len(missing) * 100 > config.drop_percent * len(baseline):
        find(
            Kind.MASS_DROP,
            f"{len(fresh)} of the {len(baseline)} resource(s) of {account} with {a_word} copy "
            f"in the last {config.baseline_days} days have a fresh one: "
            f"{round(len(missing) * 100 / len(baseline))} % dropped, more than "
            f"{config.drop_percent} %; without one: {_names(missing)}{context}",
        )
    return baseline, evidence
