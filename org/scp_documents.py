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
from typing import Any, Protocol

from components import documents
from components.archive import locked_key_alias
from components.config import PROJECT, PROJECT_TAG_KEY
from components.operations import alerts
from components.type_protection import backup_role_name, key_alias
from dr_model.naming import backup_name
from dr_runtime.vault_names import air_gapped_share_name, locked_vault_name

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
ROLE_CHANGES = (
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
)
"""Every call that deletes a role or changes what it may do or who may assume it (CT.IAM.PV.1's list, less
``CreateRole``: the roles protected here exist)."""


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
    opt_out_tag_keys: tuple[str, ...] = ()
    """The workload stacks' opt-out tag keys whose setting is refused (``optOutTags: deny``); empty: the
    choice is ``detect`` and no statement is built."""


@dataclass(frozen=True)
class IsolatedScope:
    """What the isolated-account statements protect and whom they exempt, all from validated config."""

    partition: str
    prefixes: tuple[str, ...]
    """The workload stacks' prefixes: their vaults and air-gapped shares in the isolated accounts."""
    exempt_principal_arns: tuple[str, ...]
    """The isolated deployers (``aws:PrincipalArn`` patterns, account always named)."""
    reader_roles: tuple[str, ...]
    """Names (or name patterns) of the verifier's reader roles (``verifier_config.reader_role_name``)."""
    buckets: tuple[str, ...]
    """The organisation stack's report buckets: the fleet bucket and the job reports' bucket."""


@dataclass(frozen=True)
class KeyPerimeter:
    """What the resource control policy keeps outside principals from changing: the stacks' backup keys."""

    prefixes: tuple[str, ...]
    organization_id: str


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


def _aliases(prefixes: Sequence[str]) -> list[str]:
    return [alias for prefix in prefixes for alias in _key_aliases(prefix)]


def _leaving_the_organization() -> Control:
    return Control(
        "DenyLeavingTheOrganization",
        "Cross-account copies need the source and the isolated account in one organisation; an account "
        "that leaves stops every air-gapped copy and leaves the organisation's guardrails behind.",
        _deny("organizations:LeaveOrganization", ANY),
        exempt=False,
    )


def _vaults(partition: str, prefixes: Sequence[str]) -> Control:
    return Control(
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
            [f"arn:{partition}:backup:*:*:backup-vault:{prefix}-*" for prefix in prefixes],
        ),
        exempt=True,
    )


def _recovery_points() -> Control:
    return Control(
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
    )


def _operations(scope: GuardrailScope) -> Control:
    """The in-account detectors of threat model a10 beyond rules and topics: the coverage and watchdog jobs
    and the snapshot bridges (ScheduledJobs: a function and a schedule of the same name), and the alarms that
    watch them. Every such name begins with the stack's prefix (``coverage_job.function_name``,
    ``watchdog_job.function_name``, ``SnapshotBridgeArgs.function_name``, ``alarms``), as the vaults' do.
    One statement, because the exemption list is most of a statement's size; each action matches only the
    ARNs of its own service."""
    p = scope.partition
    return Control(
        "ProtectOperationsJobs",
        "Deleting, throttling or rewriting a job's function, its schedule (named like the function, in the "
        "default group), or deleting or muting the alarms on its errors and silence stops a check without an "
        "alert from it (threat model a10).",
        _deny(
            [
                "lambda:DeleteFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:UpdateFunctionEventInvokeConfig",
                "lambda:DeleteFunctionEventInvokeConfig",
                "scheduler:DeleteSchedule",
                "scheduler:UpdateSchedule",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:DisableAlarmActions",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:SetAlarmState",
            ],
            [
                arn
                for prefix in scope.prefixes
                for arn in (
                    # Also a qualified function ARN (':<version or alias>'): '*' spans the colon.
                    f"arn:{p}:lambda:*:*:function:{prefix}-*",
                    f"arn:{p}:scheduler:*:*:schedule/default/{prefix}-*",
                    f"arn:{p}:cloudwatch:*:*:alarm:{prefix}-*",
                )
            ],
        ),
        exempt=True,
    )


def _opt_out_tagging(scope: GuardrailScope) -> tuple[Control, ...]:
    if not scope.opt_out_tag_keys:
        return ()
    return (
        Control(
            "DenyOptOutTagging",
            "A resource tagged with an opt-out key leaves every selection, and the coverage report counts it "
            "as opted out (threat model a5): only the deployers may set or remove those keys. Every action, "
            "because a tag can be set by a service's own tagging call or on the create call itself, and "
            "aws:TagKeys is in the request of both.",
            _deny(ANY, ANY, {"ForAnyValue:StringEquals": {"aws:TagKeys": list(scope.opt_out_tag_keys)}}),
            exempt=True,
        ),
    )


