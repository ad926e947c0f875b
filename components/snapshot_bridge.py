"""What the snapshot bridges share (``opensearch_bridge.py``, ``memorydb_bridge.py``): their Args and bucket lifecycle.

The bridges cover services AWS Backup does not protect (OpenSearch, MemoryDB). Each bridge owns one bucket in the workload account and a ScheduledJob that exports the service's own
snapshots into it. The buckets carry no exclusion tag, so the core program's S3 plans select them and
copy them cross-region and into the air-gapped vault like any other bucket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.config import bridge_bucket_name
from components.private_bucket import PrivateBucket, Rule
from components.scheduled_job import ScheduledJob
from dr_model import backup_selection

RAW_SNAPSHOT_DAYS = 2
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class BridgeArgs:
    """Shared settings; ``cluster_name`` names the workload (e.g. the Kubernetes cluster) the bucket serves."""

    prefix: str
    cluster_name: str
    account_id: str
    region: str = "us-east-1"
    tags: Mapping[str, str] = field(default_factory=dict)
    log_retention_days: int = 30
    schedule_expression: str = ""
    timeout_seconds: int = 300
    opt_out_tag: str = backup_selection.DEFAULT_OPT_OUT_TAG
    """The stack's opt-out tag key (``optOutTags.all``): the bridge bucket must not carry it."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d{12}", self.account_id):
            raise ValueError(f"account_id must be 12 digits, got {self.account_id!r}")
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            raise ValueError(f"region must look like us-east-1, got {self.region!r}")
        if self.opt_out_tag in self.tags:
            raise ValueError(
                f"tags must not contain {self.opt_out_tag!r}: the bridge bucket exists to be selected by the "
                "S3 plans"
            )

    def bucket_name(self, service: str) -> str:
        name = bridge_bucket_name(self.prefix, self.cluster_name, service)
        if not _BUCKET_NAME.match(name) or "--" in name:
            raise ValueError(
                f"bucket name {name!r} (from prefix and cluster_name) must be 3-63 lowercase letters, digits "
                "or single hyphens"
            )
        return name

    def function_name(self, service: str) -> str:
        return f"{self.prefix}-{self.cluster_name}-{service}-bridge"


def raw_snapshot_lifecycle() -> list[Rule]:
    return [
        Rule(
            id="expire-raw-snapshots",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=RAW_SNAPSHOT_DAYS),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=RAW_SNAPSHOT_DAYS
            ),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=1
            ),
        ),
        # Days and ExpiredObjectDeleteMarker cannot share one rule.
        Rule(
            id="remove-expired-delete-markers",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                expired_object_delete_marker=True
            ),
        ),
    ]


class SnapshotBridge(pulumi.ComponentResource):
    """What every bridge exposes: its bucket and the scheduled job that fills it."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    job_role_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]

    def _expose(self, store: PrivateBucket, job: ScheduledJob, **more: pulumi.Output[str]) -> None:
        """Set and register the outputs (``more``: a bridge's own, as attributes of the same names)."""
        self.bucket_name = store.bucket.bucket
        self.bucket_arn = store.bucket.arn
        self.job_role_arn = job.role_arn
        self.function_name = job.function_name
        self.schedule_arn = job.schedule_arn
        for key, value in more.items():
            setattr(self, key, value)
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                **more,
                "job_role_arn": self.job_role_arn,
                "function_name": self.function_name,
                "schedule_arn": self.schedule_arn,
            }
        )
