"""AWS Backup restore testing: one plan per place a recovery point lives, one selection per type.

Plans (docs/aws-facts.md#8-restore-testing): the primary vaults, the DR-region vaults (what a regional
recovery restores from) and the air-gapped vault shared to this account (what an account-compromise recovery
restores from; restore testing can use air-gapped vaults shared to the account). A plan selects recovery
points in its own region only, so the DR-region plan is created with the DR provider and lists the DR
vaults; the air-gapped plan lists the vault by its owner's ARN (isolated account), which is how a vault
shared through AWS RAM is named. Restore times are checked against the target by Audit Manager's
``RESTORE_TIME_FOR_RESOURCES_MEET_TARGET`` control in each region (``audit.py``). Each plan picks the
latest recovery point per resource within the selection window; each type's selection restores its
resources, validates for the configured window and lets AWS delete the restored resource.
Names allow only letters, digits and underscores, so every name is explicit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import documents
from components.type_protection import backup_role_name
from dr_model import backup_selection, catalog
from dr_model.naming import backup_name

# Restore testing's ProtectedResourceType values (botocore RestoreTestingSelectionForCreate).
SUPPORTED_TYPES = frozenset(
    {"Aurora", "DocumentDB", "DynamoDB", "EBS", "EC2", "EFS", "FSx", "Neptune", "RDS", "S3"}
)
MAX_SELECTIONS_PER_PLAN = 30


@dataclass(frozen=True)
class RestorePlanSpec:
    key: str
    """Plan name suffix, e.g. ``use1``, ``use2``, ``air_gapped``."""
    vault_arns: Sequence[pulumi.Input[str]]
    provider: pulumi.ProviderResource | None
    """Provider of the region the plan runs in (None: the component's)."""
    continuous: bool = False
    """Also test continuous (point-in-time) recovery points; only the primary vaults hold them."""


@dataclass(frozen=True)
class RestoreTestingArgs:
    prefix: str
    account: str
    types: Sequence[catalog.ResourceType]
    plans: Sequence[RestorePlanSpec]
    schedule: str
    timezone: str
    start_window_hours: int
    selection_window_days: int
    validation_window_hours: int
    opt_out_tag: str
    opt_out_value: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.testable_types) > MAX_SELECTIONS_PER_PLAN:
            raise ValueError(f"at most {MAX_SELECTIONS_PER_PLAN} restore-testing selections fit in a plan")

    @property
    def testable_types(self) -> tuple[catalog.ResourceType, ...]:
        return tuple(t for t in self.types if t.backup_name in SUPPORTED_TYPES)


def plan_name(prefix: str, key: str) -> str:
    return backup_name(prefix, "restore_test", key)


def selection_name(prefix: str, rtype: catalog.ResourceType) -> str:
    return backup_name(prefix, rtype.key)


def role_name(prefix: str) -> str:
    # A backup role's name, like the types' (type_protection.BACKUP_ROLE_SUFFIX says why).
    return backup_role_name(f"{prefix}-restore-testing")


class RestoreTesting(pulumi.ComponentResource):
    plan_names: dict[str, str]

    def __init__(
        self, name: str, args: RestoreTestingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aws-dr-backup:operations:RestoreTesting", name, None, opts)
        tags = dict(args.tags)
        types = args.testable_types
        role = aws.iam.Role(
            f"{name}-role",
            name=role_name(args.prefix),
            description=f"AWS Backup restores recovery points of {args.prefix} for restore tests",
            assume_role_policy=documents.to_json(
                documents.service_trust("backup.amazonaws.com", args.account)
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Restores only: the restore policies of the types under test (IAM is global, one role serves
        # every region's plan).
        restore_only = {catalog.RESTORE_POLICY, catalog.S3_RESTORE_POLICY}
        restore_policies = sorted({p for t in types for p in t.managed_policies if p in restore_only})
        for index, policy_arn in enumerate(restore_policies):
            aws.iam.RolePolicyAttachment(
                f"{name}-role-policy-{index}",
                role=role.name,
                policy_arn=policy_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.plan_names = {}
        for spec in args.plans:
            opts_here = pulumi.ResourceOptions(parent=self, provider=spec.provider)
            plan = aws.backup.RestoreTestingPlan(
                f"{name}-{spec.key}",
                name=plan_name(args.prefix, spec.key),
                schedule_expression=args.schedule,
                schedule_expression_timezone=args.timezone,
                start_window_hours=args.start_window_hours,
                recovery_point_selection=aws.backup.RestoreTestingPlanRecoveryPointSelectionArgs(
                    algorithm="LATEST_WITHIN_WINDOW",
                    include_vaults=list(spec.vault_arns),
                    recovery_point_types=["CONTINUOUS", "SNAPSHOT"] if spec.continuous else ["SNAPSHOT"],
                    selection_window_days=args.selection_window_days,
                ),
                tags=tags,
                opts=opts_here,
            )
            for rtype in types:
                aws.backup.RestoreTestingSelection(
                    f"{name}-{spec.key}-{rtype.key}",
                    name=selection_name(args.prefix, rtype),
                    restore_testing_plan_name=plan.name,
                    protected_resource_type=rtype.backup_name,
                    iam_role_arn=role.arn,
                    # Conditions alone, no ARNs: the bridged provider takes exactly one of the two. Every
                    # recovery point of the type in the plan's vaults whose tags (copied from the resource
                    # at backup time) do not opt out (docs/aws-facts.md, 8.3).
                    protected_resource_conditions=aws.backup.RestoreTestingSelectionProtectedResourceConditionsArgs(
                        string_not_equals=[
                            aws.backup.RestoreTestingSelectionProtectedResourceConditionsStringNotEqualArgs(
                                key=backup_selection.condition_key(args.opt_out_tag), value=args.opt_out_value
                            )
                        ]
                    ),
                    validation_window_hours=args.validation_window_hours,
                    opts=opts_here,
                )
            self.plan_names[spec.key] = plan_name(args.prefix, spec.key)
        self.role_arn = role.arn
        self.register_outputs({"planNames": self.plan_names, "roleArn": role.arn})
