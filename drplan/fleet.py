"""``python -m drplan --all`` (or ``--stacks PATTERN ...``): the offline plan of a whole fleet of stacks.

Every selected ``Pulumi.<stack>.yaml`` is planned as ``python -m drplan <stack>`` plans one (the real
program under Pulumi's mocks, the policy pack over its Analyzer interface), in worker processes, one per
core by default, which import the SDKs once and then plan stack after stack. One policy pack process
serves them all; configuring it and analysing a stack is one step under a lock, because the pack's
configuration (the stack's ``--policy-config``) is the pack's, not the call's. The storage estimate of
the single-stack plan is left out.

It prints a fleet table (stack, workload account, layout, protected types, copies and retentions, policy
verdict) and the cross-stack checks of :mod:`drplan.fleet_checks`. ``--matrix`` prints instead the
stacks for GitHub Actions, in chunks of at most one matrix each, without running the program.
``--changed-since REF`` keeps only the stacks whose effective config or registered graph differs from git
revision REF (:mod:`drplan.changed_since`) and names them, or with ``--matrix`` hands out only them.

Exit codes as for one stack, over the fleet: 0 ok; 1 a mandatory policy violation in any stack or a
cross-stack conflict; 2 any invalid stack file, stack config or policy config (each named), or a selection
that names no stack; 3 a stack's plan could not run. The highest applies.
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from components.config import PROJECT, ConfigError, ShareWith, StackConfig, from_namespaced, parse
from dr_model import catalog, project_config
from drplan import (
    GC_THRESHOLD,
    NO_POLICY,
    changed_since,
    cost,
    fleet_checks,
    fleet_preflight,
    isolated_fleet,
    matrix,
    policy_config,
    stack_policy_config,
    storage,
    verdict,
    verifier_fleet,
)
from drplan.cli import INVALID_INPUT, MANDATORY_VIOLATION, OK, PLAN_FAILED, Progress
from drplan.fleet_checks import Finding, StackSummary
from drplan.graph import StackGraph
from drplan.policy_client import PolicyPackClient, PolicyPackError
from drplan.program import (
    REPO,
    StackFileError,
    esc_note,
    explain_config_error,
    read_project,
    read_stack_config,
    stack_environments,
)
from isolated import isolated_config

STACK_FILE_GLOB = "Pulumi.*.yaml"
# Pulumi.<stack>.deploy.yaml holds a stack's Pulumi Deployments settings, not its config.
DEPLOY_SETTINGS_SUFFIX = ".deploy"
# GitHub Actions runs at most this many jobs from one matrix, and one job's outputs hold at most this many
# bytes, counted as UTF-16 (docs/fleet.md, "Chunks of at most one matrix", with the sources).
GITHUB_MATRIX_LIMIT = 256
GITHUB_JOB_OUTPUTS_BYTES = 1_000_000
# The keys of each chunk in --matrix's output, which the workflows read (docs/fleet.md).
CHUNK_NAME = "chunk"
CHUNK_STACKS = "stacks"
STACK_PLACEHOLDER = "{stack}"
# How long the fleet plan waits for the next stack's result before it reports the rest as not planned.
STACK_TIMEOUT_SECONDS = 300
# A worker process plans at most this many stacks, then a fresh one takes over: what the SDK and the
# libraries keep of each run (about a quarter of a MiB a stack) then cannot add up over a fleet of a
# thousand, for a second of imports per this many stacks.
STACKS_PER_WORKER = 200
WIDTH = 100


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m drplan",
        description="Offline plan of a fleet of stacks, one workload account each: every stack's plan in "
        "worker processes, a fleet table and the checks across stacks that no single stack can see.",
        epilog="Exit codes: 0 ok, 1 mandatory policy violation in a stack or a cross-stack conflict, "
        "2 invalid stack file/config/policy config or no stack selected, 3 a plan could not run.",
        # No abbreviations: `--project org` (a single stack's option) must not pass for --project-dir.
        allow_abbrev=False,
    )
    selection = parser.add_mutually_exclusive_group(required=True)
    selection.add_argument("--all", action="store_true", help="every Pulumi.<stack>.yaml of the project")
    selection.add_argument(
        "--stacks",
        nargs="+",
        metavar="PATTERN",
        help="stack names or shell-style patterns (quote them), e.g. --stacks prod 'payments-*'",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=REPO,
        help="directory holding Pulumi.yaml and the stack files (default: this repository)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="print the selected stacks for GitHub Actions as chunks of at most one matrix each (one JSON "
        "line) without planning them",
    )
    parser.add_argument(
        changed_since.FLAG,
        metavar="REF",
        help="only the selected stacks whose effective config or registered graph differs from git revision "
        "REF (each side planned by its own program): names them, or with --matrix hands out only them",
    )
    parser.add_argument(NO_POLICY, action="store_true", help="skip the policy pack")
    parser.add_argument(
        "--policy-config",
        metavar="FILE",
        help="each stack's policy pack config; {stack} stands for the stack name, "
        "e.g. 'examples/policy-config.{stack}.json'; with --org-policy-config, only the stacks whose "
        "file exists use it (default: every policy at its defaults)",
    )
    parser.add_argument(
        stack_policy_config.ORG_FLAG,
        type=Path,
        metavar="FILE",
        help="the organisation-wide policy pack config (e.g. examples/policy-config.json), to which each "
        "stack's own facts (kubernetesClusters, allowedCopySourceAccounts) are added from its config",
    )
    parser.add_argument(
        "--write-policy-configs",
        metavar="TEMPLATE",
        help="write each selected stack's policy pack config ({stack} stands for the stack name) for "
        "`pulumi preview --policy-pack-config`, without planning",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: one per core); 1 plans in this process",
    )
    parser.add_argument(
        "--vault-quota",
        type=int,
        default=fleet_checks.VAULTS_PER_ACCOUNT_REGION,
        help="vaults allowed per isolated account and region (default: AWS's default quota, "
        f"{fleet_checks.VAULTS_PER_ACCOUNT_REGION}); pass a raised quota",
    )
    parser.add_argument(
        "--progress", action="store_true", help="progress on stderr even when it is not a TTY"
    )
    fleet_preflight.add_arguments(parser)
    return parser


class SelectionError(ValueError):
    """The command line selects no stack file (exit 2)."""


def discover(project_dir: Path) -> dict[str, Path]:
    """Every stack file of the project, by stack name."""
    stacks = {}
    for path in sorted(project_dir.glob(STACK_FILE_GLOB)):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        if stack and not stack.endswith(DEPLOY_SETTINGS_SUFFIX):
            stacks[stack] = path
    return stacks


def select(project_dir: Path, patterns: Sequence[str] | None) -> dict[str, Path]:
    """The stacks ``patterns`` select (all when ``None``); each pattern must select at least one."""
    if not project_dir.is_dir():
        raise SelectionError(f"--project-dir {project_dir}: not a directory")
    stacks = discover(project_dir)
    if not stacks:
        raise SelectionError(f"no stack files ({STACK_FILE_GLOB}) in {project_dir}")
    if patterns is None:
        return stacks
    chosen: dict[str, Path] = {}
    for pattern in patterns:
        matched = {s: p for s, p in stacks.items() if fnmatch.fnmatchcase(s, pattern)}
        if not matched:
            raise SelectionError(
                f"--stacks {pattern!r} matches no stack file in {project_dir}; stacks: {', '.join(stacks)}"
            )
        chosen.update(matched)
    return dict(sorted(chosen.items()))


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- one stack ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    stack: str
    path: Path
    project_file: Path
    """The project's Pulumi.yaml, whose config is merged into the stack's (when it exists)."""
    pack_configs: stack_policy_config.PackConfigSource | None
    port: int | None
    """The fleet's policy pack, or ``None`` for --no-policy."""


