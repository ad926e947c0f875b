"""The MemoryDB snapshot bridge: exports of recent snapshots into the bridge bucket every two hours."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import documents
from components.private_bucket import PrivateBucket
from components.scheduled_job import ScheduledJob, ScheduledJobArgs, metrics_statement
from components.snapshot_bridge import BridgeArgs, SnapshotBridge, raw_snapshot_lifecycle
from dr_runtime.bridges import memorydb_settings
from dr_runtime.settings import environment

# Every two hours on even UTC hours; EventBridge Scheduler cron fields: min hour dom month dow year.
MEMORYDB_SCHEDULE = "cron(0 0/2 * * ? *)"


@dataclass(frozen=True)
class MemoryDbBridgeArgs(BridgeArgs):
    schedule_expression: str = MEMORYDB_SCHEDULE


class MemoryDbBridge(SnapshotBridge):
    """Exports of recent MemoryDB snapshots into ``<prefix>-<cluster>-memorydb-snapshots`` every two hours."""

    def __init__(
        self, name: str, args: MemoryDbBridgeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aws-dr-backup:bridges:MemoryDbBridge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        # MemoryDB's export writes with ACLs: it needs "bucket owner preferred", not BucketOwnerEnforced.
        store = PrivateBucket(
            self, name, args.bucket_name("memorydb"), "BucketOwnerPreferred", raw_snapshot_lifecycle(), tags
        )
        bucket_arn = store.bucket.arn
        objects = bucket_arn.apply(lambda arn: f"{arn}/*")
        store.attach_policy(
            [
                {
                    "Sid": "MemoryDbSnapshotExport",
                    "Effect": "Allow",
                    "Principal": {"Service": f"{args.region}.memorydb-snapshot.amazonaws.com"},
                    "Action": [
                        "s3:PutObject",
                        "s3:GetObject",
                        "s3:ListBucket",
                        "s3:GetBucketAcl",
                        "s3:ListMultipartUploadParts",
                        "s3:ListBucketMultipartUploads",
                    ],
                    "Resource": [bucket_arn, objects],
                }
            ],
        )

        snapshots = documents.memorydb_arn(args.region, args.account_id, "snapshot")
        job = ScheduledJob(
            f"{name}-job",
            ScheduledJobArgs(
                function_name=args.function_name("memorydb"),
                handler="dr_runtime.bridges.memorydb.handler",
                schedule_expression=args.schedule_expression,
                account_id=args.account_id,
                description="Exports recent MemoryDB snapshots into the bridge bucket",
                environment=environment({memorydb_settings.BUCKET: store.bucket.bucket}),
                policy_statements=[
                    # Both describe actions take the cluster / snapshot resource type (Service
                    # Authorization Reference, docs/iam-scoping.md): this account's, in this region.
                    documents.allow(
                        "DescribeClusters",
                        "memorydb:DescribeClusters",
                        documents.memorydb_arn(args.region, args.account_id, "cluster"),
                    ),
                    documents.allow("DescribeSnapshots", "memorydb:DescribeSnapshots", snapshots),
                    documents.allow(
                        "ExportSnapshots", ["memorydb:CopySnapshot", "memorydb:TagResource"], snapshots
                    ),
                    # ListBucket: the bucket preflight (HeadBucket) and the listing of finished exports;
                    # GetBucketLocation: what CopySnapshot with a target bucket needs of the caller (MemoryDB
                    # API permissions reference). The bucket's ACL is read by MemoryDB's export principal,
                    # which the bucket policy above grants, not by this role.
                    documents.allow(
                        "ExportTargetBucket", ["s3:ListBucket", "s3:GetBucketLocation"], bucket_arn
                    ),
                    {
                        "Sid": "CopySnapshotBucketLookup",
                        "Effect": "Allow",
                        # CopySnapshot with a target bucket requires it; the action has no resource type.
                        "Action": "s3:ListAllMyBuckets",
                        "Resource": "*",
                    },
                    metrics_statement(),
                ],
                timeout_seconds=args.timeout_seconds,
                log_retention_days=args.log_retention_days,
                tags=tags,
            ),
            opts=child,
        )

        self._expose(store, job)
