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
    """A recovery point in the account's logically air-gapped vault in the isolated account (its listing)."""
    LOCKED = "locked"
    """A recovery point in the account's locked standard vault in the isolated account (its listing): the
    types AWS Backup cannot copy into an air-gapped vault (RDS DB instances)."""
    AIR_GAPPED_JOB = "air-gapped-copy-job"
    """A completed copy job into the air-gapped vault (the delegated administrator's job listing)."""
    LOCKED_JOB = "locked-copy-job"
    """A completed copy job into the locked vault (job listing)."""
    CROSS_REGION = "cross-region"
    """A completed copy job into a vault of the same account in another Region (job listing)."""
    IN_REGION = "in-region"
    """A completed backup job (job listing)."""


COPY_TIERS = (Tier.AIR_GAPPED, Tier.LOCKED)
"""The copy tiers in the isolated account, each a vault of its own; each is verified on its own."""
COPY_JOB_TIER = {Tier.AIR_GAPPED: Tier.AIR_GAPPED_JOB, Tier.LOCKED: Tier.LOCKED_JOB}

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
class PolicyReading:
    """A vault's access policy (``GetBackupVaultAccessPolicy``)."""

    document: str | None = None
    """The policy as AWS returned it; None when the vault has none (or was not read)."""
    error: str | None = None


@dataclass
class StateReading:
    """A vault's own description (``DescribeBackupVault``): its type, lock, retention range, approval team."""

    vault_type: str | None = None
    """``VaultType``: ``BACKUP_VAULT``, ``LOGICALLY_AIR_GAPPED_BACKUP_VAULT`` or ``RESTORE_ACCESS_BACKUP_VAULT``."""
    locked: bool | None = None
    min_retention_days: int | None = None
    max_retention_days: int | None = None
    mpa_team_arn: str | None = None
    """``MpaApprovalTeamArn``: the multi-party approval team associated with the vault, if any."""
    error: str | None = None


@dataclass
class VaultReading:
    """One of the account's vaults in the isolated account, listed by its owner."""

    found: bool = True
    sightings: list[Sighting] = field(default_factory=list)
    """Usable recovery points only."""
    unusable: int = 0
    """Recovery points in a state a restore cannot use."""
    error: str | None = None
    policy: PolicyReading | None = None
    """None when not read: the vault was not found or not listed, or no expected policy was given."""
    state: StateReading | None = None
    """None when not read: the vault was not found or not listed."""


@dataclass
class JobReading:
    """The account's completed backup and copy jobs in the window, from the delegated administrator."""

    sightings: list[Sighting] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class ShareAssociation:
    share_arn: str
    share_name: str
    entity: str
    """The resource's ARN or the principal (an account ID, an organisation or OU ARN, a role ARN)."""
    status: str


@dataclass
class ShareReading:
    """The RAM shares of the isolated account that associate the account's air-gapped vault."""

    shares: dict[str, str] = field(default_factory=dict)
    """share ARN -> its status (``GetResourceShares``), for every share associating the vault"""
    names: dict[str, str] = field(default_factory=dict)
    """share ARN -> its name"""
    resources: list[ShareAssociation] = field(default_factory=list)
    """The vault's resource associations, in any share of the isolated account."""
    principals: list[ShareAssociation] = field(default_factory=list)
    """The principal associations of those shares."""
    error: str | None = None


@dataclass(frozen=True)
class BaselineEntry:
    resource_type: str
    last_seen: datetime
    """The newest copy of the resource in its tier seen by any run."""
    tier: Tier = Tier.AIR_GAPPED
    """The copy tier (``COPY_TIERS``) the resource copies into."""


@dataclass
class BaselineReading:
    """The account's baseline from the evidence store: resources with an air-gapped copy lately."""

    entries: dict[str, BaselineEntry] | None = None
    """None when there is none yet (first run, or no evidence bucket)."""
    error: str | None = None


@dataclass
class TierReading:
    """One copy tier's vault of the account: where it should be, and what its listing found."""

    tier: Tier
    vault_name: str
    vault_arn: str
    vault: VaultReading


@dataclass
class AccountReading:
    account_id: str
    tiers: list[TierReading]
    """The air-gapped vault first, then the locked vault where the account has one."""
    jobs: JobReading
    baseline: BaselineReading
    share: ShareReading | None = None
    """The air-gapped vault's RAM shares; None when not read (the vault was not found or not listed)."""
