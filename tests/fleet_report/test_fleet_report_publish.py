"""The coverage job's side of the fleet bucket: what it writes is what the fleet report reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dr_runtime.fleet_report import merge
from dr_runtime.fleet_report.report_sources import from_bucket
from dr_runtime.operations.publish import publish, put_statement
from tests.aws_clients import fake_credentials
from tests.fleet_report.reports import DRIFT, FULL, NOW, REGION, fleet_reports

BUCKET = "dr-org-fleet-222222222222-us-east-1"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_credentials(monkeypatch)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_published_reports_are_read_back_by_the_fleet_report(s3: Any) -> None:
    reports = fleet_reports()
    for account in (FULL, DRIFT):
        where = publish(s3, BUCKET, account, REGION, reports[account])
        assert where == f"s3://{BUCKET}/coverage/{account}/{REGION}/latest.json"
    stored = s3.get_object(Bucket=BUCKET, Key=f"coverage/{DRIFT}/{REGION}/latest.json")
    assert stored["ContentType"] == "application/json"
    assert json.loads(stored["Body"].read())["account_id"] == DRIFT
    fleet = merge.merge(from_bucket(s3, BUCKET), NOW)
    assert {a.account: a.status for a in fleet.accounts} == {FULL: merge.OK, DRIFT: merge.BELOW_100}
    assert fleet.totals["EBS"] == merge.Counts(total=4, selected=3, recent=2)


def test_a_report_published_under_another_accounts_prefix_is_refused(s3: Any) -> None:
    # What the bucket policy prevents in AWS, the fleet report also catches: the account in the document.
    s3.put_object(
        Bucket=BUCKET,
        Key=f"coverage/{DRIFT}/{REGION}/latest.json",
        Body=json.dumps({"account_id": FULL, **fleet_reports()[FULL]}),
    )
    [entry] = merge.merge(from_bucket(s3, BUCKET), NOW).accounts
    assert entry.status == merge.UNREADABLE
    assert f"the report is for account {FULL}, not {DRIFT}" in entry.problems[0]


def test_iam_grant_is_the_accounts_own_prefix() -> None:
    assert put_statement(BUCKET, DRIFT) == {
        "Sid": "PublishToFleetBucket",
        "Effect": "Allow",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/coverage/{DRIFT}/*",
    }
