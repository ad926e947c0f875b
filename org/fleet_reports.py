"""The fleet bucket in the reports account, and the organisation's AWS Backup job reports in a bucket of
the account that owns the report plans.

- Fleet bucket (reports account): the shape of every bucket here (``PrivateBucket``: private, versioned,
  SSE-S3, TLS only), objects owned by the bucket owner whoever writes them, overwritten reports kept 90
  days. No wildcard principal in any grant:
  - each listed workload account may put objects under ``coverage/<its own account id>/`` only, and
    only while it is in the organisation (``aws:PrincipalOrgID``);
  - the listed reader roles may read ``coverage/``, inside the organisation too.
- Job-reports bucket (the delegated administrator, or the management account): the same shape. A report
  plan cannot deliver to a bucket of another account (docs/aws-facts.md 7.8), so it lives with the plans.
  - Backup Audit Manager's service-linked role of that account may put the reports under
    ``job-reports/``;
  - the same reader roles may read ``job-reports/``, inside the organisation.
- Report plans (same account): backup, copy and restore job reports of every account (``ROOT``) or the
  listed OUs, in both Regions. Cross-account reports come as CSV only (docs/organisation.md).

The fleet bucket, the reports role and the plans keep the logical names and parent they had when the job
reports went to the fleet bucket, so nothing is replaced (no aliases needed); the job-reports bucket is
new, and the reports already delivered stay in the fleet bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.operations.audit import (
    report_bucket_rules,
    reports_delivery_statement,
    reports_role,
    reports_role_arn,
)
from components.private_bucket import PrivateBucket
from dr_model.naming import backup_name
from dr_runtime.fleet_report import bucket_layout as layout
from org.org_config import JOB_REPORT_TEMPLATES

COMPONENT_TYPE = "aws-dr-backup-org:reports:FleetReports"
ORGANIZATION_ID_KEY = "aws:PrincipalOrgID"
CROSS_ACCOUNT_FORMATS = ("CSV",)


@dataclass(frozen=True)
class FleetReportsArgs:
    prefix: str
    organization_id: str
    reports_account: str
    region: str
    report_regions: Sequence[str]
    report_plan_account: str
    """The account owning the report plans (its reports service-linked role writes the reports)."""
    report_plan_provider: aws.Provider
    workload_accounts: Sequence[str]
    reader_roles: Sequence[str] = ()
    job_reports: bool = True
    report_accounts: Sequence[str] = ()
    organization_units: Sequence[str] = ()
    create_reports_role: bool = True
    depends_on: Sequence[pulumi.Resource] = ()
    """Resources the report plans need first: trusted access and the delegated administrator's registration."""
    tags: dict[str, str] = field(default_factory=dict)


def _org_scoped(statement: dict[str, Any], organization_id: str) -> dict[str, Any]:
    return {**statement, "Condition": {"StringEquals": {ORGANIZATION_ID_KEY: organization_id}}}


def coverage_statements(
    bucket_arn: str, organization_id: str, workloads: Sequence[str], readers: Sequence[str]
) -> list[dict[str, Any]]:
    """Workload accounts write their own prefix; readers read every account's reports."""
    out: list[dict[str, Any]] = []
    if workloads:
        out.append(
            _org_scoped(
                {
                    "Sid": "CoveragePublishOwnPrefix",
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{account}:root" for account in workloads]},
                    "Action": "s3:PutObject",
                    "Resource": layout.own_coverage_objects(bucket_arn),
                },
                organization_id,
            )
        )
    out.extend(read_statements("Coverage", bucket_arn, layout.COVERAGE_PREFIX, organization_id, readers))
    return out


