"""The Terraform AWS provider's own validators on every graph the repository registers (docs/provider-validation.md).

Every stack of the repository (``Pulumi.<stack>.yaml``) in both plan layouts, the organisation stack and
the isolated accounts' stacks (``isolated/Pulumi.<stack>.yaml``),
each converted by :mod:`drplan.terraform_json` into one module of one Terraform configuration, then
``terraform validate`` and ``terraform plan -refresh=false`` offline with the provider from a filesystem
mirror. A canary module holds the restore-testing selection as the program used to register it, so the
run also shows that the validators it relies on fire.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import pytest

from drplan import terraform_json as tj
from drplan.graph import StackGraph
from drplan.program import REPO, read_stack_config, register_stack, stack_file, stack_name
from tests.isolated.isolated_graphs import STACKS as ISOLATED_STACKS
from tests.isolated.isolated_graphs import run_isolated
from tests.org.org_graphs import org_stack_config, run_org
from tests.provider import terraform_tools
from tests.provider.terraform_tools import Diagnostic, Workspace

SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"
LAYOUTS = ("partitioned", "split")
CANARY = "canary"

KNOWN_ERRORS: dict[str, str] = {}
"""Temporary: ``module.<graph>.<address>`` -> why the error is accepted until its owner's fix lands. Empty:
every error the validators reported is fixed."""


def repository_graphs() -> Iterator[tuple[str, StackGraph]]:
    for path in sorted(REPO.glob("Pulumi.*.yaml")):
        stack = stack_name(path)
        raw = read_stack_config(stack_file(stack))
        for layout in LAYOUTS:
            yield f"{stack}_{layout}", register_stack(stack, config={**raw, "aws-dr-backup:layout": layout})
    yield "org_management", run_org(org_stack_config())
    for stack in ISOLATED_STACKS:
        yield isolated_label(stack), run_isolated(stack)


def isolated_label(stack: str) -> str:
    """A Terraform module label for an isolated stack (``isolated-222222222222`` -> ``isolated_222222222222``)."""
    return stack.replace("-", "_")


def canary(graph: StackGraph) -> StackGraph:
    """One restore-testing selection as the program registered it before the fix: ``["*"]`` together with
    conditions, and a validation window of 0 hours."""
    selection = graph.by_type(SELECTION)[0]
    broken = replace(
        selection,
        inputs={**selection.inputs, "protectedResourceArns": ["*"], "validationWindowHours": 0},
        property_dependencies={},
    )
    provider = graph.by_urn()[selection.provider_urn]
    return StackGraph(stack=CANARY, project=graph.project, resources=(provider, broken), outputs={})


@dataclass
class Run:
    modules: list[tj.ModuleConfig]
    schema: tj.Schema
    validate: list[Diagnostic]
    plan: list[Diagnostic]
    summary: dict[str, int]
    provider_version: str
    seconds: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    try:
        workspace = Workspace(tmp_path_factory.mktemp("terraform"))
    except terraform_tools.ToolMissingError as missing:
        pytest.fail(str(missing), pytrace=False)
    workspace.write(
        "main.tf.json", {"terraform": {"required_providers": {"aws": {"source": tj.PROVIDER_SOURCE}}}}
    )
    workspace.init()
    document = workspace.schema()
    schema = tj.Schema(document)
    version = workspace.version()["provider_selections"][tj.PROVIDER_SOURCE]
    seconds["init and schema"] = time.perf_counter() - started

    started = time.perf_counter()
    graphs = dict(repository_graphs())
    modules = [tj.convert(graph, schema, label) for label, graph in graphs.items()]
    probe = tj.convert(canary(graphs["prod_partitioned"]), schema, CANARY)
    for module in [*modules, probe]:
        workspace.write(f"{module.label}/main.tf.json", module.document())
    seconds["graphs and conversion"] = time.perf_counter() - started

    started = time.perf_counter()
    # validate: the providers as configured (assume_role, allowed_account_ids) and the canary
    workspace.write("main.tf.json", tj.root_document([*modules, probe], for_plan=False))
    workspace.init()  # the module calls are recorded by init
    validate = workspace.validate()
    seconds["terraform validate"] = time.perf_counter() - started

    started = time.perf_counter()
    workspace.write("main.tf.json", tj.root_document(modules, for_plan=True))
    plan, summary = workspace.plan()
    seconds["terraform plan"] = time.perf_counter() - started
    return Run(modules, schema, validate, plan, summary, version, seconds)


def _errors(diagnostics: list[Diagnostic], in_canary: bool = False) -> list[Diagnostic]:
    """Errors of the repository's graphs (or of the canary), less the temporary known ones."""
    return [
        d
        for d in diagnostics
        if d.severity == "error"
        and d.address.startswith(f"module.{CANARY}.") == in_canary
        and d.address not in KNOWN_ERRORS
    ]


