"""Sample events shaped like the examples in AWS's documentation.

AWS Backup: https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html (backup and copy
events carry ``detail.state``, restore events ``detail.status``; the restore event's ``resources``
holds the recovery point). KMS via CloudTrail:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html.
"""

from __future__ import annotations

from typing import Any

ACCOUNT = "111111111111"


def _envelope(
    detail_type: str, source: str, region: str, resources: list[str], detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "710b0398-d48e-f3c3-afca-cfeb2fdaa656",
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "2025-01-15T06:10:00Z",
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def backup_job(state: str, region: str = "us-east-1") -> dict[str, Any]:
    resource = f"arn:aws:ec2:{region}:{ACCOUNT}:volume/vol-0123456789abcdef0"
    detail: dict[str, Any] = {
        "backupJobId": "9f8e7d6c-1111-2222-3333-444455556666",
        "backupSizeInBytes": "0",
        "backupVaultArn": f"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:dr-prod-ebs",
        "backupVaultName": "dr-prod-ebs",
        "bytesTransferred": "0",
        "creationDate": "2025-01-15T05:00:00.000Z",
        "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/dr-prod-ebs-AWSBackupRole",
        "resourceArn": resource,
        "resourceType": "EBS",
        "state": state,
        "statusMessage": "Backup job failed because the volume no longer exists",
        "percentDone": 0,
        "createdBy": {"backupPlanId": "abcd", "backupPlanRuleId": "efgh"},
    }
    return _envelope("Backup Job State Change", "aws.backup", region, [resource], detail)


def copy_job(state: str, region: str = "us-east-1") -> dict[str, Any]:
    resource = f"arn:aws:rds:{region}:{ACCOUNT}:db:orders"
    detail: dict[str, Any] = {
        "copyJobId": "0ab1c2d3-aaaa-bbbb-cccc-ddddeeeeffff",
        "backupSizeInBytes": 5368709120,
        "creationDate": "2025-01-15T07:30:00.000Z",
        "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/dr-prod-rds-AWSBackupRole",
        "resourceArn": resource,
        "resourceType": "RDS",
        "sourceBackupVaultArn": f"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:dr-prod-rds",
        "destinationBackupVaultArn": f"arn:aws:backup:us-east-2:{ACCOUNT}:backup-vault:dr-prod-rds",
        "state": state,
        "statusMessage": "Copy job failed: the source key is not accessible",
    }
    return _envelope("Copy Job State Change", "aws.backup", region, [resource], detail)


def restore_job(status: str, region: str = "us-east-1") -> dict[str, Any]:
    recovery_point = f"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:1EB3B5E7-9EB0-435A-A80B-108B488B0D45"
    detail: dict[str, Any] = {
        "restoreJobId": "5C4D6E7F-0000-1111-2222-333344445555",
        "backupSizeInBytes": "1024",
        "creationDate": "2025-01-15T10:00:00.000Z",
        "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/dr-prod-restore-testing-AWSBackupRole",
        "percentDone": 100,
        "resourceType": "DynamoDB",
        "status": status,
        "statusMessage": "Restore failed: table name already exists",
        "createdResourceArn": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/orders-restored",
    }
    return _envelope("Restore Job State Change", "aws.backup", region, [recovery_point], detail)


def kms_call(event_name: str, key_id: str, region: str = "us-east-1") -> dict[str, Any]:
    detail: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/someone"},
        "eventTime": "2025-01-15T12:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "requestParameters": {"keyId": key_id, "pendingWindowInDays": 7},
        "responseElements": None,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
    }
    return _envelope("AWS API Call via CloudTrail", "aws.kms", region, [], detail)
