"""A generated fleet above one GitHub Actions matrix, shared by the matrix tests of the plan and the
workflows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet.stacks import large_fleet_stacks, write_stack


@pytest.fixture(scope="session")
def large_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 stacks, written in reverse name order (the plan must not depend on the order files appear in),
    every tenth a staging stack."""
    directory = tmp_path_factory.mktemp("large-fleet")
    for i, stack in reversed(list(enumerate(large_fleet_stacks()))):
        environment = "staging" if i % 10 == 0 else "production"
        write_stack(directory, stack, f"{500000000000 + i}", environment=environment)
    return directory