def _retention(data: matrix.Matrix) -> dict[str, tuple[int, ...]]:
    days: dict[str, set[int]] = {}
    for row in data.rows:
        if not row.base.protected:
            continue
        for destination in (matrix.IN_REGION, matrix.CROSS_REGION, matrix.AIR_GAPPED):
            use = row.base.use(destination)
            if use is not None:
                days.setdefault(destination, set()).update(use.retention_days)
        in_region = row.base.use(matrix.IN_REGION)
        if in_region is not None and in_region.continuous_days is not None:
            days.setdefault("continuous", set()).add(in_region.continuous_days)
    return {k: tuple(sorted(v)) for k, v in days.items()}


def _summary(
    task: Task, config: StackConfig, graph: StackGraph, result: verdict.Verdict, notes: list[str]
) -> StackSummary:
    data = matrix.build(graph, matrix.TagScenarios.of(config), matrix.IsolatedVaults.of(config))
    protected = tuple(r.type_key for r in data.rows if r.type_key and r.base.protected)
    code, reason = (MANDATORY_VIOLATION, "mandatory-policy-violation") if result.mandatory else (OK, "ok")
    return StackSummary(
        stack=task.stack,
        file=_shown(task.path),
        code=code,
        reason=reason,
        message=", ".join(sorted({f.policy for f in result.mandatory})),
        environment=config.environment.value,
        workload_account=config.accounts.workload,
        isolated_account=config.accounts.isolated,
        prefix=config.prefix,
        air_gapped_vault=config.air_gapped_vault_name,
        layout=config.layout.value,
        dr_region=config.regions.dr,
        protected_types=protected,
        unprotected_types=tuple(k for k in catalog.TYPE_KEYS if k not in protected),
        retention_days=_retention(data),
        policy_ran=result.ran,
        mandatory=tuple(f.to_json() for f in result.mandatory),
        advisory=len(result.advisory),
        isolated_names=fleet_checks.isolated_names(config),
        isolated_entry=isolated_config.spelled(isolated_config.entry_of(config)),
        shares_by_invitation=config.air_gapped_vault.share_with is ShareWith.INVITATION,
        settings=fleet_checks.flatten(config.model_dump(by_alias=True, mode="json")),
        notes=tuple(notes),
        vault_uses=cost.matrix_uses(data),
        resources=len(graph.resources),
    )


