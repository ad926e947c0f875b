"""API calls and wall time of ``restore plan`` for 10, 100 and 1,000 protected resources (served in-process).

Every AWS call goes through the real boto3 clients (parameter validation against the service models) and
is answered by a ``before-call`` hook from generated data: one vault per type in the DR region, three
recovery points per resource (two completed, one partial), spread over the eight types. The figures show
that listing grows with pages (1,000 points a page), never with resources times vaults; the remaining
calls are the one ``GetRecoveryPointRestoreMetadata`` per resource that a plan must show, and a fixed
handful of target-region listings. Prints figures only.

    .venv/bin/python benchmarks/restore.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dr_model import catalog
from dr_runtime.aws import client
from dr_runtime.restore import planner
from dr_runtime.restore import source_vaults as sources

REGION, ACCOUNT = "us-east-2", "111111111111"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SIZES = (10, 100, 1_000)
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
METADATA = {
    "s3": {"DestinationBucketName": "b"},
    "ebs": {"availabilityZone": "us-east-1a", "volumeType": "gp3"},
    "efs": {"file-system-id": "fs-0", "PerformanceMode": "generalPurpose"},
    "dynamodb": {"originalTableName": "t"},
    "rds": {
        "DBInstanceIdentifier": "d",
        "DBSubnetGroupName": "prod",
        "VpcSecurityGroupIds": '["sg-01234567"]',
    },
    "aurora": {"DBClusterIdentifier": "c", "Engine": "aurora-postgresql", "DBSubnetGroupName": "prod"},
    "documentdb": {"DBClusterIdentifier": "c", "Engine": "docdb", "DBSubnetGroupName": "prod"},
    "neptune": {"DBClusterIdentifier": "c", "Engine": "neptune", "DBSubnetGroupName": "prod"},
}


def _resource_arn(type_key: str, index: int) -> str:
    if type_key == "s3":
        return f"arn:aws:s3:::bucket-{index}"
    return f"arn:aws:{type_key}:us-east-1:{ACCOUNT}:thing/{type_key}-{index}"


AIR_GAPPED = "dr-prod-air-gapped"


def points_by_vault(total: int, air_gapped: bool) -> dict[str, list[dict[str, Any]]]:
    names = [AIR_GAPPED] if air_gapped else [f"dr-prod-{t}" for t in catalog.TYPE_KEYS]
    vaults: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for index in range(total):
        rtype = catalog.CATALOG[index % len(catalog.CATALOG)]
        for age, status in ((6, "COMPLETED"), (30, "COMPLETED"), (2, "PARTIAL")):
            vaults[AIR_GAPPED if air_gapped else f"dr-prod-{rtype.key}"].append(
                {
                    "RecoveryPointArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:{rtype.key}-{index}-{age}",
                    "ResourceArn": _resource_arn(rtype.key, index),
                    "ResourceType": rtype.backup_name,
                    "Status": status,
                    "CreationDate": NOW - timedelta(hours=age),
                }
            )
    return vaults


class Served:
    """Answers every call from generated data and counts calls per operation."""

    def __init__(self, total: int, air_gapped: bool) -> None:
        self.vaults = points_by_vault(total, air_gapped)
        self.calls: Counter[str] = Counter()
        self.clients: dict[str, Any] = {}

    def factory(self, service: str) -> Any:
        if service not in self.clients:
            made = client(service, REGION)
            made.meta.events.register("before-parameter-build.*.*", self._remember)
            made.meta.events.register("before-call.*.*", self._answer)
            self.clients[service] = made
        return self.clients[service]

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        self.calls[model.name] += 1
        params = context.get("api_params", {})
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, model.name, None)
        answer = handler(params) if handler is not None else FIXED.get(model.name, {})
        return AWSResponse("https://example.invalid", 200, {}, None), answer

    def DescribeBackupVault(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - API names
        return {"BackupVaultName": params["BackupVaultName"], "EncryptionKeyArn": KEY}

    def ListRecoveryPointsByBackupVault(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        points = self.vaults[params["BackupVaultName"]]
        start = int(params.get("NextToken", 0))
        end = start + params["MaxResults"]
        page: dict[str, Any] = {"RecoveryPoints": points[start:end]}
        if end < len(points):
            page["NextToken"] = str(end)
        return page

    def GetRecoveryPointRestoreMetadata(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        type_key = params["RecoveryPointArn"].rsplit(":", 1)[-1].split("-")[0]
        return {"RestoreMetadata": METADATA[type_key]}


# Answers that do not depend on the request.
FIXED: dict[str, dict[str, Any]] = {
    "GetCallerIdentity": {"Account": ACCOUNT},
    "DescribeAvailabilityZones": {
        "AvailabilityZones": [{"ZoneName": f"{REGION}{z}", "State": "available"} for z in "abc"]
    },
    "DescribeVpcs": {"Vpcs": [{"VpcId": "vpc-0default"}]},
    "DescribeSecurityGroups": {
        "SecurityGroups": [{"GroupId": "sg-0default", "VpcId": "vpc-0default", "GroupName": "default"}]
    },
    "DescribeKey": {
        "KeyMetadata": {"KeyId": "k", "Arn": KEY, "KeyState": "Enabled", "KeyManager": "CUSTOMER"}
    },
}


def run(total: int, air_gapped: bool = False) -> tuple[Counter[str], float]:
    served = Served(total, air_gapped)
    if air_gapped:
        vaults = [sources.VaultRef(f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{AIR_GAPPED}", None)]
        source = sources.Source.AIR_GAPPED
    else:
        vaults = [
            sources.VaultRef(f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:dr-prod-{t}", t)
            for t in catalog.TYPE_KEYS
        ]
        source = sources.Source.CROSS_REGION
    request = planner.PlanRequest(source=source, vaults=vaults, region=REGION)
    started = time.perf_counter()
    plan = planner.make_plan(served.factory, request, now=NOW)
    elapsed = time.perf_counter() - started
    assert plan["summary"]["resources"] == total, plan["summary"]
    return served.calls, elapsed


HEADER = ("resources", "list pages", "metadata", "other", "total", "per-resource x vaults", "seconds")


def _line(values: tuple[object, ...]) -> str:
    return " ".join(f"{v!s:>{max(len(h), 5)}}" for v, h in zip(values, HEADER, strict=True))


def main() -> None:
    for air_gapped, title in (
        (False, "cross-region source: 8 vaults, one per type"),
        (True, "air-gapped source: 1 vault holding every type"),
    ):
        print(f"restore plan, {title}; 3 recovery points per resource, 1,000 per page")
        print(_line(HEADER))
        vault_count = 1 if air_gapped else len(catalog.TYPE_KEYS)
        for total in SIZES:
            calls, elapsed = run(total, air_gapped)
            pages = calls["ListRecoveryPointsByBackupVault"]
            per_resource = calls["GetRecoveryPointRestoreMetadata"]
            other = sum(calls.values()) - pages - per_resource
            print(
                _line(
                    (
                        total,
                        pages,
                        per_resource,
                        other,
                        sum(calls.values()),
                        total * vault_count,
                        f"{elapsed:.2f}",
                    )
                )
            )
        print()


if __name__ == "__main__":
    main()
