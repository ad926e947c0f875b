"""``python -m drplan --all`` (or ``--stacks PATTERN ...``): the offline plan of a whole fleet of stacks.

Every selected ``Pulumi.<stack>.yaml`` is planned as ``python -m drplan <stack>`` plans one (the real
program under Pulumi's mocks, the policy pack over its Analyzer interface), in worker processes, one per
core by default, which import the SDKs once and then plan stack after stack, with one policy pack process
serving them all (:mod:`drplan.fleet_workers`). The storage estimate of the single-stack plan is left out.

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
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config import PROJECT, ConfigError, from_namespaced, parse
from dr_model import project_config
from drplan import (
    NO_POLICY,
    changed_since,
    cost,
    fleet_checks,
    fleet_preflight,
    fleet_render,
    fleet_workers,
    isolated_fleet,
    policy_config,
    stack_policy_config,
    storage,
    verifier_fleet,
)
from drplan.cli import INVALID_INPUT, MANDATORY_VIOLATION, OK, PLAN_FAILED, Progress
from drplan.fleet_checks import Finding, StackSummary
from drplan.policy_client import PolicyPackError
from drplan.program import (
    REPO,
    StackFileError,
    read_project,
    read_stack_config,
    shown_path,
)

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
            problems.append(f"{shown_path(path)}: {exc}")
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
    source = fleet_workers.pack_config_source(args)
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
            problems.append(f"{shown_path(path)}: {exc}")
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
        for summary in fleet_workers.plan_all(stacks, args, progress):
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
        print(
            "\n".join([*fleet_render.render(summaries, findings, args.no_policy, seconds), *preflight_text])
        )
    if outcome.code != OK:
        print(outcome.message, file=sys.stderr)
        for s in summaries:
            if s.code in (INVALID_INPUT, PLAN_FAILED):
                print(f"{s.stack}: {s.message}", file=sys.stderr)
    return outcome.code
