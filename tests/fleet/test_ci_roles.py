"""The workflows' roles, split by GitHub's OIDC ``sub`` claim (deploy/github_oidc.py, docs/pipelines.md).

Each trust policy is judged with the repository's IAM evaluator (tests/org/policy_evaluator.py) as STS
would judge ``AssumeRoleWithWebIdentity``: the role's own job kind gets in, every other kind, another
repository, another account's provider and a wrong audience do not. The preview role's policy is judged
against every operation botocore knows for the services it names: only reads are allowed, and roles,
PassRole and backup writes are denied. The sub each workflow job would carry is derived from the workflow
files themselves, so a job naming the wrong role variable fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml

from deploy import github_oidc as oidc
from deploy.github_oidc_cli import main as cli
from dr_runtime import vault_names
from drplan import fleet
from isolated import matrix as isolated_matrix
from org import scp_documents
from org.org_config import parse
from tests.org.org_graphs import NS, org_stack_config
from tests.org.policy_evaluator import Request, allowed, denying, statement_allows

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
GITHUB = oidc.Repository("acme", "aws-dr-backup")
WORKLOAD = "111111111111"
ISOLATED = "222222222222"
ROLE_VARIABLES = {
    "AWS_PREVIEW_ROLE_NAME": oidc.RoleKind.PREVIEW,
    "AWS_DEPLOY_ROLE_NAME": oidc.RoleKind.DEPLOY,
    "AWS_ISOLATED_DEPLOY_ROLE_NAME": oidc.RoleKind.ISOLATED,
}
ROLE_ACCOUNT = {
    oidc.RoleKind.PREVIEW: WORKLOAD,
    oidc.RoleKind.DEPLOY: WORKLOAD,
    oidc.RoleKind.ISOLATED: ISOLATED,
}


def trust(kind: oidc.RoleKind, environments: tuple[str, ...] = ()) -> dict[str, Any]:
    documents = oidc.role_documents(kind, GITHUB, ROLE_ACCOUNT[kind], environments)
    policy = documents["trustPolicy"]
    assert isinstance(policy, dict)
    return policy


def may_assume(
    policy: dict[str, Any], sub: str, *, account: str, aud: str = oidc.AUDIENCE, provider: str | None = None
) -> bool:
    request = Request(
        action=oidc.WEB_IDENTITY,
        resource=f"arn:aws:iam::{account}:role/any",
        principal_arn=provider or oidc.provider_arn(account),
        context={oidc.SUB_KEY: sub, oidc.AUD_KEY: aud},
    )
    return allowed([policy], request)


PR = oidc.pull_request_subject(GITHUB)
MAIN = f"repo:{GITHUB}:ref:refs/heads/main"
PRODUCTION = oidc.environment_subject(GITHUB, "production")
STAGING = oidc.environment_subject(GITHUB, "staging")
ISOLATED_JOB = oidc.environment_subject(GITHUB, oidc.ISOLATED_ENVIRONMENT)
EVERY_SUB = (PR, MAIN, PRODUCTION, STAGING, ISOLATED_JOB, f"repo:{GITHUB}:ref:refs/heads/feature")
ADMITTED = {
    oidc.RoleKind.PREVIEW: {PR},
    oidc.RoleKind.DEPLOY: {PRODUCTION, STAGING},
    oidc.RoleKind.ISOLATED: {ISOLATED_JOB},
}


@pytest.mark.parametrize("kind", list(oidc.RoleKind))
@pytest.mark.parametrize("sub", EVERY_SUB)
def test_each_role_admits_its_own_jobs_subject_and_refuses_every_other(kind: oidc.RoleKind, sub: str) -> None:
    assert may_assume(trust(kind), sub, account=ROLE_ACCOUNT[kind]) is (sub in ADMITTED[kind])


@pytest.mark.parametrize("kind", list(oidc.RoleKind))
def test_no_other_repository_audience_or_provider_gets_in(kind: oidc.RoleKind) -> None:
    policy, account = trust(kind), ROLE_ACCOUNT[kind]
    (own,) = sorted(ADMITTED[kind])[:1]
    assert may_assume(policy, own, account=account)
    # The same job in a fork, a look-alike name, or spelt with a wildcard: StringEquals, no pattern.
    for other in ("acme/aws-dr-backup-fork", "evil/aws-dr-backup", "acme/aws-dr-backup2"):
        assert not may_assume(policy, own.replace(str(GITHUB), other), account=account), other
    assert not may_assume(policy, f"repo:{GITHUB}:*", account=account)
    assert not may_assume(policy, own, account=account, aud="https://github.com/acme")
    other_provider = oidc.provider_arn("999999999999")
    assert not may_assume(policy, own, account=account, provider=other_provider)


@pytest.mark.parametrize("kind", list(oidc.RoleKind))
def test_no_role_can_reach_a_pipeline_role_by_chaining(kind: oidc.RoleKind) -> None:
    """The preview role (or any role of the account) calling sts:AssumeRole on a pipeline role: the trust
    names only GitHub's provider, so it is refused; the workload deploy role cannot reach the isolated one."""
    for caller in (
        f"arn:aws:iam::{WORKLOAD}:role/{oidc.PREVIEW_ROLE}",
        f"arn:aws:iam::{WORKLOAD}:role/{oidc.DEPLOY_ROLE}",
        f"arn:aws:iam::{ISOLATED}:root",
    ):
        request = Request("sts:AssumeRole", f"arn:aws:iam::{ROLE_ACCOUNT[kind]}:role/x", caller)
        assert not allowed([trust(kind)], request)


