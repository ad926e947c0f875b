"""The pack's Analyzer gRPC server: pulumi-policy's own servicer, but deserialising each request once.

Why this exists: pulumi-policy 1.21.0's ``_PolicyAnalyzerServicer`` converts the request's properties
(``MessageToDict`` + ``deserialize_properties`` + proxy) once *per policy*: per resource policy in
``Analyze`` and, for every resource of the stack, per stack policy in ``AnalyzeStack``. With this pack's
policies that made a 10,000-resource ``AnalyzeStack`` ~15x slower than an empty pack. The subclass below
builds the resource list (and a single resource's properties) once per call and hands the same objects
to every policy; everything else (configuration, enforcement levels, diagnostics, remediation, info) is
the SDK's own code.

It overrides methods of a private SDK class and reads its name-mangled attributes, so it is tied to the
pinned ``pulumi-policy`` version (``requirements.txt``). ``tests/policies/test_servicer.py`` fails when the
SDK's version, constructor signature or the source of the replaced methods change, so an upgrade forces
a review of this file. The server is started exactly as ``PolicyPack.__init__`` does (127.0.0.1, a free
port printed on stdout, the SDK's message-size options), so the CLI protocol is unchanged.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from concurrent import futures
from functools import partial
from inspect import isawaitable
from typing import Any

import grpc
from google.protobuf import json_format
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import policy as sdk
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

SDK_VERSION = "1.21.0"
# sha256 of inspect.getsource() of the SDK methods replaced here (checked by the test).
REPLACED_SOURCE_SHA256 = {
    "Analyze": "75db9cf8fc9d158596909b9b3f77bf48815990a6f513f2bb35728a67e4d8a515",
    "AnalyzeStack": "3917a008482c2387d7da37f65d889970933e8df8efc57270559e20b36be837bf",
}

# Private SDK class: see the module docstring.
_Base: Any = sdk._PolicyAnalyzerServicer


class StackResource(sdk.PolicyResource):
    """A ``PolicyResource`` whose properties are converted when first read, not up front.

    ``plain_props`` is the engine's JSON (``MessageToDict``: camelCase keys, unknown sentinels, secrets
    as signature objects), which this pack's framework reads directly; ``props`` is the SDK's proxy for
    any other reader. A resource of a type no policy reads is never converted.
    """

    def __init__(self, message: Any, opts: Any, provider: Any) -> None:
        self.message = message
        self._plain: dict[str, Any] | None = None
        self._props: Any = None
        super().__init__(message.type, {}, message.urn, message.name, opts, provider, None, [], {})

    @property
    def plain_props(self) -> dict[str, Any]:
        if self._plain is None:
            self._plain = json_format.MessageToDict(self.message.properties)
        return self._plain

    @property
    def props(self) -> Any:
        if self._props is None:
            self._props = unknown_checking_proxy(deserialize_properties(self.plain_props))
        return self._props

    @props.setter
    def props(self, value: Any) -> None:
        self._props = value or None


class ResourceArgs(sdk.ResourceValidationArgs):
    """``ResourceValidationArgs`` that also carry the engine's JSON of the properties (``plain_props``)."""

    plain_props: dict[str, Any]


