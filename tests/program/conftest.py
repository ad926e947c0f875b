from __future__ import annotations

import copy
from typing import Any

import pytest

from drplan.graph import StackGraph
from drplan.program import read_stack_config, register_stack, stack_file


@pytest.fixture(scope="session")
def prod() -> StackGraph:
    return register_stack("prod")


@pytest.fixture(scope="session")
def staging() -> StackGraph:
    return register_stack("staging")


@pytest.fixture
def prod_config() -> dict[str, Any]:
    """A deep copy of the real prod stack config, to mutate one field at a time."""
    return copy.deepcopy(read_stack_config(stack_file("prod")))


@pytest.fixture
def staging_config() -> dict[str, Any]:
    return copy.deepcopy(read_stack_config(stack_file("staging")))
