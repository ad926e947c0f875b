"""Digests of stacks' effective config and registered graphs, for ``python -m drplan --changed-since REF``.

Run as a script, not imported from the tree it plans: ``python drplan/graph_digests.py REQUEST RESULT``,
with ``REQUEST`` a JSON file ``{"root", "projectDir", "stacks", "graphs"}``. It puts ``root`` (a checkout of
the program, this revision's or the base revision's from ``git archive``) first on ``sys.path`` and plans
with that tree's own ``drplan.program``: its config merging (``read_stack_config``) and its program
(``register_stack`` runs ``<root>/__main__.py`` under Pulumi's mocks). So each side is planned as that
revision would plan it. ``RESULT`` receives, per stack, the digest of its effective config and, for the
stacks in ``graphs``, of its registered graph, or the error that stopped it, or that it has no stack file.

A graph's digest is the SHA-256 of canonical JSON (sorted keys, no spaces) of every registered resource's
URN, type, name, custom flag, inputs, parent, provider, resource options (protect, retainOnDelete,
deleteBeforeReplace) and dependencies (sorted: they are sets), the resources in URN order. The mocked
provider's outputs (IDs, ARNs) are left out: they follow from the inputs.

Only this file's standard-library code runs from the current tree; everything it plans comes from ``root``.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

# The fleet's collector thresholds (drplan/__init__.py GC_THRESHOLD; not imported: that is the root's).
_GC_THRESHOLD = (50_000, 50, 100)
# The key that marks a serialized asset or archive in the engine's JSON shape.
ASSET_SIGNATURE = rpc._special_sig_key


def digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _content(path: Path) -> str:
    """The SHA-256 of a file's bytes, or of a directory's files (relative names and contents)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return digest([[p.relative_to(path).as_posix(), _content(p)] for p in files])
    return "missing"


def _portable(value: Any, root: Path) -> Any:
    """``value`` with each asset's or archive's path made relative to the program's root and its contents'
    digest added: the engine compares an asset by its contents, and the two sides' trees sit in different
    directories."""
    if isinstance(value, list):
        return [_portable(v, root) for v in value]
    if not isinstance(value, dict):
        return value
    if ASSET_SIGNATURE in value and isinstance(value.get("path"), str):
        path = Path(value["path"])
        shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        return {**value, "path": shown, "contents": _content(path)}
    return {k: _portable(v, root) for k, v in value.items()}


def resource_record(resource: Any, root: Path) -> dict[str, Any]:
    """What the engine receives for one registration, as plain JSON values (asset paths relative to
    ``root``, the program's tree)."""
    property_dependencies = getattr(resource, "property_dependencies", {}) or {}
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "custom": getattr(resource, "custom", True),
        "inputs": _portable(resource.inputs, root),
        "parent": getattr(resource, "parent", ""),
        "provider": getattr(resource, "provider", ""),
        "protect": getattr(resource, "protect", False),
        "retainOnDelete": getattr(resource, "retain_on_delete", False),
        "deleteBeforeReplace": getattr(resource, "delete_before_replace", False),
        "dependencies": sorted(getattr(resource, "dependencies", ())),
        "propertyDependencies": {k: sorted(v) for k, v in property_dependencies.items()},
    }


def graph_digest(resources: Any, root: Path) -> str:
    return digest(sorted((resource_record(r, root) for r in resources), key=lambda r: str(r["urn"])))


def _plan(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    root = Path(request["root"]).resolve()
    sys.path.insert(0, str(root))
    from drplan import program  # the root's: its merging and its program

    project_dir = Path(request["projectDir"])
    project_file = project_dir / "Pulumi.yaml"
    graphs = set(request["graphs"])
    results: dict[str, dict[str, Any]] = {}
    for stack in request["stacks"]:
        path = project_dir / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            results[stack] = {"missing": True}
            continue
        try:
            raw = program.read_stack_config(path, project_file=project_file, stack=stack)
        except Exception as exc:  # the root's StackFileError, or any failure of an older tree
            results[stack] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        result: dict[str, Any] = {"config": digest(raw)}
        if stack in graphs:
            try:
                result["graph"] = graph_digest(program.register_stack(stack, config=raw).resources, root)
            except Exception as exc:  # ConfigError, or a program that fails for this config
                result["error"] = f"{type(exc).__name__}: {exc}"
        results[stack] = result
    return results


def main(argv: list[str]) -> int:
    request_file, result_file = argv
    request = json.loads(Path(request_file).read_text(encoding="utf-8"))
    results = _plan(request)
    Path(result_file).write_text(json.dumps(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    # Run by path, Python put this file's directory (drplan/) first on sys.path; the root goes there.
    del sys.path[0]
    gc.set_threshold(*_GC_THRESHOLD)
    sys.stdout.flush()
    sys.exit(main(sys.argv[1:]))