class SharedDeserializationServicer(_Base):  # type: ignore[misc]
    """``_PolicyAnalyzerServicer`` with per-call (not per-policy) deserialisation."""

    def _private(self, name: str) -> Any:
        return getattr(self, f"_PolicyAnalyzerServicer__{name}")

    def _run(self, response: Any, policy: sdk.Policy, call: Callable[[], Any]) -> None:
        """Run one policy as the SDK does: await coroutines, map unknown / not-applicable signals."""
        try:
            result = call()
            if isawaitable(result):
                loop = asyncio.new_event_loop()
                loop.run_until_complete(asyncio.ensure_future(result, loop=loop))
                loop.close()
        except UnknownValueError as e:
            name, version = self._private("policy_pack_name"), self._private("policy_pack_version")
            response.diagnostics.append(
                proto.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=name,
                    policyPackVersion=version,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during preview: "
                        f"{e.message}"
                    ),
                    urn="",
                    description=policy.description,
                    enforcementLevel=self._map_enforcement_level(sdk.EnforcementLevel.ADVISORY),
                )
            )
        except sdk._NotApplicableError as e:
            response.not_applicable.append(
                proto.PolicyNotApplicable(policy_name=policy.name, reason=e.reason or "")
            )

    def Analyze(self, request: Any, _context: Any) -> Any:  # noqa: N802 - gRPC method name
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        shared: tuple[dict[str, Any], Any, Any, Any] | None = None
        for policy in self._private("policies"):
            level = self._get_enforcement_level(policy)
            if level == sdk.EnforcementLevel.DISABLED or not isinstance(policy, sdk.ResourceValidationPolicy):
                continue
            types = getattr(policy, "dr_resource_types", None)
            if types is not None and request.type not in types:
                continue  # the framework's policy would return at once for this type (framework._typed)
            if not policy.has_validation():
                response.not_applicable.append(
                    proto.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"
                    )
                )
                continue
            if level == sdk.EnforcementLevel.REMEDIATE:
                # As the SDK: a remediated resource still violating is reported as mandatory.
                level = sdk.EnforcementLevel.MANDATORY
            report = self._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            if shared is None:
                plain = json_format.MessageToDict(request.properties)
                props = unknown_checking_proxy(deserialize_properties(plain))
                shared = (
                    plain,
                    props,
                    self._get_resource_options(request),
                    self._get_provider_resource(request),
                )
            plain, props, opts, provider = shared
            args = ResourceArgs(
                request.type,
                props,
                request.urn,
                request.name,
                opts,
                provider,
                self._get_policy_config(policy.name),
                self._private("stack_tags"),
            )
            args.plain_props = plain
            self._run(response, policy, partial(policy.validate, args, report))
        return response

    def _stack_resources(self, request: Any) -> list[Any]:
        """The stack's resources, built once per call, parents and dependencies linked as the SDK does."""
        resources: list[StackResource] = []
        providers: dict[str, Any] = {}
        for r in request.resources:
            provider = None
            if r.HasField("provider"):
                # One provider object per provider URN: the engine sends the same provider with each resource.
                provider = providers.get(r.provider.urn)
                if provider is None:
                    provider = providers[r.provider.urn] = self._get_provider_resource(r)
            resources.append(StackResource(r, self._get_resource_options(r), provider))
        by_urn = {res.urn: res for res in resources}
        for resource in resources:
            r = resource.message
            if r.parent and r.parent in by_urn:
                resource.parent = by_urn[r.parent]
            resource.dependencies.extend(by_urn[d] for d in r.dependencies if d in by_urn)
            for key, deps in r.propertyDependencies.items():
                resource.property_dependencies[key] = [by_urn[d] for d in deps.urns if d in by_urn]
        return list(resources)

    def AnalyzeStack(self, request: Any, _context: Any) -> Any:  # noqa: N802 - gRPC method name
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        resources: list[Any] | None = None
        for policy in self._private("policies"):
            level = self._get_enforcement_level(policy)
            if level == sdk.EnforcementLevel.DISABLED or not isinstance(policy, sdk.StackValidationPolicy):
                continue
            if level == sdk.EnforcementLevel.REMEDIATE:
                level = sdk.EnforcementLevel.MANDATORY
            report = self._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            if resources is None:
                resources = self._stack_resources(request)
            args = sdk.StackValidationArgs(
                resources, self._get_policy_config(policy.name), self._private("stack_tags")
            )
            self._run(response, policy, partial(policy.validate, args, report))
        return response


def serve(
    *,
    name: str,
    policies: list[sdk.Policy],
    enforcement_level: sdk.EnforcementLevel,
    description: str | None = None,
    display_name: str | None = None,
    provider: str | None = None,
) -> None:
    """Serve the policies as ``PolicyPack(...)`` would: same checks, same server, port printed on stdout."""
    if sdk._POLICY_PACK_NAME_RE.match(name) is None:
        raise TypeError(f"Invalid policy pack name {name}")
    if not policies or not all(isinstance(p, sdk.Policy) for p in policies):
        raise TypeError("Expected a non-empty list of policies")
    # The CLI takes the version from PulumiPolicy.yaml; "0.0.1" is what PolicyPack passes too.
    servicer = SharedDeserializationServicer(
        name,
        "0.0.1",
        policies,
        enforcement_level,
        None,
        description,
        display_name,
        None,
        provider,
        None,
        None,
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=sdk._GRPC_CHANNEL_OPTIONS,
    )
    analyzer_pb2_grpc.add_AnalyzerServicer_to_server(servicer, server)
    port = server.add_insecure_port(address="127.0.0.1:0")
    server.start()
    sys.stdout.buffer.write(f"{port}\n".encode())
    sys.stdout.buffer.flush()
    try:
        while True:
            time.sleep(sdk._ONE_DAY_IN_SECONDS)
    except KeyboardInterrupt:
        server.stop(0)
