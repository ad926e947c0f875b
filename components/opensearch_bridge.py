"""The OpenSearch snapshot bridge: daily manual snapshots of every domain into the bridge bucket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import documents
from components.private_bucket import PrivateBucket
from components.scheduled_job import ScheduledJob, ScheduledJobArgs, metrics_statement
from components.snapshot_bridge import BridgeArgs, SnapshotBridge, raw_snapshot_lifecycle
from dr_runtime.bridges import opensearch_settings
from dr_runtime.settings import environment

OPENSEARCH_SCHEDULE = "cron(0 2 * * ? *)"
# OpenSearch Service's service principal: the snapshot role trusts it and is passed only to it.
OPENSEARCH_SERVICE = "es.amazonaws.com"


@dataclass(frozen=True)
class OpenSearchBridgeArgs(BridgeArgs):
    schedule_expression: str = OPENSEARCH_SCHEDULE
    repository: str = opensearch_settings.DEFAULT_REPOSITORY
    # VPC-only domains are reachable only from inside their VPC: run the function there.
    vpc_subnet_ids: Sequence[pulumi.Input[str]] = ()
    vpc_security_group_ids: Sequence[pulumi.Input[str]] = ()


class OpenSearchBridge(SnapshotBridge):
    """Daily manual snapshots of every OpenSearch domain into ``<prefix>-<cluster>-opensearch-snapshots``."""

    snapshot_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: OpenSearchBridgeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aws-dr-backup:bridges:OpenSearchBridge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        store = PrivateBucket(
            self, name, args.bucket_name("opensearch"), "BucketOwnerEnforced", raw_snapshot_lifecycle(), tags
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
                    documents.allow("ListBridgeBucket", "s3:ListBucket", bucket_arn),
                    documents.allow(
                        "ReadWriteSnapshots",
                        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        bucket_arn.apply(lambda arn: f"{arn}/*"),
                    ),
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
                    documents.allow("DescribeDomains", "es:DescribeDomains", domains),
                    documents.allow(
                        "SnapshotApiOnly",
                        ["es:ESHttpGet", "es:ESHttpPut"],
                        [f"{domains}/_snapshot", f"{domains}/_snapshot/*"],
                    ),
                    # Registering the repository hands the role to OpenSearch Service, which assumes it.
                    documents.pass_role_statement(
                        "PassSnapshotRoleOnly", snapshot_role.arn, OPENSEARCH_SERVICE
                    ),
                    documents.allow("CheckBridgeBucket", "s3:ListBucket", bucket_arn),
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

        self._expose(store, job, snapshot_role_arn=snapshot_role.arn)
