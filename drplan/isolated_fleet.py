"""The isolated accounts' stacks, read for the fleet plan's check against the workload stacks.

Since the split (docs/isolated-account.md) a workload stack's air-gapped vault, its policy and RAM share, and
its locked vault are registered by the isolated account's own stack, ``isolated/Pulumi.isolated-<account>.yaml``,
from one ``workloads`` entry per workload stack. ``python -m drplan --all`` compares those entries with the
stacks it planned (``fleet_checks.isolated_stacks``), validated by the isolated project's own code
(``isolated.isolated_config.parse``), so what is compared is what that stack deploys.
"""

from __future__ import annotations

from pathlib import Path

from components.config import ConfigError, from_namespaced
from drplan import project_files
from drplan.fleet_checks import CONFLICT, ISOLATED_STACKS, Finding, IsolatedStack
from drplan.program import StackFileError, read_stack_config
from isolated import isolated_config
from isolated.matrix import STACK_PREFIX

ISOLATED_DIRECTORY = "isolated"


def isolated_stack_files(project_dir: Path) -> list[Path] | None:
    """The isolated stack files under ``project_dir``; ``None`` when it has no ``isolated/`` project."""
    directory = project_dir / ISOLATED_DIRECTORY
    if not (directory / "Pulumi.yaml").is_file():
        return None
    return sorted(directory.glob(f"Pulumi.{STACK_PREFIX}*.yaml"))


def read(path: Path, shown: str) -> IsolatedStack | Finding:
    """The file's stack, or a finding naming the file when it cannot be read or validated."""
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    try:
        raw = read_stack_config(path, project_file=path.parent / "Pulumi.yaml")
        config = isolated_config.parse(from_namespaced(raw, isolated_config.PROJECT), stack)
    except (StackFileError, ConfigError) as exc:
        return Finding(
            ISOLATED_STACKS, CONFLICT, (), f"{shown}: cannot be compared with the workload stacks: {exc}"
        )
    return IsolatedStack(
        file=shown,
        account=config.account,
        entries={w.account: isolated_config.spelled(w) for w in config.workloads},
    )


def load(project_dir: Path) -> tuple[list[IsolatedStack] | None, list[Finding]]:
    """Every isolated stack (``None``: the project has no isolated project), and a finding for each file that
    could not be read."""
    files = isolated_stack_files(project_dir)
    if files is None:
        return None, []
    return project_files.read_all(files, project_dir, read)
