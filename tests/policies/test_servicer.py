"""The pack's servicer (policies/dr_policies/servicer.py) is pulumi-policy's own, deserialising once per call.

It subclasses a private SDK class, so these tests pin what it relies on: the SDK version, the servicer's
constructor and the exact source of the two methods it replaces. If an upgrade changes any of them, this
fails and servicer.py must be reviewed (and the hashes updated). They also check that both servicers
answer the same requests identically.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as sdk
from pulumi_policy.version import VERSION

from drplan.analyzer_requests import to_analyze_request, to_analyze_stack_request
from drplan.graph import UNKNOWN
from tests.policies import fixtures as fx
from tests.policies.test_token_coverage import PACK_DIR, _pack

SERVICER: Any = _pack().servicer


def test_pinned_sdk_version() -> None:
    assert VERSION == SERVICER.SDK_VERSION
    requirements = (PACK_DIR / "requirements.txt").read_text(encoding="utf-8")
    assert f"pulumi-policy=={SERVICER.SDK_VERSION}" in requirements.splitlines()


def test_sdk_servicer_signature_is_unchanged() -> None:
    params = list(inspect.signature(sdk._PolicyAnalyzerServicer.__init__).parameters)
    assert params == [
        "self",
        "name",
        "version",
        "policies",
        "enforcement_level",
        "initial_config",
        "description",
        "display_name",
        "readme",
        "provider",
        "tags",
        "repository",
    ]
    for method in (
        "_get_enforcement_level",
        "_create_report_violation",
        "_get_resource_options",
        "_get_provider_resource",
        "_get_policy_config",
        "_configure_runtime_settings",
        "_map_enforcement_level",
    ):
        assert callable(getattr(sdk._PolicyAnalyzerServicer, method)), method


@pytest.mark.parametrize("method", ["Analyze", "AnalyzeStack"])
def test_replaced_sdk_methods_are_unchanged(method: str) -> None:
    source = inspect.getsource(getattr(sdk._PolicyAnalyzerServicer, method))
    assert hashlib.sha256(source.encode()).hexdigest() == SERVICER.REPLACED_SOURCE_SHA256[method], (
        f"pulumi-policy's _PolicyAnalyzerServicer.{method} changed: review policies/dr_policies/servicer.py"
    )


def _servicers() -> tuple[Any, Any]:
    def make(cls: Callable[..., Any]) -> Any:
        args = ("aws-dr-backup", "0.0.1", _pack().build_policies(), EnforcementLevel.ADVISORY)
        return cls(*args, None, None, None, None, None, None, None)

    return make(sdk._PolicyAnalyzerServicer), make(SERVICER.SharedDeserializationServicer)


def _diagnostics(response: Any) -> list[tuple[str, str, str, int]]:
    return sorted((d.policyName, d.urn, d.message, d.enforcementLevel) for d in response.diagnostics)


GRAPHS = {
    "compliant": fx.graph(),
    "violations": fx.graph(
        fx.mutate(fx.PLAN, ("rules", 0, "schedule"), "cron(0 5 ? * MON *)"),
        fx.mutate(fx.BUCKET_OWNERSHIP, ("rule", "objectOwnership"), "ObjectWriter"),
        fx.mutate(fx.S3_SELECTION, ("resources",), ["*"]),
    ),
    "unknowns": fx.graph(fx.mutate(fx.PLAN, ("rules",), UNKNOWN), fx.mutate(fx.BUCKET, ("tags",), UNKNOWN)),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_same_answers_as_the_sdk_servicer(name: str) -> None:
    graph = GRAPHS[name]
    original, shared = _servicers()
    request = to_analyze_stack_request(graph.resources)
    expected = _diagnostics(original.AnalyzeStack(request, None))
    assert _diagnostics(shared.AnalyzeStack(request, None)) == expected
    if name != "compliant":
        assert expected
    known = graph.by_urn()
    for resource in graph.resources:
        single = to_analyze_request(resource, known)
        assert _diagnostics(shared.Analyze(single, None)) == _diagnostics(original.Analyze(single, None))
