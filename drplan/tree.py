"""The registered resources grouped by account and region, each group a tree by component parent.

Components have no provider of their own, so a component appears in every group that holds one of its
descendants (a ResourceTypeProtection has children in both regions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drplan.graph import RegisteredResource, StackGraph
from drplan.places import PROVIDER_PREFIX, Place, Places


@dataclass
class Node:
    type: str
    name: str
    urn: str
    component: bool
    children: list[Node] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "name": self.name, "urn": self.urn}
        if self.component:
            out["children"] = [c.to_json() for c in self.children]
        return out


@dataclass(frozen=True)
class Group:
    place: Place
    providers: tuple[str, ...]
    """Names of the providers pinned to this account and region."""
    roots: tuple[Node, ...]
    count: int
    """Custom resources (providers included) in the group."""

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.place.account,
            "region": self.place.region,
            "providers": list(self.providers),
            "resourceCount": self.count,
            "resources": [n.to_json() for n in self.roots],
        }


def short_type(token: str) -> str:
    """``aws:kms/key:Key`` -> ``kms:Key``; ``pulumi:providers:aws`` -> ``provider:aws``; components keep
    their last segment."""
    if token.startswith(PROVIDER_PREFIX):
        return f"provider:{token.removeprefix(PROVIDER_PREFIX)}"
    package, module, kind = ([*token.split(":"), "", ""])[:3]
    if package == "aws":
        return f"{module.split('/')[0]}:{kind}"
    return kind or token


def _sort(nodes: list[Node]) -> None:
    nodes.sort(key=lambda n: (not n.component, n.type, n.name))
    for node in nodes:
        _sort(node.children)


def group(graph: StackGraph) -> list[Group]:
    places = Places(graph)
    by_urn = graph.by_urn()
    roots: dict[Place, list[Node]] = {}
    nodes: dict[tuple[Place, str], Node] = {}
    counts: dict[Place, int] = {}

    def node_for(place: Place, resource: RegisteredResource) -> Node:
        key = (place, resource.urn)
        if key not in nodes:
            nodes[key] = Node(short_type(resource.type), resource.name, resource.urn, not resource.custom)
            parent = by_urn.get(resource.parent)
            if parent is not None:  # the root stack is not recorded: its children are roots
                node_for(place, parent).children.append(nodes[key])
            else:
                roots.setdefault(place, []).append(nodes[key])
        return nodes[key]

    for resource in graph.resources:
        if resource.custom:
            place = places.of(resource)
            counts[place] = counts.get(place, 0) + 1
            node_for(place, resource)
    groups = []
    for place in sorted(roots):
        _sort(roots[place])
        groups.append(Group(place, tuple(places.provider_names(place)), tuple(roots[place]), counts[place]))
    return groups
