"""The harness itself: graph model -> engine protobufs, process lifecycle, the no-op baseline pack."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import json_format

from benchmarks.baseline_pack import baseline_client
from drplan.analyzer_requests import (
    split_provider_ref,
    to_analyze_request,
    to_analyze_stack_request,
    urn_type_and_name,
)
from drplan.graph import UNKNOWN
from drplan.policy_client import PolicyPackClient, PolicyPackError
from tests.policies import fixtures as fx


def test_analyze_request_has_the_engine_shape() -> None:
    vault = fx.mutate(fx.ORIGIN_VAULT, ("kmsKeyArn",), UNKNOWN)
    request = to_analyze_request(vault, fx.graph().by_urn())
    assert request.type == "aws:backup/vault:Vault"
    assert request.urn == vault.urn
    assert request.name == "ebs-origin-vault"
    props = json_format.MessageToDict(request.properties)
    assert props["kmsKeyArn"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert props["name"] == "dr-test-ebs"
    assert request.options.protect is True
    assert request.provider.type == "pulumi:providers:aws"
    assert request.provider.urn == fx.ORIGIN.urn
    assert request.provider.name == "origin"
    assert json_format.MessageToDict(request.provider.properties)["region"] == "us-east-1"


def test_stack_request_carries_dependencies() -> None:
    request = to_analyze_stack_request(fx.graph().resources)
    by_name = {r.name: r for r in request.resources}
    assert list(by_name["ebs-origin-vault"].propertyDependencies["kmsKeyArn"].urns) == [fx.ORIGIN_KEY.urn]
    assert list(by_name["ebs-full-selection"].dependencies) == [fx.PLAN.urn]
    plan_rules = json_format.MessageToDict(by_name["ebs-full-plan"].properties)["rules"]
    assert plan_rules[0]["completionWindow"] == 360


def test_provider_without_recorded_inputs_is_named_from_its_urn() -> None:
    request = to_analyze_request(fx.PLAN, {})
    assert (request.provider.type, request.provider.name) == ("pulumi:providers:aws", "origin")
    assert json_format.MessageToDict(request.provider.properties) == {}


def test_urn_helpers() -> None:
    assert split_provider_ref(f"{fx.ORIGIN.urn}::origin-provider-id") == (fx.ORIGIN.urn, "origin-provider-id")
    assert split_provider_ref("") == ("", "")
    parented = "urn:pulumi:prod::aws-dr-backup::aws-dr-backup:backup:ResourceTypeProtection$aws:backup/vault:Vault::v"
    assert urn_type_and_name(parented) == ("aws:backup/vault:Vault", "v")


def test_baseline_pack_reports_nothing_and_cleans_up() -> None:
    client = baseline_client(resource_policies=2, stack_policies=1)
    directory = client.pack_dir
    with client:
        assert [p.name for p in client.info().policies] == [
            "noop-resource-0",
            "noop-resource-1",
            "noop-stack-0",
        ]
        bad = fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), 1.0)
        assert client.analyze(bad).violations == ()
        assert client.analyze_stack(fx.graph(bad)).violations == ()
    assert not directory.exists()


def test_a_directory_without_a_pack_fails_with_its_stderr(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("raise SystemExit('no pack here')\n", encoding="utf-8")
    with (
        pytest.raises(PolicyPackError, match="did not print a port"),
        PolicyPackClient(tmp_path, startup_timeout=30),
    ):
        pass


def test_calls_need_a_running_pack() -> None:
    with pytest.raises(PolicyPackError, match="not running"):
        PolicyPackClient().info()


def test_concurrent_analyze_answers_each_request_in_order(client: PolicyPackClient) -> None:
    # Bad and good resources interleaved, more of them than the window: every answer must be its own
    # request's, in the order sent, as one call at a time would give.
    bad = fx.mutate(fx.PLAN, ("rules", 0, "completionWindow"), 1.0)
    resources = [bad if i % 3 == 0 else fx.PLAN for i in range(11)]
    requests = [to_analyze_request(r, {}) for r in resources]
    one_by_one = [client.analyze_request(r) for r in requests]
    together = client.analyze_requests(requests, in_flight=4)
    assert together == one_by_one
    assert [bool(r.violations) for r in together] == [i % 3 == 0 for i in range(11)]
