"""EventBridge event patterns and alert messages, as plain data.

Sources (docs/aws-facts.md#5-monitoring-and-events): AWS Backup emits ``Backup Job State Change``,
``Copy Job State Change`` and ``Restore Job State Change`` events with ``source: aws.backup``; backup
and copy events carry ``detail.state``, restore events ``detail.status``
(https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html). Terminal states other than
COMPLETED come from the botocore enums ``BackupJobState``, ``CopyJobState`` and ``RestoreJobStatus``.
KMS calls reach the default bus as ``AWS API Call via CloudTrail`` events with ``source: aws.kms``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dr_model.naming import key_id_from_arn

BACKUP_SOURCE = "aws.backup"
BACKUP_JOB_FAILED_STATES = ("ABORTED", "EXPIRED", "FAILED", "PARTIAL")
COPY_JOB_FAILED_STATES = ("FAILED", "PARTIAL")
RESTORE_JOB_FAILED_STATUSES = ("ABORTED", "FAILED")
# Either call leaves every recovery point the key encrypts unreadable; for keys of locked vaults the
# recovery points cannot be re-created either.
KEY_THREATENING_CALLS = ("DisableKey", "ScheduleKeyDeletion")


@dataclass(frozen=True)
class AlertMessage:
    """An input transformer: JSONPaths into the event and a plain-text template for the e-mail."""

    paths: dict[str, str]
    template: str

    def __post_init__(self) -> None:
        used = {name for name in self.paths if f"<{name}>" in self.template}
        if used != set(self.paths):
            raise ValueError(f"template does not use {sorted(set(self.paths) - used)}")

    @property
    def input_template(self) -> str:
        # An SNS target receives the template's JSON string value as the message text.
        return '"' + self.template.replace('"', '\\"').replace("\n", "\\n") + '"'


def backup_job_failed() -> dict[str, Any]:
    return {
        "source": [BACKUP_SOURCE],
        "detail-type": ["Backup Job State Change"],
        "detail": {"state": list(BACKUP_JOB_FAILED_STATES)},
    }


def copy_job_failed() -> dict[str, Any]:
    return {
        "source": [BACKUP_SOURCE],
        "detail-type": ["Copy Job State Change"],
        "detail": {"state": list(COPY_JOB_FAILED_STATES)},
    }


def restore_job_failed() -> dict[str, Any]:
    # Restore events carry `status`, not `state`: a pattern on `state` would never match.
    return {
        "source": [BACKUP_SOURCE],
        "detail-type": ["Restore Job State Change"],
        "detail": {"status": list(RESTORE_JOB_FAILED_STATUSES)},
    }


def key_threatened(key_arns: Sequence[str]) -> dict[str, Any]:
    """DisableKey or ScheduleKeyDeletion on one of ``key_arns``.

    Both calls accept a key ID or a key ARN (no alias), and the CloudTrail record keeps what the
    caller passed in ``requestParameters.keyId``, so the pattern lists both forms of every key.
    """
    ids = sorted({form for arn in key_arns for form in (arn, key_id_from_arn(arn))})
    return {
        "source": ["aws.kms"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["kms.amazonaws.com"],
            "eventName": list(KEY_THREATENING_CALLS),
            "requestParameters": {"keyId": ids},
        },
    }


BACKUP_JOB_MESSAGE = AlertMessage(
    paths={
        "job": "$.detail.backupJobId",
        "state": "$.detail.state",
        "resource": "$.detail.resourceArn",
        "type": "$.detail.resourceType",
        "vault": "$.detail.backupVaultName",
        "reason": "$.detail.statusMessage",
        "account": "$.account",
        "region": "$.region",
        "time": "$.time",
    },
    template=(
        "AWS Backup backup job <job> ended <state> in <account> <region> at <time>.\n"
        "Resource: <resource> (<type>)\n"
        "Vault: <vault>\n"
        "Reason: <reason>"
    ),
)

COPY_JOB_MESSAGE = AlertMessage(
    paths={
        "job": "$.detail.copyJobId",
        "state": "$.detail.state",
        "resource": "$.detail.resourceArn",
        "type": "$.detail.resourceType",
        "source": "$.detail.sourceBackupVaultArn",
        "destination": "$.detail.destinationBackupVaultArn",
        "reason": "$.detail.statusMessage",
        "account": "$.account",
        "region": "$.region",
        "time": "$.time",
    },
    template=(
        "AWS Backup copy job <job> ended <state> in <account> <region> at <time>.\n"
        "Resource: <resource> (<type>)\n"
        "Vault: <source> -> <destination>\n"
        "Reason: <reason>"
    ),
)

# Restore events name the recovery point (in `resources`), not the vault: the recovery point ARN is
# what `aws backup describe-restore-job` / `describe-recovery-point` need to find the vault.
RESTORE_JOB_MESSAGE = AlertMessage(
    paths={
        "job": "$.detail.restoreJobId",
        "status": "$.detail.status",
        "type": "$.detail.resourceType",
        "recoverypoint": "$.resources",
        "created": "$.detail.createdResourceArn",
        "reason": "$.detail.statusMessage",
        "account": "$.account",
        "region": "$.region",
        "time": "$.time",
    },
    template=(
        "AWS Backup restore job <job> ended <status> in <account> <region> at <time>.\n"
        "Resource type: <type>; recovery point (vault is in its description): <recoverypoint>\n"
        "Created resource: <created>\n"
        "Reason: <reason>"
    ),
)

KEY_MESSAGE = AlertMessage(
    paths={
        "call": "$.detail.eventName",
        "key": "$.detail.requestParameters.keyId",
        "caller": "$.detail.userIdentity.arn",
        "account": "$.account",
        "region": "$.region",
        "time": "$.time",
    },
    template=(
        "<call> was called on AWS Backup vault key <key> in <account> <region> at <time> by <caller>. "
        "A disabled or deleted key makes every recovery point it encrypts unreadable: "
        "cancel with `aws kms cancel-key-deletion` / `aws kms enable-key` now."
    ),
)
