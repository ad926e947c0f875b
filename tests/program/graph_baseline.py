"""What a stack registered before a change, to prove that the change replaces and removes nothing.

A baseline holds, per stack, every resource's URN with a digest of what decides whether the engine updates or
replaces it (type, inputs, protect, parent, provider), and the full inputs of every vault (the resources that
hold the recovery points), so a failing comparison says exactly what moved.

Written once from the commit before a change (``python -m tests.program.graph_baseline <file>``), never
regenerated to make a test pass.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from drplan.graph import RegisteredResource, StackGraph
from drplan.program import register_stack

STACKS = ("prod", "staging", "payments", "analytics")
KEPT_IN_FULL = frozenset(
    {
        "aws:backup/vault:Vault",
        "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault",
    }
)


ARCHIVE_COMPONENT = "aws-dr-backup:backup:AirGappedArchive"
ARCHIVE_PROVIDER = "$pulumi:providers:aws::archive"


def moved_to_isolated(urn: str) -> bool:
    """Whether a URN of a baseline is one of the resources the workload stacks registered in the isolated
    account, which moved to the isolated stack (docs/isolated-account.md): the ``archive`` component, its
    children and the ``archive`` provider."""
    return ARCHIVE_COMPONENT in urn or urn.endswith(ARCHIVE_PROVIDER)


ROOT = Path(__file__).resolve().parents[2]


def _relative(value: Any) -> Any:
    """Inputs with every asset path relative to the checkout: a Lambda archive names its files by absolute
    path, which differs between clones of the same commit."""
    if isinstance(value, dict):
        return {
            k: (
                Path(v).relative_to(ROOT).as_posix()
                if k == "path" and isinstance(v, str) and v.startswith(str(ROOT))
                else _relative(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_relative(v) for v in value]
    return value


def _identity(resource: RegisteredResource) -> dict[str, Any]:
    return {
        "type": resource.type,
        "inputs": _relative(resource.inputs),
        "protect": resource.protect,
        "parent": resource.parent,
        "provider": resource.provider_urn,
    }


def digest(resource: RegisteredResource) -> str:
    text = json.dumps(_identity(resource), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def snapshot(graph: StackGraph) -> dict[str, Any]:
    return {
        "digests": {r.urn: digest(r) for r in graph.resources},
        "full": {r.urn: _identity(r) for r in graph.resources if r.type in KEPT_IN_FULL},
    }


def main(path: str) -> None:
    baseline = {stack: snapshot(register_stack(stack)) for stack in STACKS}
    Path(path).write_text(json.dumps(baseline, sort_keys=True, separators=(",", ":"), default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