def test_a_deploy_role_trusts_only_the_environments_given() -> None:
    policy = trust(oidc.RoleKind.DEPLOY, ("production",))
    assert may_assume(policy, PRODUCTION, account=WORKLOAD)
    assert not may_assume(policy, STAGING, account=WORKLOAD)


def test_the_evaluator_allows_by_principal_action_and_condition_and_lets_a_deny_win() -> None:
    """The evaluator's allow path, both ways, as IAM decides: an explicit deny beats an allow; no allow is
    the implicit deny."""
    allow_all = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}
    request = Request("s3:GetObject", "arn:aws:s3:::b/k", "arn:aws:iam::111111111111:role/r")
    assert statement_allows(allow_all, request)
    assert not statement_allows({**allow_all, "Resource": "arn:aws:s3:::c/*"}, request)
    assert not statement_allows({**allow_all, "Action": "s3:Put*"}, request)
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}
    assert allowed([{"Statement": [allow_all]}], request)
    assert not allowed([{"Statement": [allow_all, deny]}], request)
    assert not allowed([{"Statement": []}], request)
    with pytest.raises(NotImplementedError):
        statement_allows({**allow_all, "Principal": {"AWS": "*"}}, request)


# --- the preview role's policy -------------------------------------------------------------------------

READ_VERBS = ("Describe", "Get", "List")
SERVICE_MODELS = {
    "backup": "backup",
    "cloudwatch": "cloudwatch",
    "dynamodb": "dynamodb",
    "events": "events",
    "iam": "iam",
    "kms": "kms",
    "lambda": "lambda",
    "logs": "logs",
    "ram": "ram",
    "s3": "s3",
    "scheduler": "scheduler",
    "sns": "sns",
    "sqs": "sqs",
    "sts": "sts",
}
# Reads that hand out data or credentials rather than describing a resource: not allowed.
NOT_FOR_A_PREVIEW = {
    "s3:GetObject",
    "sts:GetSessionToken",
    "sts:GetFederationToken",
    "logs:GetLogEvents",
    "logs:GetQueryResults",
}


def operations() -> list[str]:
    session = botocore.session.get_session()
    return [
        f"{prefix}:{operation}"
        for prefix, model in SERVICE_MODELS.items()
        for operation in session.get_service_model(model).operation_names
    ]


def preview_may(action: str) -> bool:
    return allowed([oidc.preview_policy()], Request(action, "*", f"arn:aws:iam::{WORKLOAD}:role/p"))


