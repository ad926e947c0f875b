"""The service control policies of the organisation's backup guardrails: one control per statement.

Every statement is a ``Deny`` (an SCP grants nothing), names its control in the ``Sid`` and carries its
reason beside it in :data:`Control.reason`; docs/guardrails.md explains each with its sources. Resource
patterns come from the functions the workload stacks name their resources with, so a renamed resource
cannot silently fall out of the guardrails. Plain data: no Pulumi, so tests evaluate the documents as AWS
would (tests/org/policy_evaluator.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components import documents
from components.archive import locked_key_alias
from components.config import PROJECT, PROJECT_TAG_KEY
from components.operations import alerts
from components.operations.naming import backup_name
from components.type_protection import backup_role_name, key_alias
from dr_runtime.vault_names import locked_vault_name

Document = dict[str, Any]

MAX_SCP_CHARACTERS = 5120
"""AWS Organizations' limit on an SCP's content; every character counts, white space too. Measured here in
UTF-8 bytes (some report the limit as bytes; for the ASCII these documents hold, both are the same)."""
MAX_SCPS_PER_TARGET = 5
"""SCPs attached to one root, OU or account at most (AWS Organizations quota)."""
GUARDRAIL_POLICY_SLOTS = MAX_SCPS_PER_TARGET - 1
"""What the guardrails may use of a target's SCPs: one slot stays for ``FullAWSAccess`` (or the platform's
own allow list), without which nothing in the target is allowed at all."""
MIN_KEY_DELETION_WINDOW_DAYS = documents.KEY_DELETION_WINDOW_DAYS
"""No key deletion with a shorter window than the stacks' own keys wait."""
PRINCIPAL_ARN = "aws:PrincipalArn"
ANY = "*"


@dataclass(frozen=True)
class GuardrailScope:
    """What the statements protect and whom they exempt, all from validated config."""

    partition: str
    prefixes: tuple[str, ...]
    """The workload stacks' ``prefix`` values: every name the stacks give starts with one of them."""
    exempt_principal_arns: tuple[str, ...]
    """Role ARNs (``aws:PrincipalArn`` patterns, account always named) still allowed the protected changes."""
    isolated_accounts: tuple[str, ...]
    """The only accounts (besides the protected vaults themselves) that recovery points may be copied to."""


@dataclass(frozen=True)
class Control:
    sid: str
    reason: str
    """Why the statement exists; docs/guardrails.md has it with sources."""
    statement: Document
    exempt: bool
    """Whether the exempt roles are excluded (``ArnNotLike aws:PrincipalArn``); False binds everyone."""


def _arns(scope: GuardrailScope, template: str) -> list[str]:
    """One ARN pattern per prefix: ``template`` with ``{p}`` (the partition) and ``{prefix}`` filled in."""
    return [template.format(p=scope.partition, prefix=prefix) for prefix in scope.prefixes]


def _key_aliases(prefix: str) -> list[str]:
    """The aliases of every key the stacks create with this prefix: the types' vault keys (both regions),
    the alert topics' keys, and the isolated account's locked-vault keys."""
    return [
        key_alias(f"{prefix}-{ANY}"),
        alerts.key_alias(prefix),
        locked_key_alias(locked_vault_name(prefix, ANY)),
    ]


