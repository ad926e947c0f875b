"""The verifier's run over a fleet: what it reads, what it finds, what it keeps and what it publishes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from dr_runtime.report import JobFailedError
from dr_runtime.verifier import evidence_layout
from dr_runtime.verifier.cli import report
from dr_runtime.verifier.evaluation import Kind, TierFigures
from dr_runtime.verifier.readings import BaselineEntry, Tier
from dr_runtime.verifier.verify import RunResult, finish, run
from tests.verifier.conftest import (
    ADMIN,
    BUCKET,
    FLEET,
    NOW,
    Fleet,
    lag_arn,
    lag_name,
    make_config,
    volume,
)

ACCOUNTS = sorted(FLEET)
STAGING = "333333333333"
PAYMENTS = "555555555555"


def kinds(result: RunResult) -> dict[str, list[str]]:
    return {v.account_id: sorted(f.kind.value for f in v.findings) for v in result.verdicts}


def metrics(fleet: Fleet) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[float]]:
    """Every datum moto received, by metric name and dimensions."""
    cloudwatch = fleet.own("cloudwatch")
    found: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
    for metric in cloudwatch.list_metrics(Namespace="AwsDrBackup")["Metrics"]:
        dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
        stats = cloudwatch.get_metric_statistics(
            Namespace="AwsDrBackup",
            MetricName=metric["MetricName"],
            Dimensions=metric.get("Dimensions", []),
            StartTime=NOW - timedelta(days=30),
            EndTime=NOW + timedelta(days=3650),
            Period=60,
            Statistics=["Maximum"],
        )
        found[(metric["MetricName"], dims)] = [point["Maximum"] for point in stats["Datapoints"]]
    return found


def stored(fleet: Fleet, key: str) -> dict[str, Any]:
    body = fleet.own("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    loaded: dict[str, Any] = json.loads(body)
    return loaded


def store_baseline(fleet: Fleet, account: str, entries: dict[str, BaselineEntry]) -> None:
    fleet.own("s3").put_object(
        Bucket=BUCKET,
        Key=evidence_layout.baseline_key("verifier/", account),
        Body=evidence_layout.baseline_document(account, NOW - timedelta(hours=6), entries),
    )


def test_a_healthy_fleet_has_no_findings_and_its_evidence_is_kept(fleet: Fleet) -> None:
    for account in ACCOUNTS:
        fleet.healthy_account(account)
    topic = fleet.topic()
    config = make_config(evidence_bucket=BUCKET, topic_arn=topic)
    places = fleet.places()

    result = run(config, places, NOW)
    summary = finish(result, config, places)

    assert kinds(result) == {account: [] for account in ACCOUNTS}
    assert summary["done"] == ACCOUNTS
    assert summary["failed"] == {}
    assert fleet.messages() == []
    for verdict in result.verdicts:
        # today's 07:00 copy at 12:00
        assert verdict.tiers == {Tier.AIR_GAPPED: TierFigures(5.0, 5, 5)}

    # Evidence: per account x resource x tier, the newest copy and whether it is fresh.
    evidence = stored(fleet, evidence_layout.latest_key("verifier/", STAGING))
    assert evidence["vaults"]["air-gapped"] == {
        "name": lag_name(STAGING),
        "arn": lag_arn(STAGING),
        "state": "read",
        "usable_recovery_points": 35,
        "unusable_recovery_points": 0,
        "description": {
            "type": "LOGICALLY_AIR_GAPPED_BACKUP_VAULT",
            "locked": True,
            "min_retention_days": 7,
            "max_retention_days": 35,
            "mpa_approval_team_arn": None,
        },
    }
    rows = {row["resource_arn"]: row["tiers"] for row in evidence["resources"]}
    assert sorted(rows) == [volume(STAGING, n) for n in range(5)]
    assert rows[volume(STAGING, 0)] == {
        "air-gapped": {"newest": "2025-06-02T07:00:00Z", "fresh": True},
        "air-gapped-copy-job": {"newest": "2025-06-02T07:40:00Z", "fresh": True},
        "cross-region": {"newest": "2025-06-02T07:30:00Z", "fresh": True},
        "in-region": {"newest": "2025-06-02T07:00:00Z", "fresh": True},
    }
    assert stored(fleet, evidence_layout.run_key("verifier/", STAGING, NOW)) == evidence
    # Each upload carries its checksum, as a bucket with Object Lock requires.
    head = fleet.own("s3").head_object(
        Bucket=BUCKET, Key=evidence_layout.latest_key("verifier/", STAGING), ChecksumMode="ENABLED"
    )
    assert head.get("ChecksumSHA256")
    baseline = stored(fleet, evidence_layout.baseline_key("verifier/", STAGING))
    assert sorted(baseline["resources"]) == [volume(STAGING, n) for n in range(5)]

    seen = metrics(fleet)
    assert seen[("VerifierFindings", ())] == [0.0]
    assert seen[("VerifierFindings", (("Kind", "stale"),))] == [0.0]
    assert seen[("AirGappedCopyAgeHours", (("AccountId", STAGING),))] == [5.0]
    assert seen[("FreshAirGappedResources", (("AccountId", STAGING),))] == [5.0]


def test_every_listing_is_followed_over_its_pages_and_asks_for_one_account(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    config = make_config(fleet=tuple(a for a in make_config().fleet if a.account_id == STAGING))

    run(config, fleet.places(), NOW)

    vault_calls = [p for name, p in fleet.isolated.calls if name == "ListRecoveryPointsByBackupVault"]
    assert len(vault_calls) == 18  # 35 points, 2 per page
    assert {p["BackupVaultName"] for p in vault_calls} == {lag_name(STAGING)}
    job_calls = [(name, p) for name, p in fleet.admin.calls]
    assert {name for name, _ in job_calls} == {"ListBackupJobs", "ListCopyJobs"}
    for _name, params in job_calls:
        assert params["ByAccountId"] == STAGING
        assert params["ByState"] == "COMPLETED"
        assert params["ByCreatedAfter"] == NOW - timedelta(minutes=1920)


@pytest.mark.parametrize(("age_hours", "stale"), [(31.9, False), (32.1, True)])
def test_an_account_whose_newest_copy_is_late_is_stale(fleet: Fleet, age_hours: float, stale: bool) -> None:
    for account in ACCOUNTS:
        if account != STAGING:
            fleet.healthy_account(account)
    for number in range(3):
        fleet.isolated.add_point(STAGING, volume(STAGING, number), NOW - timedelta(hours=age_hours))
        # Backups go on in-Region: the copy actions were dropped (or the air gap refused the copies).
        fleet.admin.add_backup_job(STAGING, volume(STAGING, number), NOW - timedelta(hours=5))
    topic = fleet.topic()
    config = make_config(topic_arn=topic)

    result = run(config, fleet.places(), NOW)

    expected = ["stale"] if stale else []
    assert kinds(result) == {ACCOUNTS[0]: [], STAGING: expected, PAYMENTS: []}
    messages = fleet.messages()
    if not stale:
        assert messages == []
        return
    (sent,) = messages
    assert sent["MessageAttributes"]["account_id"]["StringValue"] == STAGING
    assert json.loads(sent["MessageAttributes"]["finding_kinds"]["StringValue"]) == ["stale"]
    assert "is 32.1 h old" in sent["Body"]
    assert "older than 1920 minutes (interval 1440 + completion window 360 + margin 120)" in sent["Body"]
    assert (
        "3 resource(s) backed up in-Region, 0 copied cross-Region, 0 copied to the air-gapped vault"
        in (sent["Body"])
    )


@pytest.mark.parametrize(("fresh", "drop"), [(8, False), (7, True)])
def test_a_mass_drop_against_the_stored_baseline(fleet: Fleet, fresh: int, drop: bool) -> None:
    """Ten resources in the baseline; the air-gapped copies of the others have already expired from the
    vault, so only the stored baseline remembers them. Down to 8 is 20 % (allowed), down to 7 is 30 %."""
    fleet.healthy_account(STAGING, resources=fresh)
    store_baseline(
        fleet,
        STAGING,
        {volume(STAGING, n): BaselineEntry("EBS", NOW - timedelta(days=9)) for n in range(10)},
    )
    config = make_config(
        fleet=tuple(a for a in make_config().fleet if a.account_id == STAGING), evidence_bucket=BUCKET
    )

    result = run(config, fleet.places(), NOW)

    (verdict,) = result.verdicts
    figures = verdict.tiers[Tier.AIR_GAPPED]
    assert (figures.fresh_resources, figures.baseline_resources) == (fresh, 10)
    assert [f.kind for f in verdict.findings] == ([Kind.MASS_DROP] if drop else [])
    if drop:
        assert verdict.findings[0].message.startswith(
            f"7 of the 10 resource(s) of {STAGING} with an air-gapped copy in the last 14 days have a "
            "fresh one: 30 % dropped, more than 20 %; without one: "
            f"{volume(STAGING, 7)}, {volume(STAGING, 8)}, {volume(STAGING, 9)}"
        )
    # The stored baseline keeps the missing resources until they are older than the baseline's days.
    kept = stored(fleet, evidence_layout.baseline_key("verifier/", STAGING))["resources"]
    assert len(kept) == 10


def test_without_a_stored_baseline_the_vault_listing_is_the_baseline(fleet: Fleet) -> None:
    """A mass opt-out three days ago: the vault still holds the opted-out resources' older copies."""
    fleet.healthy_account(STAGING, resources=2)
    for number in range(2, 6):
        fleet.copy_of(STAGING, volume(STAGING, number), NOW - timedelta(days=3))
    config = make_config(fleet=tuple(a for a in make_config().fleet if a.account_id == STAGING))

    result = run(config, fleet.places(), NOW)

    assert kinds(result) == {STAGING: ["mass-drop"]}
    assert "2 of the 6 resource(s)" in result.findings[0].message


