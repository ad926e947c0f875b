"""What one run read about one workload account, as plain data: the evaluation's input.

Each reading holds either what it found or why it could not be read (``error``): a reading that failed
is never an empty one, so the evaluation cannot take missing data for "all good".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Tier(StrEnum):
    """Where a copy of a resource was seen, and who says so."""

    AIR_GAPPED = "air-gapped"
    """A recovery point in the account's vault in the isolated account (the vault listing)."""
    AIR_GAPPED_JOB = "air-gapped-copy-job"
    """A completed copy job into that vault (the delegated administrator's job listing)."""
    CROSS_REGION = "cross-region"
    """A completed copy job into a vault of the same account in another Region (job listing)."""
    IN_REGION = "in-region"
    """A completed backup job (job listing)."""


USABLE_STATES = frozenset({"COMPLETED", "AVAILABLE"})
"""Recovery point states a restore can use (botocore ``RecoveryPointStatus``); PARTIAL, CREATING,
EXPIRED, DELETING and STOPPED points are counted but never make a resource fresh."""


@dataclass(frozen=True)
class Sighting:
    resource_arn: str
    resource_type: str
    tier: Tier
    time: datetime
    """The recovery point's ``CreationDate`` (a copy keeps its source's), or the job's ``CreationDate``."""


@dataclass
class VaultReading:
    """The account's vault in the isolated account, listed by its owner."""

    found: bool = True
    sightings: list[Sighting] = field(default_factory=list)
    """Usable recovery points only."""
    unusable: int = 0
    """Recovery points in a state a restore cannot use."""
    error: str | None = None


@dataclass
class JobReading:
    """The account's completed backup and copy jobs in the window, from the delegated administrator."""

    sightings: list[Sighting] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class BaselineEntry:
    resource_type: str
    last_seen: datetime
    """The newest air-gapped copy of the resource seen by any run."""


@dataclass
class BaselineReading:
    """The account's baseline from the evidence store: resources with an air-gapped copy lately."""

    entries: dict[str, BaselineEntry] | None = None
    """None when there is none yet (first run, or no evidence bucket)."""
    error: str | None = None


@dataclass
class AccountReading:
    account_id: str
    vault_name: str
    vault_arn: str
    vault: VaultReading
    jobs: JobReading
    baseline: BaselineReading