def plan_stack(
    task: Task, client: PolicyPackClient | None, lock: AbstractContextManager[Any] | None = None
) -> StackSummary:
    """Plan one stack; every outcome, failures included, comes back as a summary."""
    # Imported here: the parent process of a fleet plan never runs the program itself.
    from drplan.program import register_stack

    started = time.perf_counter()
    shown = _shown(task.path)

    def failed(code: int, reason: str, message: str) -> StackSummary:
        return StackSummary(task.stack, shown, code, reason, message, seconds=time.perf_counter() - started)

    try:
        raw = read_stack_config(task.path, project_file=task.project_file, stack=task.stack)
    except StackFileError as exc:
        return failed(INVALID_INPUT, "invalid-stack-file", f"{shown}: {exc}")
    environments = stack_environments(task.path)
    notes = [esc_note(environments)] if environments else []
    pack_config = org_config = None
    where = ""
    if task.pack_configs is not None and client is not None:
        own = task.pack_configs.own_file(task.stack)
        try:
            if own is not None:
                where = f"{stack_policy_config.STACK_FLAG} {own}"
                pack_config = policy_config.load(own)
            else:
                where = f"{stack_policy_config.ORG_FLAG} {task.pack_configs.org_file}"
                org_config = task.pack_configs.load_org()
        except policy_config.PolicyConfigError as exc:
            message = str(exc) if own is None else f"{where}: {exc}"
            return failed(INVALID_INPUT, "invalid-policy-config", message)
    try:
        graph = register_stack(task.stack, config=raw)
    except ConfigError as exc:
        message = explain_config_error(str(exc), raw, Path(shown), task.project_file)
        if environments:
            message += f"\n  note: {shown} {esc_note(environments)}"
        return failed(INVALID_INPUT, "invalid-config", message)
    # The program accepted this config, so parsing it again cannot fail.
    config = parse(from_namespaced(raw), task.stack)
    if pack_config is None:
        # No own file: the organisation's file or, without one, every policy at its defaults, with the stack's
        # facts (among them the isolated account's vaults, which the graph names by ARN only).
        pack_config = stack_policy_config.with_stack_facts(org_config or {}, config)
    result = verdict.SKIPPED
    if client is not None:
        try:
            with lock or nullcontext():
                result = verdict.check(graph, client, pack_config)
        except policy_config.PolicyConfigError as exc:
            return failed(INVALID_INPUT, "invalid-policy-config", f"{where}: {exc}")
    return replace(_summary(task, config, graph, result, notes), seconds=time.perf_counter() - started)


