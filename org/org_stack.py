"""The organisation stack's program, from validated config to stack outputs."""

from __future__ import annotations

import pulumi

from org import org_providers as providers
from org.backup_settings import OrganizationBackup, OrganizationBackupArgs
from org.fleet_reports import FleetReports, FleetReportsArgs
from org.guardrails import BackupGuardrails, BackupGuardrailsArgs
from org.org_config import OrgConfig
from org.verifier_deployment import deploy as deploy_verifier


def build(config: OrgConfig) -> None:
    places = providers.create(config)
    regions = config.regions
    organization = OrganizationBackup(
        "organization",
        OrganizationBackupArgs(
            regions=((regions.primary, places.management), (regions.dr, places.management_dr)),
            multi_party_approval=config.global_settings.multi_party_approval,
            delegated_administrator=config.accounts.delegated_administrator,
            cross_account_monitoring=config.cross_account_monitoring,
            ram_sharing_with_organization=config.ram_sharing_with_organization,
        ),
        opts=pulumi.ResourceOptions(provider=places.management),
    )
    delegated = organization.delegated_administrator
    reports = FleetReports(
        "fleet",
        FleetReportsArgs(
            prefix=config.prefix,
            organization_id=config.organization_id,
            reports_account=config.accounts.reports,
            region=regions.primary,
            report_regions=(regions.primary, regions.dr),
            report_plan_account=config.report_plan_account,
            report_plan_provider=places.report_plans,
            workload_accounts=config.accounts.workloads,
            reader_roles=config.coverage_bucket.reader_roles,
            job_reports=config.job_reports.enabled,
            report_accounts=config.report_accounts,
            organization_units=config.job_reports.organization_units,
            create_reports_role=config.job_reports.create_reports_role,
            # Cross-account report plans need trusted access, and the delegated administrator's
            # registration when the plans live there: both, whether or not one is configured.
            depends_on=(*organization.trusted_access, *(() if delegated is None else (delegated,))),
            tags=dict(config.tags),
        ),
        opts=pulumi.ResourceOptions(provider=places.reports),
    )
    pulumi.export("fleetBucketName", reports.bucket_name)
    pulumi.export("fleetBucketArn", reports.bucket_arn)
    pulumi.export("jobReportPlanArns", reports.report_plan_arns)
    pulumi.export("jobReportsBucketName", reports.job_reports_bucket_name)
    pulumi.export("reportPlanAccount", config.report_plan_account)
    deploy_verifier(config, places)
    if config.guardrails.active:
        guardrails = BackupGuardrails(
            "guardrails",
            BackupGuardrailsArgs(
                prefix=config.prefix,
                scope=config.guardrail_scope,
                targets=config.guardrails.targets,
                tags=dict(config.tags),
                isolated_scope=config.isolated_guardrail_scope
                if config.guardrails.isolated_targets
                else None,
                isolated_targets=config.guardrails.isolated_targets,
                key_perimeter=config.key_perimeter if config.guardrails.resource_control_policy else None,
                rcp_targets=config.rcp_targets,
            ),
            opts=pulumi.ResourceOptions(provider=places.management),
        )
        pulumi.export("guardrailPolicyIds", guardrails.policy_ids)
