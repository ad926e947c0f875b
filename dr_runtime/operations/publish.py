"""Publishing a coverage report to the organisation's fleet bucket, where the fleet report reads it.

The key is ``coverage/<account>/<region>/latest.json`` (``dr_runtime.fleet_report.bucket_layout``), the one the
fleet bucket's policy lets this account write; the document is the report itself plus ``account_id``,
which the fleet report checks against the key. Each run overwrites ``latest.json``; the bucket's
versioning keeps the earlier ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dr_runtime.fleet_report import bucket_layout as layout

CONTENT_TYPE = "application/json"
FLEET_BUCKET_ENV = "DR_FLEET_BUCKET"
"""The coverage job's setting naming the fleet bucket (the organisation stack's ``fleetBucketName``)."""
SUMMARY_ITEM = "fleet-bucket"
"""How the run summary names the publishing step."""


def document(report: Mapping[str, Any], account: str) -> bytes:
    return json.dumps({"account_id": account, **report}, indent=2, sort_keys=True).encode("utf-8")


def publish(s3: Any, bucket: str, account: str, region: str, report: Mapping[str, Any]) -> str:
    """Writes the report; returns its ``s3://`` location. AWS errors propagate to the caller's summary."""
    key = layout.coverage_key(account, region)
    s3.put_object(Bucket=bucket, Key=key, Body=document(report, account), ContentType=CONTENT_TYPE)
    return f"s3://{bucket}/{key}"


def put_statement(bucket: str, account: str) -> dict[str, Any]:
    """The coverage job's IAM grant: its own account's prefix of the fleet bucket, nothing else."""
    return {
        "Sid": "PublishToFleetBucket",
        "Effect": "Allow",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/{layout.COVERAGE_PREFIX}/{account}/*",
    }