def test_every_graph_is_converted_without_an_unmapped_resource_or_property(run: Run) -> None:
    labels = {m.label for m in run.modules}
    stacks = {stack_name(p) for p in REPO.glob("Pulumi.*.yaml")}
    isolated = {isolated_label(s) for s in ISOLATED_STACKS}
    assert labels == {f"{s}_{layout}" for s in stacks for layout in LAYOUTS} | {"org_management"} | isolated
    unmapped = [str(f) for m in run.modules for f in m.unmapped]
    assert unmapped == []
    for module in run.modules:
        # An isolated stack holds ten resources per workload account (staging's isolated stack: one account).
        assert module.converted >= 10, module.label
    # What was left out is left out for a written reason, and only that.
    for module in run.modules:
        for finding in module.ignored:
            assert finding.reason in tj.NEWER_THAN_MIRROR.values() or finding.reason in tj.NOT_MAPPED.values()


def test_terraform_validate_finds_no_error_in_any_graph(run: Run) -> None:
    assert [str(d) for d in _errors(run.validate)] == []


def test_the_canary_shows_the_validators_fire(run: Run) -> None:
    """The selection as the program registered it before the fix fails both of the provider's checks."""
    found = sorted((d.summary, d.detail) for d in _errors(run.validate, in_canary=True))
    assert len(found) == 2, found
    (combination, detail_one), (value, detail_two) = found
    assert combination == "Invalid Attribute Combination"
    assert "protected_resource_arns,protected_resource_conditions" in detail_one
    assert value == "Invalid Attribute Value"
    assert "between 1 and 168, got: 0" in detail_two


def test_terraform_plan_finds_no_error_and_plans_every_converted_resource(run: Run) -> None:
    assert [str(d) for d in _errors(run.plan)] == []
    assert run.summary.get("add") == sum(m.converted for m in run.modules)


def test_every_entry_of_newer_than_mirror_is_missing_from_the_mirror(run: Run) -> None:
    """An entry the mirror's provider knows (after an upgrade) would hide a property the test could check."""
    for (token, path), reason in tj.NEWER_THAN_MIRROR.items():
        tf_type = tj.terraform_type(token)
        if not path:
            assert tf_type not in run.schema.resources, reason
            continue
        block = run.schema.resources[tf_type]
        *parents, last = path.split(".")
        for part in parents:
            name = run.schema.lookup(block, part)
            assert name is not None, (token, part)
            assert name in block.get("block_types", {}), (token, part)
            block = block["block_types"][name]["block"]
        assert run.schema.lookup(block, last) is None, f"{token} {path}: {run.provider_version} has it"


def test_each_known_error_is_still_reported(run: Run) -> None:
    """The temporary list holds only errors that still occur: a fixed one is removed from it."""
    reported = {d.address for d in run.validate + run.plan}
    assert [a for a in KNOWN_ERRORS if a not in reported] == []


def test_the_run_is_timed(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        counts = ", ".join(f"{m.label} {m.converted}" for m in run.modules)
        timing = ", ".join(f"{phase} {s:.1f} s" for phase, s in run.seconds.items())
        print(f"\nprovider {run.provider_version}; resources per graph: {counts}; {timing}")
    assert re.fullmatch(r"\d+\.\d+\.\d+", run.provider_version)


def test_no_machine_path_reaches_the_configuration(run: Run) -> None:
    """Lambda code is a placeholder name, not the archive's path on this machine."""
    for module in run.modules:
        text = str(module.document())
        assert str(REPO) not in text, module.label
