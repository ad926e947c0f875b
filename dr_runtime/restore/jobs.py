"""``start``, ``status`` and ``instances``: the restore jobs of a plan, started once, watched, completed.

Idempotent without a state file: each job carries an ``IdempotencyToken`` derived from the plan and the
recovery point (AWS answers a retried request with the same token without starting a second job), and
before starting anything the jobs AWS already has for the plan are listed once (``ListRestoreJobs``
created since the plan, paginated; restore-testing jobs excluded) and matched by recovery point. A rerun
after an interruption therefore starts only what has no job yet; ``--retry-failed`` also restarts the
resources whose last job failed, with a new token.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.restore.failures import AwsUnavailableError, InputError, error_code, item_reason, run_error
from dr_runtime.restore.planner import PLAN_VERSION

ClientFactory = Callable[[str], Any]
Progress = Callable[[str], None]
TERMINAL = frozenset({"COMPLETED", "FAILED", "ABORTED"})
ACTIVE = frozenset({"PENDING", "RUNNING", "COMPLETED"})
_RESOURCE_FIELDS = (
    "type",
    "resourceType",
    "sourceArn",
    "recoveryPointArn",
    "iamRoleArn",
    "metadata",
    "blocked",
)


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _parse_time(value: str, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise InputError(f"{where} = {value!r}: not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InputError(f"{where} = {value!r}: needs a time zone (e.g. Z)")
    return parsed


def load_plan(path: Path) -> dict[str, Any]:
    """Read and check a plan written by ``plan --out``; errors name the file and the field."""
    where = str(path)
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{where}: no such plan file (write one with `plan --out {where}`)") from None
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"{where}: not a JSON plan: {error}") from None
    if not isinstance(plan, dict) or plan.get("version") != PLAN_VERSION:
        raise InputError(f"{where}: version: expected a plan of version {PLAN_VERSION} from `plan --out`")
    for key in ("planId", "createdAt", "targetAccount", "targetRegion"):
        if not isinstance(plan.get(key), str):
            raise InputError(f"{where}: {key}: missing or not a string")
    _parse_time(plan["createdAt"], f"{where}: createdAt")
    resources = plan.get("resources")
    if not isinstance(resources, list):
        raise InputError(f"{where}: resources: missing or not a list")
    for index, resource in enumerate(resources):
        missing = [k for k in _RESOURCE_FIELDS if not isinstance(resource, dict) or k not in resource]
        if missing:
            raise InputError(f"{where}: resources[{index}]: missing {', '.join(missing)}")
        if not isinstance(resource["metadata"], dict) or not all(
            isinstance(v, str) for v in resource["metadata"].values()
        ):
            raise InputError(f"{where}: resources[{index}].metadata: must map keys to strings")
    return plan


def check_account(clients: ClientFactory, plan: Mapping[str, Any]) -> None:
    """Refuse credentials of another account than the plan's: restores must land where planned."""
    try:
        account = str(clients("sts").get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as error:
        raise run_error(error) from error
    if account != plan["targetAccount"]:
        raise InputError(
            f"credentials are for account {account}, the plan restores into {plan['targetAccount']}: "
            "use the target account's credentials or plan again"
        )


def existing_jobs(clients: ClientFactory, plan: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Recovery point ARN -> restore jobs created since the plan, oldest first (restore tests excluded)."""
    since = _parse_time(plan["createdAt"], "createdAt")
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        for page in clients("backup").get_paginator("list_restore_jobs").paginate(ByCreatedAfter=since):
            for job in page.get("RestoreJobs", []):
                if (job.get("CreatedBy") or {}).get("RestoreTestingPlanArn"):
                    continue
                found.setdefault(str(job.get("RecoveryPointArn")), []).append(job)
    except (BotoCoreError, ClientError) as error:
        raise run_error(error) from error
    for jobs in found.values():
        jobs.sort(key=lambda j: j["CreationDate"])
    return found


def idempotency_token(plan_id: str, recovery_point_arn: str, attempt: int) -> str:
    return hashlib.sha256(f"{plan_id}|{recovery_point_arn}|{attempt}".encode()).hexdigest()[:32]


def refuse_blocked(plan: Mapping[str, Any]) -> None:
    blocked = [(r, b) for r in plan["resources"] for b in r["blocked"]]
    if not blocked:
        return
    resource, first = blocked[0]
    others = f" (and {len(blocked) - 1} more; see `plan`)" if len(blocked) > 1 else ""
    raise InputError(
        f"nothing started: {resource['sourceArn']} needs {first['setting']}: {first['why']}{others}; "
        "set it in the profile and plan again"
    )


def start(
    clients: ClientFactory,
    plan: Mapping[str, Any],
    yes: bool,
    concurrency: int = 4,
    retry_failed: bool = False,
    progress: Progress = stderr_progress,
) -> dict[str, Any]:
    refuse_blocked(plan)
    check_account(clients, plan)
    jobs = existing_jobs(clients, plan)
    backup = clients("backup")
    resources = plan["resources"]
    total = len(resources)
    results: list[dict[str, Any]] = [{} for _ in resources]
    lock = threading.Lock()
    done = [0]

    def report(index: int, result: dict[str, Any]) -> None:
        with lock:
            results[index] = result
            done[0] += 1
            line = f"[{done[0]}/{total}] {result['action']}: {result['type']} {result['sourceArn']}"
            if result.get("jobId"):
                line += f" -> job {result['jobId']}"
            if result.get("error"):
                line += f": {result['error']}"
            progress(line)

    def one(index: int) -> None:
        resource = resources[index]
        previous = jobs.get(resource["recoveryPointArn"], [])
        base = {
            "type": resource["type"],
            "sourceArn": resource["sourceArn"],
            "recoveryPointArn": resource["recoveryPointArn"],
        }
        latest = previous[-1] if previous else None
        if latest is not None and (latest.get("Status") in ACTIVE or not retry_failed):
            report(
                index,
                {
                    **base,
                    "action": "existing",
                    "jobId": latest.get("RestoreJobId"),
                    "status": latest.get("Status"),
                },
            )
            return
        if not yes:
            report(index, {**base, "action": "would start"})
            return
        attempt = sum(1 for job in previous if job.get("Status") not in ACTIVE)
        try:
            job_id = backup.start_restore_job(
                RecoveryPointArn=resource["recoveryPointArn"],
                Metadata=resource["metadata"],
                IamRoleArn=resource["iamRoleArn"],
                IdempotencyToken=idempotency_token(plan["planId"], resource["recoveryPointArn"], attempt),
                ResourceType=resource["resourceType"],
            )["RestoreJobId"]
        except (BotoCoreError, ClientError) as error:
            report(index, {**base, "action": "failed", "error": item_reason(error)})
            return
        report(index, {**base, "action": "started", "jobId": job_id})

    stop: list[AwsUnavailableError] = []

    def guarded(index: int) -> None:
        if stop:
            report(
                index,
                {
                    "type": resources[index]["type"],
                    "sourceArn": resources[index]["sourceArn"],
                    "action": "not started",
                    "error": str(stop[0]),
                },
            )
            return
        try:
            one(index)
        except AwsUnavailableError as error:
            stop.append(error)
            report(
                index,
                {
                    "type": resources[index]["type"],
                    "sourceArn": resources[index]["sourceArn"],
                    "action": "not started",
                    "error": str(error),
                },
            )

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(guarded, range(total)))
    if stop:
        raise stop[0]
    counts: dict[str, int] = {}
    for result in results:
        counts[result["action"]] = counts.get(result["action"], 0) + 1
    return {
        "planId": plan["planId"],
        "dryRun": not yes,
        "results": results,
        "counts": dict(sorted(counts.items())),
    }


def _minutes(start_at: datetime, end_at: datetime) -> float:
    return round((end_at - start_at).total_seconds() / 60, 1)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def status(
    clients: ClientFactory, plan: Mapping[str, Any], target_minutes: float | None = None
) -> dict[str, Any]:
    """The latest job of each planned resource and the restore time achieved, per resource and type."""
    jobs = existing_jobs(clients, plan)
    rows: list[dict[str, Any]] = []
    for resource in plan["resources"]:
        found = jobs.get(resource["recoveryPointArn"])
        row: dict[str, Any] = {"type": resource["type"], "sourceArn": resource["sourceArn"]}
        if not found:
            rows.append({**row, "status": "NOT STARTED"})
            continue
        job = found[-1]
        created, completed = job.get("CreationDate"), job.get("CompletionDate")
        row.update(
            jobId=job.get("RestoreJobId"),
            status=job.get("Status"),
            createdAt=_iso(created),
            completedAt=_iso(completed),
            createdResourceArn=job.get("CreatedResourceArn"),
            percentDone=job.get("PercentDone"),
            expectedCompletionMinutes=job.get("ExpectedCompletionTimeMinutes"),
        )
        if job.get("Status") in {"FAILED", "ABORTED"}:
            row["statusMessage"] = job.get("StatusMessage")
        if job.get("Status") == "COMPLETED" and created and completed:
            row["minutes"] = _minutes(created, completed)
            if resource.get("instances"):
                row["next"] = (
                    "create the cluster's DB instances: `python -m dr_runtime.restore instances PLAN.json --yes`"
                )
        rows.append(row)

    per_type: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = per_type.setdefault(
            row["type"],
            {"resources": 0, "completed": 0, "failed": 0, "running": 0, "notStarted": 0, "minutes": []},
        )
        entry["resources"] += 1
        state = row["status"]
        key = {
            "COMPLETED": "completed",
            "FAILED": "failed",
            "ABORTED": "failed",
            "NOT STARTED": "notStarted",
        }.get(state, "running")
        entry[key] += 1
        if "minutes" in row:
            entry["minutes"].append(row["minutes"])
    for entry in per_type.values():
        times = entry.pop("minutes")
        entry["maxMinutes"] = max(times) if times else None
        entry["medianMinutes"] = round(statistics.median(times), 1) if times else None
        if target_minutes is not None and times:
            entry["meetsTarget"] = max(times) <= target_minutes
    finished = [r for r in rows if r["status"] in TERMINAL]
    created_all = [_parse_time(r["createdAt"], "createdAt") for r in rows if r.get("createdAt")]
    completed_all = [_parse_time(r["completedAt"], "completedAt") for r in rows if r.get("completedAt")]
    all_done = bool(rows) and len(finished) == len(rows)
    return {
        "planId": plan["planId"],
        "targetMinutes": target_minutes,
        "resources": rows,
        "perType": dict(sorted(per_type.items())),
        "rtoMinutes": max((r["minutes"] for r in rows if "minutes" in r), default=None),
        "wallClockMinutes": _minutes(min(created_all), max(completed_all))
        if all_done and created_all and completed_all
        else None,
        "done": all_done,
        "failed": sum(1 for r in rows if r["status"] in {"FAILED", "ABORTED"}),
    }


def create_instances(
    clients: ClientFactory, plan: Mapping[str, Any], yes: bool, progress: Progress = stderr_progress
) -> dict[str, Any]:
    """The DB instances AWS Backup does not create, for every cluster whose restore completed."""
    clusters = [r for r in plan["resources"] if r.get("instances")]
    missing = [r for r in clusters if not r["instances"].get("instanceClass")]
    if missing:
        raise InputError(
            f"{missing[0]['sourceArn']}: set types.{missing[0]['type']}.instanceClass in the profile and plan again "
            "(the class of the DB instances to create)"
        )
    check_account(clients, plan)
    current = status(clients, plan)
    completed = {r["sourceArn"] for r in current["resources"] if r["status"] == "COMPLETED"}
    results: list[dict[str, Any]] = []
    for resource in clusters:
        spec = resource["instances"]
        for identifier in spec["identifiers"]:
            base = {"sourceArn": resource["sourceArn"], "cluster": spec["cluster"], "instance": identifier}
            if resource["sourceArn"] not in completed:
                results.append({**base, "action": "waiting for the cluster restore"})
            elif not yes:
                results.append({**base, "action": "would create"})
            else:
                try:
                    clients(spec["service"]).create_db_instance(
                        DBInstanceIdentifier=identifier,
                        DBClusterIdentifier=spec["cluster"],
                        Engine=spec["engine"],
                        DBInstanceClass=spec["instanceClass"],
                    )
                    results.append({**base, "action": "created"})
                except ClientError as error:
                    if error_code(error) == "DBInstanceAlreadyExists":
                        results.append({**base, "action": "exists"})
                    else:
                        results.append({**base, "action": "failed", "error": item_reason(error)})
                except BotoCoreError as error:
                    results.append({**base, "action": "failed", "error": item_reason(error)})
            progress(f"{results[-1]['action']}: {identifier} in {spec['cluster']}")
    return {"planId": plan["planId"], "dryRun": not yes, "results": results}
