"""The coverage report (``dr_runtime.operations.coverage``) as a ScheduledJob on ``coverageSchedule``.

It inventories the primary region, where the plans select resources, and publishes per-type metrics
(``CoveragePercent``, ``UnprotectedResources``, ``SelectedResources``) that the dashboard shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import catalog
from components.scheduled_job import ScheduledJob, ScheduledJobArgs, metrics_statement

HANDLER = "dr_runtime.operations.coverage.handler"
# Types whose inventory comes from the tagging API plus a name listing (dr_runtime.operations.inventory).
_TAGGING_API_TYPES = frozenset({"S3", "DynamoDB"})


@dataclass(frozen=True)
class CoverageArgs:
    prefix: str
    account: str
    region: str
    schedule_expression: str
    types: Sequence[catalog.ResourceType]
    recent_hours: int
    opt_out_tag: str
    cross_region_opt_out_tag: str
    opt_out_value: str
    kubernetes_clusters: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    log_retention_days: int = 30


def _inventory_statements(region: str, account: str, type_names: set[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    unscoped: list[str] = []  # actions without resource-level permissions
    if type_names & _TAGGING_API_TYPES:
        unscoped.append("tag:GetResources")
    if "S3" in type_names:
        unscoped.append("s3:ListAllMyBuckets")
    if "DynamoDB" in type_names:
        unscoped.append("dynamodb:ListTables")
    if "EBS" in type_names:
        unscoped.append("ec2:DescribeVolumes")
    if unscoped:
        out.append({"Sid": "ListResources", "Effect": "Allow", "Action": sorted(unscoped), "Resource": "*"})
    if "EFS" in type_names:
        out.append(
            {
                "Sid": "ListFileSystems",
                "Effect": "Allow",
                "Action": "elasticfilesystem:DescribeFileSystems",
                "Resource": f"arn:aws:elasticfilesystem:{region}:{account}:file-system/*",
            }
        )
    if "RDS" in type_names:
        out.append(
            {
                "Sid": "ListDbInstances",
                "Effect": "Allow",
                "Action": "rds:DescribeDBInstances",
                "Resource": f"arn:aws:rds:{region}:{account}:db:*",
            }
        )
    # Multi-AZ DB clusters count as RDS, so the cluster listing serves RDS as well as the cluster engines.
    if type_names & {"RDS", "Aurora", "DocumentDB", "Neptune"}:
        out.append(
            {
                "Sid": "ListDbClusters",
                "Effect": "Allow",
                "Action": "rds:DescribeDBClusters",
                "Resource": f"arn:aws:rds:{region}:{account}:cluster:*",
            }
        )
    return out


def statements(region: str, account: str, types: Sequence[catalog.ResourceType]) -> list[dict[str, Any]]:
    """Exactly the calls the handler makes for ``types``: recovery points, inventory, metrics."""
    return [
        {
            "Sid": "ReadProtectedResources",
            "Effect": "Allow",
            "Action": "backup:ListProtectedResources",
            "Resource": "*",
        },
        *_inventory_statements(region, account, {t.backup_name for t in types}),
        metrics_statement(),
    ]


def function_name(prefix: str) -> str:
    return f"{prefix}-backup-coverage"


def create(name: str, args: CoverageArgs, opts: pulumi.ResourceOptions | None = None) -> ScheduledJob:
    return ScheduledJob(
        name,
        ScheduledJobArgs(
            function_name=function_name(args.prefix),
            handler=HANDLER,
            schedule_expression=args.schedule_expression,
            schedule_input='{"time": "<aws.scheduler.scheduled-time>"}',
            account_id=args.account,
            description="Reports AWS Backup coverage per resource type and publishes coverage metrics",
            environment={
                "DR_COVERAGE_TYPES": ",".join(t.backup_name for t in args.types),
                "DR_COVERAGE_RECENT_HOURS": str(args.recent_hours),
                "DR_OPT_OUT_TAG": args.opt_out_tag,
                "DR_CROSS_REGION_OPT_OUT_TAG": args.cross_region_opt_out_tag,
                "DR_OPT_OUT_VALUE": args.opt_out_value,
                "DR_KUBERNETES_CLUSTERS": ",".join(args.kubernetes_clusters),
                # Saves an STS call per run and the permission question with it.
                "DR_ACCOUNT_ID": args.account,
                "DR_PUBLISH_METRICS": "true",
            },
            policy_statements=statements(args.region, args.account, args.types),
            # Listing every bucket, volume and table of a large account takes minutes.
            timeout_seconds=900,
            memory_mb=512,
            log_retention_days=args.log_retention_days,
            tags=args.tags,
        ),
        opts=opts,
    )