def test_the_preview_role_may_call_reads_only() -> None:
    every = operations()
    assert len(every) > 500
    granted = [a for a in every if preview_may(a)]
    assert granted, "the preview reads nothing"
    writes = [a for a in granted if not a.split(":", 1)[1].startswith(READ_VERBS)]
    assert writes == []
    assert not [a for a in granted if a in NOT_FOR_A_PREVIEW]
    for needed in (
        "backup:DescribeBackupVault",
        "backup:GetBackupPlan",
        "backup:ListBackupSelections",
        "kms:DescribeKey",
        "iam:GetRole",
        "sts:GetCallerIdentity",
        "s3:GetBucketPolicy",
    ):
        assert needed in granted, needed


@pytest.mark.parametrize(
    "action",
    [
        "iam:PassRole",
        "sts:AssumeRole",
        "sts:AssumeRoleWithWebIdentity",
        "backup:DeleteRecoveryPoint",
        "backup:DeleteBackupVault",
        "backup:PutBackupVaultAccessPolicy",
        "backup:UpdateRecoveryPointLifecycle",
        "backup:DeleteBackupVaultLockConfiguration",
        "backup:StartBackupJob",
        "backup:UpdateRegionSettings",
        "kms:ScheduleKeyDeletion",
        "kms:PutKeyPolicy",
        "iam:PutRolePolicy",
        "s3:PutBucketPolicy",
        "events:PutRule",
    ],
)
def test_the_preview_role_cannot_write_assume_or_pass(action: str) -> None:
    assert not preview_may(action)


@pytest.mark.parametrize("action", ["iam:PassRole", "sts:AssumeRole", "backup:DeleteRecoveryPoint"])
def test_the_preview_deny_holds_even_if_an_administrator_attaches_more(action: str) -> None:
    """Its own deny wins over any allow added beside it (AdministratorAccess-like)."""
    admin = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    request = Request(action, "*", f"arn:aws:iam::{WORKLOAD}:role/p")
    assert allowed([admin], request)
    assert not allowed([admin, oidc.preview_policy()], request)


# --- the workflows: the sub each job carries, the role it names ---------------------------------------


