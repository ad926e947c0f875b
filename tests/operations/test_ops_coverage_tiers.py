"""Coverage per copy tier (in-region, cross-region, air-gapped), its RPO, and opt-outs never reading 100 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dr_runtime.errors import ConfigError
from dr_runtime.operations import copy_tiers as tiers
from dr_runtime.operations import coverage
from dr_runtime.operations import inventory as inv
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.operations.selection_verdict import SelectionConfig
from dr_runtime.report import JobFailedError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT, ISOLATED, REGION, DR = "111111111111", "333333333333", "us-east-1", "us-west-2"
OPT_OUT = SelectionConfig.opt_out_tag
XREGION = SelectionConfig.cross_region_opt_out_tag
CONFIG = CoverageConfig(
    region=REGION,
    types=("DynamoDB", "EBS"),
    account_id=ACCOUNT,
    publish_metrics=False,
    dr_region=DR,
    isolated_account=ISOLATED,
    selection=SelectionConfig(kubernetes_clusters=("prod",)),
)
WHERE = tiers.Destinations(ACCOUNT, DR, ISOLATED)
IR, XR, AG = tiers.CopyTier.IN_REGION, tiers.CopyTier.CROSS_REGION, tiers.CopyTier.AIR_GAPPED


def table(name: str, tags: dict[str, str] | None = None) -> inv.Resource:
    return inv.Resource("DynamoDB", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}", name, tags or {})


def volume(name: str, tags: dict[str, str] | None = None) -> inv.Resource:
    return inv.Resource("EBS", f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{name}", name, tags or {})


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def copy_job(arn: str, vault: str, when: datetime, state: str = "COMPLETED") -> dict[str, Any]:
    return {"ResourceArn": arn, "DestinationBackupVaultArn": vault, "CreationDate": when, "State": state}


DR_VAULT = f"arn:aws:backup:{DR}:{ACCOUNT}:backup-vault:dr-ddb"
LAG_VAULT = f"arn:aws:backup:{REGION}:{ISOLATED}:backup-vault:dr-{ACCOUNT}-air-gapped"


def test_destination_vaults_are_sorted_into_tiers_and_nothing_else_counts() -> None:
    assert WHERE.tier_of(DR_VAULT) is XR
    assert WHERE.tier_of(LAG_VAULT) is AG
    assert WHERE.tier_of(f"arn:aws:backup:{REGION}:{ISOLATED}:backup-vault:dr-{ACCOUNT}-locked") is AG
    # Same account, the job's own Region; another account; another Region; not a vault ARN.
    assert WHERE.tier_of(f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:dr-ddb") is None
    assert WHERE.tier_of(f"arn:aws:backup:{DR}:444444444444:backup-vault:x") is None
    assert WHERE.tier_of(f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:x") is None
    assert WHERE.tier_of("not-an-arn") is None

    a, b = table("a").arn, table("b").arn
    found = tiers.newest_copies(
        [
            copy_job(a, DR_VAULT, hours_ago(30)),
            copy_job(a, DR_VAULT, hours_ago(3)),
            copy_job(a, LAG_VAULT, hours_ago(2), state="FAILED"),
            copy_job(b, LAG_VAULT, hours_ago(5)),
            copy_job(b, f"arn:aws:backup:{DR}:444444444444:backup-vault:x", hours_ago(1)),
        ],
        WHERE,
    )
    assert found == {XR: {a: hours_ago(3)}, AG: {b: hours_ago(5)}}


def _report(
    resources: list[inv.Resource], backups: dict[str, datetime], copies: Any
) -> coverage.CoverageReport:
    return coverage.build_report(inv.Inventory(resources=resources), backups, CONFIG, NOW, copies=copies)


def test_each_tier_on_its_own_with_its_rpo() -> None:
    plain, xregion, optout, stale = (
        table("plain"),
        table("xr", {XREGION: "true"}),
        table("out", {OPT_OUT: "true"}),
        table("stale"),
    )
    owned = volume("k8s", {"kubernetes.io/cluster/prod": "owned"})
    backups = {
        plain.arn: hours_ago(2),
        xregion.arn: hours_ago(4),
        optout.arn: hours_ago(1),
        stale.arn: hours_ago(30),
    }
    copies = {
        XR: {plain.arn: hours_ago(3), xregion.arn: hours_ago(3), optout.arn: hours_ago(2)},
        AG: {plain.arn: hours_ago(6), xregion.arn: hours_ago(10), stale.arn: hours_ago(40)},
    }
    report = _report([plain, xregion, optout, stale, owned], backups, copies)
    ddb = report.per_type["DynamoDB"].tiers

    # Four eligible tables: the opted-out one counts, as not covered, even with points of its own.
    assert (ddb[IR].covered, ddb[IR].eligible, ddb[IR].percent) == (2, 4, 50.0)
    # Cross-Region: the table opted out of the cross-Region copy is not covered there...
    assert (ddb[XR].covered, ddb[XR].eligible, ddb[XR].percent) == (1, 4, 25.0)
    # ...but it is in the air gap; the stale table's 40 h old copy is too old.
    assert (ddb[AG].covered, ddb[AG].eligible, ddb[AG].percent) == (2, 4, 50.0)
    # RPO: the oldest of the covered resources' newest points; newest: the newest point.
    assert ddb[AG].as_dict(NOW)["rpo_hours"] == 10.0
    assert ddb[IR].as_dict(NOW)["rpo_hours"] == 4.0
    assert ddb[IR].as_dict(NOW)["newest_age_hours"] == 2.0
    # The Kubernetes-owned volume is the one exclusion that is not eligible: nothing left, 100 %.
    ebs = report.per_type["EBS"]
    assert (ebs.total, ebs.eligible, ebs.tiers[AG].percent) == (1, 0, 100.0)

    document = report.as_dict()
    assert document["schema"] == coverage.REPORT_SCHEMA
    assert document["tiers"]["air-gapped"]["coverage_percent"] == 50.0
    assert document["tiers"]["cross-region"]["covered"] == 1
    assert document["types"]["DynamoDB"]["tiers"]["in-region"]["coverage_percent"] == 50.0
    assert document["tiers_not_measured"] is None


def test_everything_opted_out_reads_zero_in_every_tier_not_100() -> None:
    tables = [table(f"t{i}", {OPT_OUT: "true"}) for i in range(3)]
    points = {t.arn: hours_ago(1) for t in tables}
    report = _report(tables, points, {XR: points, AG: points})

    counts = report.per_type["DynamoDB"]
    assert counts.coverage_percent == 0.0
    assert {tier: f.percent for tier, f in counts.tiers.items()} == {IR: 0.0, XR: 0.0, AG: 0.0}
    assert [e.decision for e in report.excluded] == ["opted-out"] * 3
    # The same tables not opted out: 100 % in every tier.
    plain = [table(f"t{i}") for i in range(3)]
    healthy = _report(plain, points, {XR: points, AG: points}).per_type["DynamoDB"]
    assert {tier: f.percent for tier, f in healthy.tiers.items()} == {IR: 100.0, XR: 100.0, AG: 100.0}


def test_copy_tiers_not_measured_are_never_100() -> None:
    plain = table("plain")
    report = coverage.build_report(
        inv.Inventory(resources=[plain]), {plain.arn: hours_ago(1)}, CONFIG, NOW, tiers_not_measured="why"
    )
    totals = report.tier_totals()
    assert totals[IR].percent == 100.0
    assert totals[XR].percent is None
    assert totals[AG].percent is None
    assert report.as_dict()["tiers"]["air-gapped"]["coverage_percent"] is None
    assert report.as_dict()["tiers_not_measured"] == "why"
    names = {
        (m["MetricName"], tuple(d["Value"] for d in m["Dimensions"]))
        for m in coverage.metric_data(report)
        if "Dimensions" in m
    }
    assert ("TierCoveragePercent", ("in-region",)) in names
    assert not any(n == "TierCoveragePercent" and "air-gapped" in dims for n, dims in names)
    assert "Copy tiers not measured: why" in coverage.render_table(report)


def test_tier_metrics_per_type_and_in_total() -> None:
    plain = table("plain")
    points = {plain.arn: hours_ago(5)}
    report = _report([plain], points, {XR: points, AG: {}})
    metrics = {
        (m["MetricName"], tuple(d["Value"] for d in m.get("Dimensions", []))): m["Value"]
        for m in coverage.metric_data(report)
    }
    assert metrics[("TierCoveragePercent", ("DynamoDB", "cross-region"))] == 100.0
    assert metrics[("TierCoveragePercent", ("DynamoDB", "air-gapped"))] == 0.0
    assert metrics[("TierCoveragePercent", ("air-gapped",))] == 0.0
    assert metrics[("TierRpoHours", ("DynamoDB", "cross-region"))] == 5.0
    # No covered resource, no RPO datapoint (an alarm sees missing data, not a good value).
    assert ("TierRpoHours", ("DynamoDB", "air-gapped")) not in metrics
    table_text = coverage.render_table(report)
    assert "1/1 100.00% RPO 5.0 h" in table_text
    assert "0/1 0.00%" in table_text


def _ddb(clients: Any, *names: str) -> None:
    for name in names:
        clients("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def test_collect_lists_the_accounts_copy_jobs_over_every_page(clients: Any) -> None:
    _ddb(clients, "orders")
    arn = table("orders").arn
    stub = clients.stub("backup")
    stub.add_response(
        "list_protected_resources",
        {"Results": [{"ResourceArn": arn, "LastBackupTime": hours_ago(2)}]},
        {"MaxResults": 1000},
    )
    since = NOW - timedelta(hours=tiers.COPY_LOOKBACK_HOURS)
    params = {"MaxResults": 1000, "ByState": "COMPLETED", "ByCreatedAfter": since}
    stub.add_response(
        "list_copy_jobs", {"CopyJobs": [copy_job(arn, DR_VAULT, hours_ago(2))], "NextToken": "p2"}, params
    )
    stub.add_response(
        "list_copy_jobs",
        {"CopyJobs": [copy_job(arn, LAG_VAULT, hours_ago(3))]},
        {**params, "NextToken": "p2"},
    )
    config = CoverageConfig(
        region=REGION,
        types=("DynamoDB",),
        account_id=ACCOUNT,
        publish_metrics=False,
        dr_region=DR,
        isolated_account=ISOLATED,
    )

    report = coverage.collect(config, clients, NOW)

    assert {tier.value: f.percent for tier, f in report.per_type["DynamoDB"].tiers.items()} == {
        "in-region": 100.0,
        "cross-region": 100.0,
        "air-gapped": 100.0,
    }
    summary = coverage.finish(report, config, clients)
    assert coverage.COPY_JOBS in summary["done"]


def test_an_unreadable_copy_job_listing_fails_the_run_and_measures_nothing(clients: Any) -> None:
    _ddb(clients, "orders")
    stub = clients.stub("backup")
    stub.add_response("list_protected_resources", {"Results": []})
    stub.add_client_error("list_copy_jobs", "AccessDeniedException", "not allowed", 403)
    config = CoverageConfig(
        region=REGION,
        types=("DynamoDB",),
        account_id=ACCOUNT,
        publish_metrics=False,
        dr_region=DR,
        isolated_account=ISOLATED,
    )

    report = coverage.collect(config, clients, NOW)

    assert report.tiers_not_measured is not None
    assert "AccessDenied" in report.tiers_not_measured
    assert report.tier_totals()[AG].percent is None
    with pytest.raises(JobFailedError):
        coverage.finish(report, config, clients)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DR_COVERAGE_DR_REGION": "us-west-2"},
            "--dr-region (DR_COVERAGE_DR_REGION) needs --isolated-account",
        ),
        (
            {"DR_COVERAGE_ISOLATED_ACCOUNT": ISOLATED},
            "--isolated-account (DR_COVERAGE_ISOLATED_ACCOUNT) needs --dr-region",
        ),
        (
            {"DR_COVERAGE_DR_REGION": "west", "DR_COVERAGE_ISOLATED_ACCOUNT": ISOLATED},
            "= 'west': must be a Region name",
        ),
        (
            {"DR_COVERAGE_DR_REGION": REGION, "DR_COVERAGE_ISOLATED_ACCOUNT": ISOLATED},
            "other than the job's Region us-east-1",
        ),
        (
            {"DR_COVERAGE_DR_REGION": DR, "DR_COVERAGE_ISOLATED_ACCOUNT": "12"},
            "(DR_COVERAGE_ISOLATED_ACCOUNT) = '12': must be 12 digits",
        ),
        (
            {"DR_COVERAGE_DR_REGION": DR, "DR_COVERAGE_ISOLATED_ACCOUNT": ACCOUNT},
            "not the workload account itself",
        ),
    ],
)
def test_bad_copy_tier_settings_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CoverageConfig.from_settings({"AWS_REGION": REGION, "DR_ACCOUNT_ID": ACCOUNT, **env})


def test_good_copy_tier_settings_are_read() -> None:
    config = CoverageConfig.from_settings(
        {
            "AWS_REGION": REGION,
            "DR_ACCOUNT_ID": ACCOUNT,
            "DR_COVERAGE_DR_REGION": DR,
            "DR_COVERAGE_ISOLATED_ACCOUNT": ISOLATED,
        }
    )
    assert (config.dr_region, config.isolated_account) == (DR, ISOLATED)
