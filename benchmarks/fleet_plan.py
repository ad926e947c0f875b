"""Whole-process wall time of the fleet plan (``python -m drplan --all --json``) for 10, 50 and 100 generated
production stacks, against one single-stack plan (``python -m drplan prod --json``).

The stacks are prod's config with their own workload account and prefix, all sharing prod's isolated
account, written to a temporary project directory (``--project-dir``). Each case is a fresh process timed
from outside, with the policy pack. Prints the time per stack, the marginal cost of a stack (the slope
between the smallest and each larger fleet: linear growth keeps it flat) and the machine's load average,
because these 2-core machines are often shared. Figures only; the issue's targets: 100 stacks in at most
90 s, and a stack in fleet mode cheaper than one single-stack plan.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.plan import timed_drplan  # noqa: E402
from drplan.program import read_stack_config, stack_file  # noqa: E402

SIZES = (10, 50, 100)


def write_fleet(directory: Path, count: int) -> None:
    base = read_stack_config(stack_file("prod"))
    for i in range(count):
        config = {
            **base,
            "aws-dr-backup:environment": "production",
            "aws-dr-backup:prefix": f"dr-w{i:03d}",
            "aws-dr-backup:accounts": {**base["aws-dr-backup:accounts"], "workload": f"{500000000000 + i}"},
        }
        (directory / f"Pulumi.w{i:03d}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))


def _load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    print(f"fleet plan, whole process (python {sys.version.split()[0]}, {os.cpu_count()} cores), {_load()}")
    timed_drplan(["prod"])  # warm the file system cache and .pyc files; not counted
    single = statistics.median(timed_drplan(["prod"])[0] for _ in range(3))
    print(f"{'single-stack plan (prod)':<28} {single:6.2f} s  (median of 3)")
    times: dict[int, float] = {}
    for count in SIZES:
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
            write_fleet(Path(tmp), count)
            elapsed, document = timed_drplan(["--all", "--project-dir", tmp])
        stacks = document["stacks"]
        assert isinstance(stacks, list)
        assert len(stacks) == count
        times[count] = elapsed
        print(
            f"{f'fleet of {count} stacks':<28} {elapsed:6.2f} s  {elapsed / count:5.2f} s/stack  "
            f"({elapsed / count / single:.2f} x one single-stack plan)"
        )
    smallest = SIZES[0]
    for count in SIZES[1:]:
        slope = (times[count] - times[smallest]) / (count - smallest)
        print(f"marginal cost of a stack, {smallest} -> {count} stacks: {slope:.2f} s")
    print(f"target: {SIZES[-1]} stacks in <= 90 s: {times[SIZES[-1]]:.1f} s; {_load()}")


if __name__ == "__main__":
    main()
