"""Verifier evidence for the fleet report's accounts, made by the verifier's own evaluation (``evaluate``)
from readings of its vaults and job listings, written into a folder laid out like its evidence bucket.

``Copy`` gives, for one resource, the hours since its newest point in each tier (None: none there).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dr_runtime.verifier import evidence_layout
from dr_runtime.verifier.evaluation import evaluate
from dr_runtime.verifier.readings import (
    AccountReading,
    BaselineReading,
    JobReading,
    Sighting,
    Tier,
    TierReading,
    VaultReading,
)
from dr_runtime.verifier.settings import DEFAULT_EVIDENCE_PREFIX
from tests.fleet_report.reports import NOW, arn
from tests.verifier.conftest import lag_arn, lag_name, only


@dataclass(frozen=True)
class Copy:
    rtype: str
    name: str
    air_gapped: float | None = 1.0
    in_region: float | None = 1.0
    cross_region: float | None = 1.0


def evidence(account: str, copies: Sequence[Copy], now: datetime = NOW) -> dict[str, Any]:
    def seen(copy: Copy, tier: Tier, hours: float | None) -> list[Sighting]:
        when = now - timedelta(hours=hours) if hours is not None else None
        return [] if when is None else [Sighting(arn(account, copy.rtype, copy.name), copy.rtype, tier, when)]

    vault = VaultReading(sightings=[s for c in copies for s in seen(c, Tier.AIR_GAPPED, c.air_gapped)])
    jobs = JobReading(
        sightings=[
            s
            for c in copies
            for s in [*seen(c, Tier.IN_REGION, c.in_region), *seen(c, Tier.CROSS_REGION, c.cross_region)]
        ]
    )
    reading = AccountReading(
        account,
        [TierReading(Tier.AIR_GAPPED, lag_name(account), lag_arn(account), vault)],
        jobs,
        BaselineReading(),
    )
    return evaluate(only(account), reading, now).evidence


# Every resource of the fleet report's fixtures (tests/fleet_report/reports.py) copied as it is backed up.
FULL_COPIES = (Copy("S3", "orders-data"), Copy("EBS", "vol-0a1"), Copy("RDS", "orders-db"))
DRIFT_COPIES = (
    Copy("S3", "invoices"),
    Copy("S3", "exports"),
    Copy("S3", "scratch", 100, 100, 100),  # opted out since: its last copies are days old
    Copy("EBS", "vol-0b1"),
    Copy("EBS", "vol-0b2", 100, None, None),
    Copy("RDS", "billing-db", 72, 72, 72),
    Copy("RDS", "ledger-db"),
)


def write_evidence(root: Path, documents: Mapping[str, dict[str, Any] | str]) -> Path:
    """The documents (or raw text) under ``root`` as the verifier's bucket holds them; returns ``root``."""
    for account, document in documents.items():
        path = root / evidence_layout.latest_key(DEFAULT_EVIDENCE_PREFIX, account)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = document if isinstance(document, str) else json.dumps(document, indent=1, sort_keys=True)
        path.write_text(text, encoding="utf-8")
    return root
