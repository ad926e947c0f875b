"""One selection semantics: the program's module and the policy pack's published copy are the same file,
run the same vectors, and the pack's scope (what its selection rules ask) agrees with them; the coverage
job's verdict agrees with the selections the program builds."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import dr_model.backup_selection as program_selection
import policies.dr_policies.backup_selection as pack_selection
from components.config import parse
from components.plan_layout import plans_for
from dr_model import catalog
from dr_runtime.operations.selection_verdict import SelectionConfig, decide
from policies.dr_policies.scope import Scope
from tests.selection_vectors import VECTORS, Vector

REPO = Path(__file__).resolve().parents[2]
COPIES = {"program": program_selection, "pack": pack_selection}
IDS = [v.name for v in VECTORS]


def test_the_pack_copy_is_the_program_copy() -> None:
    program = (REPO / "dr_model" / "backup_selection.py").read_bytes()
    pack = (REPO / "policies" / "dr_policies" / "backup_selection.py").read_bytes()
    assert pack == program, (
        "policies/dr_policies/backup_selection.py must be a byte-for-byte copy of dr_model/backup_selection.py"
    )


@pytest.mark.parametrize("copy", COPIES.values(), ids=COPIES.keys())
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_vector(copy: ModuleType, vector: Vector) -> None:
    assert copy.selects(vector.selection, vector.arn, vector.tags) is vector.selected


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if not v.selection.get("selectionTags")], ids=lambda v: v.name
)
def test_the_pack_scope_agrees(vector: Vector) -> None:
    # The pack reads a selection as a Scope; without selectionTags its verdict on one resource is exact.
    conditions: dict[str, list[tuple[str, str]]] = {}
    for block in vector.selection.get("conditions", []):
        for operator, entries in block.items():
            for entry in entries:
                key = entry["key"]
                bare = (
                    key.removeprefix(pack_selection.TAG_PREFIX)
                    if key.startswith(pack_selection.TAG_PREFIX)
                    else "\x00" + key
                )
                conditions.setdefault(bare, []).append((operator, entry["value"]))
    scope = Scope(
        patterns=tuple(vector.selection.get("resources", [])),
        excluded=tuple(vector.selection.get("notResources", [])),
        tag_union=(),
        conditions={k: tuple(v) for k, v in conditions.items()},
    )
    assert (scope.arn_selected(vector.arn) and scope.admits(vector.tags)) is vector.selected


def test_the_table_covers_both_outcomes_and_every_operator() -> None:
    assert {v.selected for v in VECTORS} == {True, False}
    used = {op for v in VECTORS for block in v.selection.get("conditions", []) for op in block}
    assert used == set(program_selection.OPERATORS)


def test_an_unknown_operator_names_the_allowed_ones() -> None:
    for copy in COPIES.values():
        with pytest.raises(ValueError, match="stringNotLikes"):
            copy.holds("stringEqual", "a", "a")


TAG_SETS: tuple[dict[str, str], ...] = (
    {},
    {"exclude-disaster-recovery-backup": "true"},
    {"exclude-disaster-recovery-backup": "True"},
    {"exclude-cross-region-backup": "true"},
    {"kubernetes.io/cluster/prod-eks": "owned"},
    {"kubernetes.io/cluster/prod-eks": "shared"},
    {"kubernetes.io/cluster/other": "owned"},
)


@pytest.mark.parametrize("layout", ["split", "partitioned"])
@pytest.mark.parametrize(
    "tags", TAG_SETS, ids=[",".join(f"{k}={v}" for k, v in t.items()) or "none" for t in TAG_SETS]
)
def test_the_coverage_verdict_is_what_the_built_selections_take(
    prod_config: dict[str, Any], layout: str, tags: dict[str, str]
) -> None:
    raw = {k.removeprefix("aws-dr-backup:"): v for k, v in prod_config.items()}
    config = parse({**raw, "layout": layout, "kubernetesClusters": ["prod-eks"]}, "prod")
    verdict_config = SelectionConfig(kubernetes_clusters=("prod-eks",))
    for rtype in config.active_types:
        if rtype.cluster_route is not None:
            continue  # clusters: tests/operations_infra/test_opsinfra_routing.py
        arn = "arn:aws:ec2:us-east-1:111111111111:volume/vol-1" if rtype.kubernetes_volumes else None
        plans = plans_for(config, rtype)
        taken = []
        for plan in plans:
            selection = {
                "resources": list(plan.selection.resources),
                "conditions": [
                    {
                        {"string_equals": "stringEquals", "string_not_equals": "stringNotEquals"}[
                            c.operator
                        ]: [{"key": c.condition_key, "value": c.value}]
                    }
                    for c in plan.selection.conditions
                ],
            }
            resource = arn or plan.selection.resources[0].replace("*", "x")
            taken.append(program_selection.selects(selection, resource, tags))
        verdict = decide(rtype.backup_name, tags, verdict_config)
        assert any(taken) is verdict.decision.selected, (rtype.key, tags)
        copied = any(t and p.copies_cross_region for t, p in zip(taken, plans, strict=True))
        if verdict.decision.selected:
            assert copied is (verdict.decision.value == "selected"), (rtype.key, tags)
    assert catalog.get("ebs").kubernetes_volumes
