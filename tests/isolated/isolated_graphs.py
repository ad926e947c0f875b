"""Running the isolated account's program (``isolated/__main__.py``) under Pulumi's mocks, and the old
layout's isolated-account resources it takes over (``legacy_archives.json``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from drplan.graph import RegisteredResource, StackGraph
from drplan.program import REPO, read_stack_config, register_stack
from isolated.isolated_config import PROJECT

ISOLATED_DIR = REPO / "isolated"
NS = f"{PROJECT}:"
STACKS = {"isolated-222222222222": "222222222222", "isolated-444444444444": "444444444444"}
"""Each isolated stack file of the repository -> its isolated account."""
WORKLOAD_STACKS = {
    "prod": ("111111111111", "isolated-222222222222"),
    "payments": ("555555555555", "isolated-222222222222"),
    "analytics": ("666666666666", "isolated-222222222222"),
    "staging": ("333333333333", "isolated-444444444444"),
}
"""Each workload stack -> (its workload account, the isolated stack that now keeps its vaults)."""
LEGACY = Path(__file__).with_name("legacy_archives.json")


def isolated_config(stack: str) -> dict[str, Any]:
    return read_stack_config(ISOLATED_DIR / f"Pulumi.{stack}.yaml")


def run_isolated(
    stack: str, config: dict[str, Any] | None = None, recorder: list[RegisteredResource] | None = None
) -> StackGraph:
    return register_stack(
        stack,
        config=config if config is not None else isolated_config(stack),
        program=ISOLATED_DIR / "__main__.py",
        recorder=recorder,
        project=PROJECT,
    )


def legacy(stack: str) -> list[dict[str, Any]]:
    """What the workload stack's program registered in (and for) the isolated account before this project:
    recorded from the program at commit 7f24ee2 under the same mocks, each resource with its parent's and
    provider's logical names. ``prod-invitation`` is prod with ``airGappedVault.shareWith: invitation``."""
    rows: list[dict[str, Any]] = json.loads(LEGACY.read_text())[stack]
    return rows


_SHARE_ID = re.compile(r"(arn:aws:ram:[a-z0-9-]+:[0-9]{12}:resource-share/)[0-9a-f]{12}")
_KEY_ID = re.compile(r"[0-9a-f]{8}-0000-4000-8000-[0-9a-f]{12}")


def comparable(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs with the IDs the mocks make up from a logical name (the RAM share's, the key's) blanked: after
    a move the share and the key are the same physical ones, with the IDs AWS gave them (which resource
    refers to which stays checked by the dependencies)."""
    text = _KEY_ID.sub("<key-id>", _SHARE_ID.sub(r"\1<id>", json.dumps(inputs, sort_keys=True)))
    return dict(json.loads(text))
