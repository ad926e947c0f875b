"""``--changed-since REF``: which stacks' effective config or registered graph differ from git revision REF.

The base side is REF's tree, exported with ``git archive`` into a temporary directory (the repository and
its work trees are left alone). Each side is planned by its own tree (:mod:`drplan.graph_digests`, run as a
script in a process per side, both sides at once): REF's stack files merged with REF's ``Pulumi.yaml`` by
REF's merging, run by REF's program; the current files by the current program.

Which graphs are run:

- when the program may have changed (any file of the program's tree outside ``docs/``, ``tests/``,
  ``.github/``, ``benchmarks/``, ``examples/``, Markdown and the project's own ``Pulumi*.yaml`` differs from
  REF, untracked files included), every stack's graph on both sides: then every graph may differ;
- otherwise the same program runs on both sides, so a stack whose effective config is unchanged has the
  same graph; only the stacks whose effective config differs are run, on both sides.

A stack is affected when its effective config or its graph digest differs, when it has no stack file at REF
(new), or when either side could not be planned (the fleet plan reports why). When the program lives
outside the project's git repository (``--project-dir`` of another repository), both sides run the current
program and only the project's files come from REF.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drplan.program import REPO

FLAG = "--changed-since"
RUNNER = Path(__file__).resolve().parent / "graph_digests.py"
# Files of the program's tree that no program run reads (git pathspecs, relative to the program's root).
NOT_PROGRAM = ("docs", "tests", ".github", "benchmarks", "examples", "**/*.md")
GIT_TIMEOUT_SECONDS = 120
# Per stack and side: a program run takes about half a second here; generous for a shared machine.
SECONDS_PER_STACK = 30

NEW = "new since the base revision"
CONFIG_AND_GRAPH = "effective config and registered graph differ"
CONFIG_ONLY = "effective config differs (registered graph the same)"
GRAPH_ONLY = "registered graph differs (effective config the same)"
INVALID_NOW = "cannot be planned now"
INVALID_BEFORE = "could not be planned at the base revision"


class ChangedSinceError(ValueError):
    """REF cannot be compared against (exit 2); the message names the flag and the value."""


@dataclass(frozen=True)
class Changes:
    ref: str
    commit: str
    program_changed: bool
    affected: dict[str, str]
    """The affected stacks, each with why."""
    graphs_run: int
    """How many stacks' graphs were run on each side."""

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "commit": self.commit,
            "programChanged": self.program_changed,
            "graphsRun": self.graphs_run,
            "affected": [{"stack": s, "why": why} for s, why in self.affected.items()],
        }


