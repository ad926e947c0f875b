"""The registered graph (:mod:`drplan.graph`) as the engine's Analyzer requests: properties as a
``google.protobuf.Struct`` with camelCase keys, unknowns as the engine's sentinel, the provider as
``AnalyzerProviderResource``, options with ``protect`` and parent, and for ``AnalyzeStack`` the
dependencies and property dependencies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from drplan.graph import RegisteredResource


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(_plain(props))
    return struct


def split_provider_ref(ref: str) -> tuple[str, str]:
    """``<provider urn>::<provider id>`` -> (urn, id)."""
    if not ref:
        return "", ""
    urn, _, ident = ref.rpartition("::")
    return (urn, ident) if urn else (ref, "")


def urn_type_and_name(urn: str) -> tuple[str, str]:
    """``urn:pulumi:stack::project::parent$type::name`` -> (type, name)."""
    parts = urn.split("::", 3)
    if len(parts) < 4:
        return "", ""
    return parts[2].rsplit("$", 1)[-1], parts[3]


class Structs:
    """Each resource's inputs as a protobuf ``Struct``, built once for every request about one stack:
    ``Analyze`` and ``AnalyzeStack`` say the same of a resource, and each resource names its provider's."""

    def __init__(self) -> None:
        self._built: dict[str, struct_pb2.Struct] = {}

    def of(self, urn: str, props: Mapping[str, Any]) -> struct_pb2.Struct:
        built = self._built.get(urn)
        if built is None:
            built = self._built[urn] = to_struct(props)
        return built


def to_provider(
    resource: RegisteredResource, known: Mapping[str, RegisteredResource], structs: Structs | None = None
) -> analyzer_pb2.AnalyzerProviderResource | None:
    provider_urn, _ = split_provider_ref(resource.provider)
    if not provider_urn:
        return None
    provider = known.get(provider_urn)
    type_, name = urn_type_and_name(provider_urn)
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type if provider else type_,
        urn=provider_urn,
        name=provider.name if provider else name,
        properties=(structs or Structs()).of(provider_urn, provider.inputs if provider else {}),
    )


def _options(resource: RegisteredResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent)


def _described(
    resource: RegisteredResource, known: Mapping[str, RegisteredResource] | None, structs: Structs | None
) -> dict[str, Any]:
    """What an ``Analyze`` request and a resource of ``AnalyzeStack`` both say of a resource."""
    structs = structs or Structs()
    return {
        "type": resource.type,
        "urn": resource.urn,
        "name": resource.name,
        "properties": structs.of(resource.urn, resource.inputs),
        "options": _options(resource),
        "provider": to_provider(resource, known or {}, structs),
    }


def to_analyze_request(
    resource: RegisteredResource,
    known: Mapping[str, RegisteredResource] | None = None,
    structs: Structs | None = None,
) -> analyzer_pb2.AnalyzeRequest:
    """``structs``: the stack's, when its other requests are built too (:class:`Structs`)."""
    return analyzer_pb2.AnalyzeRequest(**_described(resource, known, structs))


def to_analyzer_resource(
    resource: RegisteredResource,
    known: Mapping[str, RegisteredResource] | None = None,
    structs: Structs | None = None,
) -> analyzer_pb2.AnalyzerResource:
    """A resource of ``AnalyzeStack``: what ``Analyze`` gets, with its parent and dependencies."""
    return analyzer_pb2.AnalyzerResource(
        **_described(resource, known, structs),
        parent=resource.parent,
        dependencies=list(resource.dependencies),
        propertyDependencies={
            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
            for key, urns in resource.property_dependencies.items()
        },
    )


def to_analyze_stack_request(
    resources: Iterable[RegisteredResource], structs: Structs | None = None
) -> analyzer_pb2.AnalyzeStackRequest:
    items = list(resources)
    known = {r.urn: r for r in items}
    structs = structs or Structs()
    return analyzer_pb2.AnalyzeStackRequest(
        resources=[to_analyzer_resource(r, known, structs) for r in items]
    )