# --- worker processes ------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(lock: Any) -> None:
    """Import the SDKs and the program's modules once per worker, while the policy pack starts.

    A spawned worker does not run ``drplan/__main__.py`` (multiprocessing skips a package's ``__main__``),
    so it tunes the collector itself, as that module explains, and moves everything imported so far out
    of the collector's way."""
    gc.set_threshold(*GC_THRESHOLD)
    import components.stack  # noqa: F401 - pulumi_aws and every component
    import drplan.program  # noqa: F401

    gc.freeze()
    _WORKER["lock"] = lock


def _worker_client(port: int | None) -> PolicyPackClient | None:
    if port is None:
        return None
    client: PolicyPackClient | None = _WORKER.get("client")
    if client is None:
        client = _WORKER["client"] = PolicyPackClient.attach(port)
    return client


def _plan_in_worker(task: Task) -> StackSummary:
    try:
        return plan_stack(task, _worker_client(task.port), _WORKER["lock"])
    except PolicyPackError as exc:
        return StackSummary(task.stack, _shown(task.path), PLAN_FAILED, "policy-pack-failed", str(exc))
    except Exception as exc:  # reported with its traceback; the other stacks go on
        traceback.print_exc()
        return StackSummary(
            task.stack, _shown(task.path), PLAN_FAILED, "plan-failed", f"{type(exc).__name__}: {exc}"
        )


def _pack_configs(args: argparse.Namespace) -> stack_policy_config.PackConfigSource | None:
    source = stack_policy_config.PackConfigSource(args.policy_config, args.org_policy_config)
    return source if source.configured else None


def _plan_all(
    stacks: Mapping[str, Path], args: argparse.Namespace, progress: Progress
) -> Iterator[StackSummary]:
    workers = max(1, min(args.workers, len(stacks)))
    pack: PolicyPackClient | None = None
    pool = None
    lock: Any = None
    try:
        if workers > 1:
            context = multiprocessing.get_context("spawn")
            lock = context.Lock()
            # Started before the pack, so the workers' imports and the pack's start overlap.
            pool = context.Pool(
                workers, initializer=_init_worker, initargs=(lock,), maxtasksperchild=STACKS_PER_WORKER
            )
        if not args.no_policy:
            pack = PolicyPackClient().start()
            progress(
                f"policy pack started (port {pack.port}); planning {len(stacks)} stacks, {workers} workers"
            )
        port = None if pack is None else pack.port
        project_file = args.project_dir / project_config.PROJECT_FILE
        pack_configs = _pack_configs(args)
        tasks = [Task(s, p, project_file, pack_configs, port) for s, p in stacks.items()]
        if pool is not None:
            results = pool.imap_unordered(_plan_in_worker, tasks)
            done: set[str] = set()
            for _ in tasks:
                try:
                    summary = results.next(timeout=STACK_TIMEOUT_SECONDS)
                except multiprocessing.TimeoutError:
                    # A worker that dies (killed, out of memory) loses its stack without an error.
                    for task in tasks:
                        if task.stack not in done:
                            yield StackSummary(
                                task.stack,
                                _shown(task.path),
                                PLAN_FAILED,
                                "plan-failed",
                                f"no result within {STACK_TIMEOUT_SECONDS} s: a worker process stopped",
                            )
                    return
                done.add(summary.stack)
                yield summary
        else:
            for task in tasks:
                try:
                    yield plan_stack(task, pack)
                except PolicyPackError as exc:
                    yield StackSummary(
                        task.stack, _shown(task.path), PLAN_FAILED, "policy-pack-failed", str(exc)
                    )
    finally:
        if pool is not None:
            pool.terminate()  # workers hold nothing to clean up; skipping their teardown saves seconds
        if pack is not None:
            pack.close()


# --- the fleet -------------------------------------------------------------------------------------------


def _days(values: Sequence[int]) -> str:
    return "/".join(str(v) for v in values) if values else "-"


def _copies(s: StackSummary) -> str:
    days = s.retention_days
    parts = [
        _days(days.get(matrix.IN_REGION, ())),
        f"{_days(days.get(matrix.CROSS_REGION, ()))} {s.dr_region}",
        f"{_days(days.get(matrix.AIR_GAPPED, ()))} air-gapped",
    ]
    if days.get("continuous"):
        parts.append(f"PITR {_days(days['continuous'])}")
    return " · ".join(parts)


