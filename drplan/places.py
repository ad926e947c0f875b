"""Where a registered resource lives: the account and region of its provider.

Read from the provider's own inputs as the engine receives them (``region``, and ``allowedAccountIds``
as JSON text), so the plan shows what the providers are pinned to, not what the config says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drplan.graph import RegisteredResource, StackGraph

PROVIDER_PREFIX = "pulumi:providers:"


@dataclass(frozen=True, order=True)
class Place:
    account: str
    """The pinned account, or ``"?"`` when the provider does not pin exactly one."""
    region: str


UNPLACED = Place("?", "?")


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value]
    return list(value) if isinstance(value, list) else []


def provider_place(inputs: Mapping[str, Any]) -> Place:
    accounts = [str(a) for a in _json_list(inputs.get("allowedAccountIds"))]
    region = inputs.get("region")
    return Place(
        account=accounts[0] if len(accounts) == 1 else "?",
        region=region if isinstance(region, str) else "?",
    )


class Places:
    """Account and region of every resource of one graph."""

    def __init__(self, graph: StackGraph) -> None:
        self._by_urn = graph.by_urn()
        self._providers = {
            r.urn: provider_place(r.inputs) for r in graph.resources if r.type.startswith(PROVIDER_PREFIX)
        }

    def of(self, resource: RegisteredResource) -> Place:
        """Components have no place of their own; they get ``UNPLACED``."""
        if resource.type.startswith(PROVIDER_PREFIX):
            return self._providers[resource.urn]
        place = self._providers.get(resource.provider_urn, UNPLACED)
        # pulumi-aws 7 lets a resource override its provider's region.
        region = resource.inputs.get("region")
        if isinstance(region, str) and place is not UNPLACED:
            return Place(place.account, region)
        return place

    def provider_names(self, place: Place) -> list[str]:
        return sorted(self._by_urn[urn].name for urn, p in self._providers.items() if p == place)

    def vault_arn(self, vault: RegisteredResource) -> str | None:
        """The ARN AWS gives a (logically air-gapped) backup vault, from its name and its provider's place."""
        place = self.of(vault)
        name = vault.inputs.get("name")
        if place.account == "?" or place.region == "?" or not isinstance(name, str):
            return None
        return f"arn:aws:backup:{place.region}:{place.account}:backup-vault:{name}"
