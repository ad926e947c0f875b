"""Copy jobs at each schedule time: what each source account sends and each destination receives.

A stack's rules copy every resource they back up to the cross-region vault (the workload account in the
DR region) and to the isolated account (air-gapped or locked vault, in the primary region). AWS Backup
starts a rule's copy jobs when its backup jobs finish; this check counts them all at the rule's
scheduled time, the worst case of backups that finish together (**[inferred]**: AWS documents no
spread). The number of jobs per type is the inventory's ``count`` (``--inventory``, the same for every
stack: the fleet plan knows no per-account sizes).

Caps (``docs/aws-facts.md`` 10.13-10.15): a source account runs at most :data:`COPY_JOBS_PER_ACCOUNT_REGION`
copy jobs at once into one destination Region (``--copy-quota`` for another value), past which each
destination vault takes 5 more; one resource is in at most one backup or copy job at a time. Jobs over a
cap wait for a free slot (**[inferred]**), so over a cap is a note, not a conflict: copies land late and
the RPO of that copy grows. What a destination account receives from many source accounts has no
documented cap; the plan shows its peak, with and without staggering, so a shard or a stagger can be
chosen before AWS queues them.

Staggering (``--stagger-window MINUTES``): each stack's copies move later by an offset taken from a hash
of its workload account, in steps of :data:`STAGGER_STEP_MINUTES` within the window, so the same account
always gets the same offset and adding an account moves no other. The fleet plan shows the spread;
``docs/fleet.md`` says how to apply it to a stack's schedules.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components import stagger
from drplan.fleet_checks import NOTE, QUOTA_WARNING_SHARE, Finding, StackSummary, few
from drplan.matrix import AIR_GAPPED, CROSS_REGION, LOCKED_VAULT
from drplan.schedule_times import MINUTES_PER_DAY
from drplan.storage import Inventory

# docs/aws-facts.md 10.13: concurrent copy jobs one account runs into one destination Region.
COPY_JOBS_PER_ACCOUNT_REGION = 100
# 10.14: after that, this many more per destination vault (not adjustable).
COPY_JOBS_PER_VAULT_AFTER_LIMIT = 5
STAGGER_STEP_MINUTES = stagger.STEP_MINUTES

WIDTH = 100
COPY_CONCURRENCY = "copy-job-concurrency"
COPY_QUOTA_FLAG = "--copy-quota"
STAGGER_FLAG = "--stagger-window"


@dataclass(frozen=True, order=True)
class Burst:
    """Copy jobs one stack starts into one destination at one time of day (UTC minutes)."""

    minute: int
    account: str
    """The destination account: the workload account (cross-region) or the isolated account."""
    region: str
    stack: str
    source: str
    """The workload account that runs the jobs (the quota is this account's)."""
    jobs: int


def destination_of(summary: StackSummary, destination: str) -> tuple[str, str] | None:
    region = str(summary.settings.get("regions.primary", ""))
    if destination == CROSS_REGION:
        return summary.workload_account, summary.dr_region
    if destination in (AIR_GAPPED, LOCKED_VAULT):
        return summary.isolated_account, region
    return None


def bursts(summary: StackSummary, inventory: Inventory, timezone_offset: int = 0) -> list[Burst]:
    """The stack's copy jobs by time of day, one burst per (time, destination)."""
    jobs: dict[tuple[int, str, str], int] = defaultdict(int)
    for key, use in summary.vault_uses:
        size = inventory.types.get(key)
        where = destination_of(summary, use.destination)
        if size is None or where is None or size.count == 0:
            continue
        for stream in use.streams:
            for minute in stream.minutes_of_day or ():
                jobs[((minute + timezone_offset) % MINUTES_PER_DAY, *where)] += size.count
    return [
        Burst(m, a, r, summary.stack, summary.workload_account, n) for (m, a, r), n in sorted(jobs.items())
    ]


def stagger_offset(account: str, window_minutes: int) -> int:
    """The offset ``schedules.staggerMinutes`` gives the account (:func:`components.stagger.offset`)."""
    return stagger.offset(account, window_minutes)


def staggered(items: Sequence[Burst], window_minutes: int, keep: frozenset[str] = frozenset()) -> list[Burst]:
    """``items`` as ``schedules.staggerMinutes: window_minutes`` would move them; the stacks in ``keep``
    (already staggered by their own config, which the matrix shows) stay where they are."""
    moved = [
        b
        if b.stack in keep
        else Burst(
            (b.minute + stagger_offset(b.source, window_minutes)) % MINUTES_PER_DAY,
            b.account,
            b.region,
            b.stack,
            b.source,
            b.jobs,
        )
        for b in items
    ]
    return sorted(moved)


@dataclass(frozen=True)
class Peak:
    account: str
    region: str
    minute: int
    jobs: int
    stacks: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "at": clock(self.minute),
            "jobs": self.jobs,
            "stacks": list(self.stacks),
        }


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d} UTC"


