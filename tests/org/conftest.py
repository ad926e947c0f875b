from __future__ import annotations

import copy
from typing import Any

import pytest

from drplan.graph import StackGraph
from tests.org.org_graphs import org_stack_config, run_org


@pytest.fixture(scope="session")
def org_graph() -> StackGraph:
    return run_org(org_stack_config())


@pytest.fixture
def org_config() -> dict[str, Any]:
    """A deep copy of the real organisation stack config, to mutate one field at a time."""
    return copy.deepcopy(org_stack_config())
