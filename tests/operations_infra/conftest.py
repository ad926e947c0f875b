"""The real stack files run once per session under Pulumi's mocks; tests read the recorded graph."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drplan.graph import StackGraph
from drplan.program import read_stack_config, register_stack, stack_file


@pytest.fixture(scope="session")
def prod_graph() -> StackGraph:
    return register_stack("prod")


@pytest.fixture(scope="session")
def staging_graph() -> StackGraph:
    return register_stack("staging")


@pytest.fixture
def prod_stack_config() -> dict[str, Any]:
    """A deep copy of the real prod stack config, to change one setting."""
    return copy.deepcopy(read_stack_config(stack_file("prod")))
