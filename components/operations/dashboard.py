"""The operations dashboard: coverage per type, failed and long-running jobs, recovery points per vault.

The equivalent of the seed design's coverage dashboard. Coverage and long-running metrics come from
the coverage and watchdog jobs (namespace ``AwsDrBackup``); job and recovery-point counts are AWS
Backup's own ``AWS/Backup`` metrics, per ``BackupVaultName``
(docs/aws-facts.md#5-monitoring-and-events, 5.4).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from dr_model.naming import region_code, vault_name_from_arn

NAMESPACE = "AwsDrBackup"
BACKUP_NAMESPACE = "AWS/Backup"
# Job outcomes other than success, per AWS/Backup metric name.
FAILED_JOB_METRICS = (
    ("NumberOfBackupJobsFailed", "Backup jobs failed"),
    ("NumberOfBackupJobsExpired", "Backup jobs expired"),
    ("NumberOfBackupJobsAborted", "Backup jobs aborted"),
    ("NumberOfBackupJobsPartial", "Backup jobs partial"),
    ("NumberOfCopyJobsFailed", "Copy jobs failed"),
    ("NumberOfRestoreJobsFailed", "Restore jobs failed"),
)
RECOVERY_POINTS_METRIC = "NumberOfRecoveryPointsCompleted"
WIDTH, HEIGHT = 12, 6


@dataclass(frozen=True)
class DashboardType:
    label: str
    backup_name: str
    """The ``ResourceType`` dimension value of the coverage metrics."""


def _widget(x: int, y: int, title: str, region: str, metrics: list[Any], **props: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {"title": title, "region": region, "view": "timeSeries", "metrics": metrics, **props},
    }


def body(
    prefix: str,
    primary_region: str,
    types: Sequence[DashboardType],
    vaults: Mapping[str, Mapping[str, str]],
) -> dict[str, Any]:
    """Dashboard JSON; ``vaults`` is region -> type label -> vault name."""
    daily = {"stat": "Minimum", "period": 86400}
    widgets: list[dict[str, Any]] = [
        {
            "type": "text",
            "x": 0,
            "y": 0,
            "width": 2 * WIDTH,
            "height": 2,
            "properties": {
                "markdown": (
                    f"## {prefix}: AWS Backup operations\n"
                    "Coverage comes from the daily coverage job, long-running jobs from the 15-minute "
                    "watchdog. The air-gapped vault's metrics are in the isolated account."
                )
            },
        },
        _widget(
            0,
            2,
            "Coverage per resource type (%)",
            primary_region,
            [
                [NAMESPACE, "CoveragePercent", "ResourceType", t.backup_name, {"label": t.label}]
                for t in types
            ],
            yAxis={"left": {"min": 0, "max": 100}},
            **daily,
        ),
        _widget(
            WIDTH,
            2,
            "Selected resources without a recent recovery point",
            primary_region,
            [
                [NAMESPACE, "UnprotectedResources", "ResourceType", t.backup_name, {"label": t.label}]
                for t in types
            ],
            stat="Maximum",
            period=86400,
        ),
        _widget(
            0,
            2 + HEIGHT,
            "Long-running backup and copy jobs",
            primary_region,
            [
                [NAMESPACE, "LongRunningJobs", {"label": "All"}],
                [NAMESPACE, "LongRunningJobs", "JobKind", "backup", {"label": "Backup"}],
                [NAMESPACE, "LongRunningJobs", "JobKind", "copy", {"label": "Copy"}],
            ],
            stat="Maximum",
            period=900,
        ),
    ]
    y = 2 + 2 * HEIGHT
    for region in sorted(vaults, key=lambda r: (r != primary_region, r)):
        names = vaults[region]
        code = region_code(region)
        failed: list[Any] = []
        for metric_index, (metric, label) in enumerate(FAILED_JOB_METRICS):
            ids = [f"m{metric_index}v{vault_index}{code}" for vault_index in range(len(names))]
            failed.append(
                {"expression": f"SUM([{', '.join(ids)}])", "label": label, "id": f"e{metric_index}{code}"}
            )
            failed.extend(
                [BACKUP_NAMESPACE, metric, "BackupVaultName", vault, {"id": ident, "visible": False}]
                for ident, vault in zip(ids, names.values(), strict=True)
            )
        widgets.append(
            _widget(0, y, f"Failed jobs, all vaults ({region})", region, failed, stat="Sum", period=3600)
        )
        widgets.append(
            _widget(
                WIDTH,
                y,
                f"Recovery points per vault ({region})",
                region,
                [
                    [
                        BACKUP_NAMESPACE,
                        RECOVERY_POINTS_METRIC,
                        "BackupVaultName",
                        vault,
                        {"label": f"{label} ({vault})"},
                    ]
                    for label, vault in names.items()
                ],
                stat="Maximum",
                period=3600,
            )
        )
        y += HEIGHT
    return {"widgets": widgets}


def create(
    name: str,
    prefix: str,
    primary_region: str,
    types: Sequence[DashboardType],
    vault_arns: Mapping[str, Mapping[str, pulumi.Input[str]]],
    opts: pulumi.ResourceOptions | None = None,
) -> aws.cloudwatch.Dashboard:
    """``vault_arns`` is region -> type label -> vault ARN."""
    regions = sorted(vault_arns)
    flat = [(region, label, arn) for region in regions for label, arn in vault_arns[region].items()]

    def render(arns: list[Any]) -> str:
        vaults: dict[str, dict[str, str]] = {region: {} for region in regions}
        for (region, label, _), arn in zip(flat, arns, strict=True):
            vaults[region][label] = vault_name_from_arn(str(arn))
        return json.dumps(body(prefix, primary_region, types, vaults), sort_keys=True)

    return aws.cloudwatch.Dashboard(
        name,
        dashboard_name=f"{prefix}-backup-operations",
        dashboard_body=pulumi.Output.all(*(arn for _, _, arn in flat)).apply(render),
        opts=opts,
    )
