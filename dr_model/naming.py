"""AWS naming rules every layer shares: AWS Backup names, IAM role and security group IDs, short region codes,
names from ARNs."""

from __future__ import annotations

import re

# Names of AWS Backup frameworks, report plans and restore-testing plans/selections: letters, digits and
# underscores only (docs/aws-facts.md#7-audit-manager 7.2, docs/aws-facts.md#8-restore-testing 8.1).
# Pulumi's auto-names add a hyphenated suffix, so every such resource gets an explicit name built here.
_BACKUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

# IAM role names and ARNs (IAM quotas: a name of at most 64 characters from this set, an optional path),
# read by the stack and organisation configs and by the restore profile.
ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
ROLE_ARN = re.compile(r"^arn:aws:iam::([0-9]{12}):role/(?:[A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$")
SECURITY_GROUP_ID = r"^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$"
"""A VPC security group ID: ``sg-`` and 8 or 17 hex digits."""


def backup_name(*parts: str, limit: int = 50) -> str:
    """``dr-prod`` + ``restore`` -> ``dr_prod_restore``; raises if the result is not a valid name."""
    name = "_".join(re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_") for part in parts if part)
    if not _BACKUP_NAME.match(name) or len(name) > limit:
        raise ValueError(
            f"{name!r} is not a valid AWS Backup name (a letter, then letters, digits or '_', at most {limit})"
        )
    return name


def region_code(region: str) -> str:
    """``us-east-2`` -> ``use2``: short enough for names with length limits."""
    area, direction, number = region.split("-")[-3:]
    return f"{area}{direction[0]}{number}"


def vault_name_from_arn(arn: str) -> str:
    """``arn:aws:backup:<region>:<account>:backup-vault:<name>`` -> ``<name>``."""
    return arn.rsplit(":", 1)[-1]


def key_id_from_arn(arn: str) -> str:
    """``arn:aws:kms:<region>:<account>:key/<id>`` -> ``<id>``."""
    return arn.rsplit("/", 1)[-1]
