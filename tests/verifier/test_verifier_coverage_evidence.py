"""The evidence's ``coverage`` block: verified coverage per fleet tier and type, which the fleet report reads."""

from __future__ import annotations

from datetime import timedelta

from dr_runtime.verifier.evaluation import evaluate
from dr_runtime.verifier.readings import (
    AccountReading,
    BaselineEntry,
    BaselineReading,
    JobReading,
    Sighting,
    Tier,
    TierReading,
    VaultReading,
)
from tests.verifier.conftest import NOW, database, lag_arn, lag_name, only, volume

ACCOUNT = "111111111111"


def _reading(
    vault: VaultReading, jobs: JobReading, baseline: dict[str, BaselineEntry] | None = None
) -> AccountReading:
    return AccountReading(
        ACCOUNT,
        [TierReading(Tier.AIR_GAPPED, lag_name(ACCOUNT), lag_arn(ACCOUNT), vault)],
        jobs,
        BaselineReading(entries=baseline),
    )


def _seen(arn: str, rtype: str, tier: Tier, hours: float) -> Sighting:
    return Sighting(arn, rtype, tier, NOW - timedelta(hours=hours))


def test_coverage_counts_the_baseline_per_tier_and_type_with_the_rpo() -> None:
    v1, v2, db = volume(ACCOUNT, 1), volume(ACCOUNT, 2), database(ACCOUNT, 1)
    vault = VaultReading(
        sightings=[
            _seen(v1, "EBS", Tier.AIR_GAPPED, 3),
            _seen(v2, "EBS", Tier.AIR_GAPPED, 80),  # stopped: in the baseline, not fresh
            _seen(db, "RDS", Tier.AIR_GAPPED, 5),
        ]
    )
    jobs = JobReading(
        sightings=[
            _seen(v1, "EBS", Tier.IN_REGION, 2),
            _seen(v2, "EBS", Tier.IN_REGION, 4),
            _seen(db, "RDS", Tier.IN_REGION, 6),
            _seen(v1, "EBS", Tier.CROSS_REGION, 2.5),
        ]
    )
    coverage = evaluate(only(ACCOUNT), _reading(vault, jobs), NOW).evidence["coverage"]
    assert coverage["air-gapped"] == {
        "measured": True,
        "baseline": 3,
        "fresh": 2,
        "rpo_hours": 5.0,
        "types": {
            "EBS": {"baseline": 2, "fresh": 1, "rpo_hours": 3.0},
            "RDS": {"baseline": 1, "fresh": 1, "rpo_hours": 5.0},
        },
    }
    assert coverage["in-region"]["fresh"] == 3
    assert coverage["in-region"]["rpo_hours"] == 6.0
    assert coverage["cross-region"]["types"] == {
        "EBS": {"baseline": 2, "fresh": 1, "rpo_hours": 2.5},
        "RDS": {"baseline": 1, "fresh": 0, "rpo_hours": None},
    }


def test_a_resource_gone_from_the_vault_stays_in_the_stored_baseline_as_not_fresh() -> None:
    v1, gone = volume(ACCOUNT, 1), volume(ACCOUNT, 9)
    stored = {gone: BaselineEntry("EBS", NOW - timedelta(days=2), Tier.AIR_GAPPED)}
    vault = VaultReading(sightings=[_seen(v1, "EBS", Tier.AIR_GAPPED, 1)])
    coverage = evaluate(only(ACCOUNT), _reading(vault, JobReading(), stored), NOW).evidence["coverage"]
    assert coverage["air-gapped"]["types"]["EBS"] == {"baseline": 2, "fresh": 1, "rpo_hours": 1.0}


def test_unread_inputs_are_not_measured_never_counted_as_covered() -> None:
    v1 = volume(ACCOUNT, 1)
    vault = VaultReading(sightings=[_seen(v1, "EBS", Tier.AIR_GAPPED, 1)])
    coverage = evaluate(
        only(ACCOUNT), _reading(vault, JobReading(error="ListBackupJobs: AccessDenied")), NOW
    ).evidence["coverage"]
    assert coverage["air-gapped"]["measured"] is True
    assert coverage["in-region"]["measured"] is False
    assert coverage["cross-region"]["measured"] is False
    # No vault read: no baseline to count against, so no coverage at all.
    unread = VaultReading(error="ListRecoveryPointsByBackupVault: AccessDenied")
    assert evaluate(only(ACCOUNT), _reading(unread, JobReading()), NOW).evidence["coverage"] is None
