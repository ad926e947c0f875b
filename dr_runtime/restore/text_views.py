"""Plain-text views of a plan, a start and a status, for the terminal (``--json`` prints the documents)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[str(c) for c in headers], *[["-" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def _short(arn: str) -> str:
    return arn.rsplit(":", 1)[-1] if arn.count(":") >= 5 else arn


def _state(resource: Mapping[str, Any]) -> str:
    states = []
    if resource["blocked"]:
        states.append("BLOCKED: " + ", ".join(b["setting"] for b in resource["blocked"]))
    if (resource.get("freshness") or {}).get("stale"):
        states.append("STALE")
    if resource.get("expired"):
        states.append("EXPIRED")
    return "; ".join(states) or "ready"


def plan(document: Mapping[str, Any]) -> str:
    lines = [
        f"Restore plan {document['planId']}: {document['source']} -> account {document['targetAccount']}, "
        f"{document['targetRegion']} (created {document['createdAt']})",
        "",
    ]
    lines.append(f"  vaults ({document.get('vaultsFrom', '--vault')}):")
    for vault in document["vaults"]:
        mpa = vault.get("mpaApprovalTeamArn")
        lines.append(f"  vault {vault['arn']} ({vault['vaultType']}{', MPA team ' + mpa if mpa else ''})")
    lines.append("")
    rows = [
        (
            r["type"],
            r["sourceArn"],
            r["ageHours"],
            _short(r["recoveryPointArn"]),
            _state(r),
        )
        for r in document["resources"]
    ]
    lines += _table(("type", "resource", "age h", "recovery point", "state"), rows)
    for r in document["resources"]:
        notes = [f"default {d['key']} = {d['value']} ({d['why']})" for d in r["defaults"]]
        notes += [f"blocked: set {b['setting']}: {b['why']}" for b in r["blocked"]]
        notes += [f"note: {w}" for w in r["warnings"]]
        notes += [f"then: {c}" for c in r["followUp"]]
        if notes:
            lines += ["", f"{r['type']} {r['sourceArn']}:", *[f"  {n}" for n in notes]]
    if document["unrestorable"]:
        lines += ["", "Cannot be restored from this source:"]
        lines += [f"  {u['type'] or '?'} {u['sourceArn']}: {u['reason']}" for u in document["unrestorable"]]
    without = document.get("withoutCopy") or {"checked": False, "resources": [], "why": "not checked"}
    if without["checked"]:
        region = without["primaryRegion"]
        if without["resources"]:
            lines += ["", f"No copy in the source (backed up in {region}, nothing in the source vaults):"]
            lines += [
                f"  {w['type']} {w['sourceArn']}: last backup {w['lastBackupAt'] or '?'} in {w['primaryVaultArn']}"
                for w in without["resources"]
            ]
        else:
            lines += ["", f"Every resource backed up in {region} has a point in the source."]
    else:
        lines += ["", f"Resources without any copy: not listed: {without['why']}."]
    summary = document["summary"]
    lines += [
        "",
        "RPO achieved (age of the newest completed point), per type:",
        *[
            f"  {key}: {entry['resources']} resources, oldest point {entry['maxAgeHours']} h"
            + (f", {entry['blocked']} blocked" if entry["blocked"] else "")
            + (f", {entry['stale']} STALE (copies stopped)" if entry.get("stale") else "")
            for key, entry in summary["perType"].items()
        ],
        f"{summary['resources']} to restore, {summary['blocked']} blocked, {summary.get('stale', 0)} stale, "
        f"{summary.get('expired', 0)} past retention, {summary['unrestorable']} without a usable point, "
        f"{summary.get('withoutCopy', 0)} with no copy in the source.",
    ]
    return "\n".join(lines)


def started(document: Mapping[str, Any]) -> str:
    head = "Dry run (nothing started; pass --yes to start):" if document["dryRun"] else "Restore jobs:"
    rows = [
        (r["action"], r["type"], r["sourceArn"], r.get("jobId"), r.get("error")) for r in document["results"]
    ]
    counts = ", ".join(f"{n} {action}" for action, n in document["counts"].items())
    return "\n".join([head, *_table(("action", "type", "resource", "job", "error"), rows), counts])


def status(document: Mapping[str, Any]) -> str:
    rows = [
        (r["type"], r["sourceArn"], r["status"], r.get("minutes"), r.get("statusMessage") or r.get("next"))
        for r in document["resources"]
    ]
    lines = _table(("type", "resource", "status", "minutes", "message"), rows)
    lines += ["", "Restore time (job creation to completion), per type:"]
    for key, entry in document["perType"].items():
        verdict = ""
        if "meetsTarget" in entry:
            verdict = f", {'meets' if entry['meetsTarget'] else 'MISSES'} the {document['targetMinutes']} min target"
        lines.append(
            f"  {key}: {entry['completed']}/{entry['resources']} completed, {entry['failed']} failed, "
            f"{entry['running']} running, max {entry['maxMinutes']} min, median {entry['medianMinutes']} min{verdict}"
        )
    lines.append(
        f"RTO achieved: {document['rtoMinutes']} min per resource (slowest); "
        f"{document['wallClockMinutes']} min from the first job to the last completion"
        if document["done"]
        else f"RTO so far: {document['rtoMinutes']} min (slowest completed); jobs still running"
    )
    return "\n".join(lines)


def instances(document: Mapping[str, Any]) -> str:
    rows = [(r["action"], r["cluster"], r["instance"], r.get("error")) for r in document["results"]]
    return "\n".join(_table(("action", "cluster", "instance", "error"), rows))
