"""A simulated fleet for the verifier's drill (tests/verifier/test_drill.py): what AWS Backup does in each
workload account hour by hour, written into the fakes the verifier reads (``conftest.FakeBackup`` for the
isolated account and the delegated administrator, ``conftest.FakeRam`` for the isolated account's shares).

Each account runs its stack's schedules: one plan with two selections (EBS volumes, DynamoDB tables),
backed up daily at the account's hour, each backup copied cross-Region and into the account's air-gapped
vault (the point is ``CREATING`` for two hours after the backup, then ``COMPLETED``, with the backup's
``CreationDate``, docs/verifier.md V3), and expired 7 days after its backup. Normal churn: a
volume created, another deleted, a backup job ``PARTIAL`` and retried three hours later.

An attack changes what the account does from its hour on (``Attack``); the verifier sees only what the
isolated account and the job listings show. Nothing here is the verifier: the drill runs its real readers
and evaluation against these fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from dr_runtime.verifier.naming import air_gapped_share_name, air_gapped_vault_name, vault_arn
from tests.verifier.conftest import DR_REGION, ISOLATED, REGION, Fleet

AIR_GAPPED_RETENTION = timedelta(days=7)
"""retention.airGappedCopy: the copies expire with their backups, 7 days after them (Pulumi.yaml)."""
VOLUMES = 10
TABLES = 2
JOB_HISTORY = timedelta(days=2)
"""Jobs older than this are dropped from the fake: the verifier lists the last 32 h only."""
RETRY_AFTER = timedelta(hours=3)


class Attack(StrEnum):
    """The threat model's silent stops (docs/threat-model.md), each done in one account."""

    SELECTION_DELETED = "selection deleted (the EBS selection)"
    OPT_OUT_TAG = "every resource tagged with the opt-out tag"
    COPY_ACTION_DROPPED = "copy action to the air-gapped vault dropped"
    TYPE_OPTED_OUT = "EBS opted out in the Region's settings"
    KEY_POLICY = "source key policy no longer grants the isolated account"
    FORGED_REPORT = "coverage job deleted, forged 100 % report, plan deleted"
    SHARE_REMOVED = "RAM share of the air-gapped vault removed"


@dataclass
class Resource:
    arn: str
    kind: str
    """``EBS`` or ``DynamoDB``."""
    created: datetime | None = None
    """None: there before the simulation."""
    deleted: datetime | None = None


@dataclass
class Account:
    account_id: str
    prefix: str
    backup_hour: int
    resources: list[Resource]
    attack: Attack | None = None
    partial_on: datetime | None = None
    """The day a backup job of the first volume ends PARTIAL (retried 3 h later)."""
    self_report: float = 100.0
    """What the account's own coverage job reports (the attacker forges it): the verifier never reads it."""
    coverage_job: bool = True

    @property
    def vault_name(self) -> str:
        return air_gapped_vault_name(self.prefix, self.account_id)

    @property
    def vault_arn(self) -> str:
        return vault_arn(REGION, ISOLATED, self.vault_name)

    @property
    def share_arn(self) -> str:
        return f"arn:aws:ram:{REGION}:{ISOLATED}:resource-share/{self.account_id}"


