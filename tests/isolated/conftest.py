from __future__ import annotations

import copy
from typing import Any

import pytest

from drplan.graph import StackGraph
from tests.isolated.isolated_graphs import STACKS, isolated_config, run_isolated


@pytest.fixture(scope="session")
def isolated_graphs() -> dict[str, StackGraph]:
    return {stack: run_isolated(stack) for stack in STACKS}


@pytest.fixture
def config_222() -> dict[str, Any]:
    """A deep copy of the real isolated-222222222222 config, to mutate one field at a time."""
    return copy.deepcopy(isolated_config("isolated-222222222222"))
