"""The resource graph a program registers, as the engine would see it.

Plain data shared by the mock runner (which records it), the policy-pack client (which sends it
over the Analyzer protocol) and the offline plan (which prints it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The engine's marker for a value that is not known until apply (pulumi/sdk/go/common/resource/plugin).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class RegisteredResource:
    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    """Inputs in the engine's JSON shape (camelCase keys); unresolved values are ``UNKNOWN``."""
    parent: str = ""
    provider: str = ""
    """Provider reference ``<provider urn>::<provider id>``; empty for components and default providers."""
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    """The old resource is deleted before its replacement is created (a singleton per parent, as a vault lock)."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    id: str = ""
    computed: dict[str, Any] = field(default_factory=dict)
    """The outputs the mocked provider set besides the echoed inputs (``arn``, ``keyId``...); a reference to
    one of them is a reference to the producing resource (:mod:`drplan.terraform_json`)."""

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass(frozen=True)
class StackGraph:
    stack: str
    project: str
    resources: tuple[RegisteredResource, ...]
    outputs: dict[str, Any]

    def by_type(self, type_token: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_token]

    def by_urn(self) -> dict[str, RegisteredResource]:
        return {r.urn: r for r in self.resources}
