"""The Pulumi Cloud recipe's files (deploy/pulumi-cloud/): one ESC environment and one Deployments settings
file per stack of the repository, each logging in to that stack's own workload account through OIDC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import from_namespaced, parse
from drplan import fleet
from drplan.program import read_stack_config

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "deploy" / "pulumi-cloud"
STACKS = fleet.discover(REPO)


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), path
    return document


def workload_account(stack: str) -> str:
    # Stacks may rely on the project's shared settings, so read the config the way the fleet plan does.
    return parse(from_namespaced(read_stack_config(STACKS[stack])), stack).accounts.workload


def test_every_stack_has_an_environment_and_deployment_settings_and_nothing_else() -> None:
    environments = {p.stem for p in (RECIPE / "environments").glob("*.yaml")}
    settings = {
        p.name.removeprefix("Pulumi.").removesuffix(".deploy.yaml")
        for p in RECIPE.glob("Pulumi.*.deploy.yaml")
    }
    assert environments == set(STACKS)
    assert settings == set(STACKS)


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_the_environment_logs_in_to_the_stacks_workload_account_through_oidc(stack: str) -> None:
    values = load(RECIPE / "environments" / f"{stack}.yaml")["values"]
    login = values["aws"]["login"]["fn::open::aws-login"]
    assert set(login) == {"oidc"}, "no static credentials"
    role = login["oidc"]["roleArn"]
    assert role.startswith(f"arn:aws:iam::{workload_account(stack)}:role/")
    assert values["environmentVariables"] == {
        "AWS_ACCESS_KEY_ID": "${aws.login.accessKeyId}",
        "AWS_SECRET_ACCESS_KEY": "${aws.login.secretAccessKey}",
        "AWS_SESSION_TOKEN": "${aws.login.sessionToken}",
    }


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_deployment_settings_deploy_main_when_the_stack_or_program_changes(stack: str) -> None:
    settings = load(RECIPE / f"Pulumi.{stack}.deploy.yaml")["settings"]
    assert settings["sourceContext"]["git"] == {"branch": "refs/heads/main", "repoDir": "."}
    github = settings["gitHub"]
    assert github["deployCommits"] is True
    assert github["previewPullRequests"] is True
    assert {f"Pulumi.{stack}.yaml", "Pulumi.yaml", "**.py"} <= set(github["paths"])
    assert "oidc" not in settings.get("operationContext", {}), "credentials come from the ESC environment"
