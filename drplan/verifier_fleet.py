"""The organisation stack's verifier fleet, read for the fleet plan's check against the workload stacks.

``python -m drplan --all`` compares each org stack file's ``verifier`` section (``org/Pulumi.<stack>.yaml``
under the project directory) with the workload stacks it planned (``fleet_checks.verifier_fleet``). The
section is validated by the org stack's own code (``org.org_config.parse``, ``org.verifier_config.plan``),
so the vault names and isolated accounts compared are the ones the deployed verifier is given.
"""

from __future__ import annotations

from pathlib import Path

from components.config import ConfigError, from_namespaced
from drplan import project_files
from drplan.fleet_checks import CONFLICT, VERIFIER_FLEET, Finding, VerifierFleet
from drplan.program import StackFileError, read_stack_config
from org import verifier_config
from org.org_config import PROJECT, parse

ORG_DIRECTORY = "org"


def org_stack_files(project_dir: Path) -> list[Path]:
    """The organisation stack files under ``project_dir`` (none when the directory has no ``org/``)."""
    return sorted((project_dir / ORG_DIRECTORY).glob("Pulumi.*.yaml"))


def read(path: Path, shown: str) -> VerifierFleet | Finding | None:
    """The file's verifier fleet; None when it has no ``verifier`` section; a finding naming the file when
    it cannot be read or validated (the org stack's plan gives the details too)."""
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    try:
        org = parse(from_namespaced(read_stack_config(path), PROJECT), stack)
        plan = verifier_config.plan(org)
    except (StackFileError, ConfigError, ValueError) as exc:
        return Finding(
            VERIFIER_FLEET,
            CONFLICT,
            (),
            f"{shown}: the verifier's fleet cannot be compared with the stacks: {exc}",
        )
    if plan is None:
        return None
    verifier = plan.verifier
    prefixes = {
        account.strip(): prefix.strip()
        for account, _, prefix in (entry.partition("=") for entry in verifier.fleet)
    }
    return VerifierFleet(
        file=shown,
        vaults={
            account.account_id: (plan.runtime.isolated_account, account.vault_name)
            for account in plan.runtime.fleet
        },
        prefixes=prefixes,
        unverified=dict(verifier.unverified),
    )


def load(project_dir: Path) -> tuple[list[VerifierFleet], list[Finding]]:
    """Every org stack file's verifier fleet, and a finding for each file that could not be read."""
    return project_files.read_all(org_stack_files(project_dir), project_dir, read)
