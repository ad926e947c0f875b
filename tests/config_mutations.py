"""Changes to one key of a stack's raw config (``<namespace>:<key>`` -> value), for the bad-input tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Mutation = Callable[[dict[str, Any]], object]


def set_key(namespace: str, path: str, value: Any) -> Mutation:
    """Set ``a.b.c`` inside the namespaced key ``<namespace>:a``, creating the objects on the way."""

    def mutate(config: dict[str, Any]) -> None:
        head, *rest = path.split(".")
        if not rest:
            config[f"{namespace}:{head}"] = value
            return
        node = config.setdefault(f"{namespace}:{head}", {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        node[rest[-1]] = value

    return mutate


def drop_key(namespace: str, path: str) -> Mutation:
    """Remove ``a.b.c`` from inside the namespaced key ``<namespace>:a``."""

    def mutate(config: dict[str, Any]) -> None:
        head, *rest = path.split(".")
        if not rest:
            del config[f"{namespace}:{head}"]
            return
        node = config[f"{namespace}:{head}"]
        for part in rest[:-1]:
            node = node[part]
        del node[rest[-1]]

    return mutate