def _deny(
    action: str | Sequence[str], resource: str | Sequence[str], condition: Document | None = None
) -> Document:
    statement: Document = {
        "Effect": "Deny",
        "Action": action if isinstance(action, str) else list(action),
        "Resource": resource if isinstance(resource, str) else list(resource),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def controls(scope: GuardrailScope) -> tuple[Control, ...]:
    """Every control, in the fixed order the documents are packed in."""
    p = scope.partition
    aliases = [alias for prefix in scope.prefixes for alias in _key_aliases(prefix)]
    backup_names = [backup_name(prefix) for prefix in scope.prefixes]
    return (
        Control(
            "DenyLeavingTheOrganization",
            "Cross-account copies need the source and the isolated account in one organisation; an account "
            "that leaves stops every air-gapped copy and leaves the organisation's guardrails behind.",
            _deny("organizations:LeaveOrganization", ANY),
            exempt=False,
        ),
        Control(
            "DenyCopiesOutsideIsolatedAccounts",
            "Recovery points may be copied only into the isolated accounts or into the stacks' own vaults "
            "(the cross-region copy): backup:CopyTargets, on the copy permission every copy job needs.",
            _deny(
                "backup:CopyFromBackupVault",
                ANY,
                {
                    "ForAnyValue:ArnNotLike": {
                        "backup:CopyTargets": [
                            *(
                                f"arn:{p}:backup:*:{account}:backup-vault:*"
                                for account in scope.isolated_accounts
                            ),
                            *_arns(scope, "arn:{p}:backup:*:*:backup-vault:{prefix}-*"),
                        ]
                    }
                },
            ),
            exempt=False,
        ),
        Control(
            "DenyShortKeyDeletionWindow",
            "A backup key scheduled for deletion with less than 30 days leaves less time to notice and cancel; "
            "the stacks themselves always use 30, so nobody needs less.",
            _deny(
                "kms:ScheduleKeyDeletion",
                ANY,
                {
                    "NumericLessThan": {
                        "kms:ScheduleKeyDeletionPendingWindowInDays": MIN_KEY_DELETION_WINDOW_DAYS
                    },
                    "ForAnyValue:StringLike": {"kms:ResourceAliases": aliases},
                },
            ),
            exempt=False,
        ),
        Control(
            "ProtectBackupVaults",
            "Deleting a vault, or rewriting its access policy, lock or notifications, removes the copies or "
            "the guard around them (threat model a2, c3).",
            _deny(
                [
                    "backup:DeleteBackupVault",
                    "backup:PutBackupVaultAccessPolicy",
                    "backup:DeleteBackupVaultAccessPolicy",
                    "backup:PutBackupVaultLockConfiguration",
                    "backup:DeleteBackupVaultLockConfiguration",
                    "backup:PutBackupVaultNotifications",
                    "backup:DeleteBackupVaultNotifications",
                ],
                _arns(scope, "arn:{p}:backup:*:*:backup-vault:{prefix}-*"),
            ),
            exempt=True,
        ),
        Control(
            "ProtectBackupPlansAndSelections",
            "Deleting or rewriting a plan or a selection stops backups or their air-gapped copy silently "
            "(threat model a3, a4). A plan's ARN carries only its ID, so the plans are found by the tag every "
            "stack resource carries.",
            _deny(
                ["backup:DeleteBackupPlan", "backup:UpdateBackupPlan", "backup:DeleteBackupSelection"],
                f"arn:{p}:backup:*:*:backup-plan:*",
                {"StringEquals": {f"aws:ResourceTag/{PROJECT_TAG_KEY}": PROJECT}},
            ),
            exempt=True,
        ),
        Control(
            "ProtectBackupPlanTag",
            "Without this, removing or changing the plans' project tag would take them out of the statement "
            "above.",
            _deny(
                ["backup:TagResource", "backup:UntagResource"],
                f"arn:{p}:backup:*:*:backup-plan:*",
                {"ForAnyValue:StringEquals": {"aws:TagKeys": [PROJECT_TAG_KEY]}},
            ),
            exempt=True,
        ),
        Control(
            "ProtectRecoveryPoints",
            "Deleting, shortening or disassociating recovery points loses the fast restore paths (threat "
            "model a2). A recovery point's ARN names neither vault nor plan, so every recovery point of the "
            "target accounts is covered.",
            _deny(
                [
                    "backup:DeleteRecoveryPoint",
                    "backup:UpdateRecoveryPointLifecycle",
                    "backup:DisassociateRecoveryPoint",
                    "backup:DisassociateRecoveryPointFromParent",
                ],
                ANY,
            ),
            exempt=True,
        ),
        Control(
            "ProtectRegionSettings",
            "Opting a type out in the region settings stops its backups without touching a plan (threat "
            "model a6); the action takes no resource.",
            _deny("backup:UpdateRegionSettings", ANY),
            exempt=True,
        ),
        Control(
            "ProtectAuditAndRestoreTesting",
            "The Audit Manager frameworks, report plans and restore-testing plans are the evidence that backups "
            "work (threat model a16, e6).",
            _deny(
                [
                    "backup:DeleteFramework",
                    "backup:UpdateFramework",
                    "backup:DeleteReportPlan",
                    "backup:UpdateReportPlan",
                    "backup:DeleteRestoreTestingPlan",
                    "backup:UpdateRestoreTestingPlan",
                    "backup:DeleteRestoreTestingSelection",
                    "backup:UpdateRestoreTestingSelection",
                ],
                [
                    f"arn:{p}:backup:*:*:{kind}:{name}_*"
                    for name in backup_names
                    for kind in ("framework", "report-plan", "restore-testing-plan")
                ],
            ),
            exempt=True,
        ),
        Control(
            "ProtectBackupRoles",
            "The backup roles run every job; deleting one or changing its trust or policies fails every "
            "backup of its type (threat model a7; Control Tower's CT.IAM.PV.1 pattern).",
            _deny(
                [
                    "iam:DeleteRole",
                    "iam:UpdateRole",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:PutRolePermissionsBoundary",
                    "iam:DeleteRolePermissionsBoundary",
                ],
                [f"arn:{p}:iam::*:role/{backup_role_name(f'{prefix}-{ANY}')}" for prefix in scope.prefixes],
            ),
            exempt=True,
        ),
        Control(
            "ProtectBackupKeys",
            "A disabled key, a rewritten key policy or a key pending deletion makes the recovery points it "
            "encrypts unusable and stops the air-gapped copies (threat model a8, a9). KMS key ARNs carry only "
            "the key ID, so the keys are found by their aliases.",
            _deny(
                ["kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"],
                ANY,
                {"ForAnyValue:StringLike": {"kms:ResourceAliases": aliases}},
            ),
            exempt=True,
        ),
        Control(
            "ProtectBackupKeyAliases",
            "Removing or moving an alias would take its key out of the two statements above.",
            _deny(
                ["kms:DeleteAlias", "kms:UpdateAlias"],
                [f"arn:{p}:kms:*:*:{alias}" for alias in aliases],
            ),
            exempt=True,
        ),
        Control(
            "ProtectAlertRules",
            "The alert rules and their targets are how a failed or threatened backup is noticed (threat "
            "model a10).",
            _deny(
                [
                    "events:DeleteRule",
                    "events:DisableRule",
                    "events:PutRule",
                    "events:PutTargets",
                    "events:RemoveTargets",
                ],
                [f"arn:{p}:events:*:*:rule/{alerts.rule_name(prefix, ANY)}" for prefix in scope.prefixes],
            ),
            exempt=True,
        ),
        Control(
            "ProtectAlertTopics",
            "Deleting the alert topic, or changing its policy or encryption, silences every alert (threat "
            "model a10).",
            _deny(
                ["sns:DeleteTopic", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission"],
                [f"arn:{p}:sns:*:*:{alerts.topic_name(prefix)}" for prefix in scope.prefixes],
            ),
            exempt=True,
        ),
    )


def statement(control: Control, scope: GuardrailScope) -> Document:
    """The control's statement with its ``Sid``, and the exemption when it has one."""
    body = {"Sid": control.sid, **control.statement}
    if control.exempt:
        body["Condition"] = {
            **body.get("Condition", {}),
            "ArnNotLike": {PRINCIPAL_ARN: list(scope.exempt_principal_arns)},
        }
    return body


def content(policy: Document) -> str:
    """A document as the stack sends it: minified (white space counts against the limit), keys sorted."""
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))


