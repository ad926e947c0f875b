"""What a Lambda function's archive holds: the closure of its handler module's imports in the repository.

Derived, not listed: starting from the handler's module, every repository module it imports (absolute
and relative imports, ``from package import name`` where ``name`` is a submodule), the ``__init__.py`` of
every package on the way, and the data files a module reads beside itself, found statically from each
module's syntax tree. Imports under ``if TYPE_CHECKING:`` do not run and are not followed.

The Lambda Python runtime has the standard library and the AWS SDK (``LAMBDA_PROVIDED``) only: a module
in the closure that imports anything else (Pulumi, pydantic, PyYAML...) is an ``ArchiveError`` naming the
chain of imports that reached it. The archive lists its files sorted by their path in the archive, each
path relative to the repository root, so an unchanged repository gives an unchanged archive.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pulumi

REPO_ROOT = Path(__file__).resolve().parent.parent

LAMBDA_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"})
"""Top-level packages of the Lambda Python runtime besides the standard library: the SDK for Python
(boto3) and its dependencies (docs/lambda-artefacts.md)."""

# Ways a module finds files beside itself at run time; such a module ships the files it names.
_FILE_READERS = frozenset({"importlib.resources", "pkgutil"})


class ArchiveError(ValueError):
    """A handler's closure reaches a module the Lambda runtime cannot import."""


@dataclass(frozen=True)
class _Import:
    name: str
    """The absolute dotted name imported (``a.b`` for ``from a import b`` as well as ``import a.b``)."""
    line: int


def _module_file(root: Path, name: str) -> Path | None:
    """The repository file that defines module ``name``, or ``None`` when it is not the repository's."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_repository_package(root: Path, top: str) -> bool:
    return (root / f"{top}.py").is_file() or (root / top).is_dir()


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(tree: ast.AST) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, except the bodies of ``if TYPE_CHECKING:`` (their ``else``
    runs and is kept). Imports are statements, so expressions are not visited: a module's syntax tree has
    several times more expression nodes than statements, and the plan derives every job's archive."""
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for node in getattr(tree, field, ()):
            if isinstance(node, ast.If) and _type_checking_only(node):
                for other in node.orelse:
                    yield other
                    yield from _walk(other)
                continue
            if isinstance(node, ast.stmt):
                yield node
            yield from _walk(node)  # also an except handler's or a match case's body


def _imports(tree: ast.Module, module: str, path: Path, root: Path) -> list[_Import]:
    found: list[_Import] = []
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            found.extend(_Import(alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(module, path).split(".")
                base_parts = package[: len(package) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.append(_Import(base, node.lineno))
            for alias in node.names:
                # ``from package import name``: a submodule when the package has a file of that name.
                if alias.name != "*" and _module_file(root, f"{base}.{alias.name}") is not None:
                    found.append(_Import(f"{base}.{alias.name}", node.lineno))
    return found


def _string_constants(tree: ast.Module) -> set[str]:
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _reads_files(tree: ast.Module, path: Path) -> bool:
    source = _source(path)
    # ``from importlib import resources`` names the reader in parts: look for each top-level name.
    if not any(word in source for word in ("__file__", *{r.split(".")[0] for r in _FILE_READERS})):
        return False  # cannot name either: no need to walk the whole tree
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "__file__":
            return True
        if isinstance(node, ast.Import) and any(a.name in _FILE_READERS for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module is not None and not node.level:
            named = {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            if named & _FILE_READERS:
                return True
    return False


def _data_files(tree: ast.Module, path: Path) -> list[Path]:
    """Files of the module's package (not Python, not caches) that the module names in a string, when it
    reads files beside itself (``importlib.resources``, ``pkgutil`` or ``__file__``)."""
    if not _reads_files(tree, path):
        return []
    named = _string_constants(tree)
    return sorted(
        candidate
        for candidate in path.parent.rglob("*")
        if candidate.is_file()
        and candidate.suffix not in (".py", ".pyc")
        and "__pycache__" not in candidate.parts
        and candidate.name in named
    )


@cache
def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(_source(path), filename=str(path))


def closure(handler_module: str, root: Path = REPO_ROOT) -> tuple[str, ...]:
    """The archive paths (relative to ``root``, ``/``-separated, sorted) of everything ``handler_module``
    needs: its module, the repository modules it imports transitively, their packages' ``__init__.py``
    files, and the data files they read. Raises ``ArchiveError`` for an import the Lambda runtime lacks.
    Computed once per handler, root and runtime in a process, as the sources it reads are (a fleet plan
    runs the program for every stack in the same worker)."""
    return _closure(handler_module, root, LAMBDA_PROVIDED)


@cache
def _closure(handler_module: str, root: Path, provided: frozenset[str]) -> tuple[str, ...]:
    files: set[Path] = set()
    chains: dict[str, tuple[str, ...]] = {}
    pending: list[tuple[str, tuple[str, ...]]] = [(handler_module, ())]
    while pending:
        name, via = pending.pop()
        parts = name.split(".")
        # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
        for depth in range(1, len(parts) + 1):
            prefix = ".".join(parts[:depth])
            if prefix in chains:
                continue
            path = _module_file(root, prefix)
            if path is None:
                if root.joinpath(*prefix.split(".")).is_dir():
                    chains[prefix] = (*via, prefix)  # a namespace package: nothing to ship
                    continue
                missing = " -> ".join((*via, prefix))
                raise ArchiveError(f"{handler_module}: {missing} is not a module of the repository")
            chain = (*via, prefix)
            chains[prefix] = chain
            files.add(path)
            tree = _parse(path)
            imports = _imports(tree, prefix, path, root)
            files.update(_data_files(tree, path))
            for found in imports:
                top = found.name.split(".")[0]
                if _is_repository_package(root, top):
                    pending.append((found.name, chain))
                elif top not in sys.stdlib_module_names and top not in provided:
                    shown = " -> ".join((*chain, found.name))
                    relative = path.relative_to(root).as_posix()
                    raise ArchiveError(
                        f"{handler_module} cannot run in Lambda: {shown} ({relative}:{found.line}) imports "
                        f"{top!r}, which the Lambda Python runtime does not have (it has the standard "
                        f"library and {', '.join(sorted(provided))})"
                    )
    return tuple(sorted(path.relative_to(root).as_posix() for path in files))


def handler_module(handler: str) -> str:
    """``package.module.function`` -> ``package.module``."""
    return handler.rpartition(".")[0]


def archive(handler: str, root: Path = REPO_ROOT) -> pulumi.AssetArchive:
    """The function's code: one file asset per file of the handler's closure, keyed by its archive path."""
    return pulumi.AssetArchive(
        {path: pulumi.FileAsset(str(root / path)) for path in closure(handler_module(handler), root)}
    )
