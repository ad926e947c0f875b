"""The policy pack under test, started once per test module the way the Pulumi CLI starts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drplan.policy_client import PolicyPackClient


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackClient]:
    with PolicyPackClient() as client:
        yield client


@pytest.fixture
def client(pack: PolicyPackClient) -> Iterator[PolicyPackClient]:
    """The module's pack with default configuration (reset before and after each test)."""
    pack.configure({})
    yield pack
    pack.configure({})