def read_statements(
    sid: str, bucket_arn: str, key_prefix: str, organization_id: str, readers: Sequence[str]
) -> list[dict[str, Any]]:
    """``readers`` may list and read ``<key_prefix>/``, inside the organisation (``<sid>Read``, ``<sid>List``)."""
    if not readers:
        return []
    prefix = f"{key_prefix}/"
    listing = _org_scoped(
        {
            "Sid": f"{sid}List",
            "Effect": "Allow",
            "Principal": {"AWS": list(readers)},
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
        },
        organization_id,
    )
    listing["Condition"]["StringLike"] = {"s3:prefix": f"{prefix}*"}
    read = _org_scoped(
        {
            "Sid": f"{sid}Read",
            "Effect": "Allow",
            "Principal": {"AWS": list(readers)},
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        organization_id,
    )
    return [read, listing]


class _JobReportsBucket(pulumi.ComponentResource):
    """The job reports' bucket, created with the report plans' provider in ``opts`` (its children inherit it)."""

    def __init__(
        self, name: str, bucket_name: str, tags: dict[str, str], opts: pulumi.ResourceOptions
    ) -> None:
        super().__init__(f"{COMPONENT_TYPE}JobReportsBucket", name, None, opts)
        self.store = PrivateBucket(
            self, name, bucket_name, "BucketOwnerEnforced", report_bucket_rules(), tags
        )
        self.register_outputs({"bucketName": self.store.bucket.bucket})


def report_plan_name(prefix: str, template: str) -> str:
    return backup_name(prefix, "fleet", template.removesuffix("_REPORT").lower(), limit=256)


class FleetReports(pulumi.ComponentResource):
    """Created with the reports account's provider in ``opts``; the job reports' bucket, the reports role and
    the report plans use ``report_plan_provider``."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FleetReportsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        plans_opts = pulumi.ResourceOptions(parent=self, provider=args.report_plan_provider)
        name_in_aws = layout.bucket_name(args.prefix, args.reports_account, args.region)
        store = PrivateBucket(
            self,
            f"{name}-bucket",
            name_in_aws,
            # Objects written by other accounts belong to the bucket owner, so the reports account reads them.
            "BucketOwnerEnforced",
            report_bucket_rules(),
            dict(args.tags),
        )
        bucket = store.bucket
        # Built from the name the bucket is given, so the policy is known at preview (and the pack checks it).
        known_arn = f"arn:aws:s3:::{name_in_aws}"
        store.attach_policy(
            coverage_statements(known_arn, args.organization_id, args.workload_accounts, args.reader_roles)
        )

        self.job_reports_bucket_name: pulumi.Output[str] | None = None
        job_bucket: aws.s3.Bucket | None = None
        job_policy: aws.s3.BucketPolicy | None = None
        if args.job_reports:
            roles: list[pulumi.Resource] = []
            if args.create_reports_role:
                roles.append(
                    reports_role(
                        f"{name}-reports-role",
                        "AWS Backup Audit Manager delivers the organisation's job reports with this role",
                        plans_opts,
                    )
                )
            job_name_in_aws = layout.job_reports_bucket_name(
                args.prefix, args.report_plan_account, args.region
            )
            jobs = _JobReportsBucket(f"{name}-job-reports", job_name_in_aws, dict(args.tags), plans_opts)
            job_arn = f"arn:aws:s3:::{job_name_in_aws}"
            job_policy = jobs.store.attach_policy(
                [
                    reports_delivery_statement(
                        job_arn,
                        reports_role_arn(args.report_plan_account),
                        f"{layout.JOB_REPORTS_PREFIX}/",
                    ),
                    *read_statements(
                        "JobReports",
                        job_arn,
                        layout.JOB_REPORTS_PREFIX,
                        args.organization_id,
                        args.reader_roles,
                    ),
                ],
                depends_on=roles,
            )
            job_bucket = jobs.store.bucket
            self.job_reports_bucket_name = job_bucket.bucket

        self.report_plan_arns: dict[str, pulumi.Output[str]] = {}
        if job_bucket is not None and job_policy is not None:
            for template in JOB_REPORT_TEMPLATES:
                plan = aws.backup.ReportPlan(
                    f"{name}-{template.lower().replace('_', '-')}",
                    name=report_plan_name(args.prefix, template),
                    description=f"{template} of the organisation's accounts in {', '.join(args.report_regions)}",
                    report_delivery_channel=aws.backup.ReportPlanReportDeliveryChannelArgs(
                        s3_bucket_name=job_bucket.bucket,
                        s3_key_prefix=layout.JOB_REPORTS_PREFIX,
                        formats=list(CROSS_ACCOUNT_FORMATS),
                    ),
                    report_setting=aws.backup.ReportPlanReportSettingArgs(
                        report_template=template,
                        accounts=list(args.report_accounts) or None,
                        organization_units=list(args.organization_units) or None,
                        regions=list(args.report_regions),
                    ),
                    tags=dict(args.tags),
                    # The first delivery must find the bucket policy in place.
                    opts=pulumi.ResourceOptions.merge(
                        plans_opts, pulumi.ResourceOptions(depends_on=[job_policy, *args.depends_on])
                    ),
                )
                self.report_plan_arns[template] = plan.arn

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs(
            {
                "bucketName": bucket.bucket,
                "bucketArn": bucket.arn,
                "jobReportsBucketName": self.job_reports_bucket_name,
            }
        )