@dataclass
class World:
    """The fleet and what AWS holds about it; ``step`` advances one hour."""

    fleet: Fleet
    accounts: list[Account]
    attack_at: datetime
    now: datetime
    retries: list[tuple[datetime, Account, Resource]] = field(default_factory=list)
    completing: dict[str, datetime] = field(default_factory=dict)
    """recovery point ARN -> when its copy completes (it is ``CREATING`` until then)"""

    def __post_init__(self) -> None:
        # Every vault has the program's share (components/archive.py); the drill removes one.
        self.fleet.ram.defaults = False
        for account in self.accounts:
            self.fleet.isolated.vaults[account.vault_name] = []
            self.fleet.ram.shares[account.share_arn] = {
                "name": air_gapped_share_name(account.vault_name),
                "status": "ACTIVE",
                "resources": {account.vault_arn: "ASSOCIATED"},
                "principals": {account.account_id: "ASSOCIATED"},
            }

    def attacked(self, account: Account) -> bool:
        return account.attack is not None and self.now >= self.attack_at

    def step(self) -> None:
        """One hour: attacks begin, backups run, copies land and complete, retries run, points expire."""
        self.now += timedelta(hours=1)
        now = self.now
        for account in self.accounts:
            if self.now == self.attack_at and account.attack is not None:
                self._begin(account)
            points = self.fleet.isolated.vaults[account.vault_name]
            for point in points:
                if point["Status"] == "CREATING" and self.completing[point["RecoveryPointArn"]] <= now:
                    point["Status"] = "COMPLETED"
            if now.hour == account.backup_hour:
                for resource in self._selected(account):
                    if (
                        account.partial_on is not None
                        and now.date() == account.partial_on.date()
                        and (resource is account.resources[0])
                    ):
                        self._partial(account, resource, now)
                        continue
                    self._back_up(account, resource, now)
            self.fleet.isolated.vaults[account.vault_name] = [
                p for p in points if p["CreationDate"] + AIR_GAPPED_RETENTION > now
            ]
        due = [retry for retry in self.retries if retry[0] <= now]
        self.retries = [retry for retry in self.retries if retry[0] > now]
        for _when, account, resource in due:
            self._back_up(account, resource, now)
        for fake in (self.fleet.admin,):
            fake.backup_jobs = [j for j in fake.backup_jobs if j["CreationDate"] > now - JOB_HISTORY]
            fake.copy_jobs = [j for j in fake.copy_jobs if j["CreationDate"] > now - JOB_HISTORY]

    def _begin(self, account: Account) -> None:
        if account.attack is Attack.FORGED_REPORT:
            account.coverage_job = False
            account.self_report = 100.0
        if account.attack is Attack.SHARE_REMOVED:
            del self.fleet.ram.shares[account.share_arn]

    def _selected(self, account: Account) -> list[Resource]:
        """The resources the account's plan backs up now."""
        now = self.now
        alive = [
            r
            for r in account.resources
            if (r.created is None or r.created <= now) and (r.deleted is None or r.deleted > now)
        ]
        if not self.attacked(account):
            return alive
        attack = account.attack
        if attack in (Attack.OPT_OUT_TAG, Attack.FORGED_REPORT):
            return []
        if attack in (Attack.SELECTION_DELETED, Attack.TYPE_OPTED_OUT):
            return [r for r in alive if r.kind != "EBS"]
        return alive

    def _back_up(self, account: Account, resource: Resource, at: datetime) -> None:
        """A completed backup at ``at``, its cross-Region copy, and its copy into the air-gapped vault."""
        admin, who = self.fleet.admin, account.account_id
        source = f"arn:aws:backup:{REGION}:{who}:backup-vault:{account.prefix}-primary"
        admin.backup_jobs.append(
            {
                "AccountId": who,
                "BackupJobId": f"job-{len(admin.backup_jobs)}-{who}",
                "BackupVaultArn": source,
                "ResourceArn": resource.arn,
                "ResourceType": resource.kind,
                "State": "COMPLETED",
                "CreationDate": at,
            }
        )
        self._copy_job(
            account, resource, at, f"arn:aws:backup:{DR_REGION}:{who}:backup-vault:dr", "COMPLETED"
        )
        if self.attacked(account) and account.attack is Attack.COPY_ACTION_DROPPED:
            return
        refused = self.attacked(account) and account.attack is Attack.KEY_POLICY
        self._copy_job(account, resource, at, account.vault_arn, "FAILED" if refused else "COMPLETED")
        if refused:
            return
        points = self.fleet.isolated.vaults[account.vault_name]
        point_arn = f"arn:aws:backup:{REGION}:{ISOLATED}:recovery-point:{who}-{len(self.completing)}"
        self.completing[point_arn] = at + timedelta(hours=2)
        points.append(
            {
                "RecoveryPointArn": point_arn,
                "BackupVaultName": account.vault_name,
                "BackupVaultArn": account.vault_arn,
                "SourceBackupVaultArn": source,
                "ResourceArn": resource.arn,
                "ResourceType": resource.kind,
                "Status": "CREATING",
                "CreationDate": at,
                "VaultType": "LOGICALLY_AIR_GAPPED_BACKUP_VAULT",
            }
        )

    def _partial(self, account: Account, resource: Resource, at: datetime) -> None:
        """A backup job that ends PARTIAL: nothing is copied; the plan retries it 3 h later."""
        self.fleet.admin.backup_jobs.append(
            {
                "AccountId": account.account_id,
                "BackupJobId": f"job-{len(self.fleet.admin.backup_jobs)}-{account.account_id}",
                "ResourceArn": resource.arn,
                "ResourceType": resource.kind,
                "State": "PARTIAL",
                "CreationDate": at,
            }
        )
        self.retries.append((at + RETRY_AFTER, account, resource))

    def _copy_job(self, account: Account, resource: Resource, at: datetime, target: str, state: str) -> None:
        admin = self.fleet.admin
        admin.copy_jobs.append(
            {
                "AccountId": account.account_id,
                "CopyJobId": f"copy-{len(admin.copy_jobs)}-{account.account_id}",
                "SourceBackupVaultArn": f"arn:aws:backup:{REGION}:{account.account_id}:backup-vault:primary",
                "DestinationBackupVaultArn": target,
                "ResourceArn": resource.arn,
                "ResourceType": resource.kind,
                "State": state,
                "CreationDate": at + timedelta(hours=1),
            }
        )

    def newest_copy(self, account: Account, kinds: tuple[str, ...] = ("EBS", "DynamoDB")) -> datetime | None:
        """The newest usable air-gapped copy of the account's resources of ``kinds`` (what is left to restore)."""
        times = [
            p["CreationDate"]
            for p in self.fleet.isolated.vaults[account.vault_name]
            if p["Status"] == "COMPLETED" and p["ResourceType"] in kinds
        ]
        return max(times, default=None)
