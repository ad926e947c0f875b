"""Coverage reports of three workload accounts, made by the coverage job's own code (``build_report``),
written into a folder laid out like the fleet bucket.

- 111111111111: fresh, every resource has a recent recovery point in every copy tier (one
  Kubernetes-owned volume excluded).
- 333333333333: fresh, with drift: an EBS volume never backed up, an RDS instance last backed up
  three days ago and one bucket opted out (below 100 % in every tier).

Every copy of a resource is made as its backup is (``copies``), so the copy tiers are measured.
- 777777777777: stale, its last report is four days old.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dr_runtime.fleet_report import bucket_layout as layout
from dr_runtime.operations import inventory as inv
from dr_runtime.operations.copy_tiers import COPY_TIERS
from dr_runtime.operations.coverage import build_report
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.operations.selection_verdict import SelectionConfig

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
REGION = "us-east-1"
FULL, DRIFT, STALE, MISSING = "111111111111", "333333333333", "555555555555", "666666666666"
TYPES = ("S3", "EBS", "RDS")
CLUSTER = "platform-prod-1"
OPT_OUT = {"exclude-disaster-recovery-backup": "true"}
OWNED = {f"kubernetes.io/cluster/{CLUSTER}": "owned"}

# (type, name, tags, hours since the last recovery point or None for never)
Spec = tuple[str, str, dict[str, str], float | None]


def arn(account: str, rtype: str, name: str) -> str:
    return {
        "S3": f"arn:aws:s3:::{name}",
        "EBS": f"arn:aws:ec2:{REGION}:{account}:volume/{name}",
        "RDS": f"arn:aws:rds:{REGION}:{account}:db:{name}",
    }[rtype]


def coverage_report(account: str, generated_at: datetime, specs: Sequence[Spec]) -> dict[str, Any]:
    resources = [inv.Resource(t, arn(account, t, n), n, tags) for t, n, tags, _ in specs]
    backups = {
        arn(account, t, n): generated_at - timedelta(hours=age) for t, n, _, age in specs if age is not None
    }
    config = CoverageConfig(
        region=REGION,
        types=TYPES,
        selection=SelectionConfig(kubernetes_clusters=(CLUSTER,)),
        account_id=account,
        publish_metrics=False,
    )
    copies = dict.fromkeys(COPY_TIERS, backups)
    return build_report(
        inv.Inventory(resources=resources), backups, config, generated_at, copies=copies
    ).as_dict()


def fleet_reports() -> dict[str, dict[str, Any]]:
    return {
        FULL: coverage_report(
            FULL,
            NOW - timedelta(hours=2),
            [
                ("S3", "orders-data", {}, 5),
                ("EBS", "vol-0a1", {}, 3),
                ("EBS", "vol-0k8", OWNED, None),
                ("RDS", "orders-db", {}, 4),
            ],
        ),
        DRIFT: coverage_report(
            DRIFT,
            NOW - timedelta(hours=3),
            [
                ("S3", "invoices", {}, 2),
                ("S3", "exports", {}, 6),
                ("S3", "scratch", OPT_OUT, None),
                ("EBS", "vol-0b1", {}, 5),
                ("EBS", "vol-0b2", {}, None),
                ("RDS", "billing-db", {}, 72),
                ("RDS", "ledger-db", {}, 1),
            ],
        ),
        STALE: coverage_report(
            STALE,
            NOW - timedelta(days=4),
            [("S3", "archive", {}, 1), ("EBS", "vol-0c1", {}, 1), ("RDS", "legacy-db", {}, 1)],
        ),
    }


def write_fleet(root: Path, reports: dict[str, dict[str, Any]] | None = None) -> Path:
    """The reports under ``root`` as the fleet bucket holds them; returns ``root``."""
    for account, report in (reports or fleet_reports()).items():
        path = root / layout.coverage_key(account, REGION)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return root


if __name__ == "__main__":
    write_fleet(Path(sys.argv[1]))