def test_a_baseline_entry_older_than_the_baseline_days_is_forgotten(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING, resources=2)
    store_baseline(fleet, STAGING, {volume(STAGING, 9): BaselineEntry("EBS", NOW - timedelta(days=15))})
    config = make_config(
        fleet=tuple(a for a in make_config().fleet if a.account_id == STAGING), evidence_bucket=BUCKET
    )

    result = run(config, fleet.places(), NOW)

    assert kinds(result) == {STAGING: []}
    kept = stored(fleet, evidence_layout.baseline_key("verifier/", STAGING))["resources"]
    assert sorted(kept) == [volume(STAGING, 0), volume(STAGING, 1)]


def test_an_account_without_a_vault_or_without_copies(fleet: Fleet) -> None:
    fleet.healthy_account(ACCOUNTS[0])
    fleet.isolated.vaults[lag_name(STAGING)] = []  # the vault exists, nothing was ever copied
    fleet.isolated.add_point(STAGING, volume(STAGING, 1), NOW - timedelta(hours=2), status="CREATING")
    topic = fleet.topic()
    config = make_config(topic_arn=topic)

    result = run(config, fleet.places(), NOW)

    assert kinds(result) == {ACCOUNTS[0]: [], STAGING: ["no-copies"], PAYMENTS: ["no-vault"]}
    by_kind = {f.kind: f.message for f in result.findings}
    assert by_kind[Kind.NO_VAULT].startswith(
        f"no vault {lag_name(PAYMENTS)} in the isolated account 222222222222: {PAYMENTS} has no "
        "air-gapped copies"
    )
    assert "(1 recovery point(s) in a state a restore cannot use)" in by_kind[Kind.NO_COPIES]
    assert {m["MessageAttributes"]["account_id"]["StringValue"] for m in fleet.messages()} == {
        STAGING,
        PAYMENTS,
    }
    # Counted as found, not as failed to read: both accounts' inputs were read.
    assert result.summary.failed == {}