def load(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    return document


def role_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    """Every (workflow, job, job definition) with a step assuming a role."""
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in load(path.name)["jobs"].items():
            if any("role-to-assume" in step.get("with", {}) for step in job.get("steps", [])):
                found.append((path.name, name, job))
    return found


def events(workflow: str) -> set[str]:
    """The events that run ``workflow``: its own, or its callers' for a reusable one."""
    on = set(load(workflow)[True])  # YAML 1.1 reads the key `on` as true
    if on != {"workflow_call"}:
        return on
    callers = set()
    for path in WORKFLOWS.glob("*.yml"):
        for job in load(path.name)["jobs"].values():
            if job.get("uses") == f"./.github/workflows/{workflow}":
                callers |= events(path.name)
    assert callers, f"{workflow} is called by no workflow"
    return callers


def subjects(workflow: str, job: dict[str, Any], environments: set[str]) -> set[str]:
    """The subs GitHub gives the job's token: the environment's when the job names one, else the event's
    (pull_request) or the branch's (push to main; workflow_dispatch runs on a chosen ref)."""
    environment = job.get("environment")
    if environment is not None:
        if environment == "${{ matrix.environment }}":
            return {oidc.environment_subject(GITHUB, e) for e in environments}
        assert "${{" not in environment, environment
        return {oidc.environment_subject(GITHUB, environment)}
    found = set()
    for event in events(workflow):
        if event == "pull_request":
            found.add(oidc.pull_request_subject(GITHUB))
        elif event == "push":
            found.add(MAIN)
        else:
            found.add(f"repo:{GITHUB}:ref:refs/heads/<any branch>")
    return found


def named_role(job: dict[str, Any]) -> oidc.RoleKind:
    (arn,) = [s["with"]["role-to-assume"] for s in job["steps"] if "role-to-assume" in s.get("with", {})]
    match = re.fullmatch(r"arn:aws:iam::\$\{\{ matrix\.account \}\}:role/\$\{\{ vars\.(\w+) \}\}", arn)
    assert match, arn
    return ROLE_VARIABLES[match.group(1)]


def test_every_job_that_assumes_a_role_names_the_one_its_subject_may_assume(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fleet.main(["--all", "--matrix"]) == 0
    chunks = json.loads(capsys.readouterr().out)["include"]
    environments = {e["environment"] for c in chunks for e in json.loads(c["stacks"])["include"]}
    assert environments == {"production", "staging"}

    jobs = role_jobs()
    assert {(w, j) for w, j, _ in jobs} == {
        ("preview-stacks.yml", "preview"),
        ("deploy-stacks.yml", "up"),
        ("deploy.yml", "isolated"),
    }
    for workflow, name, job in jobs:
        kind = named_role(job)
        subs = subjects(workflow, job, environments)
        for other in oidc.RoleKind:
            policy, account = trust(other), ROLE_ACCOUNT[other]
            verdicts = {sub: may_assume(policy, sub, account=account) for sub in subs}
            if other is kind:
                assert all(verdicts.values()), f"{workflow}:{name} cannot assume its {kind} role: {verdicts}"
            else:
                assert not any(verdicts.values()), (
                    f"{workflow}:{name} could assume the {other} role: {verdicts}"
                )


def test_a_job_naming_the_wrong_role_is_caught() -> None:
    """The check above, on a pull-request job that names the deploy role: its sub is refused there."""
    job = load("preview-stacks.yml")["jobs"]["preview"]
    subs = subjects("preview-stacks.yml", job, set())
    assert subs == {PR}
    assert not may_assume(trust(oidc.RoleKind.DEPLOY), PR, account=WORKLOAD)
    assert not may_assume(trust(oidc.RoleKind.ISOLATED), PR, account=ISOLATED)
    # ... and a pull-request job declaring the production environment gets that sub, which only the
    # environment's deployment-branch rule (main only) keeps from a branch (docs/pipelines.md).
    assert subjects("preview-stacks.yml", {**job, "environment": "production"}, set()) == {PRODUCTION}


def test_the_isolated_job_deploys_every_isolated_stack_before_the_workload_stacks() -> None:
    deploy = load("deploy.yml")
    jobs = deploy["jobs"]
    assert set(jobs["up"]["needs"]) == {"fleet", "isolated"}
    isolated = jobs["isolated"]
    assert isolated["needs"] == "fleet"
    assert isolated["environment"] == oidc.ISOLATED_ENVIRONMENT
    assert isolated["permissions"] == {"contents": "read", "id-token": "write"}
    assert isolated["strategy"]["matrix"] == "${{ fromJSON(needs.fleet.outputs.isolated) }}"
    (step,) = [s for s in jobs["fleet"]["steps"] if s.get("id") == "isolated"]
    assert step["run"] == 'echo "isolated=$(.venv/bin/python -m isolated.matrix)" >> "$GITHUB_OUTPUT"'
    assert jobs["fleet"]["outputs"]["isolated"] == "${{ steps.isolated.outputs.isolated }}"
    (up,) = [s["run"] for s in isolated["steps"] if "pulumi up" in s.get("run", "")]
    assert '--cwd isolated --stack "$STACK"' in up
    assert isolated["env"] == {"STACK": "${{ matrix.stack }}"}
    assert "isolated/Pulumi*.yaml" in deploy[True]["push"]["paths"]
    # No other job of any workflow runs the isolated project or names its role.
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in load(path.name)["jobs"].items():
            if (path.name, name) != ("deploy.yml", "isolated"):
                text = yaml.safe_dump(job)
                assert "AWS_ISOLATED_DEPLOY_ROLE_NAME" not in text, (path.name, name)
                assert "--cwd isolated" not in text, (path.name, name)


def test_the_isolated_matrix_lists_every_isolated_stack_with_its_account(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert isolated_matrix.main([]) == 0
    entries = json.loads(capsys.readouterr().out)["include"]
    files = sorted(p.name for p in (REPO / "isolated").glob("Pulumi.isolated-*.yaml"))
    assert [f"Pulumi.{e['stack']}.yaml" for e in entries] == files
    assert all(e["stack"] == f"isolated-{e['account']}" for e in entries)


def test_an_isolated_stack_named_after_another_account_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (REPO / "isolated" / "Pulumi.isolated-444444444444.yaml").read_text()
    (tmp_path / "Pulumi.isolated-555555555555.yaml").write_text(source)
    assert isolated_matrix.main([], tmp_path) == 2
    error = capsys.readouterr().err
    assert "Pulumi.isolated-555555555555.yaml: account (444444444444)" in error
    assert "Traceback" not in error
    (tmp_path / "Pulumi.isolated-555555555555.yaml").unlink()
    assert isolated_matrix.main([], tmp_path) == 2
    assert "no isolated stack file" in capsys.readouterr().err


# --- the command ----------------------------------------------------------------------------------------


def test_the_command_prints_each_roles_documents(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["--repository", str(GITHUB), "--account", WORKLOAD, "--role", "preview"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["roleName"] == oidc.PREVIEW_ROLE
    assert printed["policy"] == oidc.preview_policy()
    assert may_assume(printed["trustPolicy"], PR, account=WORKLOAD)
    assert cli(["--repository", str(GITHUB), "--account", ISOLATED, "--role", "isolated"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["roleName"] == oidc.ISOLATED_DEPLOY_ROLE
    assert printed["policy"] is None
    assert may_assume(printed["trustPolicy"], ISOLATED_JOB, account=ISOLATED)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--repository", "acme", "--account", WORKLOAD, "--role", "preview"], "--repository ('acme')"),
        (["--repository", "acme/*", "--account", WORKLOAD, "--role", "preview"], "--repository ('acme/*')"),
        (["--repository", str(GITHUB), "--account", "1111", "--role", "deploy"], "--account ('1111')"),
        (
            [
                "--repository",
                str(GITHUB),
                "--account",
                WORKLOAD,
                "--role",
                "deploy",
                "--environment",
                "prod*",
            ],
            "--environment ('prod*')",
        ),
        (
            [
                "--repository",
                str(GITHUB),
                "--account",
                WORKLOAD,
                "--role",
                "deploy",
                "--environment",
                "isolated",
            ],
            "--environment ('isolated') is the isolated job's environment",
        ),
        (
            [
                "--repository",
                str(GITHUB),
                "--account",
                WORKLOAD,
                "--role",
                "preview",
                "--environment",
                "production",
            ],
            "--environment (production) applies to --role deploy only",
        ),
    ],
)
def test_bad_input_is_one_error_naming_the_flag(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert fragment in captured.err
    assert captured.err.count("\n") == 1


def test_the_isolated_pipeline_role_is_exempt_from_the_isolated_guardrails_and_no_workload_role_is() -> None:
    """The organisation stack's isolated SCPs (its real config) let the isolated deploy role change the
    air-gapped shares it owns, and deny the same change to the workload pipelines' roles in that account."""
    config = parse({k.removeprefix(NS): v for k, v in org_stack_config().items()}, "management")
    documents = scp_documents.isolated_policies(config.isolated_guardrail_scope)
    share = f"arn:aws:ram:us-east-1:{ISOLATED}:resource-share/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    vault = vault_names.air_gapped_vault_name("dr-prod", WORKLOAD)
    context = {"ram:ResourceShareName": vault_names.air_gapped_share_name(vault)}
    for action in ("ram:DeleteResourceShare", "ram:DisassociateResourceShare"):

        def denied(role: str, action: str = action) -> list[str]:
            return denying(documents, Request(action, share, f"arn:aws:iam::{ISOLATED}:role/{role}", context))

        assert denied(oidc.ISOLATED_DEPLOY_ROLE) == []
        for role in (oidc.DEPLOY_ROLE, oidc.PREVIEW_ROLE):
            assert "ProtectAirGappedVaultShares" in denied(role), (action, role)
