"""The coverage job writes its report to the organisation's fleet bucket (DR_FLEET_BUCKET / --fleet-bucket)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dr_runtime.errors import ConfigError
from dr_runtime.operations import coverage
from dr_runtime.operations import inventory as inv
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.report import JobFailedError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT, REGION = "111111111111", "us-east-1"
FLEET = "dr-org-fleet-222222222222-us-east-1"
CONFIG = CoverageConfig(
    region=REGION, types=("S3",), account_id=ACCOUNT, publish_metrics=False, fleet_bucket=FLEET
)


def _report() -> coverage.CoverageReport:
    resources = [
        inv.Resource("S3", "arn:aws:s3:::orders", "orders", {}),
        inv.Resource("S3", "arn:aws:s3:::scratch", "scratch", {"exclude-disaster-recovery-backup": "true"}),
    ]
    backups = {"arn:aws:s3:::orders": NOW - timedelta(hours=2)}
    return coverage.build_report(inv.Inventory(resources=resources), backups, CONFIG, NOW)


def test_report_lands_under_the_accounts_own_prefix(clients: Any) -> None:
    clients("s3").create_bucket(Bucket=FLEET)
    summary = coverage.finish(_report(), CONFIG, clients)
    assert "fleet-bucket" in summary["done"]
    stored = clients("s3").get_object(Bucket=FLEET, Key=f"coverage/{ACCOUNT}/{REGION}/latest.json")
    document = json.loads(stored["Body"].read())
    assert document["account_id"] == ACCOUNT
    # The opted-out bucket counts as not covered: 1 of 2.
    assert document["types"]["S3"]["coverage_percent"] == 50.0
    # The fleet report tells an opt-out from other exclusions by the decision code.
    assert document["excluded"] == [
        {
            "type": "S3",
            "arn": "arn:aws:s3:::scratch",
            "name": "scratch",
            "reason": "exclude-disaster-recovery-backup=true",
            "decision": "opted-out",
        }
    ]


def test_a_report_that_cannot_be_written_fails_the_run(clients: Any) -> None:
    with pytest.raises(JobFailedError, match="fleet-bucket"):
        coverage.finish(_report(), CONFIG, clients)


def test_not_published_without_a_fleet_bucket(clients: Any) -> None:
    config = CoverageConfig(region=REGION, types=("S3",), account_id=ACCOUNT, publish_metrics=False)
    summary = coverage.finish(_report(), config, clients)
    assert "fleet-bucket" not in summary["done"]
    assert clients("s3").list_buckets()["Buckets"] == []


def test_fleet_bucket_needs_the_account_id() -> None:
    with pytest.raises(ConfigError) as caught:
        CoverageConfig(region=REGION, fleet_bucket=FLEET)
    assert str(caught.value) == (
        f"--fleet-bucket (DR_FLEET_BUCKET) = '{FLEET}' needs --account-id (DR_ACCOUNT_ID): the report is "
        "written under the account's own prefix"
    )


def test_flag_and_variable() -> None:
    env = {"AWS_REGION": REGION, "DR_ACCOUNT_ID": ACCOUNT, "DR_FLEET_BUCKET": FLEET}
    assert CoverageConfig.from_settings(env).fleet_bucket == FLEET
    args = coverage.parser().parse_args(["--fleet-bucket", "other-fleet-bucket"])
    assert CoverageConfig.from_settings(env, args).fleet_bucket == "other-fleet-bucket"