def size(policy: Document) -> int:
    """What counts against ``MAX_SCP_CHARACTERS``: the content as sent, in UTF-8 bytes."""
    return len(content(policy).encode("utf-8"))


class GuardrailSizeError(ValueError):
    """The statements do not fit the SCP limits; the message says which and by how much."""


def policies(scope: GuardrailScope) -> tuple[Document, ...]:
    """The controls packed, in order, into as few documents as fit ``MAX_SCP_CHARACTERS`` each.

    Deterministic: the same scope always gives the same documents in the same order, so an update never
    reshuffles statements between policies.
    """
    packed: list[list[Document]] = []
    for control in controls(scope):
        body = statement(control, scope)
        alone = size(documents.document(body))
        if alone > MAX_SCP_CHARACTERS:
            raise GuardrailSizeError(
                f"statement {control.sid} alone is {alone} characters, over the {MAX_SCP_CHARACTERS} an SCP "
                "may hold: list fewer prefixes or exempt roles"
            )
        if packed and size(documents.document(*packed[-1], body)) <= MAX_SCP_CHARACTERS:
            packed[-1].append(body)
        else:
            packed.append([body])
    if len(packed) > GUARDRAIL_POLICY_SLOTS:
        raise GuardrailSizeError(
            f"the statements need {len(packed)} SCPs, more than the {GUARDRAIL_POLICY_SLOTS} a target can take "
            f"beside FullAWSAccess (at most {MAX_SCPS_PER_TARGET} per target): list fewer prefixes or exempt roles"
        )
    return tuple(documents.document(*statements) for statements in packed)
