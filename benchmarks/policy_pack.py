"""Policy pack cost over the same gRPC harness the tests use, against issue 3's targets. Asserts nothing.

Targets (issue 3), each printed with MET / NOT MET:

- Analyze (per resource, median and p95) <= 1.5x the empty pack on the same requests;
- AnalyzeStack <= 1.5x the empty pack on the same request (prod program graph, synthetic 1k and 10k);
- a 10,000-resource AnalyzeStack under 5 s;
- linear growth: per-resource AnalyzeStack time at 10k within 1.5x of that at 1k (the empty pack's own
  growth is printed next to it: gRPC and protobuf parsing are not perfectly linear either).

Baselines, all started by the same harness as the pack (``python -m pulumi.policy``, gRPC):

- "empty": a pack with one no-op resource policy and one no-op stack policy (pulumi-policy's
  ``PolicyPack``): the protocol plus the SDK deserialising each request once. This is the target's
  baseline.
- "same-shape": as many no-op policies of each kind as the pack has, served by the SDK's own
  ``PolicyPack``, which deserialises the request once per policy; shown to make the SDK's per-policy
  cost visible (the pack's servicer avoids it, see policies/dr_policies/servicer.py).

Synthetic stacks are copies of the compliant test fixture (EBS and S3 protection, buckets, alert rule),
renamed per copy. gRPC limits: the client sends up to 512 MB, the pack receives up to 400 MB (the SDK's
option, kept by the pack's server); the 10,000-resource request size is printed against it.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.baseline_pack import baseline_client
from drplan.analyzer_requests import to_analyze_request, to_analyze_stack_request
from drplan.graph import RegisteredResource, StackGraph
from drplan.policy_client import PolicyPackClient
from tests.policies import fixtures as fx

PROVIDERS = {fx.ORIGIN.urn, fx.DR.urn, fx.ARCHIVE.urn}
REPEATS = 3


def synthetic(size: int) -> StackGraph:
    """About ``size`` resources: the fixture's 8 backup/KMS resources copied and renamed, 3 shared providers."""
    template = [r for r in fx.RESOURCES if r.urn not in PROVIDERS]
    copies = max(1, (size - len(PROVIDERS)) // len(template))
    resources: list[RegisteredResource] = [fx.ORIGIN, fx.DR, fx.ARCHIVE]
    for k in range(copies):
        renamed = {r.urn: r.urn + f"-{k}" for r in template}
        for r in template:
            # Every AWS name (vaults, plans, buckets, event rules) gets the copy number.
            text = json.dumps(r.inputs).replace("dr-test-", f"dr-test-{k}-")
            resources.append(
                replace(
                    r,
                    urn=renamed[r.urn],
                    name=f"{r.name}-{k}",
                    inputs=json.loads(text),
                    dependencies=tuple(renamed.get(d, d) for d in r.dependencies),
                    property_dependencies={
                        key: tuple(renamed.get(d, d) for d in urns)
                        for key, urns in r.property_dependencies.items()
                    },
                )
            )
    return StackGraph(stack="synthetic", project=fx.PROJECT, resources=tuple(resources), outputs={})


def _best(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def analyze_latencies(client: PolicyPackClient, graph: StackGraph) -> tuple[float, float]:
    known = graph.by_urn()
    requests = [to_analyze_request(r, known) for r in graph.resources]
    client.analyze_request(requests[0])  # warm up
    samples = []
    for request in requests:
        start = time.perf_counter()
        client.analyze_request(request)
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def stack_time(client: PolicyPackClient, graph: StackGraph) -> tuple[float, int]:
    request = to_analyze_stack_request(graph.resources)
    client.analyze_stack_request(request)  # warm up
    return _best(lambda: client.analyze_stack_request(request)), len(
        client.analyze_stack_request(request).violations
    )


ANALYZE_TARGET = 1.5
STACK_TARGET = 1.5
TEN_K_SECONDS = 5.0
GROWTH_TARGET = 1.5
PACK_RECEIVE_LIMIT = 400 * 1024 * 1024


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    graphs: dict[str, StackGraph] = {}
    try:
        from drplan.program import register_stack

        graphs["prod program"] = register_stack("prod")
    except ImportError:
        print("drplan.program not available: skipping the prod graph")
    graphs["synthetic 1k"] = synthetic(1_000)
    graphs["synthetic 10k"] = synthetic(10_000)
    targets: list[tuple[str, bool]] = []

    with PolicyPackClient() as pack:
        info = pack.info()
        resource_policies = sum(1 for p in info.policies if p.kind == "resource")
        stack_policies = sum(1 for p in info.policies if p.kind == "stack")
        with (
            baseline_client() as empty,
            baseline_client(resource_policies=resource_policies, stack_policies=stack_policies) as shape,
        ):
            clients = {"pack": pack, "empty": empty, "same-shape": shape}
            print(
                f"pack: {len(info.policies)} policies ({resource_policies} resource, {stack_policies} stack)"
            )
            size = to_analyze_stack_request(graphs["synthetic 10k"].resources).ByteSize()
            print(
                f"10k AnalyzeStack request: {size / 1e6:.1f} MB (pack receives up to "
                f"{PACK_RECEIVE_LIMIT / 1e6:.0f} MB: room for ~{PACK_RECEIVE_LIMIT // size * 10:,}k resources)"
            )
            print()
            print("Analyze, per resource (synthetic 1k stack)")
            lat = {name: analyze_latencies(c, graphs["synthetic 1k"]) for name, c in clients.items()}
            for name, (median, p95) in lat.items():
                print(f"  {name:<11} median {median * 1e3:7.3f} ms   p95 {p95 * 1e3:7.3f} ms")
            for base in ("empty", "same-shape"):
                print(
                    f"  ratio pack/{base}: median {lat['pack'][0] / lat[base][0]:.2f}  p95 {lat['pack'][1] / lat[base][1]:.2f}"
                )
            for i, stat in enumerate(("median", "p95")):
                ratio = lat["pack"][i] / lat["empty"][i]
                targets.append(
                    (
                        f"Analyze {stat} <= {ANALYZE_TARGET}x empty pack ({ratio:.2f}x)",
                        ratio <= ANALYZE_TARGET,
                    )
                )
            print()
            print(f"AnalyzeStack (best of {REPEATS})")
            per_resource: dict[str, dict[str, float]] = {}
            for label, graph in graphs.items():
                times = {name: stack_time(c, graph) for name, c in clients.items()}
                pack_s, violations = times["pack"]
                ratio = pack_s / times["empty"][0]
                per_resource[label] = {name: t / len(graph.resources) for name, (t, _v) in times.items()}
                print(
                    f"  {label:<14} {len(graph.resources):>6} resources  pack {pack_s:7.3f} s"
                    f"  empty {times['empty'][0]:7.3f} s  same-shape {times['same-shape'][0]:7.3f} s"
                    f"  ratio/empty {ratio:5.2f}  ratio/same-shape {pack_s / times['same-shape'][0]:5.2f}"
                    f"  violations {violations}"
                )
                targets.append(
                    (
                        f"AnalyzeStack {label} <= {STACK_TARGET}x empty pack ({ratio:.2f}x)",
                        ratio <= STACK_TARGET,
                    )
                )
                if label == "synthetic 10k":
                    targets.append(
                        (f"10k resources under {TEN_K_SECONDS:g} s ({pack_s:.2f} s)", pack_s < TEN_K_SECONDS)
                    )
            growth = {
                name: per_resource["synthetic 10k"][name] / per_resource["synthetic 1k"][name]
                for name in clients
            }
            print(
                "  per-resource time 10k vs 1k (1.0 = linear): "
                + "  ".join(f"{name} {g:.2f}x" for name, g in growth.items())
            )
            targets.append(
                (
                    f"linear growth: per-resource time 10k/1k <= {GROWTH_TARGET} ({growth['pack']:.2f}x; "
                    f"empty pack {growth['empty']:.2f}x)",
                    growth["pack"] <= GROWTH_TARGET,
                )
            )
    print()
    print("Targets (issue 3)")
    for text, ok in targets:
        print(f"  {_verdict(ok):<8} {text}")


if __name__ == "__main__":
    main()
