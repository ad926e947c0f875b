"""``python -m drplan <stack> --project org``: the offline plan of the organisation stack (``org/``).

The same run as a workload stack's plan, for the other Pulumi project of the repository: its program
(``org/__main__.py``) under Pulumi's mocks with ``org/Pulumi.<stack>.yaml``, the registered resources by
account and region, and the policy pack's verdict. It has no protection matrix and no storage estimate:
the organisation stack protects nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from components.config import from_namespaced
from drplan import render, tree, verdict
from drplan.graph import StackGraph
from drplan.program import REPO, register_stack
from org.org_config import PROJECT, OrgConfig, parse

NAME = "org"
DIRECTORY = REPO / "org"
PROGRAM = DIRECTORY / "__main__.py"


def stack_file(stack: str) -> Path:
    return DIRECTORY / f"Pulumi.{stack}.yaml"


def account_labels(config: OrgConfig) -> dict[str, str]:
    accounts = config.accounts
    labels = dict.fromkeys(accounts.workloads, "workload")
    labels[accounts.reports] = "reports"
    if accounts.delegated_administrator is not None:
        labels[accounts.delegated_administrator] = "Backup delegated administrator"
    if config.verifier is not None:
        labels.setdefault(config.verifier.isolated_account, "isolated")
        labels[config.verifier.account] = "air-gap verifier"
    labels[accounts.management] = "management"
    return labels


def plan(
    stack: str,
    raw: Mapping[str, Any],
    progress: Callable[[str], None],
    check: Callable[[StackGraph], verdict.Verdict] | None,
) -> tuple[verdict.Verdict, dict[str, Any], list[str]]:
    """The verdict, the JSON document and the text; raises ConfigError on invalid config."""
    progress(f"running the organisation program for stack '{stack}' under Pulumi's mocks")
    graph = register_stack(stack, config=raw, program=PROGRAM, project=PROJECT)
    # The program accepted this config, so parsing it again cannot fail.
    config = parse(from_namespaced(raw, PROJECT), stack)
    groups = tree.group(graph)
    result = verdict.SKIPPED
    if check is not None:
        progress("sending the resources to the policy pack over its Analyzer interface")
        result = check(graph)
    progress("done")
    document = {
        "stack": stack,
        "project": PROJECT,
        "resources": {"count": len(graph.resources), "groups": [g.to_json() for g in groups]},
        "outputs": graph.outputs,
        "policy": result.to_json(),
    }
    text = [
        f"{PROJECT} offline plan · stack {stack} · {len(graph.resources)} resources",
        "(the program ran under Pulumi's mocks: nothing was deployed and no AWS API was called)",
        *render.tree(groups, account_labels(config)),
        *render.verdict(result),
    ]
    return result, document, text
