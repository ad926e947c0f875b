"""Run the real program (`__main__.py`) for a stack under Pulumi's mocks and record what it registers.

Config comes from the real `Pulumi.<stack>.yaml`, handed to the program in the engine's shape
(objects as JSON text), so it goes through the same `components.source.load` as under `pulumi up`.
Every `RegisterResource` request is recorded as the engine would receive it: inputs as the
protobuf Struct (camelCase keys), provider reference, parent, protect flag and dependencies.
Mocked outputs look like a deployed stack (ARNs built from region, account and name).
"""

from __future__ import annotations

import hashlib
import json
import re
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import mocks, settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.config import PROJECT, from_namespaced, reject_empty
from dr_model import project_config
from dr_runtime.yaml_documents import YamlFileError, load_yaml
from drplan.graph import UNKNOWN, RegisteredResource, StackGraph
from drplan.sdk_shortcuts import monitor_calls_inline, without_source_positions

REPO = Path(__file__).resolve().parent.parent
_ROOT_TYPE = "pulumi:pulumi:Stack"


class StackFileError(ValueError):
    """The stack file is missing or is not a Pulumi stack config document."""


def stack_file(stack: str) -> Path:
    return REPO / f"Pulumi.{stack}.yaml"


def stack_name(path: Path) -> str:
    """``Pulumi.<stack>.yaml`` -> ``<stack>``; another file name -> its stem."""
    name = path.name
    if name.startswith("Pulumi.") and name.endswith(".yaml"):
        return name.removeprefix("Pulumi.").removesuffix(".yaml")
    return path.stem


_PROJECTS: dict[tuple[str, int], project_config.Project] = {}


def read_project(path: Path) -> project_config.Project | None:
    """The project's config declarations from ``Pulumi.yaml`` (``None`` when there is no such file)."""
    if not path.is_file():
        return None
    cache_key = (str(path.resolve()), path.stat().st_mtime_ns)
    project = _PROJECTS.get(cache_key)
    if project is None:
        try:
            project = project_config.parse_project(load_yaml(path), str(path))
        except (YamlFileError, project_config.ProjectConfigError) as exc:
            raise StackFileError(str(exc)) from None
        _PROJECTS[cache_key] = project
    return project


def read_stack_config(
    path: Path, project_file: Path | None = None, stack: str | None = None
) -> dict[str, Any]:
    """The stack's config as the Pulumi CLI hands it to the program: the stack file's ``config`` merged
    with the project-level ``config`` of ``project_file`` (default: ``Pulumi.yaml`` beside the stack file),
    the stack's own values winning (:mod:`dr_model.project_config`). ``stack`` names the stack in messages
    (default: from the file name)."""
    values = read_stack_file(path)
    project = read_project(project_file or path.parent / project_config.PROJECT_FILE)
    if project is None:
        return values
    try:
        return project_config.merge(project, values, stack or stack_name(path), str(path))
    except project_config.ProjectConfigError as exc:
        raise StackFileError(str(exc)) from None


def explain_config_error(message: str, raw: Mapping[str, Any], path: Path, project_file: Path) -> str:
    """A ConfigError of a stack read with :func:`read_stack_config`: the stack file named, and the keys whose
    value came from the project file marked (:func:`dr_model.project_config.explain`)."""
    try:
        own = set(read_stack_file(path))
    except StackFileError:
        own = set(raw)
    shared = frozenset(from_namespaced({k: v for k, v in raw.items() if k not in own}))
    return project_config.explain(message, str(path), shown_path(project_file), shared)


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it is under it, as messages name files."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def stack_environments(path: Path) -> tuple[str, ...]:
    """The Pulumi ESC environments a stack file imports (its ``environment`` key), which the offline plan
    cannot open."""
    try:
        document = load_yaml(path)
    except YamlFileError:
        return ()  # read_stack_file reports the file
    environment = document.get("environment") if isinstance(document, Mapping) else None
    if isinstance(environment, Mapping):
        environment = environment.get("imports", ["an inline environment definition"])
    if isinstance(environment, str):
        return (environment,)
    if isinstance(environment, list):
        return tuple(str(e) for e in environment)
    return ()


