"""Synthetic stack files for the fleet tests: prod's config with its own workload account and prefix."""

from __future__ import annotations

import copy
import functools
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from drplan.program import REPO, read_stack_config, stack_file

NS = "aws-dr-backup:"
# Above one GitHub Actions matrix (drplan.fleet.GITHUB_MATRIX_LIMIT) and short of two.
LARGE_FLEET = 300


def large_fleet_stacks() -> list[str]:
    """The names of the generated large fleet (``large_fleet`` in conftest.py), in name order."""
    return [f"w{i:03d}" for i in range(LARGE_FLEET)]


@functools.cache
def _prod() -> dict[str, Any]:
    return read_stack_config(stack_file("prod"))


def write_stack(directory: Path, stack: str, workload: str, **changes: Any) -> Path:
    """prod's config with its own workload account and prefix, and ``changes`` (un-namespaced keys); without
    bridges, restore tests and audit, which these checks do not look at and which would double the time."""
    config = copy.deepcopy(_prod())
    for key in ("bridges", "kubernetesClusters"):
        config.pop(f"{NS}{key}", None)
    config[f"{NS}operations"] = {"restoreTesting": {"enabled": False}, "audit": False}
    config[f"{NS}accounts"]["workload"] = workload
    config[f"{NS}prefix"] = f"dr-{stack}"
    config[f"{NS}environment"] = "production"
    config.update({f"{NS}{key}": value for key, value in changes.items()})
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def make_fleet_command() -> list[str]:
    """`make fleet`'s drplan arguments, read from the Makefile (its variables substituted)."""
    makefile = (REPO / "Makefile").read_text()
    org = re.search(r"^ORG_POLICY_CONFIG := (\S+)$", makefile, re.M)
    line = re.search(r"^fleet: .*\n\t\$\(PY\) -m drplan (.+)$", makefile, re.M)
    assert org
    assert line
    return shlex.split(line.group(1).replace("$(ORG_POLICY_CONFIG)", org.group(1)))
