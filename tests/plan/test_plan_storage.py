"""Storage estimate of both layouts for the example inventory, checked against figures worked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from drplan import matrix, storage
from drplan.graph import StackGraph
from drplan.matrix import AIR_GAPPED, CROSS_REGION, IN_REGION
from drplan.program import register_stack

from .conftest import isolated_of, stack_config, tags_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory.yaml"


@pytest.fixture(scope="module")
def estimate(plan_prod: StackGraph, plan_prod_split: StackGraph) -> storage.Estimate:
    tags = tags_of("prod")
    isolated = isolated_of("prod")
    matrices = {
        "partitioned": matrix.build(plan_prod, tags, isolated),
        "split": matrix.build(plan_prod_split, tags, isolated),
    }
    return storage.estimate(matrices, storage.load_inventory(EXAMPLE), "partitioned")


def by_type(estimate: storage.Estimate, key: str) -> storage.TypeEstimate:
    (found,) = [t for t in estimate.types if t.type_key == key]
    return found


def test_example_inventory_loads() -> None:
    inventory = storage.load_inventory(EXAMPLE)
    assert inventory.types["ebs"].total_gib == 30000
    assert inventory.types["ebs"].daily_change_percent == 3
    assert inventory.types["dynamodb"].incremental is False


def test_ebs_by_hand(estimate: storage.Estimate) -> None:
    # 30,000 GiB changing 3 % a day: 900 GiB of change a day.
    ebs = by_type(estimate, "ebs")
    # partitioned: in-region 1 point kept 1 day = the full 30,000; us-east-2 3 points = full + 2 x 900;
    # air-gapped 7 points = full + 6 x 900.
    assert ebs.by_layout["partitioned"] == {IN_REGION: 30000, CROSS_REGION: 31800, AIR_GAPPED: 35400}
    # split: 2 points a day kept 1 day in-region; the second holds half a day's change (450).
    assert ebs.by_layout["split"] == {IN_REGION: 30450, CROSS_REGION: 31800, AIR_GAPPED: 35400}
    assert ebs.total("split") - ebs.total("partitioned") == 450


def test_full_copy_type_doubles_in_region_under_split(estimate: storage.Estimate) -> None:
    # DynamoDB, 500 GiB, every point full size: 1 / 3 / 7 points partitioned, 2 / 3 / 7 split.
    dynamodb = by_type(estimate, "dynamodb")
    assert dynamodb.by_layout["partitioned"] == {IN_REGION: 500, CROSS_REGION: 1500, AIR_GAPPED: 3500}
    assert dynamodb.by_layout["split"] == {IN_REGION: 1000, CROSS_REGION: 1500, AIR_GAPPED: 3500}


def test_s3_continuous_by_hand(estimate: storage.Estimate) -> None:
    # 8,000 GiB, 2 % a day (160 GiB): 35 days of point-in-time = 8,000 + 35 x 160 = 13,600.
    s3 = by_type(estimate, "s3")
    assert s3.by_layout["partitioned"] == {IN_REGION: 13600, CROSS_REGION: 8320, AIR_GAPPED: 8960}
    # split adds the cross-region plan's daily snapshot next to the continuous backup: one day's change.
    assert s3.by_layout["split"] == {IN_REGION: 13760, CROSS_REGION: 8320, AIR_GAPPED: 8960}


def test_totals_and_difference(estimate: storage.Estimate) -> None:
    assert estimate.difference == pytest.approx(estimate.total("split") - estimate.total("partitioned"))
    assert estimate.difference > 0
    document = estimate.to_json()
    assert document["currentLayout"] == "partitioned"
    assert set(document["totals"]) == {"split", "partitioned"}


def test_types_the_stack_does_not_protect_are_marked(plan_staging: StackGraph) -> None:
    built = matrix.build(plan_staging, tags_of("staging"), isolated_of("staging"))
    result = storage.estimate({"split": built}, storage.load_inventory(EXAMPLE), "split")
    assert by_type(result, "neptune").by_layout["split"] is None
    assert by_type(result, "ebs").by_layout["split"] is not None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("types:\n  redshift: {count: 1, totalGiB: 1, dailyChangePercent: 1}\n", "types.redshift"),
        ("types:\n  ebs: {count: 1, totalGiB: -5, dailyChangePercent: 1}\n", "types.ebs.totalGiB"),
        ("types:\n  ebs: {count: 1, totalGiB: 5}\n", "types.ebs.dailyChangePercent"),
        ("types: [\n", "not valid YAML"),
    ],
)
def test_bad_inventory_names_the_entry(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(storage.InventoryError, match=named.replace(".", r"\.")):
        storage.load_inventory(path)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_other_layout_protection_part_registers_what_the_whole_program_does(stack: str) -> None:
    # The estimate's other layout runs only the protection part of the program; its matrix must be the
    # whole program's, or the estimate compares a layout the stack would not build.
    raw = stack_config(stack)
    _current, other = storage.layouts_of(raw)
    whole = register_stack(stack, config={**raw, storage.LAYOUT_KEY: other})
    part = storage.register_with_layout(stack, raw, other, None)
    assert len(part.resources) < len(whole.resources)
    tags = tags_of(stack)
    isolated = isolated_of(stack)
    assert matrix.build(part, tags, isolated).to_json() == matrix.build(whole, tags, isolated).to_json()
    protection = [r for r in whole.resources if r.type.startswith("aws:backup:")]
    assert {(r.type, r.name) for r in protection} <= {(r.type, r.name) for r in part.resources}


def test_air_gapped_retention_options_by_hand(estimate: storage.Estimate) -> None:
    """7 vs 35 days in the isolated account: the 7-day figure is the estimate's own air-gapped and locked GiB for
    prod; EBS, incremental at 900 GiB of change a day, grows by 28 more daily increments at 35 days."""
    raw = stack_config("prod")
    inventory = storage.load_inventory(EXAMPLE)
    gib = {
        days: storage.isolated_gib(
            matrix.build(
                storage.register_with_layout(
                    "prod", storage.with_air_gapped_days(raw, days), "partitioned", None
                ),
                tags_of("prod"),
                isolated_of("prod"),
            ),
            inventory,
        )
        for days in storage.AIR_GAPPED_OPTIONS
    }
    assert storage.AIR_GAPPED_OPTIONS == (7, 35)
    own = sum(
        (t.by_layout["partitioned"] or {}).get(d, 0.0)
        for t in estimate.types
        for d in (AIR_GAPPED, matrix.LOCKED_VAULT)
    )
    assert gib[7] == pytest.approx(own, abs=0.5)
    assert gib[35] > gib[7]
    ebs_7, ebs_35 = 30000 + 6 * 900, 30000 + 34 * 900
    assert gib[35] - gib[7] >= ebs_35 - ebs_7
