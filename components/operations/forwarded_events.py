"""What leaves each workload account for the verifier's event bus, and what that bus alerts on: plain data.

Both sides use this one module: the workload stacks' forwarding rules (``components/event_forwarding.py``)
and the organisation stack's bus rules (``org/verifier_events.py``). Sources (docs/verifier.md, "Events
out of the account"):

- AWS Backup sends its service events to EventBridge with ``source: aws.backup``; the detail-types are
  those of https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-backup.html. There is no event
  for a selection: a deleted selection is seen only as the ``DeleteBackupSelection`` call.
- API calls reach EventBridge as ``AWS API Call via CloudTrail`` with the service's own ``source``
  (``aws.backup``, ``aws.kms``) and ``detail.eventSource`` / ``detail.eventName``
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html); the
  account needs a CloudTrail trail for them (docs/aws-facts.md, 5).
- Copy jobs have no ``ABORTED`` state (botocore ``CopyJobState``): the failed copy states are
  ``patterns.COPY_JOB_FAILED_STATES``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.operations import patterns

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"

BACKUP_SERVICE_EVENTS = (
    "Backup Vault State Change",
    "Backup Plan State Change",
    "Backup Job State Change",
    "Copy Job State Change",
    "Restore Job State Change",
    "Recovery Point Change",
    "Recovery Point State Change",
    "Region Setting State Change",
    "Recovery Point Index State Change",
)
"""Every detail-type AWS Backup sends to EventBridge itself: all are forwarded."""

JOB_EVENTS = ("Backup Job State Change", "Copy Job State Change")
"""The events whose stop means the account went silent: each plan run sends them."""

SETTINGS_EVENTS = ("Backup Plan State Change", "Backup Vault State Change", "Region Setting State Change")
"""A plan, vault or Region setting was created, changed or deleted: the bus alerts on every one."""

BACKUP_CHANGE_CALLS = (
    "DeleteBackupPlan",
    "UpdateBackupPlan",
    "DeleteBackupSelection",
    "UpdateRegionSettings",
    "DeleteBackupVault",
    "PutBackupVaultAccessPolicy",
    "DeleteBackupVaultAccessPolicy",
    "DeleteBackupVaultLockConfiguration",
    "DeleteBackupVaultNotifications",
    "DeleteRecoveryPoint",
    "UpdateRecoveryPointLifecycle",
    "DisassociateRecoveryPoint",
    "DisassociateBackupVaultMpaApprovalTeam",
)
"""AWS Backup calls that stop or weaken the copies (threat model a2-a6): forwarded, and alerted on."""

FORWARDED_KEY_CALLS = ("PutKeyPolicy", *patterns.KEY_THREATENING_CALLS)
"""KMS calls on a vault key that stop copies (a new policy without the isolated account) or make points
unreadable (disabled, scheduled for deletion)."""


def backup_service_events() -> dict[str, Any]:
    return {"source": [patterns.BACKUP_SOURCE], "detail-type": list(BACKUP_SERVICE_EVENTS)}


def backup_change_calls() -> dict[str, Any]:
    return {
        "source": [patterns.BACKUP_SOURCE],
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {"eventSource": ["backup.amazonaws.com"], "eventName": list(BACKUP_CHANGE_CALLS)},
    }


def vault_key_calls(key_arns: Sequence[str]) -> dict[str, Any]:
    """``FORWARDED_KEY_CALLS`` on one of ``key_arns`` (either form of each key, as ``key_threatened``)."""
    pattern = patterns.key_threatened(key_arns)
    return {**pattern, "detail": {**pattern["detail"], "eventName": list(FORWARDED_KEY_CALLS)}}


# --- on the verifier's bus -------------------------------------------------------------------------


def settings_changed() -> dict[str, Any]:
    return {"source": [patterns.BACKUP_SOURCE], "detail-type": list(SETTINGS_EVENTS)}


def key_changed() -> dict[str, Any]:
    """Any forwarded key call: the workload rules forward only the calls on vault keys."""
    return {
        "source": ["aws.kms"],
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {"eventSource": ["kms.amazonaws.com"], "eventName": list(FORWARDED_KEY_CALLS)},
    }


def job_events() -> dict[str, Any]:
    return {"source": [patterns.BACKUP_SOURCE], "detail-type": list(JOB_EVENTS)}


_CHECK = "Check it against the account's pipeline: an unplanned change can stop new air-gapped copies."

SETTINGS_MESSAGE = patterns.AlertMessage(
    paths={
        "event": "$.detail-type",
        "account": "$.account",
        "region": "$.region",
        "time": "$.time",
        "resources": "$.resources",
        "detail": "$.detail",
    },
    template=(
        "<event> in workload account <account> <region> at <time>.\n"
        "Resource: <resources>\n"
        "Detail: <detail>\n" + _CHECK
    ),
)

CALL_MESSAGE = patterns.AlertMessage(
    paths={
        "call": "$.detail.eventName",
        "caller": "$.detail.userIdentity.arn",
        "parameters": "$.detail.requestParameters",
        "error": "$.detail.errorCode",
        "account": "$.account",
        "region": "$.region",
        "time": "$.time",
    },
    template=(
        "AWS Backup <call> was called in workload account <account> <region> at <time> by <caller>.\n"
        "Resource: <parameters>\n"
        "Error (empty when it succeeded): <error>\n" + _CHECK
    ),
)