def _types(s: StackSummary) -> str:
    total = len(catalog.TYPE_KEYS)
    if not s.unprotected_types:
        return f"all {total}"
    return f"{len(s.protected_types)}/{total}: not {', '.join(s.unprotected_types)}"


def _verdict(s: StackSummary, no_policy: bool) -> str:
    if s.code == INVALID_INPUT:
        return "INVALID"
    if s.code == PLAN_FAILED:
        return "ERROR"
    if no_policy or not s.policy_ran:
        return "skipped"
    if s.mandatory:
        return f"FAIL ({len(s.mandatory)} mandatory)"
    return f"PASS ({s.advisory} advisory)" if s.advisory else "PASS"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    body = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body]


def _heading(title: str) -> list[str]:
    return ["", title, "─" * min(len(title), WIDTH)]


def render(
    summaries: Sequence[StackSummary], findings: Sequence[Finding], no_policy: bool, seconds: float
) -> list[str]:
    rows = [
        [s.stack, s.workload_account or "-", s.layout or "-", _types(s) if s.planned else "-",
         _copies(s) if s.planned else "-", _verdict(s, no_policy)]
        for s in summaries
    ]  # fmt: skip
    lines = [
        f"aws-dr-backup fleet plan · {len(summaries)} stacks · {seconds:.1f} s",
        "(each program ran under Pulumi's mocks: nothing was deployed and no AWS API was called)",
        *_heading("FLEET"),
        *_table(
            [
                "stack",
                "workload account",
                "layout",
                "protected types",
                "days kept: in-region · copies",
                "policy",
            ],
            rows,
        ),
    ]
    lines += _heading("CROSS-STACK CHECKS")
    for check, description in fleet_checks.CHECKS:
        conflicts = [f for f in findings if f.check == check and f.level == fleet_checks.CONFLICT]
        lines.append(f"{'CONFLICT' if conflicts else 'ok'}  {description}")
        for f in conflicts:
            lines += textwrap.wrap(f.message, WIDTH, initial_indent="    ", subsequent_indent="      ")
    notes = [f for f in findings if f.level == fleet_checks.NOTE]
    stack_notes = [(s.stack, n) for s in summaries for n in s.notes]
    if notes or stack_notes:
        lines += _heading("NOTES")
        for text in [f.message for f in notes] + [f"{stack} {note}" for stack, note in stack_notes]:
            lines += textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="    ")
    failing = [s for s in summaries if s.code == MANDATORY_VIOLATION]
    if failing:
        lines += _heading("MANDATORY POLICY VIOLATIONS")
        for s in failing:
            for finding in s.mandatory:
                lines.append(f"  {s.stack}: {finding['policy']}  {finding['resource']}: {finding['problem']}")
    broken = [s for s in summaries if s.code in (INVALID_INPUT, PLAN_FAILED)]
    if broken:
        lines += _heading("STACKS NOT PLANNED")
        for s in broken:
            lines += [f"  {line}" for line in f"{s.stack}: {s.message}".splitlines()]
    return lines


def _shared_settings(project: project_config.Project | None) -> dict[str, Any] | None:
    """The project's shared values, flattened like each stack's settings; ``isolatedAccount`` stands for
    ``accounts.isolated``, which it fills."""
    if project is None:
        return None
    shared = project.shared(PROJECT)
    if "isolatedAccount" in shared:
        shared["accounts"] = {"isolated": shared.pop("isolatedAccount")}
    return fleet_checks.flatten(shared)


@dataclass(frozen=True)
class FleetExit:
    code: int
    reason: str
    message: str


def fleet_exit(summaries: Sequence[StackSummary], findings: Sequence[Finding]) -> FleetExit:
    """The highest exit code of the stacks and the checks, with every stack it names."""
    by_code: dict[int, list[str]] = {}
    for s in summaries:
        by_code.setdefault(s.code, []).append(s.stack)
    conflicts = [f for f in findings if f.level == fleet_checks.CONFLICT]
    if PLAN_FAILED in by_code:
        return FleetExit(PLAN_FAILED, "plan-failed", "could not plan: " + ", ".join(by_code[PLAN_FAILED]))
    if INVALID_INPUT in by_code:
        return FleetExit(INVALID_INPUT, "invalid-stack", "invalid: " + ", ".join(by_code[INVALID_INPUT]))
    parts = []
    if MANDATORY_VIOLATION in by_code:
        parts.append("mandatory policy violations: " + ", ".join(by_code[MANDATORY_VIOLATION]))
    if conflicts:
        parts.append(
            "cross-stack conflicts: "
            + "; ".join(f"{f.check} ({fleet_checks.few(f.stacks)})" for f in conflicts)
        )
    if not parts:
        return FleetExit(OK, "ok", "")
    reason = "cross-stack-conflict" if conflicts else "mandatory-policy-violation"
    if conflicts and MANDATORY_VIOLATION in by_code:
        reason = "mandatory-policy-violation-and-cross-stack-conflict"
    return FleetExit(MANDATORY_VIOLATION, reason, "; ".join(parts))


