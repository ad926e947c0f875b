"""Run a CrossGuard policy pack the way the Pulumi CLI does and talk to it over its Analyzer gRPC interface.

The pack's process is started as the CLI starts it (:mod:`drplan.pack_process`); the engine then calls
``GetAnalyzerInfo``, ``Configure``, ``Analyze`` (each resource), ``Remediate`` and ``AnalyzeStack`` (all
resources).

:class:`PolicyPackClient` sends the engine's requests (:mod:`drplan.analyzer_requests`) and returns plain
dataclasses.
"""

from __future__ import annotations

import queue
import shutil
import sys
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from drplan import pack_process, policy_config
from drplan.analyzer_requests import to_analyze_request, to_analyze_stack_request, to_struct
from drplan.graph import RegisteredResource, StackGraph

_MAX_MESSAGE = 1024 * 1024 * 512
_CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", _MAX_MESSAGE),
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
]

_LEVEL_TO_PROTO = {level: getattr(analyzer_pb2, level.upper()) for level in policy_config.LEVELS}
_PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}
_SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_POLICY_TYPE = {
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}


class PolicyPackError(RuntimeError):
    """The pack did not start, or a call to it failed."""


@dataclass(frozen=True)
class Violation:
    policy_name: str
    enforcement_level: str
    """``advisory``, ``mandatory``, ``remediate`` or ``disabled``."""
    message: str
    urn: str
    description: str = ""
    severity: str = ""
    policy_pack_name: str = ""


@dataclass(frozen=True)
class NotApplicable:
    policy_name: str
    reason: str


@dataclass(frozen=True)
class AnalysisResult:
    violations: tuple[Violation, ...]
    not_applicable: tuple[NotApplicable, ...] = ()

    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement_level == "mandatory"]

    def of(self, policy_name: str) -> list[Violation]:
        return [v for v in self.violations if v.policy_name == policy_name]


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement_level: str
    kind: str
    """``resource`` or ``stack``."""
    config_schema: dict[str, dict[str, Any]]
    required_config: tuple[str, ...]
    remediation_steps: str
    severity: str
    display_name: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    description: str
    display_name: str
    supports_config: bool
    policies: tuple[PolicyInfo, ...]

    def policy(self, name: str) -> PolicyInfo:
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class Remediation:
    policy_name: str
    properties: dict[str, Any] | None
    """The resource's full new inputs, or ``None`` when the policy only reported a diagnostic."""
    diagnostic: str


def _result(response: analyzer_pb2.AnalyzeResponse) -> AnalysisResult:
    return AnalysisResult(
        violations=tuple(
            Violation(
                policy_name=d.policyName,
                enforcement_level=_PROTO_TO_LEVEL.get(d.enforcementLevel, str(d.enforcementLevel)),
                message=d.message,
                urn=d.urn,
                description=d.description,
                severity=_SEVERITY.get(d.severity, ""),
                policy_pack_name=d.policyPackName,
            )
            for d in response.diagnostics
        ),
        not_applicable=tuple(NotApplicable(n.policy_name, n.reason) for n in response.not_applicable),
    )


# --- the client ---------------------------------------------------------------------------------------------


# Analyze calls outstanding at once: enough to hide the round trips behind the pack's (four) server threads.
ANALYZE_IN_FLIGHT = 32


