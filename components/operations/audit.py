"""AWS Backup Audit Manager: a framework with this design's controls and compliance reports to S3.

Control names and parameters: docs/aws-facts.md#7-audit-manager (7.1). Frameworks are
evaluated by AWS Config recording in the same region, so AWS Config must record there. The report
bucket policy names the ``AWSServiceRoleForBackupReports`` service-linked role, which does not exist
until created: the role is a resource here, and the bucket policy depends on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.private_bucket import PrivateBucket, Rule
from dr_model import catalog
from dr_model.naming import backup_name

REPORTS_SERVICE = "reports.backup.amazonaws.com"
REPORTS_ROLE_PATH = "aws-service-role/reports.backup.amazonaws.com/AWSServiceRoleForBackupReports"
REPORT_TEMPLATES = ("CONTROL_COMPLIANCE_REPORT", "RESOURCE_COMPLIANCE_REPORT")
RESTORE_TIME_CONTROL = "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"
NONCURRENT_REPORT_DAYS = 90


def report_bucket_rules() -> list[Rule]:
    """Lifecycle of a bucket that receives reports: a report overwritten by a newer one expires."""
    return [
        Rule(
            id="expire-overwritten-reports",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=NONCURRENT_REPORT_DAYS
            ),
        )
    ]


@dataclass(frozen=True)
class AuditArgs:
    prefix: str
    account: str
    region: str
    dr_region: str
    isolated_account: str
    types: Sequence[catalog.ResourceType]
    min_retention_days: int
    """The shortest retention the plans give an in-region recovery point."""
    recovery_point_max_age_hours: int
    """How old the newest recovery point (and air-gapped copy) of a resource may be."""
    create_reports_role: bool = True
    """False where the account already has AWSServiceRoleForBackupReports (creating it again fails)."""
    restore_time_target_minutes: int | None = None
    """Restore time objective the restore tests are checked against; None: restore testing is off."""
    restore_types: Sequence[catalog.ResourceType] = ()
    """The types restore testing restores (the restore-time control's scope)."""
    dr_provider: pulumi.ProviderResource | None = None
    """DR region: restore tests of the cross-region copies run there, so their times are evaluated there."""
    tags: Mapping[str, str] = field(default_factory=dict)


def _params(**values: str | int) -> list[aws.backup.FrameworkControlInputParameterArgs]:
    return [aws.backup.FrameworkControlInputParameterArgs(name=k, value=str(v)) for k, v in values.items()]


def restore_time_control(args: AuditArgs) -> aws.backup.FrameworkControlArgs:
    """Each restore job (restore tests included) finished within the target: AWS Backup measures the time
    from job creation to completion, so the measured restore times are reported against the target."""
    return aws.backup.FrameworkControlArgs(
        name=RESTORE_TIME_CONTROL,
        input_parameters=_params(maxRestoreTime=args.restore_time_target_minutes or 0),
        scope=aws.backup.FrameworkControlScopeArgs(
            compliance_resource_types=[t.backup_name for t in args.restore_types]
        ),
    )


def controls(args: AuditArgs) -> list[aws.backup.FrameworkControlArgs]:
    scope = aws.backup.FrameworkControlScopeArgs(
        compliance_resource_types=[t.backup_name for t in args.types]
    )
    max_age = args.recovery_point_max_age_hours
    air_gapped = [t.backup_name for t in catalog.air_gapped_audit_types(args.types)]
    return [
        aws.backup.FrameworkControlArgs(name="BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN", scope=scope),
        aws.backup.FrameworkControlArgs(
            # Resources tagged out of the cross-region copy show up non-compliant here, by design.
            name="BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION",
            input_parameters=_params(crossRegionList=args.dr_region),
            scope=scope,
        ),
        aws.backup.FrameworkControlArgs(
            name="BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT",
            input_parameters=_params(crossAccountList=args.isolated_account),
            scope=scope,
        ),
        # Only the types AWS Config can evaluate here and whose copy goes to the air-gapped vault
        # (catalog.air_gapped_audit_types); RDS's copy into the locked vault is covered by the
        # cross-account control (docs/aws-facts.md#7-audit-manager, 7.11-7.12).
        *(
            [
                aws.backup.FrameworkControlArgs(
                    name="RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT",
                    input_parameters=_params(recoveryPointAgeUnit="hours", recoveryPointAgeValue=max_age),
                    scope=aws.backup.FrameworkControlScopeArgs(compliance_resource_types=list(air_gapped)),
                )
            ]
            if air_gapped
            else []
        ),
        aws.backup.FrameworkControlArgs(
            name="BACKUP_LAST_RECOVERY_POINT_CREATED",
            input_parameters=_params(recoveryPointAgeUnit="hours", recoveryPointAgeValue=max_age),
            scope=scope,
        ),
        aws.backup.FrameworkControlArgs(
            name="BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
            input_parameters=_params(requiredRetentionDays=args.min_retention_days),
        ),
        aws.backup.FrameworkControlArgs(
            # Every plan runs daily and keeps its in-region recovery point for the configured minimum.
            name="BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
            input_parameters=_params(
                requiredFrequencyUnit="days",
                requiredFrequencyValue=1,
                requiredRetentionDays=args.min_retention_days,
            ),
        ),
        aws.backup.FrameworkControlArgs(name="BACKUP_RECOVERY_POINT_ENCRYPTED"),
        *([restore_time_control(args)] if args.restore_time_target_minutes else []),
    ]


def has_dr_framework(args: AuditArgs) -> bool:
    return bool(args.restore_time_target_minutes) and args.dr_provider is not None


def frameworks_by_region(args: AuditArgs) -> dict[str, list[tuple[str, list[str]]]]:
    """Region -> (framework name, its control names) for each framework ``Audit`` creates."""
    # Control names are plain strings here (``FrameworkControlArgs.name`` is typed as an Input).
    found = {args.region: [(framework_name(args.prefix), [str(c.name) for c in controls(args)])]}
    if has_dr_framework(args):
        found[args.dr_region] = [(dr_framework_name(args.prefix), [str(restore_time_control(args).name)])]
    return found


def framework_name(prefix: str) -> str:
    return backup_name(prefix, "dr_backup_controls", limit=256)


def dr_framework_name(prefix: str) -> str:
    return backup_name(prefix, "dr_region_restore_time", limit=256)


def report_plan_name(prefix: str, template: str) -> str:
    return backup_name(prefix, template.removesuffix("_REPORT").lower(), limit=256)


def bucket_name(prefix: str, account: str, region: str) -> str:
    return f"{prefix}-backup-reports-{account}-{region}"


def reports_role(name: str, description: str, opts: pulumi.ResourceOptions) -> aws.iam.ServiceLinkedRole:
    """The reports service-linked role, created before any bucket policy names it: IAM refuses a policy
    naming a role that does not exist yet ("Invalid principal", docs/aws-facts.md 7.5)."""
    return aws.iam.ServiceLinkedRole(
        name, aws_service_name=REPORTS_SERVICE, description=description, opts=opts
    )


def reports_role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{REPORTS_ROLE_PATH}"


def reports_delivery_statement(bucket_arn: str, role_arn: str, key_prefix: str = "") -> dict[str, Any]:
    """Statement from the AWS Backup report-plan documentation (docs/aws-facts.md#7-audit-manager, 7.5);
    ``key_prefix`` (e.g. ``job-reports/``) limits it to the report plans' S3 key prefix."""
    return {
        "Sid": "BackupReportsDeliver",
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/{key_prefix}*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }


class Audit(pulumi.ComponentResource):
    framework_arn: pulumi.Output[str]
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: AuditArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aws-dr-backup:operations:Audit", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        framework = aws.backup.Framework(
            f"{name}-framework",
            name=framework_name(args.prefix),
            description=f"{args.prefix}: every resource protected in-region, cross-region and air-gapped",
            controls=controls(args),
            tags=tags,
            opts=child,
        )

        if has_dr_framework(args):
            # Frameworks evaluate their own region: the restore tests of the us-east-2 copies run in the DR
            # region, so their restore times are checked by a framework there (AWS Config must record there).
            aws.backup.Framework(
                f"{name}-dr-restore-framework",
                name=dr_framework_name(args.prefix),
                description=f"{args.prefix}: restores in {args.dr_region} finish within the restore time target",
                controls=[restore_time_control(args)],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, provider=args.dr_provider),
            )

        store = PrivateBucket(
            self,
            f"{name}-reports",
            bucket_name(args.prefix, args.account, args.region),
            "BucketOwnerEnforced",
            report_bucket_rules(),
            tags,
        )
        bucket = store.bucket
        roles: list[pulumi.Resource] = []
        if args.create_reports_role:
            roles.append(
                reports_role(
                    f"{name}-reports-role", "AWS Backup Audit Manager delivers reports with this role", child
                )
            )
        policy = store.attach_policy(
            [bucket.arn.apply(lambda arn: reports_delivery_statement(arn, reports_role_arn(args.account)))],
            depends_on=roles,
        )

        for template in REPORT_TEMPLATES:
            aws.backup.ReportPlan(
                f"{name}-{template.lower().replace('_', '-')}",
                name=report_plan_name(args.prefix, template),
                description=f"{template} for {framework_name(args.prefix)}",
                report_delivery_channel=aws.backup.ReportPlanReportDeliveryChannelArgs(
                    s3_bucket_name=bucket.bucket, formats=["CSV", "JSON"], s3_key_prefix="audit"
                ),
                report_setting=aws.backup.ReportPlanReportSettingArgs(
                    report_template=template, framework_arns=[framework.arn], number_of_frameworks=1
                ),
                tags=tags,
                # The first delivery must find the bucket policy in place.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )

        self.framework_arn = framework.arn
        self.bucket_name = bucket.bucket
        self.register_outputs({"frameworkArn": framework.arn, "bucketName": bucket.bucket})
