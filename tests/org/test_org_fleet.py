"""The organisation stack and the repository's workload stacks agree on the fleet bucket."""

from __future__ import annotations

from components.config import from_namespaced, parse
from dr_runtime.fleet_report import bucket_layout as layout
from drplan.program import REPO, read_stack_config
from org.org_config import PROJECT
from org.org_config import parse as parse_org
from tests.org.org_graphs import STACK, org_stack_config


def test_every_publishing_stack_is_admitted_by_the_fleet_bucket() -> None:
    org = parse_org(from_namespaced(org_stack_config(), PROJECT), STACK)
    bucket = layout.bucket_name(org.prefix, org.accounts.reports, org.regions.primary)
    publishing = {}
    for path in sorted(REPO.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        config = parse(from_namespaced(read_stack_config(path)), stack)
        if config.operations.fleet_bucket is not None:
            # A stack naming another bucket would publish where no fleet report looks.
            assert config.operations.fleet_bucket == bucket, stack
            publishing[stack] = config.accounts.workload
    assert publishing, "no workload stack publishes to the fleet bucket"
    # The bucket policy admits exactly the publishing accounts (a missing one could not write).
    assert set(publishing.values()) == set(org.accounts.workloads)
