"""Every IAM, KMS, SNS, S3 and vault policy document of the program: least privilege, no wildcard principals.

Documents are plain dicts (``document``); ``to_json`` serialises one as the components hand it to AWS, and
``policy_json`` does so for statements holding Pulumi Outputs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi

from dr_runtime.vault_names import partition
from dr_runtime.vault_names import (
    vault_arn as vault_arn,  # the program spells vault ARNs as the runtime finds them
)

KEY_DELETION_WINDOW_DAYS = 30
"""Every KMS key the stacks create waits the longest pending window KMS allows (7-30 days) before a
scheduled deletion; the guardrails refuse a shorter one (``org/scp_documents.py``)."""

Document = dict[str, Any]
POLICY_VERSION = "2012-10-17"
"""The IAM policy language version every document states."""

# What the destination account needs on a source key to copy a recovery point it encrypts
# (docs/aws-facts.md#4-cross-account-copies-and-kms, facts 4.5 and 4.6).
CROSS_ACCOUNT_KEY_USE = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)
CROSS_ACCOUNT_GRANTS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")


def memorydb_arn(region: str, account_id: str, kind: str, name: str = "*") -> str:
    """``cluster`` or ``snapshot`` ARNs of one account and region (all of them by default)."""
    return f"arn:{partition(region)}:memorydb:{region}:{account_id}:{kind}/{name}"


def allow(sid: str, action: str | Sequence[str], resource: Any) -> Document:
    """One ``Allow`` statement: ``action`` (one or a list) on ``resource`` (an ARN, a list, or Outputs)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": action if isinstance(action, str) else list(action),
        "Resource": resource,
    }


def pass_role_statement(sid: str, role_arn: Any, service: str) -> Document:
    """Pass one role, and only to the service principal it trusts (``iam:PassedToService``)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": role_arn,
        "Condition": {"StringEquals": {"iam:PassedToService": service}},
    }


def account_root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def document(*statements: Document) -> Document:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def to_json(policy: Document) -> str:
    """A document as the components write it (keys sorted, so the text is stable between runs)."""
    return json.dumps(policy, sort_keys=True)


def policy_json(statements: Sequence[Any]) -> pulumi.Output[str]:
    """A document from statements that may hold Outputs anywhere inside (``from_input`` resolves them)."""
    return pulumi.Output.from_input(list(statements)).apply(lambda resolved: to_json(document(*resolved)))


def owner_administers_key(owner_account: str) -> Document:
    """The key-policy statement that leaves a key to its account's IAM (without it the key is unmanageable)."""
    return {
        "Sid": "OwnerAccountAdministersThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(owner_account)},
        "Action": "kms:*",
        "Resource": "*",
    }


def key_policy(owner_account: str, copy_accounts: tuple[str, ...] = ()) -> Document:
    """Key policy for a backup vault key.

    The owner account administers the key through IAM (without it the key becomes unmanageable).
    Each ``copy_accounts`` entry may use the key and create grants only for AWS resources, which is
    what AWS Backup in that account needs to copy recovery points encrypted with it.
    """
    statements: list[Document] = [owner_administers_key(owner_account)]
    if copy_accounts:
        principals = [account_root(a) for a in copy_accounts]
        statements += [
            {
                "Sid": "CopyAccountsUseKeyForBackupCopies",
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": list(CROSS_ACCOUNT_KEY_USE),
                "Resource": "*",
            },
            {
                "Sid": "CopyAccountsGrantOnlyToAwsServices",
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": list(CROSS_ACCOUNT_GRANTS),
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    return document(*statements)


def _copy_in(vault_arn: str, source_account: str) -> Document:
    return {
        "Sid": "OnlyWorkloadAccountCopiesIn",
        "Effect": "Allow",
        "Principal": {"AWS": account_root(source_account)},
        "Action": "backup:CopyIntoBackupVault",
        "Resource": vault_arn,
    }


def copy_into_vault_policy(vault_arn: str, source_account: str) -> Document:
    """Vault access policy: only ``source_account`` may copy recovery points in."""
    return document(_copy_in(vault_arn, source_account))


# What the workload vaults' access policies refuse to all but the exempt roles: destroying or shortening what the
# vault holds, and removing this refusal or the lock (docs/guardrails.md#vault-lock-on-the-workload-vaults). Vault
# access policies take no wildcard in Action, so every action is spelled out.
WORKLOAD_VAULT_GUARDED_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
    "backup:DeleteBackupVaultLockConfiguration",
)


def workload_vault_policy(
    vault_arn: str, exempt_roles: Sequence[str], copy_source_account: str | None = None
) -> Document:
    """Access policy of a workload vault: a ``Deny`` of ``WORKLOAD_VAULT_GUARDED_ACTIONS`` to every principal
    (the account's root and administrators included) whose ARN is not one of ``exempt_roles`` (the vault's backup
    role and the deployment role), and, with ``copy_source_account``, copy-in from that account only.

    Principal and Resource are wildcards as AWS Config's ``backup-recovery-point-manual-deletion-disabled``
    expects of such a statement; the exemption is exact ARNs, never a pattern.
    """
    if not exempt_roles:
        raise ValueError("a workload vault policy needs at least one exempt role, or nobody could change it")
    statements: list[Document] = []
    if copy_source_account is not None:
        statements.append(_copy_in(vault_arn, copy_source_account))
    statements.append(
        {
            "Sid": "OnlyBackupAndDeploymentRolesDeleteOrLoosen",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": list(WORKLOAD_VAULT_GUARDED_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": sorted(set(exempt_roles))}},
        }
    )
    return document(*statements)


def service_trust(service: str, source_account: str | None) -> Document:
    """Trust policy for a service role, pinned to ``source_account`` against the confused-deputy problem.

    ``None`` only for a service that does not send ``aws:SourceAccount`` (the caller says why).
    """
    statement: Document = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return document(statement)


GUARDDUTY_MALWARE_SCANNER = "malware-protection.guardduty.amazonaws.com"
"""The service principal a GuardDuty scanner role trusts (AWS Backup passes the role to it)."""


def malware_scan_statements(scanner_role_arn: str) -> list[Document]:
    """What a backup role needs to have GuardDuty scan its recovery points: the scan calls, the scanner
    role passed to GuardDuty only, and the image and snapshot reads (AWS's
    AWSBackupServiceRolePolicyForScans, with PassRole narrowed to the one scanner role)."""
    return [
        allow("StartAndReadMalwareScans", ("guardduty:StartMalwareScan", "guardduty:GetMalwareScan"), "*"),
        pass_role_statement("PassTheScannerRoleToGuardDuty", scanner_role_arn, GUARDDUTY_MALWARE_SCANNER),
        allow("DescribeScannedImagesAndSnapshots", ("ec2:DescribeImages", "ec2:DescribeSnapshots"), "*"),
    ]
