"""The coverage job routes clusters exactly as the registered selections select them.

For every engine tag value and every stack, the set of types whose registered selections take a
cluster (evaluated by AWS Backup's documented semantics, ``dr_model.backup_selection``) is the one type
``dr_runtime.operations.selection_verdict.route_cluster`` names from the catalog's routing data.
"""

from __future__ import annotations

import pytest

from dr_model import catalog
from dr_model.backup_selection import selects
from dr_runtime.operations.selection_verdict import route_cluster
from drplan.graph import StackGraph
from drplan.program import read_stack_config, register_stack, stack_file

SELECTION = "aws:backup/selection:Selection"
CLUSTER = "arn:aws:rds:us-east-1:111111111111:cluster:orders"
TAG_VALUES = (None, "documentdb", "neptune", "aurora", "DocumentDB", "")


def _types_selecting(graph: StackGraph, prefix: str, tags: dict[str, str]) -> set[str]:
    found: set[str] = set()
    for selection in graph.by_type(SELECTION):
        key = selection.inputs["name"].removeprefix(f"{prefix}-").split("-", 1)[0]
        if selects(selection.inputs, CLUSTER, tags):
            found.add(catalog.get(key).backup_name)
    return found


def _check(graph: StackGraph, prefix: str) -> None:
    protected = [
        catalog.get(s.inputs["name"].removeprefix(f"{prefix}-").split("-", 1)[0]).backup_name
        for s in graph.by_type(SELECTION)
    ]
    for value in TAG_VALUES:
        tags = {} if value is None else {catalog.CLUSTER_ENGINE_TAG: value}
        routed = route_cluster(tags, set(protected))
        assert _types_selecting(graph, prefix, tags) == ({routed} if routed else set()), value


def test_prod(prod_graph: StackGraph) -> None:
    _check(prod_graph, "dr-prod")


@pytest.mark.parametrize(
    "inactive",
    [("documentdb",), ("neptune",), ("documentdb", "neptune"), ("aurora",), ("aurora", "neptune")],
)
def test_staging_with_types_switched_off(inactive: tuple[str, ...]) -> None:
    config = read_stack_config(stack_file("staging"))
    config["aws-dr-backup:resourceTypes"] = {
        key: {"active": key not in inactive} for key in catalog.TYPE_KEYS
    }
    _check(register_stack("staging", config=config), "dr-staging")
