"""The operations dashboard: coverage per type, failed and long-running jobs, recovery points per vault."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drplan.graph import StackGraph
from tests.operations_infra.graphs import DR, PRIMARY, PROD_KEYS, PROD_TYPES, VAULT, in_region, one

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def _body(graph: StackGraph, prefix: str) -> dict[str, Any]:
    board = one(graph, DASHBOARD, dashboardName=f"{prefix}-backup-operations")
    return dict(json.loads(board.inputs["dashboardBody"]))


def _titled(body: dict[str, Any], start: str) -> dict[str, Any]:
    [widget] = [w for w in body["widgets"] if w["properties"].get("title", "").startswith(start)]
    return dict(widget["properties"])


def _dimension_values(metrics: list[Any], metric_name: str, dimension: str) -> list[str]:
    values = []
    for line in metrics:
        if isinstance(line, list) and line[1] == metric_name and dimension in line:
            values.append(line[line.index(dimension) + 1])
    return values


def test_coverage_widgets_show_every_active_type(prod_graph: StackGraph) -> None:
    body = _body(prod_graph, "dr-prod")
    coverage = _titled(body, "Coverage per resource type")
    assert coverage["region"] == PRIMARY
    assert _dimension_values(coverage["metrics"], "CoveragePercent", "ResourceType") == list(PROD_TYPES)
    assert all(line[0] == "AwsDrBackup" for line in coverage["metrics"])
    unprotected = _titled(body, "Selected resources without a recent recovery point")
    assert _dimension_values(unprotected["metrics"], "UnprotectedResources", "ResourceType") == list(
        PROD_TYPES
    )


def test_long_running_jobs_widget_reads_the_watchdog_metric(prod_graph: StackGraph) -> None:
    widget = _titled(_body(prod_graph, "dr-prod"), "Long-running backup and copy jobs")
    assert [line[:2] for line in widget["metrics"]] == [["AwsDrBackup", "LongRunningJobs"]] * 3
    assert _dimension_values(widget["metrics"], "LongRunningJobs", "JobKind") == ["backup", "copy"]


@pytest.mark.parametrize("region", [PRIMARY, DR])
def test_recovery_points_and_failed_jobs_for_every_vault(prod_graph: StackGraph, region: str) -> None:
    body = _body(prod_graph, "dr-prod")
    vaults = sorted(v.inputs["name"] for v in in_region(prod_graph, VAULT, region))
    assert vaults == sorted(f"dr-prod-{key}" for key in PROD_KEYS)

    points = _titled(body, f"Recovery points per vault ({region})")
    assert points["region"] == region
    assert (
        sorted(_dimension_values(points["metrics"], "NumberOfRecoveryPointsCompleted", "BackupVaultName"))
        == vaults
    )

    failed = _titled(body, f"Failed jobs, all vaults ({region})")
    assert failed["region"] == region
    hidden = {line[-1]["id"]: line for line in failed["metrics"] if isinstance(line, list)}
    expressions = [line for line in failed["metrics"] if isinstance(line, dict)]
    for metric in (
        "NumberOfBackupJobsFailed",
        "NumberOfBackupJobsExpired",
        "NumberOfBackupJobsAborted",
        "NumberOfBackupJobsPartial",
        "NumberOfCopyJobsFailed",
        "NumberOfRestoreJobsFailed",
    ):
        assert sorted(_dimension_values(failed["metrics"], metric, "BackupVaultName")) == vaults, metric
    # Each expression sums hidden per-vault series that exist in the widget.
    assert len(expressions) == 6
    for expression in expressions:
        ids = expression["expression"].removeprefix("SUM([").removesuffix("])").split(", ")
        assert len(ids) == len(vaults)
        assert all(ident in hidden and hidden[ident][-1]["visible"] is False for ident in ids)
        assert len({hidden[ident][1] for ident in ids}) == 1  # one AWS/Backup metric per sum


def test_staging_dashboard_follows_the_active_types(staging_graph: StackGraph) -> None:
    body = _body(staging_graph, "dr-staging")
    coverage = _titled(body, "Coverage per resource type")
    assert _dimension_values(coverage["metrics"], "CoveragePercent", "ResourceType") == [
        "S3",
        "EBS",
        "EFS",
        "DynamoDB",
        "RDS",
        "Aurora",
    ]
    points = _titled(body, f"Recovery points per vault ({PRIMARY})")
    names = _dimension_values(points["metrics"], "NumberOfRecoveryPointsCompleted", "BackupVaultName")
    assert len(names) == 6
    assert "dr-staging-documentdb" not in names