def esc_note(environments: tuple[str, ...] | list[str]) -> str:
    return (
        f"imports Pulumi ESC environment(s) {', '.join(environments)}: the offline plan cannot open them, so "
        "their credentials and any pulumiConfig values they add are not part of this plan"
    )


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``config`` of one stack file as written (no project-level config)."""
    shown = str(path)
    if not path.is_file():
        raise StackFileError(f"stack file {shown} not found")
    try:
        document = load_yaml(path)
    except YamlFileError as exc:
        raise StackFileError(str(exc)) from None
    config = (document or {}).get("config", {}) if isinstance(document, Mapping) else None
    if not isinstance(config, Mapping):
        raise StackFileError(f"{shown}: 'config' must be a mapping of '<namespace>:<key>' to values")
    for key in config:
        # The Pulumi CLI refuses keys that are not '<namespace>:<name>'.
        if not isinstance(key, str) or not re.fullmatch(r"[^:\s]+:\S+", key):
            raise StackFileError(
                f"{shown}: config key {key!r} must have the form '<namespace>:<name>', e.g. '{PROJECT}:prefix'"
            )
    return dict(config)


def _engine_value(value: Any) -> str:
    # The engine passes every config value as a string; objects and lists as JSON, an empty value
    # (YAML null) as an empty string.
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        return json.dumps(value, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


# The ARNs AWS gives the resources whose ARN the programs pass on (into policies, targets, alarms), in the
# formats of the Service Authorization Reference's resource-type tables (docs/provider-validation.md, "ARNs the
# mocks return"). A policy written against a made-up shape would be tested against an ARN AWS never sends.
_ARN_FORMATS = {
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws:cloudwatch/eventBus:EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
    "aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{region}:{account}:rule/{bus}{name}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    "aws:cloudwatch/dashboard:Dashboard": "arn:aws:cloudwatch::{account}:dashboard/{name}",
    "aws:lambda/function:Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws:scheduler/schedule:Schedule": "arn:aws:scheduler:{region}:{account}:schedule/{group}/{name}",
    "aws:sns/topic:Topic": "arn:aws:sns:{region}:{account}:{name}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "aws:kms/alias:Alias": "arn:aws:kms:{region}:{account}:{name}",
}


class _Mocks(pulumi.runtime.Mocks):
    """Outputs shaped like a deployed stack, so references between resources resolve realistically."""

    def __init__(self) -> None:
        self.places: dict[str, tuple[str, str]] = {}

    def _place(self, provider_ref: str | None, inputs: Mapping[str, Any]) -> tuple[str, str]:
        provider_id = (provider_ref or "").rsplit("::", 1)[-1]
        region, account = self.places.get(provider_id, ("us-east-1", "111111111111"))
        return str(_known(inputs.get("region")) or region), account

    def computed(
        self, typ: str, name: str, provider: str | None, inputs: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The resource's ID and the outputs its provider would add to (or set over) its inputs."""
        if typ == "pulumi:providers:aws":
            accounts = _known(inputs.get("allowedAccountIds")) or ["111111111111"]
            if isinstance(accounts, str):
                accounts = json.loads(accounts)
            provider_id = f"{name}-provider-id"
            self.places[provider_id] = (str(_known(inputs.get("region")) or "us-east-1"), str(accounts[0]))
            return provider_id, {}
        region, account = self._place(provider, inputs)
        physical = str(_known(inputs.get("name")) or f"{name}-{_short_hash(name)[:7]}")
        ident = physical
        module, kind = typ.split(":")[1].split("/")[0], typ.rsplit(":", 1)[1]
        state: dict[str, Any] = {"name": physical, "region": region}
        if module == "kms" and kind == "Key":
            ident = f"{_short_hash(name, 'key')[:8]}-0000-4000-8000-{_short_hash(name)}"
            state.update(keyId=ident, arn=f"arn:aws:kms:{region}:{account}:key/{ident}")
        elif module == "backup" and kind in ("Vault", "LogicallyAirGappedVault"):
            state["arn"] = f"arn:aws:backup:{region}:{account}:backup-vault:{physical}"
        elif module == "backup" and kind == "Plan":
            ident = f"{_short_hash(name, 'plan')[:8]}-1111-4111-8111-{_short_hash(name)}"
            state.update(arn=f"arn:aws:backup:{region}:{account}:backup-plan:{ident}", version="1")
        elif module == "iam" and kind == "Role":
            state["arn"] = f"arn:aws:iam::{account}:role/{physical}"
        elif module == "s3" and kind in ("Bucket", "BucketV2"):
            ident = str(_known(inputs.get("bucket")) or physical)
            state.update(bucket=ident, arn=f"arn:aws:s3:::{ident}")
        elif module == "ram" and kind == "ResourceShare":
            ident = f"arn:aws:ram:{region}:{account}:resource-share/{_short_hash(name)}"
            state["arn"] = ident
        elif typ in _ARN_FORMATS:
            state["arn"] = _ARN_FORMATS[typ].format(
                region=region,
                account=account,
                name=physical,
                # A rule's ARN names its bus unless it is the default bus.
                bus=f"{bus}/" if (bus := _known(inputs.get("eventBusName"))) not in (None, "default") else "",
                group=_known(inputs.get("groupName")) or "default",
            )
        elif "arn" not in inputs:
            state["arn"] = f"arn:aws:{module}:{region}:{account}:{kind.lower()}/{physical}"
        # What the engine does not know yet stays unknown: a computed value would be made up.
        return ident, {key: value for key, value in state.items() if not _unknown(inputs.get(key))}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        ident, computed = self.computed(args.typ, args.name, args.provider, args.inputs)
        return ident, {**args.inputs, **computed}

    def call(
        self,
        args: pulumi.runtime.MockCallArgs,  # noqa: ARG002 - the program makes no invokes
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def _unknown(value: Any) -> bool:
    """A value the engine does not know yet (the sentinel in a request, ``Unknown`` once deserialized)."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


def _known(value: Any) -> Any:
    """``value``, or ``None`` for a value the engine does not know yet."""
    return None if _unknown(value) else value


class _RecordingMonitor(mocks.MockMonitor):
    """The engine's side of a preview under the mocks: records every registration as the engine receives
    it and answers it as a preview does, with the inputs echoed back as outputs plus what the provider
    computes (:meth:`_Mocks.computed`).

    The SDK's ``MockMonitor`` turns each request's inputs into Python values and serializes the mock's state
    back in an event loop of its own, which costs about a third of a program run here; since the inputs come
    back unchanged, this answers with a copy of the request's own properties with the computed ones set
    (``tests/plan/test_plan_monitor.py`` checks that both answer every registration alike).
    """

    def __init__(self, mocks_: _Mocks, recorded: list[RegisteredResource]) -> None:
        super().__init__(mocks_)
        self.mocks: _Mocks = mocks_
        self.recorded = recorded

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.type == _ROOT_TYPE:
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = json_format.MessageToDict(request.object)
        ident, computed = self.mocks.computed(request.type, request.name, request.provider, inputs)
        outputs = struct_pb2.Struct()
        outputs.CopyFrom(request.object)
        outputs.update(computed)
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, ident, {**inputs, **computed})
        self.recorded.append(
            RegisteredResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                inputs=inputs,
                parent=request.parent,
                provider=request.provider,
                protect=bool(request.protect) if request.HasField("protect") else False,
                retain_on_delete=request.HasField("retainOnDelete") and bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                dependencies=tuple(request.dependencies),
                property_dependencies={
                    key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()
                },
                id=ident,
                computed=computed,
            )
        )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=ident, object=outputs)


def _resolve_outputs() -> dict[str, Any]:
    root = settings.get_root_resource()
    outputs = getattr(root, "outputs", {}) or {}

    async def resolve() -> dict[str, Any]:
        return {name: await pulumi.Output.from_input(value).future() for name, value in outputs.items()}

    return _sync_await(resolve())


def register_stack(
    stack: str,
    config: Mapping[str, Any] | None = None,
    program: Path | None = None,
    recorder: list[RegisteredResource] | None = None,
    project: str = PROJECT,
) -> StackGraph:
    """Run the program for ``stack``.

    ``config`` replaces the stack file's config (tests, synthetic stacks); ``recorder``, if given,
    receives every registration even when the program fails part-way; ``project`` names another Pulumi
    project of the repository (with its ``program``, e.g. ``org/__main__.py``).
    """
    raw = dict(config) if config is not None else read_stack_config(stack_file(stack))
    reject_empty(from_namespaced(raw, project), stack, project)
    mock = _Mocks()
    monitor = _RecordingMonitor(mock, recorder if recorder is not None else [])
    settings.set_root_resource(None)  # type: ignore[arg-type]  # a fresh root stack per run
    mocks.set_mocks(mock, project=project, stack=stack, preview=True, monitor=monitor)
    pulumi.runtime.set_all_config({key: _engine_value(value) for key, value in raw.items()})
    entry = program or REPO / "__main__.py"

    def run() -> None:
        runpy.run_path(str(entry), run_name="__main__")

    with without_source_positions(), monitor_calls_inline():
        _sync_await(run_pulumi_func(run))
    return StackGraph(
        stack=stack, project=project, resources=tuple(monitor.recorded), outputs=_resolve_outputs()
    )
