"""Whole-process wall time and peak memory of the fleet plan (``python -m drplan --all --json``) for 10,
100, 500 and 1,000 generated production stacks, against one single-stack plan (``python -m drplan prod
--json``) in the same run; and the isolated account's stack (``isolated/__main__.py``) for 1,000 workload
accounts, as one isolated account and as four shards of 250.

The stacks are prod's config with their own workload account and prefix, all sharing prod's isolated
account, written to a temporary project directory (``--project-dir``). Each case is a fresh process timed
from outside, with the policy pack. Prints the time per stack, the marginal cost of a stack (the slope
between the smallest and each larger fleet: linear growth keeps it flat), the peak resident memory of the
largest process of the plan (the parent, a worker or the pack: ``wait4`` reports the maximum over the
process and the children it reaped) and the machine's load average, because these 2-core machines are
often shared. Figures only; the issue's targets: 1,000 stacks in at most 300 s, a stack in fleet mode
cheaper than one single-stack plan, memory that does not grow with the fleet.

``--sizes 10,100`` runs fewer fleets (the default runs all four, about ten minutes here).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.plan import measured, measured_drplan  # noqa: E402
from drplan.program import read_stack_config, stack_file  # noqa: E402

SIZES = (10, 100, 500, 1000)
ISOLATED_ACCOUNTS = 1000
SHARDS = 4


def workload_account(i: int) -> str:
    return f"{500000000000 + i}"


def write_fleet(directory: Path, count: int) -> None:
    base = read_stack_config(stack_file("prod"))
    for i in range(count):
        config = {
            **base,
            "aws-dr-backup:environment": "production",
            "aws-dr-backup:prefix": f"dr-w{i:04d}",
            "aws-dr-backup:accounts": {**base["aws-dr-backup:accounts"], "workload": workload_account(i)},
        }
        (directory / f"Pulumi.w{i:04d}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))


_ISOLATED = """
import json, sys, time
from drplan.program import register_stack
from isolated.isolated_config import PROJECT
run = json.loads(open(sys.argv[1]).read())
started = time.perf_counter()
graph = register_stack(run["stack"], config=run["config"], program=sys.argv[2], project=PROJECT)
print(json.dumps({"seconds": time.perf_counter() - started, "resources": len(graph.resources)}))
"""


def isolated_stack(first: int, count: int, account: str) -> tuple[float, int, int]:
    """The isolated program for ``count`` workload accounts in a fresh process: its run's time (imports not
    counted), its resources and the process's peak memory (MiB)."""
    entries = [
        {
            "account": workload_account(i),
            "prefix": f"dr-w{i:04d}",
            "tags": {"environment": "production"},
            "lockedVault": True,
        }
        for i in range(first, first + count)
    ]
    config = {"aws-dr-backup-isolated:account": account, "aws-dr-backup-isolated:workloads": entries}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as run:
        json.dump({"stack": f"isolated-{account}", "config": config}, run)
        run.flush()
        program = str(REPO / "isolated" / "__main__.py")
        _, peak, done = measured([sys.executable, "-c", _ISOLATED, run.name, program])
    if done.returncode != 0:
        raise SystemExit(
            f"isolated stack of {count} accounts exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    result = json.loads(done.stdout)
    return float(result["seconds"]), int(result["resources"]), peak


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1 or list(sizes) != sorted(set(sizes)):
        raise argparse.ArgumentTypeError(f"{text!r}: give ascending whole numbers of at least 1, e.g. 10,100")
    return sizes


def _load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=SIZES,
        help="fleet sizes, comma-separated, ascending (default 10,100,500,1000)",
    )
    sizes: tuple[int, ...] = parser.parse_args(argv).sizes
    print(f"fleet plan, whole process (python {sys.version.split()[0]}, {os.cpu_count()} cores), {_load()}")
    measured_drplan(["prod"])  # warm the file system cache and .pyc files; not counted
    runs = [measured_drplan(["prod"]) for _ in range(3)]
    single = statistics.median(r[0] for r in runs)
    print(
        f"{'single-stack plan (prod)':<28} {single:7.2f} s  (median of 3), peak {max(r[1] for r in runs)} MiB"
    )
    times: dict[int, float] = {}
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
            write_fleet(Path(tmp), count)
            # 1: a complete plan with findings (from 300 stacks on, one isolated account is over its vault quota).
            elapsed, peak, document = measured_drplan(["--all", "--project-dir", tmp], accept=(0, 1))
        stacks = document["stacks"]
        assert isinstance(stacks, list)
        assert len(stacks) == count
        times[count] = elapsed
        print(
            f"{f'fleet of {count} stacks':<28} {elapsed:7.2f} s  {elapsed / count:5.2f} s/stack  "
            f"({elapsed / count / single:.2f} x one single-stack plan), peak {peak} MiB"
        )
    smallest = sizes[0]
    for count in sizes[1:]:
        slope = (times[count] - times[smallest]) / (count - smallest)
        print(f"marginal cost of a stack, {smallest} -> {count} stacks: {slope:.2f} s")
    largest = sizes[-1]
    print(f"target: 1000 stacks in <= 300 s: {largest} stacks took {times[largest]:.1f} s; {_load()}")
    seconds, resources, peak = isolated_stack(0, ISOLATED_ACCOUNTS, "222222222222")
    print(
        f"isolated stack, {ISOLATED_ACCOUNTS} workload accounts in one isolated account: {seconds:.1f} s, "
        f"{resources} resources, peak {peak} MiB ({ISOLATED_ACCOUNTS} air-gapped vaults: over the default "
        "quota of 300 a Region, which the fleet plan reports)"
    )
    share = ISOLATED_ACCOUNTS // SHARDS
    shards = [isolated_stack(i * share, share, f"22222222222{i}") for i in range(SHARDS)]
    print(
        f"isolated stacks, {SHARDS} shards of {share} accounts: {sum(s[0] for s in shards):.1f} s in all, "
        f"{max(s[0] for s in shards):.1f} s the slowest, {sum(s[1] for s in shards)} resources, "
        f"peak {max(s[2] for s in shards)} MiB"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
