"""Broken stack files, tried as a new user would: every one stops at the edge with exit 2, the key (or
the file) named, no traceback, and nothing registered.

Each ``tests/config_corpus/<case>.yaml`` is ``Pulumi.prod.yaml`` with one small edit; its ``# expect:``
lines are text the error must contain. All of them run in-process through ``drplan.cli.main`` (with a
registration recorder); a few also run as ``python -m drplan`` in a subprocess, as a user would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from drplan import cli, storage
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import register_stack

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "config_corpus"
FILES = sorted(CORPUS.glob("*.yaml"))
# The examples issue #9 names, run the way a user runs them.
SUBPROCESS = (
    "region-typo",
    "timezone-mars",
    "recent-backup-hours-true",
    "duplicate-accounts",
    "cron-hour-25",
    "bridge-schedule-every-day",
    "bridge-vpc-subnets-only",
    "prefix-null",
)


def expectations(path: Path) -> list[str]:
    return [
        line.removeprefix("# expect: ").rstrip("\n") for line in path.open() if line.startswith("# expect: ")
    ]


def test_the_corpus_is_large_and_every_file_says_what_it_expects() -> None:
    assert len(FILES) >= 60
    for path in FILES:
        assert expectations(path), path.name
    assert {f"{name}.yaml" for name in SUBPROCESS} <= {p.name for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_broken_stack_file_stops_at_the_edge(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registered: list[RegisteredResource] = []

    def recording(stack: str, config: dict[str, object], program: Path | None = None) -> StackGraph:
        return register_stack(stack, config=config, program=program, recorder=registered)

    monkeypatch.setattr(cli, "register_stack", recording)
    monkeypatch.setattr(storage, "register_stack", recording)
    monkeypatch.chdir(REPO)
    code = cli.main(["prod", "--stack-file", str(path.relative_to(REPO)), "--no-policy"])
    err = capsys.readouterr().err
    assert code == cli.INVALID_INPUT, err
    for fragment in expectations(path):
        assert fragment in err
    assert "Traceback" not in err
    assert registered == []


@pytest.mark.parametrize("name", SUBPROCESS)
def test_python_m_drplan_exits_2_without_a_traceback(name: str) -> None:
    path = CORPUS / f"{name}.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "drplan", "prod", "--stack-file", str(path.relative_to(REPO)), "--no-policy"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    for fragment in expectations(path):
        assert fragment in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