def peaks(items: Sequence[Burst]) -> list[Peak]:
    """Per destination (account, region): the time of day receiving most copy jobs at once."""
    by_time: dict[tuple[str, str], dict[int, list[Burst]]] = defaultdict(lambda: defaultdict(list))
    for b in items:
        by_time[(b.account, b.region)][b.minute].append(b)
    out = []
    for (account, region), times in sorted(by_time.items()):
        minute, top = max(times.items(), key=lambda kv: (sum(b.jobs for b in kv[1]), -kv[0]))
        out.append(
            Peak(account, region, minute, sum(b.jobs for b in top), tuple(sorted({b.stack for b in top})))
        )
    return out


def by_isolated(stacks: Iterable[str], summaries: Mapping[str, StackSummary]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for s in stacks:
        counts[summaries[s].isolated_account] += 1
    return ", ".join(f"{account} {n}" for account, n in sorted(counts.items()))


def source_findings(items: Sequence[Burst], summaries: Sequence[StackSummary], quota: int) -> list[Finding]:
    """Stacks whose own account starts, at one time, at least 80 % of ``quota`` copy jobs into a Region:
    one finding for the whole fleet (how many, by isolated account, the first few, what to do)."""
    per_source: dict[tuple[str, int, str], int] = defaultdict(int)
    for b in items:
        per_source[(b.stack, b.minute, b.region)] += b.jobs
    worst: dict[str, tuple[int, int, str]] = {}
    for (stack, minute, region), jobs in per_source.items():
        if jobs > worst.get(stack, (0, 0, ""))[0]:
            worst[stack] = (jobs, minute, region)
    by_name = {s.stack: s for s in summaries}
    findings = []
    over = sorted(s for s, (jobs, _, _) in worst.items() if jobs > quota)
    near = sorted(s for s, (jobs, _, _) in worst.items() if quota * QUOTA_WARNING_SHARE <= jobs <= quota)
    for stacks, what in ((over, "above"), (near, f"at {QUOTA_WARNING_SHARE:.0%} or more of")):
        if not stacks:
            continue
        jobs, minute, region = worst[stacks[0]]
        findings.append(
            Finding(
                COPY_CONCURRENCY,
                NOTE,
                tuple(stacks),
                f"{len(stacks)} stacks (by isolated account: {by_isolated(stacks, by_name)}) start copy jobs "
                f"{what} the quota of {quota} concurrent copy jobs per account into one Region, e.g. "
                f"{few(stacks)} ({stacks[0]}: {jobs} at {clock(minute)} into {region}); the jobs over it "
                f"wait, so copies land late: spread the schedules ({STAGGER_FLAG} shows the spread), move "
                f"some types to another schedule, or pass {COPY_QUOTA_FLAG} with a raised quota",
            )
        )
    return findings


def stack_bursts(summaries: Sequence[StackSummary], inventory: Inventory) -> list[Burst]:
    return sorted(b for s in summaries if s.planned for b in bursts(s, inventory))


def report(
    summaries: Sequence[StackSummary], inventory: Inventory, quota: int, stagger_window: int | None
) -> tuple[list[Finding], dict[str, Any], list[str]]:
    """Findings, the JSON block and the text section of the copy-concurrency preflight."""
    items = stack_bursts(summaries, inventory)
    findings = source_findings(items, summaries, quota)
    without = peaks(items)
    already = frozenset(s.stack for s in summaries if s.settings.get("schedules.staggerMinutes"))
    spread = peaks(staggered(items, stagger_window, already)) if stagger_window else None
    document: dict[str, Any] = {
        "quotaPerAccountAndRegion": quota,
        "jobsPerType": {k: t.count for k, t in inventory.types.items()},
        "peaks": [p.to_json() for p in without],
        "staggerWindowMinutes": stagger_window,
        "staggeredPeaks": None if spread is None else [p.to_json() for p in spread],
        "staggerOffsets": None
        if not stagger_window
        else {s.stack: stagger_offset(s.workload_account, stagger_window) for s in summaries if s.planned},
    }
    title = "COPY JOBS AT ONCE per destination (jobs per type: the inventory's counts)"
    lines = ["", title, "─" * len(title)]
    staggered_by = {(p.account, p.region): p for p in spread or []}
    for p in without:
        line = f"  {p.account} {p.region}: peak {p.jobs} jobs at {clock(p.minute)} from {len(p.stacks)} stack{'s' if len(p.stacks) > 1 else ''}"
        s = staggered_by.get((p.account, p.region))
        if s is not None:
            line += f"; staggered over {stagger_window} min: {s.jobs} at {clock(s.minute)}"
        lines += textwrap.wrap(line, WIDTH, subsequent_indent="    ")
    if stagger_window:
        offsets = sorted({stagger_offset(s.workload_account, stagger_window) for s in summaries if s.planned})
        if offsets:
            lines.append(
                f"  {STAGGER_FLAG} {stagger_window}: offsets {offsets[0]}-{offsets[-1]} min in steps of "
                f"{STAGGER_STEP_MINUTES} ({len(offsets)} distinct); per stack in --json"
            )
    elif without:
        lines.append(
            f"  {STAGGER_FLAG} MINUTES shows the peaks with each account's copies spread over a window"
        )
    return findings, document, lines