def github_matrix(stacks: Mapping[str, Path], project_file: Path) -> tuple[str | None, list[str]]:
    """The stacks as chunks for GitHub Actions, one JSON line for ``$GITHUB_OUTPUT``, or the problems (each
    naming its stack file or the limit it passes).

    The line is the matrix of the workflows' chunk job, ``{"include": [{"chunk": "1 of 2", "stacks": ...}]}``:
    the stacks in name order cut into consecutive runs of at most ``GITHUB_MATRIX_LIMIT``, each run's
    ``stacks`` the matrix of the reusable workflow the chunk job calls, as JSON text:
    ``{"include": [{"stack", "account", "environment"}, ...]}``. A fleet within one matrix is one chunk."""
    include, problems = [], []
    for stack, path in sorted(stacks.items()):
        try:
            config = parse(
                from_namespaced(read_stack_config(path, project_file=project_file, stack=stack)), stack
            )
        except (StackFileError, ConfigError) as exc:
            problems.append(f"{_shown(path)}: {exc}")
            continue
        include.append(
            {"stack": stack, "account": config.accounts.workload, "environment": config.environment.value}
        )
    if problems:
        return None, problems
    size = GITHUB_MATRIX_LIMIT
    runs = [include[i : i + size] for i in range(0, len(include), size)]
    chunks = [
        {
            CHUNK_NAME: f"{n} of {len(runs)}",
            CHUNK_STACKS: json.dumps({"include": run}, separators=(",", ":")),
        }
        for n, run in enumerate(runs, start=1)
    ]
    line = json.dumps({"include": chunks}, separators=(",", ":"))
    if len(chunks) > GITHUB_MATRIX_LIMIT:
        problems.append(
            f"{len(include)} stacks make {len(chunks)} chunks of at most {size}, and the chunk job's own "
            f"matrix runs at most {GITHUB_MATRIX_LIMIT}: split the fleet with --stacks patterns, one workflow "
            "per part"
        )
    encoded = len(line.encode("utf-16-le"))
    if encoded > GITHUB_JOB_OUTPUTS_BYTES:
        problems.append(
            f"the matrix of {len(include)} stacks is {encoded} bytes as UTF-16, and a job's outputs hold at most "
            f"{GITHUB_JOB_OUTPUTS_BYTES}: split the fleet with --stacks patterns, one workflow per part"
        )
    return (line if not problems else None), problems


