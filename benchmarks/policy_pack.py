"""Policy pack cost over the same gRPC harness the tests use. Prints figures; asserts nothing.

- per-resource Analyze latency (median, p95) over a synthetic 1,000-resource stack;
- AnalyzeStack time for the prod program graph and synthetic stacks of 1,000 and 10,000 resources;
- each as a ratio to an empty pack on the same inputs. Two baselines: "empty" (one no-op resource
  policy, one no-op stack policy: the protocol alone) and "same-shape" (as many no-op policies of
  each kind as the pack has: the protocol plus pulumi-policy's per-policy deserialisation, so the
  ratio isolates the cost of the rules themselves).

Synthetic stacks are copies of the compliant test fixture (keys, vaults, an air-gapped vault, its
policy, a plan with two copy actions and a selection), renamed per copy. gRPC messages are sent with
a 512 MB limit (pulumi-policy's server accepts 400 MB); the 10,000-resource request size is printed.
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

from drplan.graph import RegisteredResource, StackGraph
from drplan.policy_client import (
    PolicyPackClient,
    to_analyze_request,
    to_analyze_stack_request,
)
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
            text = json.dumps(r.inputs)
            text = text.replace("dr-test-air-gapped", f"dr-test-air-gapped-{k}").replace(
                "dr-test-ebs", f"dr-test-ebs-{k}"
            )
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


def main() -> None:
    graphs: dict[str, StackGraph] = {}
    try:
        from drplan.program import register_stack

        graphs["prod program"] = register_stack("prod")
    except ImportError:
        print("drplan.program not available: skipping the prod graph")
    graphs["synthetic 1k"] = synthetic(1_000)
    graphs["synthetic 10k"] = synthetic(10_000)

    with PolicyPackClient() as pack:
        info = pack.info()
        resource_policies = sum(1 for p in info.policies if p.kind == "resource")
        stack_policies = sum(1 for p in info.policies if p.kind == "stack")
        with (
            PolicyPackClient.baseline() as empty,
            PolicyPackClient.baseline(
                resource_policies=resource_policies, stack_policies=stack_policies
            ) as shape,
        ):
            clients = {"pack": pack, "empty": empty, "same-shape": shape}
            print(
                f"pack: {len(info.policies)} policies ({resource_policies} resource, {stack_policies} stack)"
            )
            print(
                f"10k AnalyzeStack request: {to_analyze_stack_request(graphs['synthetic 10k'].resources).ByteSize() / 1e6:.1f} MB"
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
            print()
            print(f"AnalyzeStack (best of {REPEATS})")
            per_resource: dict[str, float] = {}
            for label, graph in graphs.items():
                times = {name: stack_time(c, graph) for name, c in clients.items()}
                pack_s, violations = times["pack"]
                per_resource[label] = pack_s / len(graph.resources)
                print(
                    f"  {label:<14} {len(graph.resources):>6} resources  pack {pack_s:7.3f} s"
                    f"  empty {times['empty'][0]:7.3f} s  same-shape {times['same-shape'][0]:7.3f} s"
                    f"  ratio/empty {pack_s / times['empty'][0]:5.2f}  ratio/same-shape {pack_s / times['same-shape'][0]:5.2f}"
                    f"  violations {violations}"
                )
            growth = per_resource["synthetic 10k"] / per_resource["synthetic 1k"]
            print(f"  per-resource time 10k vs 1k: {growth:.2f}x (1.0 = linear)")


if __name__ == "__main__":
    main()
