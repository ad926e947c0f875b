"""Whole-process wall time of the offline plan (``python -m drplan prod --json``), as a user runs it.

Each case is a fresh process (interpreter start, imports, the program under mocks and its protection part
with the other layout, policy pack start and analysis, rendering), timed from outside; the median of
several runs is printed, with the ratio to ``python -c "import pulumi_aws"`` timed in the same run. The
synthetic case runs ``benchmarks/plan_synthetic_program.py``: the real stack built ten times in one
program with distinct names, so the graph has 10x the resources and the same shape. Prints figures only.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SYNTHETIC = Path(__file__).resolve().parent / "plan_synthetic_program.py"


def timed_drplan(args: list[str], accept: tuple[int, ...] = (0,)) -> tuple[float, dict[str, Any]]:
    """Whole-process wall time of ``python -m drplan ARGS --json`` and its JSON document."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "drplan", *args, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in accept:
        raise SystemExit(f"drplan {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return elapsed, json.loads(done.stdout)


def _run(args: list[str]) -> tuple[float, int]:
    # 0 and 1 are both complete plans (1: the verdict has a mandatory violation); time either.
    elapsed, document = timed_drplan(args, accept=(0, 1))
    return elapsed, int(document["resources"]["count"])


def _case(label: str, args: list[str], runs: int) -> tuple[float, int]:
    _run(args)  # warm the file system cache and .pyc files; not counted
    times, count = [], 0
    for _ in range(runs):
        elapsed, count = _run(args)
        times.append(elapsed)
    median = statistics.median(times)
    print(
        f"{label:<34} {count:>6} resources  median {median:6.2f} s  "
        f"(min {min(times):.2f}, max {max(times):.2f}, {runs} runs)  {1000 * median / count:6.2f} ms/resource"
    )
    return median, count


def _baseline(runs: int) -> float:
    """Median whole-process time of ``python -c "import pulumi_aws"``: the floor every plan starts from."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pulumi_aws"], cwd=REPO, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    print(f"offline plan, whole process (python {sys.version.split()[0]}, {sys.platform})")
    baseline = _baseline(runs=5)
    print(f"{'baseline: import pulumi_aws':<34} {'':>6}            median {baseline:6.2f} s")
    prod, prod_count = _case("prod", ["prod"], runs=5)
    print(f"prod / baseline: {prod / baseline:.1f}x")
    _case("prod --no-policy", ["prod", "--no-policy"], runs=5)
    synthetic, synthetic_count = _case("synthetic 10x prod", ["prod", "--program", str(SYNTHETIC)], runs=3)
    ratio = synthetic_count / prod_count
    print(
        f"growth: {ratio:.1f}x resources -> {synthetic / prod:.1f}x time "
        f"(linear would be <= {ratio:.1f}x: the fixed start-up cost is shared)"
    )


if __name__ == "__main__":
    main()