def controls(scope: GuardrailScope) -> tuple[Control, ...]:
    """Every control, in the fixed order the documents are packed in: new controls go at the end, so an
    upgrade does not move the existing statements between policies."""
    p = scope.partition
    aliases = _aliases(scope.prefixes)
    backup_names = [backup_name(prefix) for prefix in scope.prefixes]
    return (
        _leaving_the_organization(),
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
        _vaults(p, scope.prefixes),
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
        _recovery_points(),
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
                ROLE_CHANGES,
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
        _operations(scope),
        *_opt_out_tagging(scope),
    )


def isolated_controls(scope: IsolatedScope) -> tuple[Control, ...]:
    """The statements for the isolated and reports accounts (threat model c3, c4, c6, G4), in packing order."""
    p = scope.partition
    shares = [air_gapped_share_name(f"{prefix}-{ANY}") for prefix in scope.prefixes]
    return (
        _leaving_the_organization(),
        _vaults(p, scope.prefixes),
        _recovery_points(),
        Control(
            "ProtectAirGappedVaultShares",
            "The RAM share is how a workload account reaches its air-gapped vault to restore; deleting it, "
            "removing the workload account or the vault, or changing it cuts restore path A without any "
            "failing job (threat model c4). Shares are matched by name, which the stacks derive from the vault.",
            _deny(
                [
                    "ram:DeleteResourceShare",
                    "ram:DisassociateResourceShare",
                    "ram:AssociateResourceShare",
                    "ram:UpdateResourceShare",
                ],
                f"arn:{p}:ram:*:*:resource-share/*",
                {"StringLike": {"ram:ResourceShareName": shares}},
            ),
            exempt=True,
        ),
        Control(
            "ProtectVerifierReaderRoles",
            "The verifier reads the air-gapped vaults and the organisation's jobs through these roles; "
            "changing their trust or policies blinds the only check outside the workload accounts (G1, G4).",
            _deny(ROLE_CHANGES, [f"arn:{p}:iam::*:role/{role}" for role in scope.reader_roles]),
            exempt=True,
        ),
        Control(
            "ProtectReportBuckets",
            "The fleet bucket and the job reports' bucket hold the evidence of what was backed up and copied; "
            "deleting the bucket or old versions, or rewriting its policy, versioning or lifecycle, erases it "
            "(threat model c6, d5; Control Tower's CT.S3.PV.1 pattern).",
            _deny(
                [
                    "s3:DeleteBucket",
                    "s3:DeleteBucketPolicy",
                    "s3:PutBucketPolicy",
                    "s3:PutBucketAcl",
                    "s3:PutBucketOwnershipControls",
                    "s3:PutBucketPublicAccessBlock",
                    "s3:PutBucketVersioning",
                    "s3:PutBucketObjectLockConfiguration",
                    "s3:PutEncryptionConfiguration",
                    "s3:PutLifecycleConfiguration",
                    "s3:PutReplicationConfiguration",
                    "s3:DeleteObjectVersion",
                ],
                [
                    arn
                    for bucket in scope.buckets
                    for arn in (f"arn:{p}:s3:::{bucket}", f"arn:{p}:s3:::{bucket}/*")
                ],
            ),
            exempt=True,
        ),
    )


def key_rcp(perimeter: KeyPerimeter) -> Document:
    """The resource control policy on the stacks' backup keys: no principal outside the organisation may
    rewrite a key policy, disable a key or schedule its deletion, whatever the key policy grants. AWS
    services acting for the organisation are left alone, as AWS's RCP examples for KMS do."""
    return documents.document(
        {
            "Sid": "ProtectBackupKeysFromOutsideTheOrganization",
            "Effect": "Deny",
            # An RCP statement must name Principal "*" (RCP syntax); the conditions narrow it to outsiders.
            "Principal": ANY,
            "Action": ["kms:PutKeyPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion"],
            "Resource": ANY,
            "Condition": {
                "StringNotEqualsIfExists": {"aws:PrincipalOrgID": perimeter.organization_id},
                "Bool": {"aws:PrincipalIsAWSService": "false"},
                "ForAnyValue:StringLike": {"kms:ResourceAliases": _aliases(perimeter.prefixes)},
            },
        }
    )


class _Exempting(Protocol):
    @property
    def exempt_principal_arns(self) -> tuple[str, ...]: ...


def statement(control: Control, scope: _Exempting) -> Document:
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
    """The workload controls packed, in order, into as few documents as fit ``MAX_SCP_CHARACTERS`` each.

    Deterministic: the same scope always gives the same documents in the same order, so an update never
    reshuffles statements between policies.
    """
    return pack(controls(scope), scope)


def isolated_policies(scope: IsolatedScope) -> tuple[Document, ...]:
    """The isolated-account controls, packed the same way."""
    return pack(isolated_controls(scope), scope)


def pack(all_controls: Sequence[Control], scope: _Exempting) -> tuple[Document, ...]:
    """``all_controls`` in order, greedily into as few documents as fit, at most ``GUARDRAIL_POLICY_SLOTS``."""
    packed: list[list[Document]] = []
    for control in all_controls:
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
