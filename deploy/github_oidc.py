"""The roles the GitHub Actions workflows assume, split by the OIDC token's ``sub`` claim (docs/pipelines.md).

Three roles, each trusted by GitHub's OIDC provider in its own account for one kind of job only:

- ``preview``, in every workload account: the pull-request preview (``policy-preview.yml`` through
  ``preview-stacks.yml``), subject ``repo:<owner>/<repo>:pull_request``. Read-only: its policy allows
  ``Describe``/``Get``/``List`` calls of the services the stacks use and denies every ``sts:AssumeRole*``,
  ``iam:PassRole`` and write call, so a branch's own code running in a preview can change nothing and reach
  no other role.
- ``deploy``, in every workload account: ``deploy-stacks.yml`` on main, whose jobs run in the GitHub
  environment named after the stack's ``environment`` setting, subject
  ``repo:<owner>/<repo>:environment:<environment>`` (a job with an environment gets that subject instead
  of its branch's). The environment's deployment-branch rule (main only) is what ties it to main.
- ``isolated``, in every isolated account: ``deploy.yml``'s ``isolated`` job, which runs the ``isolated/``
  project in the environment ``isolated`` before the workload stacks, subject
  ``repo:<owner>/<repo>:environment:isolated``. No workload job, preview or role can assume it.

Every trust names the provider of its own account, requires the audience ``sts.amazonaws.com`` and
compares the subject with ``StringEquals`` (no wildcard, so no other repository, branch or environment
matches). The deploy roles' permissions are the account administrator's choice (they create the stack's
resources); this module states who may assume them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from components.config import DEFAULT_DEPLOYMENT_ROLE, Environment
from components.documents import Document, allow, document

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
"""The audience ``aws-actions/configure-aws-credentials`` asks GitHub for."""
SUB_KEY = f"{GITHUB_OIDC_HOST}:sub"
AUD_KEY = f"{GITHUB_OIDC_HOST}:aud"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"

PREVIEW_ROLE = "aws-dr-backup-preview"
"""Repository variable ``AWS_PREVIEW_ROLE_NAME``."""
DEPLOY_ROLE = DEFAULT_DEPLOYMENT_ROLE
"""Repository variable ``AWS_DEPLOY_ROLE_NAME``: the workload stacks' ``deploymentRole`` default, the only
principal besides the backup service their vault policies let change recovery points."""
ISOLATED_DEPLOY_ROLE = "aws-dr-backup-isolated-deploy"
"""Repository variable ``AWS_ISOLATED_DEPLOY_ROLE_NAME``: the isolated project's deployer (list it in the
organisation stack's ``guardrails.isolatedExemptRoles``)."""
ISOLATED_ENVIRONMENT = "isolated"
"""The GitHub environment of ``deploy.yml``'s ``isolated`` job."""
DEPLOY_ENVIRONMENTS = tuple(e.value for e in Environment)
"""The workload stacks' ``environment`` values, which name the deploy jobs' GitHub environments."""

_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")

# What a preview may read: the services whose resources the workload and isolated stacks register
# (backup, cloudwatch = alarms, event rules and log groups, dynamodb, iam, kms, lambda, ram, s3, scheduler,
# sns, sqs), plus the caller identity the provider checks against allowedAccountIds. Only Describe, Get
# and List; S3 only its bucket settings (never an object), logs never their events.
PREVIEW_READS = (
    "backup:Describe*",
    "backup:Get*",
    "backup:List*",
    "cloudwatch:Describe*",
    "cloudwatch:Get*",
    "cloudwatch:List*",
    "dynamodb:Describe*",
    "dynamodb:List*",
    "events:Describe*",
    "events:List*",
    "iam:Get*",
    "iam:List*",
    "kms:Describe*",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:List*",
    "lambda:GetFunction*",
    "lambda:GetPolicy",
    "lambda:List*",
    "logs:Describe*",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "ram:Get*",
    "ram:List*",
    "s3:GetBucket*",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:ListAllMyBuckets",
    "scheduler:Get*",
    "scheduler:List*",
    "sns:Get*",
    "sns:List*",
    "sqs:Get*",
    "sqs:List*",
    "sts:GetCallerIdentity",
)
# Denied whatever else is attached to the role: no other role, no passing one, no change to a backup.
PREVIEW_DENIED = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoleWithSAML",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "iam:PassRole",
    "backup:Create*",
    "backup:Delete*",
    "backup:Disassociate*",
    "backup:Put*",
    "backup:Start*",
    "backup:Stop*",
    "backup:Update*",
    "backup:Tag*",
    "backup:Untag*",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:PutKeyPolicy",
)


