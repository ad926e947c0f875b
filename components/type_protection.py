"""One resource type's protection: keys, vaults, IAM role, plans and selections."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import documents
from components.config import VaultLock, role_arn
from components.keyed_vault import keyed_vault
from components.plan_layout import Destination, PlanSpec, retention_into
from components.vault_lock import VaultLockArgs, lock_vault
from dr_model import catalog
from dr_runtime import vault_names

COMPONENT_TYPE = "aws-dr-backup:backup:ResourceTypeProtection"
BACKUP_ROLE_SUFFIX = "-AWSBackupRole"
"""Every AWS Backup service role of a stack ends so: the AWS-managed backup operator policies only allow
``iam:PassRole`` on names with ``AWSBackup`` (docs/aws-facts.md#1-selection-semantics, 1.11)."""


def backup_role_name(base: str) -> str:
    """``<prefix>-<type>`` -> the type's backup role (at most 64 characters, IAM's limit)."""
    return f"{base}{BACKUP_ROLE_SUFFIX}"[:64]


def key_alias(base: str) -> str:
    """``<prefix>-<type>`` -> the alias of the type's vault keys (both regions)."""
    return f"alias/{base}-backup"


@dataclass(frozen=True)
class ResourceTypeProtectionArgs:
    resource_type: catalog.ResourceType
    prefix: str
    workload_account: str
    isolated_account: str
    primary_region: str
    dr_region: str
    plans: tuple[PlanSpec, ...]
    air_gapped_vault_arn: str
    """The isolated account's air-gapped vault, registered by the isolated project (``isolated/``)."""
    locked_vault_arn: str | None = None
    """The isolated account's locked standard vault; set for a type whose ``isolated_copy`` goes there."""
    cross_region_provider: aws.Provider = field(kw_only=True)
    tags: dict[str, str] = field(kw_only=True)
    vault_lock: VaultLock = field(kw_only=True, default_factory=VaultLock)
    """The lock on both vaults (config ``vaultLock``); its minimum defaults to each vault's shortest retention."""
    deployment_role_arn: str = field(kw_only=True)
    """The role ``pulumi up`` runs as here: exempt, with the backup role, from the vaults' access policies."""
    scanner_role_arn: str | None = field(kw_only=True, default=None)
    """GuardDuty's scanner role when the stack's ``malwareScanning`` is on; None: no scanning. Only types
    GuardDuty scans (``catalog.ResourceType.malware_scan``) get scan settings."""
    scan_mode: str = field(kw_only=True, default="INCREMENTAL_SCAN")
    """``INCREMENTAL_SCAN`` or ``FULL_SCAN`` (config ``malwareScanning.mode``)."""

    @property
    def scanner(self) -> str | None:
        """The scanner role for this type's plans: set only when scanning is on and GuardDuty scans the type."""
        return self.scanner_role_arn if self.resource_type.malware_scan else None


def _lifecycle_args(spec: PlanSpec) -> aws.backup.PlanRuleLifecycleArgs:
    lifecycle = spec.rule.lifecycle
    return aws.backup.PlanRuleLifecycleArgs(
        delete_after=lifecycle.delete_after_days,
        cold_storage_after=lifecycle.cold_storage_after_days,
    )


class ResourceTypeProtection(pulumi.ComponentResource):
    """Vault + customer-managed key in both regions, the AWS Backup role, and the plans of the layout.

    Created with the origin provider (workload account, primary region) in ``opts``; the cross-region
    key and vault use ``args.cross_region_provider``.
    """

    vault_arns: dict[str, pulumi.Output[str]]
    plan_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: ResourceTypeProtectionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        rtype = args.resource_type
        base = vault_names.type_vault_name(args.prefix, rtype.key)
        self._args = args

        # The origin key is the source of the air-gapped copy, so the isolated account may use it.
        origin_key, origin_vault = self._key_and_vault(
            f"{name}-origin", base, copy_accounts=(args.isolated_account,), provider=None
        )
        dr_key, dr_vault = self._key_and_vault(
            f"{name}-cross-region", base, copy_accounts=(), provider=args.cross_region_provider
        )
        role = aws.iam.Role(
            f"{name}-backup-role",
            name=backup_role_name(base),
            description=f"AWS Backup service role for {rtype.label} ({args.prefix})",
            assume_role_policy=json.dumps(
                documents.service_trust("backup.amazonaws.com", args.workload_account)
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for index, policy_arn in enumerate(rtype.managed_policies):
            aws.iam.RolePolicyAttachment(
                f"{name}-backup-role-policy-{index}",
                role=role.name,
                policy_arn=policy_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )

        if args.scanner is not None:
            aws.iam.RolePolicy(
                f"{name}-backup-role-malware-scans",
                role=role.id,
                policy=documents.to_json(
                    documents.document(*documents.malware_scan_statements(args.scanner))
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        # Copy destinations are spelled out rather than taken from the vaults' outputs: on a first
        # preview outputs are unknown, and the isolated account's vaults are another project's (deployed
        # first, docs/isolated-account.md). depends_on keeps the creation order the DR vault's output
        # would give.
        destinations = {
            Destination.CROSS_REGION: documents.vault_arn(args.dr_region, args.workload_account, base),
            Destination.AIR_GAPPED: args.air_gapped_vault_arn,
        }
        if args.locked_vault_arn is not None:
            destinations[Destination.LOCKED_VAULT] = args.locked_vault_arn
        # Locks and access policies (after the role, which they exempt by its ARN; the ARN is spelled out so
        # the documents are known at preview).
        exempt = (
            role_arn(backup_role_name(base), args.workload_account),
            args.deployment_role_arn,
        )
        for place, vault, provider, destination, copy_source in (
            ("origin", origin_vault, None, None, None),
            (
                "cross-region",
                dr_vault,
                args.cross_region_provider,
                Destination.CROSS_REGION,
                args.workload_account,
            ),
        ):
            lock_vault(
                self,
                f"{name}-{place}",
                VaultLockArgs(
                    vault=vault,
                    settings=args.vault_lock,
                    shortest_retention_days=retention_into(args.plans, destination)[0],
                    exempt_roles=exempt,
                    copy_source_account=copy_source,
                    provider=provider,
                ),
            )

        self.plan_ids = {}
        for spec in args.plans:
            missing = [c.destination for c in spec.rule.copies if c.destination not in destinations]
            if missing:
                raise ValueError(
                    f"{rtype.label} plan {spec.key} copies to the {missing[0]} vault, whose ARN this stack was "
                    "not given (its isolated_copy is catalog.IsolatedCopy.LOCKED_VAULT: pass locked_vault_arn)"
                )
            plan = self._plan(name, base, spec, origin_vault, destinations, [dr_vault])
            self._selection(name, base, spec, plan, role)
            self.plan_ids[spec.key] = plan.id

        self.key_arns = {args.primary_region: origin_key.arn, args.dr_region: dr_key.arn}
        self.vault_arns = {args.primary_region: origin_vault.arn, args.dr_region: dr_vault.arn}
        self.role_arn = role.arn
        self.register_outputs(
            {"vaultArns": self.vault_arns, "keyArns": self.key_arns, "planIds": self.plan_ids}
        )

    def _key_and_vault(
        self, name: str, base: str, copy_accounts: tuple[str, ...], provider: aws.Provider | None
    ) -> tuple[aws.kms.Key, aws.backup.Vault]:
        args = self._args
        return keyed_vault(
            self,
            name,
            vault_name=base,
            key_alias=key_alias(base),
            key_description=f"AWS Backup vault key for {args.resource_type.label} ({base})",
            key_owner=args.workload_account,
            copy_accounts=copy_accounts,
            tags=args.tags,
            provider=provider,
        )

    def _plan(
        self,
        name: str,
        base: str,
        spec: PlanSpec,
        origin_vault: aws.backup.Vault,
        destinations: dict[Destination, str],
        copy_targets: list[pulumi.Resource],
    ) -> aws.backup.Plan:
        rule = spec.rule
        copy_actions = [
            aws.backup.PlanRuleCopyActionArgs(
                destination_vault_arn=destinations[copy.destination],
                lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(
                    delete_after=copy.lifecycle.delete_after_days,
                    cold_storage_after=copy.lifecycle.cold_storage_after_days,
                ),
            )
            for copy in rule.copies
        ]
        args = self._args
        scan_actions = scan_settings = None
        scanner = args.scanner
        if scanner is not None:
            # GuardDuty scans each new recovery point of the rule (docs/malware-scanning.md).
            scan_actions = [
                aws.backup.PlanRuleScanActionArgs(malware_scanner="GUARDDUTY", scan_mode=args.scan_mode)
            ]
            scan_settings = [
                aws.backup.PlanScanSettingArgs(
                    malware_scanner="GUARDDUTY",
                    resource_types=[args.resource_type.backup_name],
                    scanner_role_arn=scanner,
                )
            ]
        return aws.backup.Plan(
            f"{name}-{spec.key}-plan",
            name=f"{base}-{spec.key}",
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name=rule.name,
                    target_vault_name=origin_vault.name,
                    schedule=rule.schedule,
                    schedule_expression_timezone=rule.timezone,
                    start_window=rule.start_window,
                    completion_window=rule.completion_window,
                    enable_continuous_backup=rule.continuous,
                    lifecycle=_lifecycle_args(spec),
                    copy_actions=copy_actions,
                    recovery_point_tags={"dr-backup-plan": f"{base}-{spec.key}"},
                    scan_actions=scan_actions,
                )
            ],
            scan_settings=scan_settings,
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=copy_targets),
        )

    def _selection(
        self, name: str, base: str, spec: PlanSpec, plan: aws.backup.Plan, role: aws.iam.Role
    ) -> aws.backup.Selection:
        by_operator: dict[str, list[dict[str, str]]] = {}
        for condition in spec.selection.conditions:
            by_operator.setdefault(condition.operator, []).append(
                {"key": condition.condition_key, "value": condition.value}
            )
        return aws.backup.Selection(
            f"{name}-{spec.key}-selection",
            name=f"{base}-{spec.key}",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=list(spec.selection.resources),
            conditions=[
                aws.backup.SelectionConditionArgs(
                    string_equals=[
                        aws.backup.SelectionConditionStringEqualArgs(**c)
                        for c in by_operator.get("string_equals", [])
                    ]
                    or None,
                    string_not_equals=[
                        aws.backup.SelectionConditionStringNotEqualArgs(**c)
                        for c in by_operator.get("string_not_equals", [])
                    ]
                    or None,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
