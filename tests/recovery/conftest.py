"""Fixtures for the restore commands: moto for EC2, RDS, KMS and STS in the DR region, botocore's Stubber
for AWS Backup (moto does not model recovery points or restore jobs; the Stubber checks every request
against the AWS API model)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from tests.aws_clients import Clients as SharedClients
from tests.aws_clients import fake_credentials
from tests.operations.conftest import retry_sleeps  # noqa: F401 - the same fixture, shared

WORKLOAD, ISOLATED, RECOVERY = "111111111111", "222222222222", "333333333333"
PRIMARY, DR = "us-east-1", "us-east-2"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def vault_arn(name: str, region: str = DR, account: str = WORKLOAD) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


def point_arn(ident: str, region: str = DR, account: str = WORKLOAD) -> str:
    return f"arn:aws:backup:{region}:{account}:recovery-point:{ident}"


SOURCE_ARNS = {
    "s3": "arn:aws:s3:::orders-data",
    "ebs": f"arn:aws:ec2:{PRIMARY}:{WORKLOAD}:volume/vol-0123456789abcdef0",
    "efs": f"arn:aws:elasticfilesystem:{PRIMARY}:{WORKLOAD}:file-system/fs-0123456789abcdef0",
    "dynamodb": f"arn:aws:dynamodb:{PRIMARY}:{WORKLOAD}:table/orders",
    "rds": f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:db:orders-db",
    "aurora": f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:cluster:ledger",
    "documentdb": f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:cluster:catalog",
    "neptune": f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:cluster:graph",
}
BACKUP_NAMES = {
    "s3": "S3",
    "ebs": "EBS",
    "efs": "EFS",
    "dynamodb": "DynamoDB",
    "rds": "RDS",
    "aurora": "Aurora",
    "documentdb": "DocumentDB",
    "neptune": "Neptune",
}
SOURCE_KEY = f"arn:aws:kms:{PRIMARY}:{WORKLOAD}:key/11111111-2222-3333-4444-555555555555"
# What GetRecoveryPointRestoreMetadata returns for a point of each type backed up in us-east-1.
SOURCE_METADATA: dict[str, dict[str, str]] = {
    "s3": {
        "DestinationBucketName": "orders-data",
        "Encrypted": "true",
        "EncryptionType": "SSE-KMS",
        "KMSKey": SOURCE_KEY,
    },
    "ebs": {
        "availabilityZone": "us-east-1a",
        "encrypted": "true",
        "kmsKeyId": SOURCE_KEY,
        "volumeType": "gp3",
        "volumeSize": "100",
    },
    "efs": {
        "file-system-id": "fs-0123456789abcdef0",
        "Encrypted": "true",
        "KmsKeyId": SOURCE_KEY,
        "PerformanceMode": "generalPurpose",
    },
    "dynamodb": {"originalTableName": "orders", "encryptionType": "KMS", "kmsMasterKeyArn": SOURCE_KEY},
    "rds": {
        "DBInstanceIdentifier": "orders-db",
        "DBInstanceClass": "db.r6g.large",
        "DBSubnetGroupName": "prod-databases",
        "VpcSecurityGroupIds": '["sg-0aaaaaaaaaaaaaaa1"]',
        "AvailabilityZone": "us-east-1b",
        "DBParameterGroupName": "orders-params",
        "Engine": "postgres",
        "KmsKeyId": SOURCE_KEY,
        "MultiAZ": "false",
    },
    "aurora": {
        "DBClusterIdentifier": "ledger",
        "Engine": "aurora-postgresql",
        "DBSubnetGroupName": "prod-databases",
        "VpcSecurityGroupIds": '["sg-0aaaaaaaaaaaaaaa1"]',
        "AvailabilityZones": '["us-east-1a","us-east-1b","us-east-1c"]',
        "KmsKeyId": SOURCE_KEY,
        "DBClusterParameterGroupName": "default.aurora-postgresql15",
    },
    "documentdb": {
        "DBClusterIdentifier": "catalog",
        "Engine": "docdb",
        "DBSubnetGroupName": "prod-databases",
        "AvailabilityZones": '["us-east-1a"]',
        "KmsKeyId": SOURCE_KEY,
    },
    "neptune": {
        "DBClusterIdentifier": "graph",
        "Engine": "neptune",
        "DBSubnetGroupName": "prod-databases",
        "KmsKeyId": SOURCE_KEY,
    },
}


def recovery_point(
    type_key: str,
    ident: str,
    status: str = "COMPLETED",
    hours_old: float = 6,
    vault: str | None = None,
    resource: str | None = None,
    key: str | None = None,
    region: str = DR,
    account: str = WORKLOAD,
) -> dict[str, Any]:
    point: dict[str, Any] = {
        "RecoveryPointArn": point_arn(ident, region, account),
        "BackupVaultName": vault or f"dr-prod-{type_key}",
        "BackupVaultArn": vault_arn(vault or f"dr-prod-{type_key}", region, account),
        "ResourceArn": resource or SOURCE_ARNS[type_key],
        "ResourceType": BACKUP_NAMES[type_key],
        "Status": status,
        "CreationDate": NOW - timedelta(hours=hours_old),
    }
    if key:
        point["EncryptionKeyArn"] = key
    return point


class Clients(SharedClients):
    """A client factory as the commands take it: real clients (moto behind them), Backup stubbed."""

    def __init__(self, region: str = DR) -> None:
        super().__init__(region)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", DR)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", WORKLOAD)


@pytest.fixture
def clients(aws_env: None) -> Iterator[Clients]:
    with mock_aws():
        yield Clients()


@pytest.fixture
def dr_vault_key(clients: Clients) -> str:
    """The customer-managed key of the DR-region vaults (moto)."""
    return str(clients("kms").create_key(Description="dr-prod vault key")["KeyMetadata"]["Arn"])