def test_access_denied_on_one_vault_is_a_finding_and_fails_the_run(fleet: Fleet) -> None:
    for account in ACCOUNTS:
        fleet.healthy_account(account)
    fleet.isolated.denied[lag_name(STAGING)] = "AccessDeniedException"
    store_baseline(fleet, STAGING, {volume(STAGING, 0): BaselineEntry("EBS", NOW - timedelta(days=1))})
    topic = fleet.topic()
    config = make_config(topic_arn=topic, evidence_bucket=BUCKET)
    places = fleet.places()

    result = run(config, places, NOW)
    with pytest.raises(JobFailedError, match=f"verifier: 1 failed: {STAGING}"):
        finish(result, config, places)

    assert kinds(result) == {ACCOUNTS[0]: [], STAGING: ["unreadable"], PAYMENTS: []}
    (finding,) = result.findings
    assert finding.message == (
        f"vault {lag_name(STAGING)}: access denied: backup:ListRecoveryPointsByBackupVault "
        f"(AccessDeniedException); the checks that need it were not made for {STAGING}"
    )
    assert result.summary.done == [ACCOUNTS[0], PAYMENTS]
    (sent,) = fleet.messages()
    assert sent["MessageAttributes"]["account_id"]["StringValue"] == STAGING
    # Nothing about the account's copies is published as if it were known, and its baseline is kept.
    seen = metrics(fleet)
    assert ("AirGappedCopyAgeHours", (("AccountId", STAGING),)) not in seen
    assert ("FreshAirGappedResources", (("AccountId", STAGING),)) not in seen
    assert seen[("VerifierFindings", (("Kind", "unreadable"),))] == [1.0]
    assert seen[("FailedItems", (("Job", "verifier"),))] == [1.0]
    kept = stored(fleet, evidence_layout.baseline_key("verifier/", STAGING))
    assert kept["updated_at"] == "2025-06-02T06:00:00Z"
    latest = stored(fleet, evidence_layout.latest_key("verifier/", STAGING))
    assert latest["vaults"]["air-gapped"]["state"] == "unreadable"


