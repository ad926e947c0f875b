"""``python -m dr_runtime.restore plan|start|status|instances``: the recovery procedure as commands.

    plan       find the newest completed recovery point of every resource in scope in the source vaults,
               and the restore metadata each job would be sent; --out PLAN.json keeps it for review
    start      start the plan's restore jobs (a dry run until --yes); a rerun starts only what is missing
    status     the plan's jobs and the restore time achieved per resource and type (--wait to poll)
    instances  create the DB instances AWS Backup does not create in restored Aurora, DocumentDB and
               Neptune clusters

Progress goes to stderr, the result to stdout (a table, or one JSON document with --json). A command
that cannot run prints one line on stderr and exits non-zero (codes: ``errors.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from dr_model import catalog
from dr_runtime.aws import client
from dr_runtime.restore import freshness, jobs, planner, profile, stack_file
from dr_runtime.restore import source_vaults as sources
from dr_runtime.restore import text_views as render
from dr_runtime.restore.failures import (
    EXIT_CODES_HELP,
    EXIT_INPUT,
    EXIT_ITEMS_FAILED,
    EXIT_OK,
    AwsUnavailableError,
    InputError,
    as_problem,
)
from dr_runtime.vault_names import type_vault_name

PROG = "python -m dr_runtime.restore"
ClientFactory = Callable[[str], Any]
Factory = Callable[[str], ClientFactory]
SLEEP: Callable[[float], None] = time.sleep


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see --help)")


def _key_value(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{value!r}: expected KEY=VALUE")
    return key, val


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a whole number") from None
    if not 1 <= number <= 64:
        raise argparse.ArgumentTypeError(f"{value}: expected 1-64")
    return number


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog=PROG, description=__doc__.split("\n\n")[0], epilog=EXIT_CODES_HELP)
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)

    plan = commands.add_parser(
        "plan", help="find recovery points and write the restore plan", epilog=EXIT_CODES_HELP
    )
    plan.add_argument("--source", required=True, choices=[s.value for s in sources.Source])
    plan.add_argument(
        "--stack",
        help="the stack (Pulumi.STACK.yaml here, or a stack file's path): finds the vaults by name, and gives "
        "the copy schedules and regions",
    )
    plan.add_argument(
        "--stack-outputs", type=Path, help="`pulumi stack output --json` of the stack, saved to a file"
    )
    plan.add_argument(
        "--vault",
        action="append",
        default=[],
        help="TYPE=ARN (cross-region) or ARN; overrides --stack and --stack-outputs",
    )
    plan.add_argument(
        "--skip-primary",
        action="store_true",
        help="do not read the primary region for resources without a copy (it may hang in an outage)",
    )
    plan.add_argument("--region", help="the region of the source vaults (cross-region: the DR region)")
    plan.add_argument(
        "--type", action="append", choices=catalog.TYPE_KEYS, dest="types", help="repeat; default: every type"
    )
    plan.add_argument(
        "--arn", action="append", default=[], help="restrict to these source resources (repeat)"
    )
    plan.add_argument(
        "--tag", action="append", default=[], type=_key_value, help="KEY=VALUE on the recovery point (repeat)"
    )
    plan.add_argument("--profile", type=Path, help="restore profile (YAML): where restored resources land")
    plan.add_argument("--out", type=Path, help="write the plan document here, for start and status")
    plan.add_argument("--concurrency", type=_positive, default=8, help="parallel metadata calls (default 8)")
    plan.add_argument("--json", action="store_true", help="print the plan as one JSON document")

    start = commands.add_parser("start", help="start the plan's restore jobs", epilog=EXIT_CODES_HELP)
    start.add_argument("plan_file", type=Path, metavar="PLAN.json")
    start.add_argument("--yes", action="store_true", help="really start (default: dry run)")
    start.add_argument(
        "--concurrency", type=_positive, default=4, help="jobs started in parallel (default 4)"
    )
    start.add_argument("--retry-failed", action="store_true", help="restart resources whose last job failed")
    start.add_argument("--region", help="must match the plan's target region")
    start.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="the plan's jobs and restore times", epilog=EXIT_CODES_HELP)
    status.add_argument("plan_file", type=Path, metavar="PLAN.json")
    status.add_argument("--wait", action="store_true", help="poll until every started job has finished")
    status.add_argument("--interval", type=_positive, default=60, help="seconds between polls (default 60)")
    status.add_argument(
        "--target-minutes", type=float, help="restore time objective to compare each type with"
    )
    status.add_argument("--region", help="must match the plan's target region")
    status.add_argument("--json", action="store_true")

    inst = commands.add_parser(
        "instances", help="create DB instances in restored clusters", epilog=EXIT_CODES_HELP
    )
    inst.add_argument("plan_file", type=Path, metavar="PLAN.json")
    inst.add_argument("--yes", action="store_true", help="really create (default: dry run)")
    inst.add_argument("--region", help="must match the plan's target region")
    inst.add_argument("--json", action="store_true")
    return root


def boto_factory(region: str) -> ClientFactory:
    cache: dict[str, Any] = {}

    def get(service: str) -> Any:
        if service not in cache:
            cache[service] = client(service, region)
        return cache[service]

    return get


def _emit(document: dict[str, Any], as_json: bool, text: Callable[[dict[str, Any]], str]) -> None:
    print(json.dumps(document, indent=2, sort_keys=True, default=str) if as_json else text(document))


def _source_schedule(
    source: sources.Source, stack: stack_file.StackFacts | None
) -> freshness.Schedule | None:
    """The stack's schedule of the copies in ``source``: cross-region copies come from the crossRegion plan;
    both plans copy to the air-gapped vault, so the longer of the two is allowed there."""
    if stack is None:
        return None
    if source is sources.Source.CROSS_REGION:
        found = [("schedules.crossRegion", stack.cross_region_schedule)]
    else:
        found = [
            ("schedules.crossRegion", stack.cross_region_schedule),
            ("schedules.crossAccount", stack.cross_account_schedule),
        ]
    known = [(key, value) for key, value in found if value]
    if not known:
        return None
    key, expression = max(known, key=lambda item: freshness.longest_gap(item[1]))
    return freshness.Schedule(expression, f"{stack.file} {key}")


def _primary(
    source: sources.Source,
    vault_region: str,
    types: Sequence[str],
    outputs: dict[str, Any] | None,
    stack: stack_file.StackFacts | None,
    skip: bool,
) -> planner.PrimaryVaults:
    """The stack's vaults in the primary region, from the outputs file or by name from the stack file."""
    if skip:
        return planner.PrimaryVaults(unknown="the primary region is not read (--skip-primary)")
    per_type = (outputs or {}).get("vaultArns")
    if isinstance(per_type, dict):
        found: dict[str, sources.VaultRef] = {}
        region = vault_region if source is not sources.Source.CROSS_REGION else None
        for key in types:
            by_region = per_type.get(key)
            if not isinstance(by_region, dict):
                continue
            if region is None:
                others = sorted(r for r in by_region if r != vault_region)
                region = others[0] if others else None
            arn = by_region.get(region) if region else None
            if isinstance(arn, str):
                found[key] = sources.parse_vault_arn(arn, f"vaultArns.{key}.{region}", key)
        if region is not None:
            return planner.PrimaryVaults(region=region, vaults=found)
    if stack is not None and stack.primary_region and stack.workload_account:
        region = stack.primary_region
        vaults = {
            key: sources.VaultRef(
                f"arn:aws:backup:{region}:{stack.workload_account}:backup-vault:"
                f"{type_vault_name(stack.prefix, key)}",
                key,
            )
            for key in types
        }
        return planner.PrimaryVaults(region=region, vaults=vaults)
    return planner.PrimaryVaults(
        unknown="the primary vaults are unknown with --vault alone (add --stack or --stack-outputs)"
    )


