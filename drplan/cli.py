"""``python -m drplan <stack>``: the offline plan of a stack, with no AWS credentials and no Pulumi CLI.

Runs the real program under Pulumi's mocks with the stack's config (and its protection part once more,
with the other layout, for the storage estimate), starts the policy pack meanwhile and sends it the
registered resources over its Analyzer interface, then prints the tree, the protection matrix, the
storage estimate and the verdict.

Exit codes: 0 plan ok; 1 a mandatory policy violation; 2 invalid config, stack file, inventory or policy
pack config (message on stderr); 3 the plan itself could not run (policy pack failed to start, program crashed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from components.config import PROJECT, ConfigError, StackConfig, from_namespaced, parse
from components.lambda_code import ArchiveError
from dr_model import project_config
from drplan import (
    NO_POLICY,
    cost,
    matrix,
    org_plan,
    policy_config,
    render,
    stack_policy_config,
    storage,
    tree,
    verdict,
)
from drplan.pack_process import PackProcess
from drplan.policy_client import PolicyPackClient, PolicyPackError
from drplan.program import (
    REPO,
    StackFileError,
    esc_note,
    explain_config_error,
    read_stack_config,
    register_stack,
    stack_environments,
    stack_file,
)

OK, MANDATORY_VIOLATION, INVALID_INPUT, PLAN_FAILED = 0, 1, 2, 3
DEFAULT_INVENTORY = REPO / "examples" / "inventory.yaml"


class Progress:
    """Progress lines on stderr, only for a person watching (a TTY) or when asked for."""

    def __init__(self, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self.enabled = enabled
        self.stream = stream
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.started
            print(f"drplan [{elapsed:5.1f} s] {message}", file=self.stream, flush=True)


@dataclass
class Outcome:
    code: int
    reason: str
    message: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m drplan",
        description="Offline plan of a stack: resources, protection matrix, storage estimate, policy verdict. "
        "Runs the program under Pulumi's mocks; needs no AWS credentials and no Pulumi CLI.",
        epilog="Exit codes: 0 ok, 1 mandatory policy violation, 2 invalid config/stack file/inventory/policy config, "
        "3 the plan could not run.",
    )
    parser.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml unless --stack-file is given")
    parser.add_argument(
        "--project",
        choices=("main", org_plan.NAME),
        default="main",
        help="main: the workload stacks (Pulumi.yaml, default); org: the organisation stack "
        "(org/Pulumi.yaml, reads org/Pulumi.<stack>.yaml; no matrix or storage estimate)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument(
        "--inventory",
        type=Path,
        default=DEFAULT_INVENTORY,
        help="sizes per resource type for the storage estimate (default: examples/inventory.yaml)",
    )
    parser.add_argument(
        NO_POLICY,
        action="store_true",
        help="skip the policy pack (no verdict; exit code ignores policies)",
    )
    parser.add_argument(
        "--progress", action="store_true", help="progress on stderr even when it is not a TTY"
    )
    parser.add_argument(
        "--stack-file",
        type=Path,
        help="read the stack's config from this YAML file instead of Pulumi.<stack>.yaml",
    )
    parser.add_argument(
        "--policy-config",
        type=Path,
        metavar="FILE",
        help="policy pack configuration, the JSON file `pulumi preview --policy-pack-config` takes "
        "(e.g. examples/policy-config.prod.json); wins over --org-policy-config; default: every "
        "policy at its defaults, with the stack's own facts",
    )
    parser.add_argument(
        stack_policy_config.ORG_FLAG,
        type=Path,
        metavar="FILE",
        help="the organisation-wide policy pack config (e.g. examples/policy-config.json), to which the "
        "stack's own facts (kubernetesClusters, allowedCopySourceAccounts) are added from its config",
    )
    parser.add_argument(
        cost.PRICE_FILE_FLAG,
        type=Path,
        metavar="FILE",
        help="prices in the shape of drplan/prices.json, each figure in place of the bundled one "
        "(for the monthly cost)",
    )
    # Benchmarks only: run another program file (benchmarks/plan_synthetic_program.py builds 10x the stack).
    parser.add_argument("--program", type=Path, help=argparse.SUPPRESS)
    return parser


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _account_labels(config: StackConfig) -> dict[str, str]:
    return {config.accounts.workload: "workload", config.accounts.isolated: "isolated"}


def _start_pack(started: PackProcess | None) -> PolicyPackClient:
    return PolicyPackClient().start(started)


def _plan(
    args: argparse.Namespace,
    progress: Progress,
    pack: Future[PolicyPackClient] | None,
) -> Outcome:
    stack: str = args.stack
    org = args.project == org_plan.NAME
    default_file = org_plan.stack_file(stack) if org else stack_file(stack)
    try:
        inventory = None if org else storage.load_inventory(args.inventory)
        prices = None if org else cost.load_prices(args.price_file)
        # The file as the user named it (or the default relative to here): messages show that path.
        # Merged with the project-level config of the project's Pulumi.yaml, as the Pulumi CLI merges
        # it, also for --stack-file (like `pulumi --config-file`).
        shown_file = args.stack_file or Path(_shown(default_file))
        project_dir = org_plan.DIRECTORY if org else REPO
        raw = read_stack_config(
            shown_file, project_file=project_dir / project_config.PROJECT_FILE, stack=stack
        )
    except (storage.InventoryError, StackFileError, cost.PriceFileError) as exc:
        reason = {storage.InventoryError: "invalid-inventory", cost.PriceFileError: "invalid-price-file"}.get(
            type(exc), "invalid-stack-file"
        )
        return Outcome(INVALID_INPUT, reason, str(exc))

    pack_config = None
    if not args.no_policy:
        try:
            pack_config = _pack_config(args, stack, raw)
            if pack is not None and pack_config is not None:  # checked against the pack's schemas first
                pack.result().configure(pack_config)
        except policy_config.PolicyConfigError as exc:
            return Outcome(INVALID_INPUT, "invalid-policy-config", _policy_config_problem(args, exc))

    environments = stack_environments(shown_file)
    if environments:
        print(f"note: {shown_file} {esc_note(environments)}", file=sys.stderr)
    if inventory is None:  # the organisation project: no inventory, matrix or storage estimate
        return _plan_org(stack, raw, progress, pack, pack_config)
    current, other = storage.layouts_of(raw)
    progress(f"running the program for stack '{stack}' under Pulumi's mocks")
    try:
        graph = register_stack(stack, config=raw, program=args.program)
    except ConfigError as exc:
        message = explain_config_error(str(exc), raw, shown_file, REPO / project_config.PROJECT_FILE)
        environments = stack_environments(shown_file)
        if environments:
            message += f"\n  note: {shown_file} {esc_note(environments)}"
        return Outcome(INVALID_INPUT, "invalid-config", message)
    progress(f"{len(graph.resources)} resources registered; sending them to the policy pack")
    # The pack analyses them in its own process while the other layout runs here.
    analysis = (
        None
        if pack is None
        else verdict.StackAnalysis.send(pack.result(), graph, pack_config, configured=pack_config is not None)
    )
    # The program accepted this config, so parsing it again cannot fail.
    config = parse(from_namespaced(raw), stack)
    # The other layout only feeds the storage estimate, which reads plans and selections alone.
    progress(f"running the protection part of the program with layout '{other}'")
    other_graph = storage.register_with_layout(stack, raw, other, args.program)

    tags = matrix.TagScenarios.of(config)
    isolated = matrix.IsolatedVaults.of(config)
    matrices = {
        current: matrix.build(graph, tags, isolated),
        other: matrix.build(other_graph, tags, isolated),
    }
    estimate = storage.estimate(matrices, inventory, current)
    # The cost of a longer air-gapped retention: the isolated account's GiB at each option, this layout.
    # The option the stack already has is the graph just registered; only the others run again.
    progress("running the protection part of the program with the other air-gapped retention options")
    own_days = config.retention.air_gapped_copy.delete_after_days
    by_days = {
        days: matrices[current]
        if days == own_days
        else matrix.build(
            storage.register_with_layout(
                stack, storage.with_air_gapped_days(raw, days), current, args.program
            ),
            tags,
            isolated,
        )
        for days in storage.AIR_GAPPED_OPTIONS
    }
    air_gapped = {days: round(storage.isolated_gib(m, inventory), 1) for days, m in by_days.items()}
    assert prices is not None  # loaded with the inventory for this project
    regions = cost.Regions(config.regions.primary, config.regions.dr)
    costs = {
        layout: cost.stack_cost(cost.matrix_uses(m), inventory, regions, prices)
        for layout, m in matrices.items()
    }
    costs_by_days = {
        days: cost.stack_cost(cost.matrix_uses(m), inventory, regions, prices) for days, m in by_days.items()
    }
    groups = tree.group(graph)

    result = verdict.SKIPPED
    if analysis is not None:
        progress("waiting for the policy pack's verdict over its Analyzer interface")
        result = analysis.verdict()
    progress("done")

    code, reason = (MANDATORY_VIOLATION, "mandatory-policy-violation") if result.mandatory else (OK, "ok")
    message = ", ".join(sorted({f.policy for f in result.mandatory}))
    labels = _account_labels(config)
    document = {
        "stack": stack,
        "project": PROJECT,
        "layout": current,
        "resources": {"count": len(graph.resources), "groups": [g.to_json() for g in groups]},
        "matrix": matrices[current].to_json(),
        "storage": {
            "inventory": _shown(args.inventory),
            **estimate.to_json(),
            "isolatedAccountGiBByAirGappedDays": {str(d): gib for d, gib in air_gapped.items()},
        },
        "cost": {
            "prices": list(prices.files),
            "layouts": {layout: costs[layout].to_json() for layout in storage.LAYOUTS if layout in costs},
            "byAirGappedDays": {str(d): c.to_json() for d, c in costs_by_days.items()},
        },
        "policy": result.to_json(),
    }
    text = [
        f"aws-dr-backup offline plan · stack {stack} · layout {current} · {len(graph.resources)} resources",
        "(the program ran under Pulumi's mocks: nothing was deployed and no AWS API was called)",
        *render.tree(groups, labels),
        *render.matrix(matrices[current]),
        *render.storage(estimate, _shown(args.inventory)),
        f"  isolated account by retention.airGappedCopy.deleteAfterDays (layout {current}):",
        "    " + ", ".join(f"{d} days {gib:,.0f} GiB" for d, gib in air_gapped.items()),
        *cost.render({layout: costs[layout] for layout in storage.LAYOUTS}, current, costs_by_days, prices),
        *render.verdict(result),
    ]
    return Outcome(code, reason, message, document, text)


def _plan_org(
    stack: str,
    raw: dict[str, Any],
    progress: Progress,
    pack: Future[PolicyPackClient] | None,
    pack_config: dict[str, Any] | None,
) -> Outcome:
    check = None if pack is None else (lambda graph: verdict.check(graph, pack.result(), pack_config))
    try:
        result, document, text = org_plan.plan(stack, raw, progress, check)
    except ConfigError as exc:
        return Outcome(INVALID_INPUT, "invalid-config", str(exc))
    code, reason = (MANDATORY_VIOLATION, "mandatory-policy-violation") if result.mandatory else (OK, "ok")
    return Outcome(code, reason, ", ".join(sorted({f.policy for f in result.mandatory})), document, text)


def _pack_config(args: argparse.Namespace, stack: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    """``--policy-config`` whole, else ``--org-policy-config`` (without it, every policy at its defaults)
    with the stack's facts (:mod:`drplan.stack_policy_config`: among them the isolated account's vaults,
    which the workload graph names by ARN only); ``None`` when the stack's config is invalid (the program
    then reports why)."""
    if args.policy_config is not None:
        return policy_config.load(args.policy_config)
    org = {} if args.org_policy_config is None else policy_config.load(args.org_policy_config)
    try:
        config = parse(from_namespaced(raw), stack)
    except ConfigError:
        return None
    return stack_policy_config.with_stack_facts(org, config)


def _policy_config_problem(args: argparse.Namespace, exc: policy_config.PolicyConfigError) -> str:
    flag, path = (
        (stack_policy_config.STACK_FLAG, args.policy_config)
        if args.policy_config is not None
        else (stack_policy_config.ORG_FLAG, args.org_policy_config)
    )
    return "\n".join(f"{flag} {_shown(path)}: {line}" for line in str(exc).splitlines())


def _close(pack: Future[PolicyPackClient]) -> None:
    try:
        client = pack.result()
    except PolicyPackError:
        return  # it never started; the plan has reported it if it needed the pack
    client.close()


def main(argv: Sequence[str] | None = None, started_pack: PackProcess | None = None) -> int:
    """The plan of one stack; ``started_pack``: the policy pack's process, already started
    (``drplan/__main__.py``), which the plan adopts unless it skips the pack."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.no_policy and (args.policy_config or args.org_policy_config) is not None:
        parser.error("--policy-config configures the policy pack, which --no-policy skips; give one of them")
    progress = Progress(args.progress or sys.stderr.isatty())
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The pack starts (or, started by __main__, finishes starting) while the program runs.
        pack = None if args.no_policy else pool.submit(_start_pack, started_pack)
        try:
            outcome = _plan(args, progress, pack)
        except PolicyPackError as exc:
            outcome = Outcome(PLAN_FAILED, "policy-pack-failed", str(exc))
        except ArchiveError as exc:  # a job's code would not import in Lambda: a defect of the repository
            outcome = Outcome(PLAN_FAILED, "lambda-archive", str(exc))
        except Exception as exc:  # reported with its traceback and a distinct exit code
            traceback.print_exc()
            outcome = Outcome(PLAN_FAILED, "plan-failed", f"{type(exc).__name__}: {exc}")
        finally:
            if pack is not None:
                _close(pack)
    exit_block = {"code": outcome.code, "reason": outcome.reason, "message": outcome.message}
    if args.json:
        document = outcome.document or {"stack": args.stack, "project": PROJECT}
        print(json.dumps({**document, "exit": exit_block}, indent=2))
    elif outcome.text:
        print("\n".join(outcome.text))
    if outcome.code in (INVALID_INPUT, PLAN_FAILED):
        print(outcome.message, file=sys.stderr)
    elif outcome.code == MANDATORY_VIOLATION and not args.json:
        print(f"mandatory policy violations: {outcome.message}", file=sys.stderr)
    return outcome.code
