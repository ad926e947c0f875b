"""Snapshot bridges for services AWS Backup does not protect (OpenSearch, MemoryDB).

Each bridge owns one bucket in the workload account and a ScheduledJob that exports the service's own
snapshots into it. The buckets carry no exclusion tag, so the core program's S3 plans select them and
copy them cross-region and into the air-gapped vault like any other bucket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import backup_selection, documents
from components.config import bridge_bucket_name
from components.private_bucket import PrivateBucket, Rule
from components.scheduled_job import ScheduledJob, ScheduledJobArgs, metrics_statement
from dr_runtime.bridges import memorydb_settings, opensearch_settings
from dr_runtime.settings import environment

RAW_SNAPSHOT_DAYS = 2
OPENSEARCH_SCHEDULE = "cron(0 2 * * ? *)"
# Every two hours on even UTC hours; EventBridge Scheduler cron fields: min hour dom month dow year.
MEMORYDB_SCHEDULE = "cron(0 0/2 * * ? *)"
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# OpenSearch Service's service principal: the snapshot role trusts it and is passed only to it.
OPENSEARCH_SERVICE = "es.amazonaws.com"


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


@dataclass(frozen=True)
class OpenSearchBridgeArgs(BridgeArgs):
    schedule_expression: str = OPENSEARCH_SCHEDULE
    repository: str = opensearch_settings.DEFAULT_REPOSITORY
    # VPC-only domains are reachable only from inside their VPC: run the function there.
    vpc_subnet_ids: Sequence[pulumi.Input[str]] = ()
    vpc_security_group_ids: Sequence[pulumi.Input[str]] = ()


@dataclass(frozen=True)
class MemoryDbBridgeArgs(BridgeArgs):
    schedule_expression: str = MEMORYDB_SCHEDULE


def _raw_snapshot_lifecycle() -> list[Rule]:
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


class OpenSearchBridge(pulumi.ComponentResource):
    """Daily manual snapshots of every OpenSearch domain into ``<prefix>-<cluster>-opensearch-snapshots``."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    snapshot_role_arn: pulumi.Output[str]
    job_role_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: OpenSearchBridgeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aws-dr-backup:bridges:OpenSearchBridge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        store = PrivateBucket(
            self, name, args.bucket_name("opensearch"), "BucketOwnerEnforced", _raw_snapshot_lifecycle(), tags
        )
        bucket_arn = store.bucket.arn
        store.attach_policy([])

        snapshot_role = aws.iam.Role(
            f"{name}-snapshot-role",
            description="Assumed by OpenSearch Service to write manual snapshots to the bridge bucket",
            # OpenSearch Service sends no aws:SourceAccount when it assumes the snapshot role.
            assume_role_policy=documents.to_json(documents.service_trust(OPENSEARCH_SERVICE, None)),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-snapshot-role-policy",
            role=snapshot_role.id,
            policy=documents.policy_json(
                [
                    {
                        "Sid": "ListBridgeBucket",
                        "Effect": "Allow",
                        "Action": "s3:ListBucket",
                        "Resource": bucket_arn,
                    },
                    {
                        "Sid": "ReadWriteSnapshots",
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        "Resource": bucket_arn.apply(lambda arn: f"{arn}/*"),
                    },
                ]
            ),
            opts=child,
        )

        domains = f"arn:aws:es:{args.region}:{args.account_id}:domain/*"
        job = ScheduledJob(
            f"{name}-job",
            ScheduledJobArgs(
                function_name=args.function_name("opensearch"),
                handler="dr_runtime.bridges.opensearch.handler",
                schedule_expression=args.schedule_expression,
                account_id=args.account_id,
                description="Daily manual snapshot of every OpenSearch domain into the bridge bucket",
                environment=environment(
                    {
                        opensearch_settings.BUCKET: store.bucket.bucket,
                        opensearch_settings.ROLE_ARN: snapshot_role.arn,
                        opensearch_settings.REPOSITORY: args.repository,
                    }
                ),
                policy_statements=[
                    {
                        "Sid": "ListDomains",
                        "Effect": "Allow",
                        "Action": "es:ListDomainNames",
                        # ListDomainNames has no resource type.
                        "Resource": "*",
                    },
                    {
                        "Sid": "DescribeDomains",
                        "Effect": "Allow",
                        "Action": "es:DescribeDomains",
                        "Resource": domains,
                    },
                    {
                        "Sid": "SnapshotApiOnly",
                        "Effect": "Allow",
                        "Action": ["es:ESHttpGet", "es:ESHttpPut"],
                        "Resource": [f"{domains}/_snapshot", f"{domains}/_snapshot/*"],
                    },
                    # Registering the repository hands the role to OpenSearch Service, which assumes it.
                    documents.pass_role_statement(
                        "PassSnapshotRoleOnly", snapshot_role.arn, OPENSEARCH_SERVICE
                    ),
                    {
                        "Sid": "CheckBridgeBucket",
                        "Effect": "Allow",
                        "Action": "s3:ListBucket",
                        "Resource": bucket_arn,
                    },
                    metrics_statement(),
                ],
                timeout_seconds=args.timeout_seconds,
                log_retention_days=args.log_retention_days,
                vpc_subnet_ids=args.vpc_subnet_ids,
                vpc_security_group_ids=args.vpc_security_group_ids,
                tags=tags,
            ),
            opts=child,
        )

        self.bucket_name = store.bucket.bucket
        self.bucket_arn = bucket_arn
        self.snapshot_role_arn = snapshot_role.arn
        self.job_role_arn = job.role_arn
        self.function_name = job.function_name
        self.schedule_arn = job.schedule_arn
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "snapshot_role_arn": self.snapshot_role_arn,
                "job_role_arn": self.job_role_arn,
                "function_name": self.function_name,
                "schedule_arn": self.schedule_arn,
            }
        )


class MemoryDbBridge(pulumi.ComponentResource):
    """Exports of recent MemoryDB snapshots into ``<prefix>-<cluster>-memorydb-snapshots`` every two hours."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    job_role_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: MemoryDbBridgeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aws-dr-backup:bridges:MemoryDbBridge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        # MemoryDB's export writes with ACLs: it needs "bucket owner preferred", not BucketOwnerEnforced.
        store = PrivateBucket(
            self, name, args.bucket_name("memorydb"), "BucketOwnerPreferred", _raw_snapshot_lifecycle(), tags
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
                    {
                        "Sid": "DescribeClusters",
                        "Effect": "Allow",
                        "Action": "memorydb:DescribeClusters",
                        "Resource": documents.memorydb_arn(args.region, args.account_id, "cluster"),
                    },
                    {
                        "Sid": "DescribeSnapshots",
                        "Effect": "Allow",
                        "Action": "memorydb:DescribeSnapshots",
                        "Resource": snapshots,
                    },
                    {
                        "Sid": "ExportSnapshots",
                        "Effect": "Allow",
                        "Action": ["memorydb:CopySnapshot", "memorydb:TagResource"],
                        "Resource": snapshots,
                    },
                    {
                        "Sid": "ExportTargetBucket",
                        "Effect": "Allow",
                        "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketAcl"],
                        "Resource": bucket_arn,
                    },
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

        self.bucket_name = store.bucket.bucket
        self.bucket_arn = bucket_arn
        self.job_role_arn = job.role_arn
        self.function_name = job.function_name
        self.schedule_arn = job.schedule_arn
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "job_role_arn": self.job_role_arn,
                "function_name": self.function_name,
                "schedule_arn": self.schedule_arn,
            }
        )