def write_policy_configs(stacks: Mapping[str, Path], project_file: Path, args: argparse.Namespace) -> int:
    """``--write-policy-configs``: each stack's pack config as a file, from the same sources and with the
    same precedence as the plan (:mod:`drplan.stack_policy_config`)."""
    source = _pack_configs(args)
    if source is None:
        print(
            f"--write-policy-configs needs {stack_policy_config.STACK_FLAG} or {stack_policy_config.ORG_FLAG}",
            file=sys.stderr,
        )
        return INVALID_INPUT
    problems = []
    written: dict[Path, str] = {}
    for stack, path in stacks.items():
        try:
            raw = read_stack_config(path, project_file=project_file, stack=stack)
            config = parse(from_namespaced(raw), stack)
            pack, _ = source.for_stack(stack, config)
        except (StackFileError, ConfigError) as exc:
            problems.append(f"{_shown(path)}: {exc}")
            continue
        except policy_config.PolicyConfigError as exc:
            problems.append(str(exc))
            continue
        written[Path(args.write_policy_configs.replace(STACK_PLACEHOLDER, stack))] = stack_policy_config.dump(
            pack or {}
        )
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return INVALID_INPUT
    if len(written) < len(stacks):
        print(
            f"--write-policy-configs {args.write_policy_configs}: one file for several stacks; add {STACK_PLACEHOLDER}",
            file=sys.stderr,
        )
        return INVALID_INPUT
    for target, text in written.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return OK


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.no_policy and (args.policy_config or args.org_policy_config) is not None:
        parser.error("--policy-config configures the policy pack, which --no-policy skips; give one of them")
    for flag, value in (("--workers", args.workers), ("--vault-quota", args.vault_quota)):
        if value < 1:
            parser.error(f"{flag} {value}: must be a whole number of at least 1")
    for problem in fleet_preflight.problems(args):
        parser.error(problem)
    progress = Progress(args.progress or sys.stderr.isatty())
    started = time.perf_counter()
    project_file = args.project_dir / project_config.PROJECT_FILE
    try:
        stacks = select(args.project_dir, args.stacks)
        project = read_project(project_file)
    except (SelectionError, StackFileError) as exc:
        print(exc, file=sys.stderr)
        return INVALID_INPUT

    if args.write_policy_configs is not None:
        return write_policy_configs(stacks, project_file, args)

    try:
        preflight = fleet_preflight.load(args)
    except (storage.InventoryError, cost.PriceFileError) as exc:
        print(exc, file=sys.stderr)
        return INVALID_INPUT

    if args.changed_since is not None:
        try:
            changes = changed_since.since(args.changed_since, args.project_dir, stacks, progress)
        except changed_since.ChangedSinceError as exc:
            print(exc, file=sys.stderr)
            return INVALID_INPUT
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"{changed_since.FLAG} {args.changed_since}: {exc}", file=sys.stderr)
            return PLAN_FAILED
        stacks = {s: p for s, p in stacks.items() if s in changes.affected}
        if not args.matrix:
            if args.json:
                print(json.dumps(changes.to_json(), indent=2))
            else:
                print("\n".join(changed_since.render(changes)))
            return OK

    if args.matrix:
        line, problems = github_matrix(stacks, project_file)
        if line is None:
            print("\n".join(problems), file=sys.stderr)
            return INVALID_INPUT
        print(line)
        return OK

    summaries: list[StackSummary] = []
    try:
        for summary in _plan_all(stacks, args, progress):
            summaries.append(summary)
            progress(
                f"{len(summaries)}/{len(stacks)} {summary.stack}: {summary.reason} ({summary.seconds:.1f} s)"
            )
    except PolicyPackError as exc:
        print(str(exc), file=sys.stderr)
        return PLAN_FAILED
    summaries.sort(key=lambda s: s.stack)
    verifiers, unreadable = verifier_fleet.load(args.project_dir)
    isolated, isolated_unreadable = isolated_fleet.load(args.project_dir)
    findings = fleet_checks.check(
        summaries,
        vault_quota=args.vault_quota,
        project=_shared_settings(project),
        ram_share_quota=args.ram_share_quota,
        verifiers=verifiers,
        isolated=isolated,
    )
    findings += unreadable + isolated_unreadable
    more_findings, preflight_json, preflight_text = fleet_preflight.run(summaries, args, preflight)
    findings += more_findings
    outcome = fleet_exit(summaries, findings)
    seconds = time.perf_counter() - started
    if args.json:
        document = {
            "project": PROJECT,
            "mode": "fleet",
            "stacks": [s.to_json() for s in summaries],
            "checks": [
                {
                    "check": check,
                    "description": description,
                    "ok": not any(f.check == check and f.level == fleet_checks.CONFLICT for f in findings),
                }
                for check, description in fleet_checks.CHECKS
            ],
            "findings": [f.to_json() for f in findings],
            **preflight_json,
            "seconds": round(seconds, 2),
            "exit": {"code": outcome.code, "reason": outcome.reason, "message": outcome.message},
        }
        print(json.dumps(document, indent=2))
    else:
        print("\n".join([*render(summaries, findings, args.no_policy, seconds), *preflight_text]))
    if outcome.code != OK:
        print(outcome.message, file=sys.stderr)
        for s in summaries:
            if s.code in (INVALID_INPUT, PLAN_FAILED):
                print(f"{s.stack}: {s.message}", file=sys.stderr)
    return outcome.code