class RoleKind(StrEnum):
    PREVIEW = "preview"
    DEPLOY = "deploy"
    ISOLATED = "isolated"


class OidcInputError(ValueError):
    """Bad input, naming the flag, the value and what is allowed."""


@dataclass(frozen=True)
class Repository:
    owner: str
    name: str

    @classmethod
    def parse(cls, text: str, key: str = "--repository") -> Repository:
        owner, sep, name = text.partition("/")
        if not sep or not _OWNER.match(owner) or not _REPO.match(name):
            raise OidcInputError(
                f"{key} ({text!r}) must be <owner>/<repository> as GitHub spells them: an owner of 1-39 "
                "letters, digits or hyphens, a repository of 1-100 letters, digits, '.', '_' or '-'"
            )
        return cls(owner, name)

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}"


def check_account(account: str, key: str = "--account") -> str:
    if not _ACCOUNT.match(account):
        raise OidcInputError(f"{key} ({account!r}) must be a 12-digit AWS account ID")
    return account


def check_environment(environment: str, key: str = "--environment") -> str:
    if not _ENVIRONMENT.match(environment):
        raise OidcInputError(
            f"{key} ({environment!r}) must be a GitHub environment name of 1-255 letters, digits, '.', '_' "
            "or '-' (no wildcard: the trust compares the subject exactly)"
        )
    return environment


def provider_arn(account: str) -> str:
    """The IAM OIDC provider for GitHub Actions in ``account`` (one per account)."""
    return f"arn:aws:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"


def pull_request_subject(repository: Repository) -> str:
    return f"repo:{repository}:pull_request"


def environment_subject(repository: Repository, environment: str) -> str:
    return f"repo:{repository}:environment:{environment}"


def subjects(kind: RoleKind, repository: Repository, environments: Sequence[str] = ()) -> list[str]:
    """The only ``sub`` values the role of ``kind`` trusts."""
    if kind is RoleKind.PREVIEW:
        return [pull_request_subject(repository)]
    if kind is RoleKind.ISOLATED:
        return [environment_subject(repository, ISOLATED_ENVIRONMENT)]
    chosen = list(environments) or list(DEPLOY_ENVIRONMENTS)
    if ISOLATED_ENVIRONMENT in chosen:
        raise OidcInputError(
            f"--environment ({ISOLATED_ENVIRONMENT!r}) is the isolated job's environment; a workload deploy "
            f"role must not trust it (allowed: the stacks' environments, e.g. {', '.join(DEPLOY_ENVIRONMENTS)})"
        )
    return [environment_subject(repository, check_environment(e)) for e in chosen]


def trust_policy(account: str, allowed_subjects: Sequence[str]) -> Document:
    """GitHub's provider in ``account`` may assume the role for exactly ``allowed_subjects``."""
    return document(
        {
            "Sid": "GitHubActionsJobs",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn(check_account(account))},
            "Action": WEB_IDENTITY,
            "Condition": {
                "StringEquals": {
                    AUD_KEY: AUDIENCE,
                    SUB_KEY: list(allowed_subjects),
                }
            },
        }
    )


def preview_policy() -> Document:
    """The preview role's only policy: reads, and an explicit deny of roles, PassRole and backup writes."""
    return document(
        allow("PreviewReads", PREVIEW_READS, "*"),
        {"Sid": "NoRolesNoBackupWrites", "Effect": "Deny", "Action": list(PREVIEW_DENIED), "Resource": "*"},
    )


def role_documents(
    kind: RoleKind, repository: Repository, account: str, environments: Sequence[str] = ()
) -> dict[str, object]:
    """What an account administrator creates for ``kind``: the role name, its trust, and its policy (the
    preview role's; ``None`` for the deploy roles, whose permissions the administrator grants)."""
    if environments and kind is not RoleKind.DEPLOY:
        raise OidcInputError(
            f"--environment ({', '.join(environments)}) applies to --role deploy only; the {kind} role trusts "
            f"{'pull requests' if kind is RoleKind.PREVIEW else 'the environment ' + ISOLATED_ENVIRONMENT} only"
        )
    name = {
        RoleKind.PREVIEW: PREVIEW_ROLE,
        RoleKind.DEPLOY: DEPLOY_ROLE,
        RoleKind.ISOLATED: ISOLATED_DEPLOY_ROLE,
    }
    return {
        "roleName": name[kind],
        "trustPolicy": trust_policy(account, subjects(kind, repository, environments)),
        "policy": preview_policy() if kind is RoleKind.PREVIEW else None,
    }