def _git(top: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess[Any]:
    return subprocess.run(
        ["git", "-C", str(top), *args],
        capture_output=True,
        text=not binary,
        check=False,
        timeout=GIT_TIMEOUT_SECONDS,
    )


def _toplevel(project_dir: Path, ref: str) -> Path:
    try:
        done = _git(project_dir, "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        raise ChangedSinceError(f"{FLAG} {ref}: git is not installed") from None
    if done.returncode != 0:
        raise ChangedSinceError(f"{FLAG} {ref}: --project-dir {project_dir} is not in a git repository")
    return Path(done.stdout.strip()).resolve()


def resolve(ref: str, top: Path) -> str:
    """REF's commit, or one error naming the flag and the value."""
    if not ref.strip():
        raise ChangedSinceError(f"{FLAG} {ref!r}: empty; give a commit, branch or tag, e.g. origin/main")
    done = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise ChangedSinceError(
            f"{FLAG} {ref}: not a commit, branch or tag of the git repository at {top} "
            "(in a shallow clone, fetch the base revision first)"
        )
    return str(done.stdout.strip())


def _export(top: Path, commit: str, target: Path) -> None:
    done = _git(top, "archive", "--format=tar", commit, binary=True)
    if done.returncode != 0:
        raise ChangedSinceError(f"{FLAG} {commit}: git archive failed: {done.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(target, filter="data")


def _under(directory: Path, pattern: str) -> str:
    """``pattern`` below ``directory`` (relative to the repository's top) as a glob pathspec's text."""
    return pattern if str(directory) == "." else f"{directory.as_posix()}/{pattern}"


def _program_changed(top: Path, commit: str, program_root: Path, project_dir: Path) -> bool:
    root = program_root.relative_to(top)
    spec = [
        f":(top){_under(root, '')}",
        *(f":(top,exclude,glob){_under(root, p if '*' in p else p + '/**')}" for p in NOT_PROGRAM),
        f":(top,exclude,glob){_under(project_dir.relative_to(top), 'Pulumi*.yaml')}",
    ]
    diff = _git(top, "diff", "--quiet", commit, "--", *spec)
    if diff.returncode not in (0, 1):
        raise ChangedSinceError(f"{FLAG} {commit}: git diff failed: {diff.stderr.strip()}")
    untracked = _git(top, "ls-files", "--others", "--exclude-standard", "--", *spec)
    return diff.returncode == 1 or bool(untracked.stdout.strip())


def _run_side(root: Path, project_dir: Path, stacks: list[str], graphs: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="drplan-digests-") as tmp:
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request.write_text(
            json.dumps(
                {"root": str(root), "projectDir": str(project_dir), "stacks": stacks, "graphs": graphs}
            ),
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, str(RUNNER), str(request), str(result)],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=60 + SECONDS_PER_STACK * max(1, len(graphs)),
        )
        if done.returncode != 0 or not result.is_file():
            raise RuntimeError(f"planning {project_dir} with the program at {root} failed:\n{done.stderr}")
        answer: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
        return answer


def _both(
    current: tuple[Path, Path], base: tuple[Path, Path], stacks: list[str], graphs: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    with ThreadPoolExecutor(2) as pool:
        now = pool.submit(_run_side, *current, stacks, graphs)
        before = pool.submit(_run_side, *base, stacks, graphs)
        return now.result(), before.result()


def _why(now: Mapping[str, Any], before: Mapping[str, Any]) -> str | None:
    if "error" in now:
        return f"{INVALID_NOW}: {now['error'].splitlines()[0]}"
    if before.get("missing"):
        return NEW
    if "error" in before:
        return f"{INVALID_BEFORE}: {before['error'].splitlines()[0]}"
    config = now["config"] != before["config"]
    graph = "graph" in now and "graph" in before and now["graph"] != before["graph"]
    if config and graph:
        return CONFIG_AND_GRAPH
    if config:
        return CONFIG_ONLY
    return GRAPH_ONLY if graph else None


def since(
    ref: str, project_dir: Path, stacks: Mapping[str, Path], progress: Callable[[str], None]
) -> Changes:
    """The stacks of ``stacks`` (the current selection) affected since ``ref``."""
    top = _toplevel(project_dir, ref)
    commit = resolve(ref, top)
    project = project_dir.resolve()
    names = sorted(stacks)
    in_repo = top == REPO or top in REPO.parents
    with tempfile.TemporaryDirectory(prefix="drplan-base-") as tmp:
        base_tree = Path(tmp)
        _export(top, commit, base_tree)
        base_project = base_tree / project.relative_to(top)
        base_root = base_tree / REPO.relative_to(top) if in_repo else REPO
        program_changed = in_repo and _program_changed(top, commit, REPO, project)
        current, base = (REPO, project), (base_root, base_project)
        if program_changed:
            graphs = names
            progress(f"{FLAG} {ref}: the program differs from {commit[:12]}; running every stack's graph")
            now, before = _both(current, base, names, graphs)
        else:
            now, before = _both(current, base, names, [])
            graphs = [
                s for s in names if "config" in now[s] and "config" in before[s] and now[s] != before[s]
            ]
            progress(f"{FLAG} {ref}: {len(graphs)} stacks' effective config differs; running their graphs")
            if graphs:
                graphed_now, graphed_before = _both(current, base, graphs, graphs)
                now.update(graphed_now)
                before.update(graphed_before)
    affected = {}
    for stack in names:
        why = _why(now[stack], before[stack])
        if why is not None:
            affected[stack] = why
    return Changes(ref, commit, program_changed, affected, len(graphs))


def render(changes: Changes) -> list[str]:
    lines = [
        f"stacks changed since {changes.ref} ({changes.commit[:12]}): {len(changes.affected)}"
        + (" (the program differs: every graph compared)" if changes.program_changed else "")
    ]
    lines += [f"  {stack}: {why}" for stack, why in changes.affected.items()]
    return lines
