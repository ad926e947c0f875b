"""The protection matrix, read from the registered graph, against each stack's config."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from components.config import StackConfig, from_namespaced, parse
from dr_model import catalog, cron
from drplan import matrix, render
from drplan import schedule_times as schedule
from drplan.graph import StackGraph
from drplan.matrix import AIR_GAPPED, CROSS_REGION, IN_REGION, LOCKED_VAULT, OTHER

from .conftest import isolated_of, stack_config, tags_of


def config_of(stack: str) -> StackConfig:
    return parse(from_namespaced(stack_config(stack)), stack)


def vault_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_rows_are_the_active_types(
    stack: str, prod_matrix: matrix.Matrix, staging_matrix: matrix.Matrix
) -> None:
    built = prod_matrix if stack == "prod" else staging_matrix
    expected = [t.key for t in config_of(stack).active_types]
    assert sorted(r.type_key or "" for r in built.rows) == sorted(expected)
    if stack == "staging":
        assert "documentdb" not in expected
        assert "neptune" not in expected


def test_prod_partitioned_one_point_a_day_and_both_copies(prod_matrix: matrix.Matrix) -> None:
    config = config_of("prod")
    retention, accounts, regions = config.retention, config.accounts, config.regions
    air_gapped = vault_arn(regions.primary, accounts.isolated, config.air_gapped_vault_name)
    # RDS DB instances cannot go into an air-gapped vault: their copy goes to the locked vault.
    locked = vault_arn(regions.primary, accounts.isolated, f"{config.prefix}-{accounts.workload}-locked")
    for row in prod_matrix.rows:
        key = row.type_key
        base = row.base
        assert base.plans == (f"{config.prefix}-{key}-full",), key
        in_region = base.uses[IN_REGION]
        assert in_region.vault == vault_arn(regions.primary, accounts.workload, f"{config.prefix}-{key}")
        if key == "s3":
            assert in_region.continuous_days == retention.s3_continuous_days == 35
            assert in_region.points_per_day == 0
            assert in_region.rpo_hours is None
        else:
            assert in_region.continuous_days is None
            assert in_region.points_per_day == 1
            assert in_region.retention_days == (retention.in_region.delete_after_days,)
            assert in_region.rpo_hours == 24
        cross = base.uses[CROSS_REGION]
        assert cross.vault == vault_arn(regions.dr, accounts.workload, f"{config.prefix}-{key}")
        assert (cross.points_per_day, cross.retention_days) == (
            1,
            (retention.cross_region_copy.delete_after_days,),
        )
        assert cross.retention_days == (3,)
        isolated, other = (LOCKED_VAULT, AIR_GAPPED) if key == "rds" else (AIR_GAPPED, LOCKED_VAULT)
        assert other not in base.uses
        gapped = base.uses[isolated]
        assert gapped.vault == (locked if key == "rds" else air_gapped)
        assert (gapped.points_per_day, gapped.retention_days) == (1, (7,))
        assert gapped.retention_days == (retention.air_gapped_copy.delete_after_days,)
        assert OTHER not in base.uses


def test_staging_split_two_points_a_day_22_hours_apart(staging_matrix: matrix.Matrix) -> None:
    config = config_of("staging")
    for row in staging_matrix.rows:
        base = row.base
        key = row.type_key
        assert base.plans == (f"{config.prefix}-{key}-cross-account", f"{config.prefix}-{key}-cross-region")
        in_region = base.uses[IN_REGION]
        if key == "s3":
            # The cross-region plan takes a daily snapshot; the cross-account plan is continuous.
            assert (in_region.points_per_day, in_region.continuous_days) == (1, 35)
        else:
            # 05:00 and 07:00 UTC: two points, but the longest gap without one is 22 hours.
            assert (in_region.points_per_day, in_region.retention_days, in_region.rpo_hours) == (2, (1,), 22)
        assert (base.uses[CROSS_REGION].points_per_day, base.uses[CROSS_REGION].retention_days) == (1, (3,))
        isolated = base.uses[LOCKED_VAULT if key == "rds" else AIR_GAPPED]
        assert (isolated.points_per_day, isolated.retention_days) == (1, (7,))


def scenario(row: matrix.TypeRow, kind: str) -> list[matrix.Protection]:
    return [s.protection for s in row.scenarios if s.kind == kind]


def test_opt_out_tag_removes_every_plan(prod_matrix: matrix.Matrix, staging_matrix: matrix.Matrix) -> None:
    for row in [*prod_matrix.rows, *staging_matrix.rows]:
        (opted_out,) = scenario(row, "opt-out")
        assert row.base.protected
        assert not opted_out.protected, row.component
        assert opted_out.uses == {}


def test_cross_region_opt_out_partitioned_moves_to_account_only_plan(prod_matrix: matrix.Matrix) -> None:
    for row in prod_matrix.rows:
        (tagged,) = scenario(row, "cross-region-opt-out")
        assert tagged.plans == (f"dr-prod-{row.type_key}-account-only",)
        assert CROSS_REGION not in tagged.uses
        assert tagged.uses[LOCKED_VAULT if row.type_key == "rds" else AIR_GAPPED].retention_days == (7,)
        assert tagged.uses[IN_REGION].points_per_day == row.base.uses[IN_REGION].points_per_day


def test_cross_region_opt_out_split_keeps_one_point_a_day(staging_matrix: matrix.Matrix) -> None:
    row = staging_matrix.row("ebs")
    (tagged,) = scenario(row, "cross-region-opt-out")
    assert tagged.plans == ("dr-staging-ebs-cross-account",)
    assert CROSS_REGION not in tagged.uses
    assert tagged.uses[IN_REGION].points_per_day == 1
    assert tagged.uses[AIR_GAPPED].points_per_day == 1


def test_kubernetes_owned_volumes_of_configured_clusters_only(prod_matrix: matrix.Matrix) -> None:
    row = prod_matrix.row("ebs")
    owned = {s.label: s.protection for s in row.scenarios if s.kind == "kubernetes-owned"}
    for name in config_of("prod").kubernetes_clusters:
        assert not owned.pop(f"kubernetes.io/cluster/{name}=owned").protected
    # The fixture adds a cluster the stack does not configure: its volumes stay in the plans.
    assert owned.pop("kubernetes.io/cluster/someone-elses-cluster=owned").plans == row.base.plans
    assert owned == {}
    assert not any(s.kind == "kubernetes-owned" for s in prod_matrix.row("efs").scenarios)


def test_every_cluster_lands_in_exactly_one_type_in_prod(prod_matrix: matrix.Matrix) -> None:
    routes = {r.engine_tag: r.components for r in prod_matrix.cluster_routes}
    assert routes == {
        None: ("aurora",),
        "documentdb": ("documentdb",),
        "neptune": ("neptune",),
        "aurora": ("aurora",),
    }


def test_staging_routes_clusters_of_switched_off_types_to_aurora(staging_matrix: matrix.Matrix) -> None:
    # documentdb and neptune are off in staging: clusters tagged for them fall back to Aurora's plans.
    routes = {r.engine_tag: r.components for r in staging_matrix.cluster_routes}
    assert routes["documentdb"] == ("aurora",)
    assert routes["neptune"] == ("aurora",)
    assert routes[None] == ("aurora",)


def test_matrix_follows_the_graph_not_the_config(plan_prod: StackGraph) -> None:
    resources = []
    for resource in plan_prod.resources:
        if resource.name == "ebs-full-plan":
            inputs = copy.deepcopy(resource.inputs)
            inputs["rules"][0]["copyActions"][0]["lifecycle"]["deleteAfter"] = 14.0
            inputs["rules"][0]["schedule"] = "cron(0 1/6 ? * * *)"
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    mutated = dataclasses.replace(plan_prod, resources=tuple(resources))
    row = matrix.build(mutated, tags_of("prod"), isolated_of("prod")).row("ebs")
    assert row.base.uses[CROSS_REGION].retention_days == (14,)
    assert (row.base.uses[IN_REGION].points_per_day, row.base.uses[IN_REGION].rpo_hours) == (4, 6)


def test_copy_to_a_vault_outside_the_stack_is_other(plan_prod: StackGraph) -> None:
    foreign = vault_arn("eu-west-1", "999999999999", "elsewhere")
    resources = []
    for resource in plan_prod.resources:
        if resource.name == "efs-full-plan":
            inputs = copy.deepcopy(resource.inputs)
            inputs["rules"][0]["copyActions"][0]["destinationVaultArn"] = foreign
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    row = matrix.build(
        dataclasses.replace(plan_prod, resources=tuple(resources)), tags_of("prod"), isolated_of("prod")
    ).row("efs")
    assert CROSS_REGION not in row.base.uses
    assert row.base.uses[OTHER].vault == foreign


def test_representative_arns_match_the_type_patterns() -> None:
    assert matrix.representative_arn("arn:aws:s3:::*", "us-east-1", "111111111111") == "arn:aws:s3:::example"
    assert (
        matrix.representative_arn(catalog.RDS_CLUSTER_ARN, "us-east-1", "111111111111")
        == "arn:aws:rds:us-east-1:111111111111:cluster:example"
    )
    assert matrix.type_of("r3-ebs") is catalog.get("ebs")
    assert matrix.type_of("bridges") is None


@pytest.mark.parametrize(
    ("expression", "per_day", "gap"),
    [
        ("cron(0 5 ? * * *)", 1, 24),
        ("cron(0 0/6 ? * * *)", 4, 6),
        ("cron(30 1,13 ? * * *)", 2, 12),
        ("cron(0 5-7 ? * * *)", 3, 22),
        ("cron(0,30 * ? * * *)", 48, 0.5),
    ],
)
def test_schedule_points_per_day_and_gap(expression: str, per_day: int, gap: float) -> None:
    daily = schedule.parse(expression)
    assert daily is not None
    assert daily.per_day == per_day
    assert schedule.max_gap_hours(list(daily.minutes_of_day)) == gap


def test_schedule_restricted_to_some_days_is_not_daily() -> None:
    assert schedule.parse("cron(0 5 ? * MON-FRI *)") is None
    assert schedule.parse("cron(0 5 1 * ? *)") is None
    with pytest.raises(cron.ScheduleError):
        schedule.parse("rate(1 day)")


def test_the_matrix_names_the_locked_vault_for_rds_only(prod_matrix: matrix.Matrix) -> None:
    """The rendered matrix says which isolated vault each type's copy goes to (catalog.IsolatedCopy)."""
    lines = render.matrix(prod_matrix)
    header = next(i for i, line in enumerate(lines) if line.startswith("type "))
    assert "isolated copy" in lines[header]
    rows = {line.split()[0]: line for line in lines[header + 1 : header + 9]}
    assert set(rows) == {t.label for t in catalog.CATALOG}
    assert [label for label, line in rows.items() if "(locked vault)" in line] == ["RDS"]
