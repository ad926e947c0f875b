"""IAM, KMS and vault policy documents as plain dicts: least privilege, no wildcard principals."""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]

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


def partition(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws-cn" if region.startswith("cn-") else "aws"


def vault_arn(region: str, account_id: str, name: str) -> str:
    """A vault's ARN from parts known before it exists, so previews can check what references it."""
    return f"arn:{partition(region)}:backup:{region}:{account_id}:backup-vault:{name}"


def memorydb_arn(region: str, account_id: str, kind: str, name: str = "*") -> str:
    """``cluster`` or ``snapshot`` ARNs of one account and region (all of them by default)."""
    return f"arn:{partition(region)}:memorydb:{region}:{account_id}:{kind}/{name}"


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


def _document(*statements: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def key_policy(owner_account: str, copy_accounts: tuple[str, ...] = ()) -> Document:
    """Key policy for a backup vault key.

    The owner account administers the key through IAM (without it the key becomes unmanageable).
    Each ``copy_accounts`` entry may use the key and create grants only for AWS resources, which is
    what AWS Backup in that account needs to copy recovery points encrypted with it.
    """
    statements: list[Document] = [
        {
            "Sid": "OwnerAccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(owner_account)},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
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
    return _document(*statements)


def copy_into_vault_policy(vault_arn: str, source_account: str) -> Document:
    """Vault access policy: only ``source_account`` may copy recovery points in."""
    return _document(
        {
            "Sid": "OnlyWorkloadAccountCopiesIn",
            "Effect": "Allow",
            "Principal": {"AWS": account_root(source_account)},
            "Action": "backup:CopyIntoBackupVault",
            "Resource": vault_arn,
        }
    )


def service_trust(service: str, source_account: str) -> Document:
    """Trust policy for a service role, pinned to one account against the confused-deputy problem."""
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": source_account}},
        }
    )
