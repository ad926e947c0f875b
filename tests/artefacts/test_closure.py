"""components/lambda_code.py on small made-up repositories: what a closure takes in and what it refuses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pulumi
import pytest

from components import lambda_code
from components.lambda_code import ArchiveError, closure


def _write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_absolute_relative_and_submodule_imports_with_their_packages(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/jobs/__init__.py": "from app import shared\n",
            "app/jobs/run.py": "import json\nfrom . import helper\nfrom ..util import text\nimport boto3\n",
            "app/jobs/helper.py": "from app.data import catalog\n",
            "app/jobs/unused.py": "import pulumi\n",
            "app/util.py": "text = 1\n",
            "app/shared.py": "",
            "app/data/__init__.py": "",
            "app/data/catalog.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pulumi\n",
            "app/README.md": "docs",
        },
    )
    assert closure("app.jobs.run", root) == (
        "app/__init__.py",
        "app/data/__init__.py",
        "app/data/catalog.py",
        "app/jobs/__init__.py",
        "app/jobs/helper.py",
        "app/jobs/run.py",
        "app/shared.py",
        "app/util.py",
    )


def test_a_module_needing_what_lambda_lacks_is_refused_with_the_chain(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/run.py": "from app import middle\n",
            "app/middle.py": "def f():\n    import pydantic\n",
        },
    )
    with pytest.raises(ArchiveError, match=r"app\.run -> app\.middle -> pydantic \(app/middle\.py:2\)"):
        closure("app.run", root)


def test_a_missing_repository_module_is_refused(tmp_path: Path) -> None:
    root = _write(tmp_path, {"app/__init__.py": "", "app/run.py": "import app.gone\n"})
    with pytest.raises(ArchiveError, match=r"app\.run -> app\.gone is not a module of the repository"):
        closure("app.run", root)


def test_files_a_module_reads_beside_itself_ship_with_it(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/run.py": (
                "from importlib import resources\n"
                "TEMPLATE = 'page.html'\n"
                "def read():\n"
                "    return resources.files('app').joinpath('templates', TEMPLATE).read_text()\n"
            ),
            "app/templates/page.html": "<p>",
            "app/templates/other.html": "<p>",
        },
    )
    assert closure("app.run", root) == ("app/__init__.py", "app/run.py", "app/templates/page.html")


def test_the_archive_lists_the_closure_sorted_by_archive_path(tmp_path: Path) -> None:
    root = _write(tmp_path, {"b/__init__.py": "", "b/run.py": "import a\n", "a.py": ""})
    code = lambda_code.archive("b.run.handler", root)
    assert list(code.assets) == ["a.py", "b/__init__.py", "b/run.py"]
    paths = [Path(asset.path) for asset in code.assets.values() if isinstance(asset, pulumi.FileAsset)]
    assert paths == [
        root / "a.py",
        root / "b/__init__.py",
        root / "b/run.py",
    ]


def test_the_repository_runtime_modules_that_cannot_run_in_lambda_are_refused() -> None:
    # Command-line tools of dr_runtime that use PyYAML or Jinja: not Lambda handlers, and refused as such.
    with pytest.raises(ArchiveError, match="'yaml'"):
        closure("dr_runtime.yaml_documents")
    with pytest.raises(ArchiveError, match="'jinja2'"):
        closure("dr_runtime.fleet_report.formats")
