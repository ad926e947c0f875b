"""Whole-process wall time of the offline plan (``python -m drplan prod --json``), as a user runs it.

Each case is a fresh process (interpreter start, imports, the program under mocks and its protection part
with the other layout, policy pack start and analysis, rendering), timed from outside; the median of
several runs is printed. The first case is the main job as ``make plan`` runs it (with prod's policy pack
config). Two baselines are timed in the same run, each a fresh process:

- ``python -c "import pulumi_aws"``, the yardstick of issue #12; ``pulumi_aws`` loads its service modules
  lazily, so this imports none of them;
- importing the ``pulumi_aws`` modules the plan registers from (the classes of prod's graph), the
  floor of any program that registers these resources.

A third reference is the program alone: prod's program run once under the mocks in a fresh process
(``drplan.program.register_stack``), without the policy pack, the other layout's run or any output. What
the plan adds to it is the plan's own work.

The synthetic case runs ``benchmarks/plan_synthetic_program.py``: the real stack built ten times in one
program with distinct names, so the graph has 10x the resources and the same shape. Run it with
``make bench``, which compiles the repository's modules first as ``make plan`` does. Prints figures only.
"""

from __future__ import annotations

import json
import keyword
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SYNTHETIC = Path(__file__).resolve().parent / "plan_synthetic_program.py"
MAIN_JOB = ["prod", "--policy-config", "examples/policy-config.prod.json"]  # as `make plan` runs it
# As drplan runs a program: no cyclic collector, no interpreter teardown (drplan/__main__.py).
PROGRAM_ALONE = "import gc, os\ngc.disable()\nfrom drplan.program import register_stack\nregister_stack('prod')\nos._exit(0)"


def measured(command: list[str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Whole-process wall time of ``command`` (run in the repository), the peak resident memory (MiB) of
    the largest process of its tree (``wait4`` reports the maximum over the process and the children it
    reaped), and the outcome."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())
    return elapsed, usage.ru_maxrss // 1024, done  # ru_maxrss is in KiB on Linux


def measured_drplan(args: list[str], accept: tuple[int, ...] = (0,)) -> tuple[float, int, dict[str, Any]]:
    """:func:`measured` for ``python -m drplan ARGS --json``, with its JSON document."""
    elapsed, peak, done = measured([sys.executable, "-m", "drplan", *args, "--json"])
    if done.returncode not in accept:
        raise SystemExit(f"drplan {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    document: dict[str, Any] = json.loads(done.stdout)
    return elapsed, peak, document


def timed_drplan(args: list[str], accept: tuple[int, ...] = (0,)) -> tuple[float, dict[str, Any]]:
    """Whole-process wall time of ``python -m drplan ARGS --json`` and its JSON document."""
    elapsed, _, document = measured_drplan(args, accept)
    return elapsed, document


def _run(args: list[str]) -> tuple[float, dict[str, Any]]:
    # 0 and 1 are both complete plans (1: the verdict has a mandatory violation); time either.
    return timed_drplan(args, accept=(0, 1))


def _case(label: str, args: list[str], runs: int) -> tuple[float, dict[str, Any]]:
    _run(args)  # warm the file system cache; not counted
    times: list[float] = []
    document: dict[str, Any] = {}
    for _ in range(runs):
        elapsed, document = _run(args)
        times.append(elapsed)
    median = statistics.median(times)
    count = int(document["resources"]["count"])
    print(
        f"{label:<44} {count:>6} resources  median {median:6.2f} s  "
        f"(min {min(times):.2f}, max {max(times):.2f}, {runs} runs)  {1000 * median / count:6.2f} ms/resource"
    )
    return median, document


def _timed_python(code: str, runs: int) -> float:
    """Median whole-process time of ``python -c CODE`` (one run first, not counted)."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def _urns(groups: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    pending = [resource for group in groups for resource in group["resources"]]
    while pending:
        resource = pending.pop()
        found.append(resource["urn"])
        pending.extend(resource.get("children", ()))
    return found


def sdk_classes(document: dict[str, Any]) -> list[str]:
    """``pulumi_aws.<module>.<Class>`` of every AWS type in a plan's JSON document (Pulumi's Python names:
    a module named like a Python keyword gets a trailing underscore, ``lambda`` -> ``lambda_``)."""
    classes = set()
    for urn in _urns(document["resources"]["groups"]):
        token = urn.split("::")[2].rsplit("$", 1)[-1]
        package, module_path, kind = token.split(":")
        if package != "aws":
            continue
        module = module_path.split("/")[0]
        classes.add(
            f"pulumi_aws.{module}_.{kind}" if keyword.iskeyword(module) else f"pulumi_aws.{module}.{kind}"
        )
    return sorted(classes)


def main() -> None:
    print(f"offline plan, whole process (python {sys.version.split()[0]}, {sys.platform})")
    prod, document = _case("prod, as `make plan` runs it", MAIN_JOB, runs=7)
    classes = sdk_classes(document)
    modules = sorted({name.rsplit(".", 1)[0] for name in classes})
    baseline = _timed_python("import pulumi_aws", runs=7)
    floor = _timed_python("import pulumi_aws\n" + "\n".join(classes), runs=7)
    print(f"{'baseline: import pulumi_aws':<44} {'':>6}            median {baseline:6.2f} s")
    print(
        f"{f'floor: import the {len(modules)} pulumi_aws modules used':<44} {'':>6}            median {floor:6.2f} s"
    )
    alone = _timed_python(PROGRAM_ALONE, runs=7)
    print(f"{'program alone: prod under the mocks, once':<44} {'':>6}            median {alone:6.2f} s")
    print(
        f"prod / baseline: {prod / baseline:.1f}x   prod / floor: {prod / floor:.1f}x   "
        f"program alone / baseline: {alone / baseline:.1f}x"
    )
    defaults, _ = _case("prod, every policy at its defaults", ["prod"], runs=5)
    _case("prod --no-policy", ["prod", "--no-policy"], runs=5)
    synthetic, synthetic_document = _case("synthetic 10x prod", ["prod", "--program", str(SYNTHETIC)], runs=3)
    ratio = synthetic_document["resources"]["count"] / document["resources"]["count"]
    print(
        f"growth: {ratio:.1f}x resources -> {synthetic / defaults:.1f}x time "
        f"(linear would be <= {ratio:.1f}x: the fixed start-up cost is shared)"
    )


if __name__ == "__main__":
    main()
