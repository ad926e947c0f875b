"""Every Lambda function the programs register, read from the recorded graphs: its archive, environment,
schedule input and execution role with the role's policies, in the engine's shape."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drplan.graph import RegisteredResource, StackGraph
from drplan.program import REPO

FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
STACKS = tuple(
    sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO.glob("Pulumi.*.yaml"))
)


@dataclass(frozen=True)
class PassedRole:
    trust_policy: str
    inline_policies: tuple[str, ...]


@dataclass(frozen=True)
class LambdaFunction:
    stack: str
    name: str
    handler: str
    region: str
    account: str
    assets: dict[str, str]
    """Archive path -> the file registered for it."""
    environment: dict[str, str]
    schedule_input: str
    role_name: str
    trust_policy: str
    inline_policies: dict[str, str]
    managed_policy_arns: tuple[str, ...]
    passed_roles: dict[str, PassedRole] = field(default_factory=dict)
    """Role ARN -> the role, for each role of the stack whose ARN the function's environment names (a role
    the function hands to a service, e.g. the OpenSearch snapshot role)."""

    @property
    def id(self) -> str:
        return f"{self.stack}:{self.name}"

    def lay_out(self, directory: Path) -> Path:
        """The archive's files as Lambda unpacks them into its task root."""
        for target, source in self.assets.items():
            (directory / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, directory / target)
        return directory


def _assets(code: dict[str, Any]) -> dict[str, str]:
    assets = code.get("assets")
    assert isinstance(assets, dict), f"code is not an asset archive: {json.dumps(code)[:200]}"
    found: dict[str, str] = {}
    for target, asset in sorted(assets.items()):
        assert "path" in asset, f"{target}: not a file asset: {asset}"
        assert Path(asset["path"]).is_file(), f"{target}: {asset['path']} is not a file"
        found[target] = asset["path"]
    return found


def _depends_on(resource: RegisteredResource, key: str, urn: str) -> bool:
    return urn in resource.property_dependencies.get(key, ())


def _passed_roles(graph: StackGraph, environment: dict[str, str]) -> dict[str, PassedRole]:
    named = {value.rsplit("/", 1)[1]: value for value in environment.values() if ":role/" in value}
    return {
        named[role.id]: PassedRole(
            role.inputs["assumeRolePolicy"],
            tuple(p.inputs["policy"] for p in graph.by_type(ROLE_POLICY) if _depends_on(p, "role", role.urn)),
        )
        for role in graph.by_type(ROLE)
        if role.id in named
    }


def functions(graph: StackGraph) -> list[LambdaFunction]:
    by_urn = graph.by_urn()
    found: list[LambdaFunction] = []
    for function in graph.by_type(FUNCTION):
        inputs = function.inputs
        (role_urn,) = function.property_dependencies["role"]
        role = by_urn[role_urn]
        schedules = [s for s in graph.by_type(SCHEDULE) if _depends_on(s, "target", function.urn)]
        assert len(schedules) == 1, f"{inputs['name']}: {len(schedules)} schedules"
        provider = by_urn[function.provider_urn]
        found.append(
            LambdaFunction(
                stack=graph.stack,
                name=inputs["name"],
                handler=inputs["handler"],
                region=provider.inputs["region"],
                account=json.loads(provider.inputs["allowedAccountIds"])[0],
                assets=_assets(inputs["code"]),
                environment=(environment := dict((inputs.get("environment") or {}).get("variables", {}))),
                schedule_input=schedules[0].inputs["target"]["input"],
                role_name=inputs["role"].rsplit("/", 1)[1],
                trust_policy=role.inputs["assumeRolePolicy"],
                inline_policies={
                    p.name: p.inputs["policy"]
                    for p in graph.by_type(ROLE_POLICY)
                    if _depends_on(p, "role", role_urn)
                },
                managed_policy_arns=tuple(
                    sorted(
                        a.inputs["policyArn"]
                        for a in graph.by_type(ATTACHMENT)
                        if _depends_on(a, "role", role_urn)
                    )
                ),
                passed_roles=_passed_roles(graph, environment),
            )
        )
    return found


_ALL: list[LambdaFunction] = []
_VAULT_POLICIES: dict[str, str] = {}


def _vault_policies(graph: StackGraph) -> None:
    for policy in graph.by_type("aws:backup/vaultPolicy:VaultPolicy"):
        _VAULT_POLICIES[policy.inputs["backupVaultName"]] = policy.inputs["policy"]


def every_function() -> list[LambdaFunction]:
    """Every function of every stack file at the root, and of the organisation stack (it has none yet)."""
    if not _ALL:
        from drplan.program import register_stack
        from tests.isolated.isolated_graphs import STACKS as ISOLATED_STACKS
        from tests.isolated.isolated_graphs import run_isolated
        from tests.org.org_graphs import org_stack_config, run_org

        for stack in STACKS:
            graph = register_stack(stack)
            _ALL.extend(functions(graph))
            _vault_policies(graph)
        # The isolated account's vaults and their policies are the isolated stacks' (docs/isolated-account.md).
        for stack in ISOLATED_STACKS:
            _vault_policies(run_isolated(stack))
        _ALL.extend(functions(run_org(org_stack_config())))
    return _ALL


def registered_vault_policy(vault_name: str) -> str:
    """The access policy registered for ``vault_name``: by a workload stack for its vaults, by the isolated
    stack for the air-gapped and locked ones."""
    every_function()
    return _VAULT_POLICIES[vault_name]