class PolicyPackClient:
    """A running policy pack process and a typed Analyzer client for it. Use as a context manager."""

    def __init__(
        self,
        pack_dir: Path | str = pack_process.DEFAULT_PACK_DIR,
        *,
        python: str = sys.executable,
        startup_timeout: float = 60.0,
        call_timeout: float = 600.0,
        env: Mapping[str, str] | None = None,
        remove_pack_dir: bool = False,
    ) -> None:
        """``remove_pack_dir``: the pack's directory is a generated one that ``close`` removes."""
        self.pack_dir = Path(pack_dir).resolve()
        self._python = python
        self._startup_timeout = startup_timeout
        self._call_timeout = call_timeout
        self._env = dict(env) if env is not None else None
        self._process: pack_process.PackProcess | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._info: PackInfo | None = None
        self._owned_dir: Path | None = self.pack_dir if remove_pack_dir else None
        self.port: int | None = None

    # lifecycle

    def start(self, started: pack_process.PackProcess | None = None) -> Self:
        """Start the pack and connect to it; ``started``: a process :func:`drplan.pack_process.spawn` already
        started for this pack, which the client adopts (and stops in ``close``)."""
        if self._process is not None:
            return self
        if started is not None and started.pack_dir != self.pack_dir:
            raise ValueError(f"the started pack runs {started.pack_dir}, not {self.pack_dir}")
        try:
            self._process = started or pack_process.spawn(self.pack_dir, python=self._python, env=self._env)
        except OSError as exc:  # no such directory or interpreter
            reason = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
            raise PolicyPackError(
                f"the policy pack in {self.pack_dir} could not be started: {reason}"
            ) from None
        self.port = self._read_port()
        return self._connect()

    @classmethod
    def attach(cls, port: int, **kwargs: Any) -> PolicyPackClient:
        """A client for a pack another process started and still owns (the fleet plan's worker processes
        share the one pack the fleet plan started); ``close`` closes only this client's channel."""
        client = cls(**kwargs)
        client.port = port
        return client._connect()

    def _connect(self) -> Self:
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}", options=_CHANNEL_OPTIONS)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=self._startup_timeout)
        except grpc.FutureTimeoutError as exc:
            self.close()
            raise PolicyPackError("the policy pack's gRPC server did not become ready") from exc
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        return self

    def _read_port(self) -> int:
        assert self._process is not None
        assert self._process.process.stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = self._process.process.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=self._startup_timeout)
        except queue.Empty:
            line = b""
        text = line.decode(errors="replace").strip()
        if not text.isdigit():
            stderr = self.stderr_text()
            self.close()
            raise PolicyPackError(
                f"policy pack in {self.pack_dir} did not print a port (got {text!r}):\n{stderr}"
            )
        return int(text)

    def stderr_text(self) -> str:
        return "" if self._process is None else self._process.stderr_text()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        if self._process is not None:
            self._process.stop()
            self._process = None
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self._stub is None:
            raise PolicyPackError("the policy pack is not running; use the client as a context manager")
        return self._stub

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=self._call_timeout)
        except grpc.RpcError as exc:
            raise PolicyPackError(f"{method} failed: {exc}\n{self.stderr_text()}") from exc

    # Analyzer calls

    def info(self) -> PackInfo:
        response = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        policies = tuple(
            PolicyInfo(
                name=p.name,
                description=p.description,
                enforcement_level=_PROTO_TO_LEVEL.get(p.enforcementLevel, str(p.enforcementLevel)),
                kind=_POLICY_TYPE.get(p.policy_type, ""),
                config_schema=json_format.MessageToDict(p.configSchema.properties)
                if p.HasField("configSchema")
                else {},
                required_config=tuple(p.configSchema.required),
                remediation_steps=p.remediation_steps,
                severity=_SEVERITY.get(p.severity, ""),
                display_name=p.displayName,
                tags=tuple(p.tags),
            )
            for p in response.policies
        )
        self._info = PackInfo(
            name=response.name,
            version=response.version,
            description=response.description,
            display_name=response.displayName,
            supports_config=response.supportsConfig,
            policies=policies,
        )
        return self._info

    def configure(self, config: Mapping[str, Any]) -> None:
        """Send policy config like the CLI: every policy gets an enforcement level (its own default unless
        ``config["all"]`` or ``config[name]`` sets one) and its settings (the schema's defaults overlaid with
        those given), after checking them against the pack's schemas (:mod:`drplan.policy_config`).

        ``config`` is the content of a ``--policy-pack-config`` file: a policy name (or ``"all"``) maps to an
        enforcement level string or to a dict of settings that may include ``enforcementLevel``. Raises
        :class:`~drplan.policy_config.PolicyConfigError` naming every problem; nothing is sent then.
        """
        info = self._info or self.info()
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, policy in policy_config.reconcile(info.policies, config).items():
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(
                    enforcementLevel=_LEVEL_TO_PROTO[policy.enforcement_level],
                    properties=to_struct(policy.properties),
                )
            )
        self._call("Configure", request)

    def analyze(self, resource: RegisteredResource, *, graph: StackGraph | None = None) -> AnalysisResult:
        """Analyze one resource (its provider's inputs are looked up in ``graph`` when given)."""
        known = graph.by_urn() if graph is not None else {}
        return _result(self._call("Analyze", to_analyze_request(resource, known)))

    def analyze_request(self, request: analyzer_pb2.AnalyzeRequest) -> AnalysisResult:
        """Send a prepared request (benchmarks build them once to time only the call)."""
        return _result(self._call("Analyze", request))

    def analyze_requests(
        self, requests: Sequence[analyzer_pb2.AnalyzeRequest], *, in_flight: int = ANALYZE_IN_FLIGHT
    ) -> list[AnalysisResult]:
        """Analyze many resources with up to ``in_flight`` calls outstanding: the engine, too, analyzes
        resources concurrently (one call per resource as its step runs), and one round trip at a time costs
        more than the pack's work on the prod stack. The bound keeps a large stack from queueing thousands
        of calls on the pack's few server threads at once."""
        calls = AnalyzeCalls(self, in_flight=in_flight)
        for request in requests:
            calls.send(request)
        return calls.results()

    def call_async(self, method: str, request: Any) -> grpc.Future:
        """Start a call and return at once; :meth:`result_of` waits for it."""
        return getattr(self.stub, method).future(request, timeout=self._call_timeout)

    def result_of(self, method: str, call: grpc.Future) -> AnalysisResult:
        try:
            return _result(call.result())
        except grpc.RpcError as exc:
            raise PolicyPackError(f"{method} failed: {exc}\n{self.stderr_text()}") from exc

    def analyze_stack(self, resources: StackGraph | Iterable[RegisteredResource]) -> AnalysisResult:
        items = resources.resources if isinstance(resources, StackGraph) else resources
        return _result(self._call("AnalyzeStack", to_analyze_stack_request(items)))

    def analyze_stack_request(self, request: analyzer_pb2.AnalyzeStackRequest) -> AnalysisResult:
        return _result(self._call("AnalyzeStack", request))

    def remediate(
        self, resource: RegisteredResource, *, graph: StackGraph | None = None
    ) -> list[Remediation]:
        known = graph.by_urn() if graph is not None else {}
        response = self._call("Remediate", to_analyze_request(resource, known))
        return [
            Remediation(
                policy_name=r.policyName,
                properties=json_format.MessageToDict(r.properties) if r.HasField("properties") else None,
                diagnostic=r.diagnostic,
            )
            for r in response.remediations
        ]


class AnalyzeCalls:
    """Analyze calls in flight, at most ``in_flight`` at once (sending one more waits for the oldest), and
    their results in the order they were sent."""

    def __init__(self, client: PolicyPackClient, *, in_flight: int = ANALYZE_IN_FLIGHT) -> None:
        self._client = client
        self._in_flight = in_flight
        self._window: deque[grpc.Future] = deque()
        self._results: list[AnalysisResult] = []

    def send(self, request: analyzer_pb2.AnalyzeRequest) -> None:
        self._window.append(self._client.call_async("Analyze", request))
        if len(self._window) >= self._in_flight:
            self._collect(self._window.popleft())

    def _collect(self, call: grpc.Future) -> None:
        try:
            self._results.append(self._client.result_of("Analyze", call))
        except PolicyPackError:
            self.cancel()
            raise

    def cancel(self) -> None:
        for call in self._window:
            call.cancel()
        self._window.clear()

    def results(self) -> list[AnalysisResult]:
        """Wait for every call sent; the results in the order the calls were sent."""
        while self._window:
            self._collect(self._window.popleft())
        return self._results