def test_unreadable_job_listings_are_a_finding_too(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    fleet.admin.denied["ListCopyJobs"] = "AccessDeniedException"
    config = make_config(fleet=tuple(a for a in make_config().fleet if a.account_id == STAGING))

    result = run(config, fleet.places(), NOW)

    assert kinds(result) == {STAGING: ["unreadable"]}
    assert result.findings[0].message.startswith("copy jobs: access denied: backup:ListCopyJobs")
    assert result.summary.failed == {STAGING: result.findings[0].message}
    # The vault was read: its figures are still known and published.
    assert result.verdicts[0].tiers[Tier.AIR_GAPPED].fresh_resources == 5


def test_a_corrupt_baseline_is_unreadable_not_empty(fleet: Fleet) -> None:
    fleet.healthy_account(STAGING)
    fleet.own("s3").put_object(
        Bucket=BUCKET, Key=evidence_layout.baseline_key("verifier/", STAGING), Body=b"{not json"
    )
    config = make_config(
        fleet=tuple(a for a in make_config().fleet if a.account_id == STAGING), evidence_bucket=BUCKET
    )

    result = run(config, fleet.places(), NOW)

    assert kinds(result) == {STAGING: ["unreadable"]}
    assert result.findings[0].message.startswith(
        f"baseline s3://{BUCKET}/verifier/accounts/{STAGING}/baseline.json: not JSON"
    )
    # The corrupt object is left for a person to look at, not overwritten with a fresh start.
    raw = fleet.own("s3").get_object(Bucket=BUCKET, Key=evidence_layout.baseline_key("verifier/", STAGING))
    assert raw["Body"].read() == b"{not json"


def test_a_failed_publish_fails_the_run(fleet: Fleet) -> None:
    config = make_config(
        fleet=tuple(a for a in make_config().fleet if a.account_id == STAGING),
        topic_arn=f"arn:aws:sns:us-east-1:{ADMIN}:no-such-topic",
    )

    result = run(config, fleet.places(), NOW)

    assert kinds(result) == {STAGING: ["no-vault"]}
    assert list(result.summary.failed) == [f"publish:{STAGING}"]


@pytest.mark.parametrize(
    ("place", "operation", "what"),
    [
        ("isolated", "ListRecoveryPointsByBackupVault", "vault "),
        ("isolated", "DescribeBackupVault", "description of vault"),
        ("admin", "ListBackupJobs", "backup jobs: "),
    ],
)
def test_throttling_after_the_retries_is_named_per_account_never_ok(
    fleet: Fleet, place: str, operation: str, what: str
) -> None:
    """A listing still throttled after the SDK's retries is that account's ``unreadable``: in the report,
    in its alert, and in the failed count; the other accounts are judged as usual."""
    for account in ACCOUNTS:
        fleet.healthy_account(account)
    fake = fleet.isolated if place == "isolated" else fleet.admin
    fake.denied[operation] = "ThrottlingException"
    topic = fleet.topic()
    config = make_config(topic_arn=topic, evidence_bucket=BUCKET)
    places = fleet.places()

    result = run(config, places, NOW)
    with pytest.raises(JobFailedError, match=f"verifier: 3 failed: {', '.join(ACCOUNTS)}"):
        finish(result, config, places)

    assert kinds(result) == {account: ["unreadable"] for account in ACCOUNTS}
    for verdict in result.verdicts:
        (finding,) = verdict.findings
        assert what in finding.message
        assert (
            f"throttled by AWS after the SDK's retries: {operation} (ThrottlingException)" in finding.message
        )
        assert verdict.account_id in finding.message
    sent = {m["MessageAttributes"]["account_id"]["StringValue"]: m["Body"] for m in fleet.messages()}
    assert sorted(sent) == ACCOUNTS
    assert all("unreadable" in body and "throttled" in body for body in sent.values())
    assert " ok" not in report(result)
