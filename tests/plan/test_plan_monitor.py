"""The plan's monitor answers every registration as the SDK's own ``MockMonitor`` answers it.

``drplan.program`` answers registrations itself (the inputs echoed back with the provider's computed
outputs set) instead of through ``MockMonitor``, which turns every request into Python values and back.
Here both answer each registration of every stack of the repository, the other layout and the
organisation program, and must agree on URN, ID and every output.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from pulumi.runtime import mocks

from drplan import program, sdk_shortcuts
from drplan.graph import UNKNOWN, RegisteredResource
from drplan.program import REPO, read_stack_config, register_stack
from org.org_config import PROJECT as ORG_PROJECT

STACKS = sorted(
    path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in REPO.glob("Pulumi.*.yaml")
)
ORG = REPO / "org"


class _BothMonitor(program._RecordingMonitor):
    answers: list[tuple[str, dict[str, Any], dict[str, Any]]]

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        ours = super().RegisterResource(request)
        sdk = mocks.MockMonitor.RegisterResource(self, request)  # type: ignore[no-untyped-call]
        self.answers.append(
            (
                request.name,
                {"urn": ours.urn, "id": ours.id, "outputs": json_format.MessageToDict(ours.object)},
                {"urn": sdk.urn, "id": sdk.id, "outputs": json_format.MessageToDict(sdk.object)},
            )
        )
        return ours


def _answers(monkeypatch: pytest.MonkeyPatch, **run: Any) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    answers: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    monkeypatch.setattr(_BothMonitor, "answers", answers, raising=False)
    monkeypatch.setattr(program, "_RecordingMonitor", _BothMonitor)
    register_stack(**run)
    return answers


def _other_layout(stack: str) -> dict[str, Any]:
    config = read_stack_config(program.stack_file(stack))
    current = config.get("aws-dr-backup:layout", "partitioned")
    return {**config, "aws-dr-backup:layout": "split" if current == "partitioned" else "partitioned"}


@pytest.mark.parametrize(
    "run",
    [
        *({"stack": stack} for stack in STACKS),
        *({"stack": stack, "config": _other_layout(stack)} for stack in STACKS),
        {
            "stack": "management",
            "config": read_stack_config(ORG / "Pulumi.management.yaml"),
            "program": ORG / "__main__.py",
            "project": ORG_PROJECT,
        },
    ],
    ids=[*STACKS, *(f"{stack}-other-layout" for stack in STACKS), "org-management"],
)
def test_every_registration_is_answered_as_the_sdk_mock_monitor_answers_it(
    monkeypatch: pytest.MonkeyPatch, run: dict[str, Any]
) -> None:
    answers = _answers(monkeypatch, **run)
    assert len(answers) > 20
    differing = [(name, ours, sdk) for name, ours, sdk in answers if ours != sdk]
    assert differing == []


_UNKNOWN_PROGRAM = """
import pulumi_aws as aws

role = aws.iam.Role("role", assume_role_policy="{}")
# unique_id is an output the mocks do not compute: in a preview it is unknown, and so is what uses it.
aws.s3.Bucket("bucket", bucket=role.unique_id, tags={"role": role.name})
aws.kms.Key("key", description=role.unique_id)
"""


def test_unknown_inputs_stay_unknown_and_computed_outputs_are_set(tmp_path: Path) -> None:
    entry = tmp_path / "program.py"
    entry.write_text(_UNKNOWN_PROGRAM)
    recorded: list[RegisteredResource] = []
    outputs: dict[str, dict[str, Any]] = {}

    class Monitor(program._RecordingMonitor):
        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
            response = super().RegisterResource(request)
            outputs[request.name] = json_format.MessageToDict(response.object)
            return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(program, "_RecordingMonitor", Monitor)
        register_stack(
            "prod", config=read_stack_config(program.stack_file("prod")), program=entry, recorder=recorded
        )
    inputs = {r.name: r.inputs for r in recorded}
    assert inputs["bucket"]["bucket"] == UNKNOWN
    assert outputs["bucket"]["bucket"] == UNKNOWN  # not replaced by a made-up name
    assert outputs["bucket"]["tags"] == {"role": outputs["role"]["name"]}
    assert outputs["bucket"]["arn"].startswith("arn:aws:s3:::")
    assert (inputs["key"]["description"], outputs["key"]["description"]) == (UNKNOWN, UNKNOWN)
    assert outputs["key"]["arn"].startswith("arn:aws:kms:us-east-1:111111111111:key/")


def _comparable(resources: Sequence[RegisteredResource]) -> list[RegisteredResource]:
    """By URN, with each dependency list as a set: the SDK gathers dependencies in sets, so their order
    differs from one run to the next whichever thread answers."""
    return [
        dataclasses.replace(
            r,
            dependencies=tuple(sorted(r.dependencies)),
            property_dependencies={k: tuple(sorted(v)) for k, v in r.property_dependencies.items()},
        )
        for r in sorted(resources, key=lambda r: r.urn)
    ]


def _graph_as_threads_run_it(monkeypatch: pytest.MonkeyPatch, **run: Any) -> list[RegisteredResource]:
    with monkeypatch.context() as patch:
        patch.setattr(program, "monitor_calls_inline", contextlib.nullcontext)
        return _comparable(register_stack(**run).resources)


@pytest.mark.parametrize("stack", STACKS)
def test_monitor_calls_made_inline_register_what_the_sdks_threads_register(
    monkeypatch: pytest.MonkeyPatch, stack: str
) -> None:
    """The plan answers the SDK's registrations in the event loop's thread (``sdk_shortcuts.InlineExecutor``) instead
    of the SDK's worker thread: the same resources, each with the same inputs, options and dependencies."""
    threads = _graph_as_threads_run_it(monkeypatch, stack=stack)
    inline = _comparable(register_stack(stack).resources)
    assert len(inline) > 100
    assert inline == threads


def test_the_event_loops_own_executor_is_back_after_a_run() -> None:
    loop = sdk_shortcuts.sdk_event_loop()
    before = getattr(loop, "_default_executor", None)
    register_stack("prod")
    assert getattr(loop, "_default_executor", None) is before
    assert not isinstance(before, sdk_shortcuts.InlineExecutor)


def test_a_failing_monitor_call_fails_the_awaiting_registration_not_the_loop() -> None:
    executor = sdk_shortcuts.InlineExecutor()

    def fails() -> None:
        raise RuntimeError("monitor unavailable")

    done = executor.submit(fails)
    with pytest.raises(RuntimeError, match="monitor unavailable"):
        done.result(timeout=0)
    assert executor.submit(lambda a, b=0: a + b, 2, b=3).result(timeout=0) == 5
