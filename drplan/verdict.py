"""The policy pack's verdict on a registered graph, over its Analyzer gRPC interface.

Calls the pack as the engine does during a preview: ``GetAnalyzerInfo``, ``Configure`` (the policy config
reconciled as the CLI does: every policy at its default enforcement level and schema defaults unless the
config sets them), ``Analyze`` for each registered resource, then ``AnalyzeStack``. The calls are sent
without waiting (:class:`StackAnalysis`), so the pack analyses in its own process while the plan goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc

from drplan.analyzer_requests import Structs, to_analyze_request, to_analyze_stack_request
from drplan.graph import RegisteredResource, StackGraph
from drplan.policy_client import AnalysisResult, AnalyzeCalls, PackInfo, PolicyPackClient, Violation
from drplan.tree import short_type

# The pack renders every finding as "<resource>: <problem>. Fix: <fix>".
_FIX = ". Fix: "


@dataclass(frozen=True)
class Finding:
    policy: str
    level: str
    """``mandatory`` or ``advisory`` (``remediate`` findings count as mandatory: they block too)."""
    resource: str
    """``<short type> '<name>'``, or ``stack`` for a stack-level finding."""
    urn: str
    problem: str
    fix: str

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "resource": self.resource,
            "urn": self.urn,
            "problem": self.problem,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Verdict:
    ran: bool
    pack: str = ""
    version: str = ""
    policies: int = 0
    findings: tuple[Finding, ...] = ()

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "mandatory"]

    @property
    def advisory(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "advisory"]

    def to_json(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "pack": self.pack,
            "version": self.version,
            "policies": self.policies,
            "mandatory": [f.to_json() for f in self.mandatory],
            "advisory": [f.to_json() for f in self.advisory],
        }


SKIPPED = Verdict(ran=False)


def _finding(violation: Violation, by_urn: Mapping[str, RegisteredResource], info: PackInfo) -> Finding:
    resource = by_urn.get(violation.urn)
    label = f"{short_type(resource.type)} '{resource.name}'" if resource else "stack"
    message = violation.message
    # pulumi_policy puts the policy's description before the finding's own text.
    if violation.description and message.startswith(violation.description):
        message = message[len(violation.description) :].strip()
    problem, sep, fix = message.rpartition(_FIX)
    if not sep:
        problem = message
        try:
            fix = info.policy(violation.policy_name).remediation_steps
        except KeyError:
            fix = ""
    # Drop the pack's own "<resource>: " lead: the plan prints the resource separately.
    head, colon, rest = problem.partition(": ")
    if colon and resource is not None and resource.name in head:
        problem = rest
    level = "advisory" if violation.enforcement_level == "advisory" else "mandatory"
    return Finding(violation.policy_name, level, label, violation.urn, problem, fix.rstrip("."))


def findings(results: list[AnalysisResult], graph: StackGraph, info: PackInfo) -> tuple[Finding, ...]:
    by_urn = graph.by_urn()
    out = [
        _finding(v, by_urn, info)
        for result in results
        for v in result.violations
        if v.enforcement_level != "disabled"
    ]
    return tuple(dict.fromkeys(out))


# Analyze calls a stack's analysis keeps in flight: all of a stack of ordinary size, so the pack works
# through them while the plan goes on instead of the plan waiting on each batch; a stack of thousands
# waits for the oldest call beyond this many.
IN_FLIGHT = 1024


class StackAnalysis:
    """The pack's analysis of one stack, under way: :meth:`send` sends ``Configure``, every resource's
    ``Analyze`` and the stack's ``AnalyzeStack`` without waiting for the answers (the pack works in its own
    process meanwhile); :meth:`verdict` waits for them."""

    def __init__(
        self, client: PolicyPackClient, graph: StackGraph, calls: AnalyzeCalls, stack: grpc.Future
    ) -> None:
        self._client = client
        self._graph = graph
        self._calls = calls
        self._stack = stack

    @classmethod
    def send(
        cls,
        client: PolicyPackClient,
        graph: StackGraph,
        policy_config: Mapping[str, Any] | None = None,
        *,
        configured: bool = False,
    ) -> StackAnalysis:
        """Raises ``PolicyConfigError`` if the pack's schemas reject ``policy_config`` (the content of a
        ``--policy-pack-config`` file), ``PolicyPackError`` if a call fails. ``configured``: the caller has
        already sent ``policy_config`` to the pack (to check it before the program ran); it is not sent again."""
        if not configured:
            client.configure(policy_config or {})
        known = graph.by_urn()
        structs = Structs()
        calls = AnalyzeCalls(client, in_flight=IN_FLIGHT)
        for resource in graph.resources:
            calls.send(to_analyze_request(resource, known, structs))
        stack = client.call_async("AnalyzeStack", to_analyze_stack_request(graph.resources, structs))
        return cls(client, graph, calls, stack)

    def verdict(self) -> Verdict:
        results = self._calls.results()
        results.append(self._client.result_of("AnalyzeStack", self._stack))
        info = self._client.info()
        return Verdict(
            True, info.name, info.version, len(info.policies), findings(results, self._graph, info)
        )


def check(
    graph: StackGraph, client: PolicyPackClient, policy_config: Mapping[str, Any] | None = None
) -> Verdict:
    """Run every policy of the (started) pack over ``graph``, configured with ``policy_config`` (the content
    of a ``--policy-pack-config`` file; raises ``PolicyConfigError`` if the pack's schemas reject it)."""
    return StackAnalysis.send(client, graph, policy_config).verdict()
