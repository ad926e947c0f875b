"""No arrow runs back up between the code's folders, read from every module's syntax tree.

The ground floor (``dr_model/``) imports nothing of the repository and no Pulumi, boto3 or pydantic; the
runtime (``dr_runtime/``) imports neither the Pulumi layer (``components/``), the organisation project
(``org/``), the offline plan (``drplan/``) nor pydantic. Both directions are tested: the scan must also
catch an arrow planted in a scratch tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REPOSITORY_PACKAGES = frozenset(
    {"components", "org", "drplan", "dr_runtime", "dr_model", "policies", "isolated"}
)
GROUND_FORBIDDEN = REPOSITORY_PACKAGES - {"dr_model"} | {
    "pulumi",
    "pulumi_aws",
    "boto3",
    "botocore",
    "pydantic",
}
RUNTIME_FORBIDDEN = frozenset({"components", "org", "drplan", "pydantic", "pulumi", "pulumi_aws"})
# The one arrow left (issue 20 item 2): the fleet report's --stack-file flag reads the organisation config.
# Another helper edits dr_runtime/fleet_report; this list must only shrink.
KNOWN_RUNTIME_ARROWS = frozenset(
    {
        ("dr_runtime/fleet_report/__main__.py", "components"),
        ("dr_runtime/fleet_report/__main__.py", "org"),
    }
)


def _imported_tops(path: Path) -> set[str]:
    """Top-level packages a module imports (absolute imports; relative ones stay inside their package)."""
    tops: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            tops.add(node.module.split(".")[0])
    return tops


def arrows(root: Path, package: str, forbidden: frozenset[str]) -> set[tuple[str, str]]:
    """``(module path, forbidden package)`` for every forbidden import under ``root/package``."""
    return {
        (path.relative_to(root).as_posix(), top)
        for path in sorted((root / package).rglob("*.py"))
        for top in _imported_tops(path) & forbidden
    }


def test_the_ground_floor_imports_nothing_of_the_repository() -> None:
    assert arrows(REPO, "dr_model", GROUND_FORBIDDEN) == set()


def test_the_runtime_imports_no_pulumi_layer_other_project_or_pydantic() -> None:
    assert arrows(REPO, "dr_runtime", RUNTIME_FORBIDDEN) <= KNOWN_RUNTIME_ARROWS


@pytest.mark.parametrize(
    ("source", "package", "forbidden", "found"),
    [
        ("from components import catalog\n", "dr_runtime", RUNTIME_FORBIDDEN, "components"),
        ("import pydantic.alias_generators\n", "dr_runtime", RUNTIME_FORBIDDEN, "pydantic"),
        ("def f():\n    from drplan import cli\n", "dr_runtime", RUNTIME_FORBIDDEN, "drplan"),
        ("from dr_runtime.errors import X\n", "dr_model", GROUND_FORBIDDEN, "dr_runtime"),
        ("import boto3\n", "dr_model", GROUND_FORBIDDEN, "boto3"),
    ],
)
def test_the_scan_catches_a_planted_arrow(
    tmp_path: Path, source: str, package: str, forbidden: frozenset[str], found: str
) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "planted.py").write_text(source, encoding="utf-8")
    assert arrows(tmp_path, package, forbidden) == {(f"{package}/planted.py", found)}


@pytest.mark.parametrize(
    ("source", "package", "forbidden"),
    [
        ("from dr_model import catalog\nimport boto3\n", "dr_runtime", RUNTIME_FORBIDDEN),
        ("from . import cron\nfrom collections.abc import Mapping\n", "dr_model", GROUND_FORBIDDEN),
    ],
)
def test_the_scan_lets_allowed_imports_through(
    tmp_path: Path, source: str, package: str, forbidden: frozenset[str]
) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "fine.py").write_text(source, encoding="utf-8")
    assert arrows(tmp_path, package, forbidden) == set()