def _plan(args: argparse.Namespace, factory: Factory) -> int:
    types = tuple(dict.fromkeys(args.types)) if args.types else catalog.TYPE_KEYS
    source = sources.Source(args.source)
    restore_profile = profile.load(args.profile)
    outputs = sources.load_stack_outputs(args.stack_outputs) if args.stack_outputs else None
    stack = stack_file.load(args.stack) if args.stack else None
    region = args.region or (os.environ.get("AWS_REGION") if source is sources.Source.CROSS_REGION else None)
    if (
        not args.vault
        and outputs is None
        and stack is not None
        and source is not sources.Source.RESTORE_ACCESS
    ):
        region = args.region or (
            stack.dr_region if source is sources.Source.CROSS_REGION else stack.primary_region
        )
        if region is None:
            raise InputError(
                f"--stack {args.stack}: the stack file names no region for --source {source}; pass --region"
            )
        vaults = sources.discover(
            factory(region)("backup"),
            source,
            types,
            region,
            stack.prefix,
            explicit_types=bool(args.types),
            air_gapped_name=stack.air_gapped_vault_name,
        )
        vault_region = region
        listing = (
            "ListBackupVaults ByShared=true" if source is sources.Source.AIR_GAPPED else "ListBackupVaults"
        )
        vaults_from = f"found by name in {region} ({listing}, prefix {stack.prefix} from {stack.file})"
        print(f"vaults {vaults_from}: {', '.join(v.arn for v in vaults)}", file=sys.stderr)
    else:
        vaults, vault_region = sources.resolve(source, types, region, outputs, args.vault)
        vaults_from = "--vault" if args.vault else f"--stack-outputs {args.stack_outputs}"
    key_vaults: dict[str, sources.VaultRef] = {}
    if outputs is not None and source is not sources.Source.CROSS_REGION:
        per_type = outputs.get("vaultArns") or {}
        for key in types:
            arn = (per_type.get(key) or {}).get(vault_region) if isinstance(per_type, dict) else None
            if isinstance(arn, str):
                key_vaults[key] = sources.parse_vault_arn(arn, f"vaultArns.{key}.{vault_region}", key)
    roles = (outputs or {}).get("restoreRoleArns") or {}
    primary = _primary(source, vault_region, types, outputs, stack, args.skip_primary)
    request = planner.PlanRequest(
        source=source,
        vaults=vaults,
        region=vault_region,
        scope=planner.Scope(types=types, arns=frozenset(args.arn), tags=dict(args.tag)),
        profile=restore_profile,
        profile_path=str(args.profile) if args.profile else None,
        key_vaults=key_vaults,
        roles={k: v for k, v in roles.items() if isinstance(v, str)} if isinstance(roles, dict) else {},
        concurrency=args.concurrency,
        schedule=_source_schedule(source, stack),
        **({"completion_window": stack.completion_window} if stack else {}),
        primary=primary,
        vaults_from=vaults_from,
    )
    primary_clients = factory(primary.region) if primary.region and primary.unknown is None else None
    document = planner.make_plan(factory(vault_region), request, primary_clients=primary_clients)
    if args.out:
        args.out.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"plan written to {args.out}", file=sys.stderr)
    _emit(document, args.json, render.plan)
    return EXIT_ITEMS_FAILED if planner.needs_attention(document) else EXIT_OK


