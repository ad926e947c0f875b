"""``python -m drplan --all --changed-since REF``: the stacks whose effective config or registered graph differ
from a git revision, found by running each revision's program for its own inputs and comparing digests.

Small fleets in temporary git repositories: a project directory of its own (the program is this
repository's on both sides), and a copy of this repository (its program changes with the revision)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from drplan import changed_since, fleet
from tests.fleet.stacks import NS, write_stack

REPO = Path(__file__).resolve().parents[2]
STACKS = ("alpha", "bravo", "charlie")


def git(directory: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def commit_all(directory: Path, message: str) -> None:
    git(directory, "add", "-A")
    git(directory, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)


def init(directory: Path) -> None:
    git(directory, "init", "-q")
    commit_all(directory, "base")


def set_key(path: Path, key: str, value: Any) -> None:
    """Set (or with ``None`` remove) one key of a stack file's config."""
    document = yaml.safe_load(path.read_text())
    if value is None:
        del document["config"][f"{NS}{key}"]
    else:
        document["config"][f"{NS}{key}"] = value
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def changes(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, Any, str]:
    code = fleet.main(["--all", "--project-dir", str(project), *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith("{") else out, err


def affected(document: dict[str, Any]) -> dict[str, str]:
    return {entry["stack"]: entry["why"] for entry in document["affected"]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Three stacks and this repository's Pulumi.yaml in a git repository; charlie sets its own
    logRetentionDays, the others take the project's."""
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for i, stack in enumerate(STACKS):
        path = write_stack(tmp_path, stack, f"{500000000000 + i}", logRetentionDays=90)
        if stack != "charlie":
            set_key(path, "logRetentionDays", None)
    init(tmp_path)
    return tmp_path


def test_a_change_to_one_stack_file_affects_that_stack_only(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_key(project / "Pulumi.bravo.yaml", "logRetentionDays", 14)
    code, document, _ = changes(capsys, project, "--changed-since", "HEAD", "--json")
    assert code == 0
    assert affected(document) == {"bravo": changed_since.CONFIG_AND_GRAPH}
    assert document["programChanged"] is False
    assert document["graphsRun"] == 1


def test_a_shared_default_affects_every_stack_that_does_not_override_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = project / "Pulumi.yaml"
    shared.write_text(shared.read_text().replace("logRetentionDays: 30", "logRetentionDays: 60"))
    code, document, _ = changes(capsys, project, "--changed-since", "HEAD", "--json")
    assert code == 0
    assert affected(document) == {
        "alpha": changed_since.CONFIG_AND_GRAPH,
        "bravo": changed_since.CONFIG_AND_GRAPH,
    }


def test_comment_and_layout_only_changes_affect_no_stack(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = project / "Pulumi.yaml"
    shared.write_text(
        "# a comment\n" + shared.read_text().replace("logRetentionDays: 30", "logRetentionDays:   30")
    )
    path = project / "Pulumi.alpha.yaml"
    path.write_text("# alpha's account\n" + path.read_text() + "# the end\n")
    code, document, _ = changes(capsys, project, "--changed-since", "HEAD", "--json")
    assert code == 0
    assert affected(document) == {}
    assert document["graphsRun"] == 0


def test_a_project_value_restated_in_a_stack_file_is_no_change(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The effective config decides, not the files: the same value set in the stack file instead of taken from
    Pulumi.yaml is the same config; another value is not."""
    path = project / "Pulumi.alpha.yaml"
    set_key(path, "logRetentionDays", 30)
    code, document, _ = changes(capsys, project, "--changed-since", "HEAD", "--json")
    assert code == 0
    assert affected(document) == {}, "the project's value restated in the stack file is the same config"
    set_key(path, "logRetentionDays", 45)
    code, document, _ = changes(capsys, project, "--changed-since", "HEAD", "--json")
    assert code == 0
    assert set(affected(document)) == {"alpha"}


def test_a_new_stack_is_affected_and_the_matrix_holds_only_the_affected(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(project, "delta", "500000000009")
    code, document, _ = changes(capsys, project, "--changed-since", "HEAD", "--json")
    assert code == 0
    assert affected(document) == {"delta": changed_since.NEW}
    code, line, _ = changes(capsys, project, "--changed-since", "HEAD", "--matrix")
    assert code == 0
    (chunk,) = line["include"]
    assert [entry["stack"] for entry in json.loads(chunk["stacks"])["include"]] == ["delta"]
    commit_all(project, "delta")
    code, line, _ = changes(capsys, project, "--changed-since", "HEAD", "--matrix")
    assert code == 0
    assert line == {"include": []}


def test_the_text_report_names_each_affected_stack_and_why(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_key(project / "Pulumi.alpha.yaml", "logRetentionDays", 14)
    code, out, _ = changes(capsys, project, "--changed-since", "HEAD")
    assert code == 0
    assert out.splitlines()[1:] == [f"  alpha: {changed_since.CONFIG_AND_GRAPH}"]


@pytest.mark.parametrize("ref", ["no-such-branch", "HEAD~5", "-x", " ", "HEAD:Pulumi.yaml"])
def test_a_bad_ref_is_one_error_naming_the_flag_and_the_value(
    project: Path, capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    code, out, err = changes(capsys, project, f"--changed-since={ref}", "--matrix")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"--changed-since {(ref.strip() and ref) or repr(ref)}:")


def test_a_project_outside_git_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(tmp_path, "alpha", "500000000000")
    code, _, err = changes(capsys, tmp_path, "--changed-since", "HEAD")
    assert code == 2
    assert "--changed-since HEAD" in err
    assert "not in a git repository" in err


@pytest.fixture(scope="module")
def repository_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's tracked files (as they are in the work tree) in a git repository of their own."""
    copy = tmp_path_factory.mktemp("repository")
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    init(copy)
    return copy


def plan_copy(copy: Path) -> dict[str, Any]:
    """The copy's own command, with its own program."""
    done = subprocess.run(
        [sys.executable, "-m", "drplan", "--all", "--changed-since", "HEAD", "--json"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def plan_copy_with(copy: Path, relative: str, edit: Callable[[str], str]) -> dict[str, Any]:
    """:func:`plan_copy` with one file of the copy edited (uncommitted), put back afterwards."""
    path = copy / relative
    original = path.read_text()
    try:
        path.write_text(edit(original))
        return plan_copy(copy)
    finally:
        path.write_text(original)


def test_a_program_change_that_alters_every_graph_affects_every_stack(repository_copy: Path) -> None:
    assert '{"managed-by": "pulumi",' in (repository_copy / "components" / "config.py").read_text()
    document = plan_copy_with(
        repository_copy,
        "components/config.py",
        lambda text: text.replace('{"managed-by": "pulumi",', '{"managed-by": "pulumi-dr",'),
    )
    assert document["programChanged"] is True
    assert affected(document) == dict.fromkeys(fleet.discover(REPO), changed_since.GRAPH_ONLY)


def test_a_program_change_that_alters_no_graph_affects_no_stack(repository_copy: Path) -> None:
    """Every graph is run on both sides (the program differs), and every digest is the same."""
    document = plan_copy_with(
        repository_copy,
        "components/config.py",
        lambda text: text + "\n# a comment the program does not register\n",
    )
    assert document["programChanged"] is True
    assert document["graphsRun"] == len(fleet.discover(REPO))
    assert affected(document) == {}


def test_a_docs_only_change_is_not_a_program_change(repository_copy: Path) -> None:
    document = plan_copy_with(repository_copy, "docs/fleet.md", lambda text: text + "\nA line.\n")
    assert document["programChanged"] is False
    assert document["graphsRun"] == 0
    assert affected(document) == {}
