"""Moving a workload stack's isolated-account resources into the isolated account's stack, replacing nothing.

Before this project existed, each workload stack registered, with its ``archive`` provider, a component
``archive`` (``components/archive.py``) and its children ``archive-vault``, ``archive-share``, ... One
isolated stack now holds those of every workload account, so each takes the account into its name
(``archive-<account>``, ``archive-<account>-vault``, ...; ``isolated/isolated_stack.py``). A URN carries the
stack, the project, the parent's *type* and the name, not the parent's name: moved unrenamed, two
accounts' ``archive-vault`` would have the same URN in the isolated stack. So the steps rename first, in
the workload stack's state, then move (docs/isolated-account.md has the whole procedure and its sources).

The RAM share's accepter (``shareWith: invitation``) is the one resource under the component that the
workload account itself registers (with its ``origin`` provider): it stays with the workload stack, which
imports it again at the top level of its program.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config import PROJECT as WORKLOAD_PROJECT
from isolated.isolated_config import PROJECT as ISOLATED_PROJECT
from isolated.isolated_stack import archive_name

COMPONENT = "archive"
"""The old component's, and its provider's, logical name in every workload stack."""
COMPONENT_TYPE = "aws-dr-backup:backup:AirGappedArchive"
PROVIDER_TYPE = "pulumi:providers:aws"
ACCEPTER_TYPE = "aws:ram/resourceShareAccepter:ResourceShareAccepter"
PRINCIPAL_TYPE = "aws:ram/principalAssociation:PrincipalAssociation"


def new_name(old: str, workload_account: str) -> str:
    """``archive`` -> ``archive-<account>``; ``archive-<rest>`` -> ``archive-<account>-<rest>``."""
    if old != COMPONENT and not old.startswith(f"{COMPONENT}-"):
        raise ValueError(f"{old!r} is not a name of the workload stacks' archive (archive or archive-...)")
    return archive_name(workload_account) + old.removeprefix(COMPONENT)


def urn(stack: str, project: str, type_: str, name: str, parent_type: str | None = None) -> str:
    qualified = type_ if parent_type is None else f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


@dataclass(frozen=True)
class Resource:
    """One resource of the old layout, as the workload stack's state holds it."""

    type: str
    name: str
    parent_type: str | None = None


def commands(
    organization: str,
    workload_stack: str,
    isolated_stack: str,
    workload_account: str,
    resources: list[Resource],
) -> list[str]:
    """The Pulumi CLI commands, in order, that move ``resources`` (the old archive, its children and its
    provider) from the workload stack to the isolated stack under their new names. Stacks are named fully
    (``<organization>/<project>/<stack>``): the two stacks belong to different projects of one backend."""
    source = f"{organization}/{WORKLOAD_PROJECT}/{workload_stack}"
    moved = [r for r in resources if r.type != ACCEPTER_TYPE]
    children = [r for r in moved if r.parent_type == COMPONENT_TYPE]
    tops = [r for r in moved if r.parent_type is None]
    kept = [r for r in resources if r.type == ACCEPTER_TYPE]
    steps = [
        # The accepter would move with its parent: out of the state first (the acceptance stays in AWS);
        # the workload stack imports it again under its new place (docs/isolated-account.md).
        *(
            f"pulumi state delete --stack {source} --yes "
            f"'{urn(workload_stack, WORKLOAD_PROJECT, r.type, r.name, r.parent_type)}'"
            for r in kept
        ),
        # Children first: renaming the component changes its URN, which the children's name in
        # these commands would no longer match otherwise [inferred: rename rewrites parent references].
        *(
            f"pulumi state rename --stack {source} --yes "
            f"'{urn(workload_stack, WORKLOAD_PROJECT, r.type, r.name, r.parent_type)}' "
            f"{new_name(r.name, workload_account)}"
            for r in children
        ),
        *(
            f"pulumi state rename --stack {source} --yes "
            f"'{urn(workload_stack, WORKLOAD_PROJECT, r.type, r.name)}' {new_name(r.name, workload_account)}"
            for r in sorted(tops, key=lambda r: r.type == PROVIDER_TYPE)
        ),
    ]
    component = urn(workload_stack, WORKLOAD_PROJECT, COMPONENT_TYPE, archive_name(workload_account))
    steps.append(
        f"pulumi state move --source {source} --dest {organization}/{ISOLATED_PROJECT}/{isolated_stack} --yes "
        f"'{component}'"
    )
    return steps


class ExportError(ValueError):
    """The file is not a ``pulumi stack export`` of a workload stack with the old layout."""


def _type_and_name(resource_urn: str) -> tuple[str, str, str | None]:
    """``urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`` -> (type, name, parent type)."""
    parts = resource_urn.split("::")
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        raise ExportError(f"{resource_urn!r} is not a Pulumi URN")
    types, name = parts[2].split("$"), "::".join(parts[3:])
    return types[-1], name, types[-2] if len(types) > 1 else None


def from_export(document: Any, workload_stack: str) -> tuple[str, list[Resource]]:
    """The workload account and the old archive's resources (component, children, provider) of a
    ``pulumi stack export`` document of ``workload_stack``."""
    resources = document.get("deployment", {}).get("resources") if isinstance(document, dict) else None
    if not isinstance(resources, list):
        raise ExportError("has no deployment.resources list: give the output of `pulumi stack export`")
    component = urn(workload_stack, WORKLOAD_PROJECT, COMPONENT_TYPE, COMPONENT)
    provider = urn(workload_stack, WORKLOAD_PROJECT, PROVIDER_TYPE, COMPONENT)
    found: list[Resource] = []
    account = None
    for entry in resources:
        resource_urn = entry.get("urn", "") if isinstance(entry, dict) else ""
        if resource_urn in (component, provider) or entry.get("parent") == component:
            type_, name, parent_type = _type_and_name(resource_urn)
            found.append(Resource(type_, name, parent_type))
            if type_ == PRINCIPAL_TYPE:
                account = entry.get("inputs", {}).get("principal")
    if not any(r.type == COMPONENT_TYPE for r in found):
        raise ExportError(
            f"has no {component}: already moved, or not an export of stack {workload_stack} of {WORKLOAD_PROJECT}"
        )
    if not isinstance(account, str) or not re.fullmatch(r"[0-9]{12}", account):
        raise ExportError(
            f"names no workload account: {PRINCIPAL_TYPE} archive-share-workload has no principal"
        )
    return account, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m isolated.migration",
        description="Print the pulumi state commands that move a workload stack's isolated-account resources "
        "into the isolated account's stack, renamed (docs/isolated-account.md). Changes nothing itself.",
    )
    parser.add_argument("export", type=Path, help="the workload stack's `pulumi stack export --file` output")
    parser.add_argument("--organization", required=True, help="the Pulumi organisation of both stacks")
    parser.add_argument("--workload-stack", required=True, help="the workload stack's name, e.g. prod")
    parser.add_argument(
        "--isolated-stack", required=True, help="the isolated stack, e.g. isolated-222222222222"
    )
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.export.read_text())
        account, resources = from_export(document, args.workload_stack)
    except (OSError, json.JSONDecodeError, ExportError) as exc:
        print(f"error: {args.export}: {exc}", file=sys.stderr)
        return 2
    print(
        "\n".join(commands(args.organization, args.workload_stack, args.isolated_stack, account, resources))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
