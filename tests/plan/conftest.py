from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.config import from_namespaced, parse
from drplan import matrix
from drplan.graph import StackGraph
from drplan.policy_client import PolicyPackClient
from drplan.program import read_stack_config, register_stack, stack_file


def stack_config(stack: str) -> dict[str, Any]:
    return read_stack_config(stack_file(stack))


def tags_of(stack: str, extra_clusters: tuple[str, ...] = ()) -> matrix.TagScenarios:
    return matrix.TagScenarios.of(parse(from_namespaced(stack_config(stack)), stack), extra_clusters)


def isolated_of(stack: str) -> matrix.IsolatedVaults:
    """The isolated account's vaults the stack copies into (its graph names them by ARN only)."""
    return matrix.IsolatedVaults.of(parse(from_namespaced(stack_config(stack)), stack))


@pytest.fixture(scope="session")
def plan_prod() -> StackGraph:
    return register_stack("prod")


@pytest.fixture(scope="session")
def plan_prod_split() -> StackGraph:
    """prod's config with the other layout, as the storage estimate builds it."""
    return register_stack("prod", config={**stack_config("prod"), "aws-dr-backup:layout": "split"})


@pytest.fixture(scope="session")
def plan_staging() -> StackGraph:
    return register_stack("staging")


@pytest.fixture(scope="session")
def prod_matrix(plan_prod: StackGraph) -> matrix.Matrix:
    # One cluster the stack does not know, to show its volumes stay protected.
    return matrix.build(
        plan_prod, tags_of("prod", extra_clusters=("someone-elses-cluster",)), isolated_of("prod")
    )


@pytest.fixture(scope="session")
def staging_matrix(plan_staging: StackGraph) -> matrix.Matrix:
    return matrix.build(plan_staging, tags_of("staging"), isolated_of("staging"))


@pytest.fixture(scope="session")
def pack() -> Iterator[PolicyPackClient]:
    with PolicyPackClient() as client:
        yield client
