"""The watchdog's view of AWS Backup: backup and copy jobs older than the threshold, and their alert text.

Listed with ``ListBackupJobs`` and ``ListCopyJobs`` (``dr_runtime/operations/watchdog.py`` says why these
states and why age counts from ``CreationDate``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import run_reason
from dr_runtime.operations.inventory import pages
from dr_runtime.operations.watchdog_settings import WatchdogConfig

BACKUP = "backup"
COPY = "copy"
LISTINGS = ("list_backup_jobs:", "list_copy_jobs:")
SUBJECT_LIMIT = 100  # SNS subject: at most 100 printable ASCII characters.


@dataclass(frozen=True)
class LongRunningJob:
    kind: str
    job_id: str
    state: str
    resource_arn: str
    resource_type: str
    vault: str
    created: datetime
    age: timedelta

    @property
    def age_text(self) -> str:
        minutes = int(self.age.total_seconds() // 60)
        return f"{minutes // 60}h{minutes % 60:02d}m"

    def subject(self) -> str:
        line = (
            f"AWS Backup {self.kind} job {self.state} {self.age_text} after creation: "
            f"{self.resource_type} {self.job_id}"
        )
        return line.encode("ascii", "replace").decode()[:SUBJECT_LIMIT]

    def message(self, config: WatchdogConfig) -> str:
        if self.kind == BACKUP:
            window = (
                f"AWS cancels a backup job not finished within the completion window "
                f"({config.completion_window_minutes} minutes), counted from its scheduled time or its "
                "start (AWS documents both)."
            )
        else:
            window = (
                "Copy jobs have no completion window; while this one runs, later copies of the same "
                "resource wait."
            )
        return "\n".join(
            (
                f"An AWS Backup {self.kind} job created {self.age_text} ago is still {self.state}, past the "
                f"alert threshold of {config.threshold_minutes} minutes. {window}",
                "",
                f"Job ID:    {self.job_id}",
                f"Job type:  {self.kind}",
                f"State:     {self.state}",
                f"Resource:  {self.resource_arn} ({self.resource_type})",
                f"Vault:     {self.vault}",
                f"Created:   {self.created.astimezone(UTC).isoformat()}",
                f"Age:       {self.age_text}",
            )
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "job_id": self.job_id,
            "state": self.state,
            "resource_arn": self.resource_arn,
            "resource_type": self.resource_type,
            "vault": self.vault,
            "created": self.created.astimezone(UTC).isoformat(),
            "age_minutes": int(self.age.total_seconds() // 60),
        }


def _backup_jobs(backup: Any, state: str, cutoff: datetime, now: datetime) -> Iterator[LongRunningJob]:
    for page in pages(backup, "list_backup_jobs", ByState=state, ByCreatedBefore=cutoff):
        for job in page.get("BackupJobs", []):
            yield LongRunningJob(
                kind=BACKUP,
                job_id=job["BackupJobId"],
                state=job.get("State", state),
                resource_arn=job.get("ResourceArn", ""),
                resource_type=job.get("ResourceType", ""),
                vault=job.get("BackupVaultName") or job.get("BackupVaultArn", ""),
                created=job["CreationDate"],
                age=now - job["CreationDate"],
            )


def _copy_jobs(backup: Any, state: str, cutoff: datetime, now: datetime) -> Iterator[LongRunningJob]:
    for page in pages(backup, "list_copy_jobs", ByState=state, ByCreatedBefore=cutoff):
        for job in page.get("CopyJobs", []):
            source = job.get("SourceBackupVaultArn", "")
            destination = job.get("DestinationBackupVaultArn", "")
            yield LongRunningJob(
                kind=COPY,
                job_id=job["CopyJobId"],
                state=job.get("State", state),
                resource_arn=job.get("ResourceArn", ""),
                resource_type=job.get("ResourceType", ""),
                vault=f"{source} -> {destination}",
                created=job["CreationDate"],
                age=now - job["CreationDate"],
            )


def find_long_running(
    backup: Any, config: WatchdogConfig, now: datetime
) -> tuple[list[LongRunningJob], dict[str, str]]:
    """Jobs in the watched states older than the threshold, and the listings that failed."""
    threshold = timedelta(minutes=config.threshold_minutes)
    # The service filters by creation time, so only pages of old jobs are fetched.
    cutoff = now - threshold
    found: dict[str, LongRunningJob] = {}
    failures: dict[str, str] = {}
    backup_listing, copy_listing = LISTINGS
    listings = [(f"{backup_listing}{s}", _backup_jobs, s) for s in config.backup_states]
    listings += [(f"{copy_listing}{s}", _copy_jobs, s) for s in config.copy_states]
    for name, lister, state in listings:
        try:
            for job in lister(backup, state, cutoff, now):
                # A job that moves PENDING -> RUNNING between two listings appears twice.
                if job.age >= threshold:
                    found.setdefault(job.job_id, job)
        except (ClientError, BotoCoreError) as error:
            # A refused listing (denied, throttled, no credentials) stops the run before any alert.
            failures[name] = run_reason(error)
    return sorted(found.values(), key=lambda j: (j.created, j.job_id)), failures
