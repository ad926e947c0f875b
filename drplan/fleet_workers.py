"""Planning each stack of a fleet: one stack's plan as a summary, and the worker processes that plan them.

Each worker imports the SDKs once and then plans stack after stack (:func:`plan_stack`), the way
``python -m drplan <stack>`` plans one; one policy pack process serves them all, and configuring it and
analysing a stack is one step under a lock, because the pack's configuration is the pack's, not the call's.
A worker is replaced after ``STACKS_PER_WORKER`` stacks. :mod:`drplan.fleet` selects the stacks, runs
:func:`plan_all` and renders the fleet.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from components.config import ConfigError, ShareWith, StackConfig, from_namespaced, parse
from dr_model import catalog, project_config
from drplan import GC_THRESHOLD, cost, fleet_checks, matrix, policy_config, stack_policy_config, verdict
from drplan.cli import INVALID_INPUT, MANDATORY_VIOLATION, OK, PLAN_FAILED, Progress
from drplan.fleet_checks import StackSummary
from drplan.graph import StackGraph
from drplan.policy_client import PolicyPackClient, PolicyPackError
from drplan.program import (
    StackFileError,
    esc_note,
    explain_config_error,
    read_stack_config,
    shown_path,
    stack_environments,
)
from isolated import isolated_config

# How long the fleet plan waits for the next stack's result before it reports the rest as not planned.
STACK_TIMEOUT_SECONDS = 300
# A worker process plans at most this many stacks, then a fresh one takes over: what the SDK and the
# libraries keep of each run (about a quarter of a MiB a stack) then cannot add up over a fleet of a
# thousand, for a second of imports per this many stacks.
STACKS_PER_WORKER = 200


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
        file=shown_path(task.path),
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
    shown = shown_path(task.path)

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
        return StackSummary(task.stack, shown_path(task.path), PLAN_FAILED, "policy-pack-failed", str(exc))
    except Exception as exc:  # reported with its traceback; the other stacks go on
        traceback.print_exc()
        return StackSummary(
            task.stack, shown_path(task.path), PLAN_FAILED, "plan-failed", f"{type(exc).__name__}: {exc}"
        )


def pack_config_source(args: argparse.Namespace) -> stack_policy_config.PackConfigSource | None:
    source = stack_policy_config.PackConfigSource(args.policy_config, args.org_policy_config)
    return source if source.configured else None


def plan_all(
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
        pack_configs = pack_config_source(args)
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
                                shown_path(task.path),
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
                        task.stack, shown_path(task.path), PLAN_FAILED, "policy-pack-failed", str(exc)
                    )
    finally:
        if pool is not None:
            pool.terminate()  # workers hold nothing to clean up; skipping their teardown saves seconds
        if pack is not None:
            pack.close()