def _plan_region(args: argparse.Namespace, plan: dict[str, Any]) -> str:
    if args.region and args.region != plan["targetRegion"]:
        raise InputError(f"--region {args.region}: the plan restores in {plan['targetRegion']}")
    return str(plan["targetRegion"])


def _start(args: argparse.Namespace, factory: Factory) -> int:
    plan = jobs.load_plan(args.plan_file)
    clients = factory(_plan_region(args, plan))
    document = jobs.start(
        clients, plan, yes=args.yes, concurrency=args.concurrency, retry_failed=args.retry_failed
    )
    _emit(document, args.json, render.started)
    return EXIT_ITEMS_FAILED if any(r["action"] == "failed" for r in document["results"]) else EXIT_OK


def _status(args: argparse.Namespace, factory: Factory) -> int:
    plan = jobs.load_plan(args.plan_file)
    clients = factory(_plan_region(args, plan))
    while True:
        document = jobs.status(clients, plan, args.target_minutes)
        started = [r for r in document["resources"] if r["status"] != "NOT STARTED"]
        running = [r for r in started if r["status"] not in jobs.TERMINAL]
        if not args.wait or not running:
            break
        print(
            f"{len(running)} of {len(started)} restore jobs still running; next check in {args.interval} s",
            file=sys.stderr,
        )
        SLEEP(args.interval)
    _emit(document, args.json, render.status)
    return EXIT_ITEMS_FAILED if document["failed"] else EXIT_OK


def _instances(args: argparse.Namespace, factory: Factory) -> int:
    plan = jobs.load_plan(args.plan_file)
    clients = factory(_plan_region(args, plan))
    document = jobs.create_instances(clients, plan, yes=args.yes)
    _emit(document, args.json, render.instances)
    return EXIT_ITEMS_FAILED if any(r["action"] == "failed" for r in document["results"]) else EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Factory], int]] = {
    "plan": _plan,
    "start": _start,
    "status": _status,
    "instances": _instances,
}


def _fail(text: str, code: int) -> int:
    print(f"restore: {text}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None, factory: Factory = boto_factory) -> int:
    try:
        args = parser().parse_args(argv)
        return COMMANDS[args.command](args, factory)
    except InputError as error:
        return _fail(str(error), EXIT_INPUT)
    except AwsUnavailableError as error:
        return _fail(error.problem.text, error.problem.exit_code)
    except (BotoCoreError, ClientError) as error:
        problem = as_problem(error)
        return _fail(problem.text, problem.exit_code)
    except KeyboardInterrupt:
        return _fail(
            "interrupted; run the same command again to carry on (jobs already started are kept)", 130
        )
