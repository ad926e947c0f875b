"""Reading another project's stack files (``org/``, ``isolated/``) for the fleet plan's cross-project checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from drplan.fleet_checks import Finding

T = TypeVar("T")


def read_all(
    paths: Iterable[Path], project_dir: Path, read: Callable[[Path, str], T | Finding | None]
) -> tuple[list[T], list[Finding]]:
    """What ``read`` makes of each file (shown relative to ``project_dir`` where it lies below it), and the
    findings for the files it could not read; ``None`` from ``read``: nothing to compare in that file."""
    found: list[T] = []
    problems: list[Finding] = []
    for path in paths:
        try:
            shown = str(path.relative_to(project_dir))
        except ValueError:
            shown = str(path)
        result = read(path, shown)
        if isinstance(result, Finding):
            problems.append(result)
        elif result is not None:
            found.append(result)
    return found, problems
