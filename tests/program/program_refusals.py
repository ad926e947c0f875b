"""A workload stack's bad config refused as the program does it: one config error carrying every expected
fragment, and nothing registered first."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from drplan.graph import RegisteredResource
from drplan.program import register_stack


def assert_refused(stack: str, config: dict[str, Any], *fragments: str) -> None:
    registered: list[RegisteredResource] = []
    with pytest.raises(ConfigError) as caught:
        register_stack(stack, config=config, recorder=registered)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)
    assert registered == []
