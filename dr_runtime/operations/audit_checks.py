"""Whether the stack's AWS Backup Audit Manager frameworks can work: AWS Config records what they evaluate,
and no framework's deployment failed (docs/coverage-checks.md).

Frameworks evaluate their controls through AWS Config in their own Region, and each control needs AWS
Config to record certain resource types (docs/aws-facts.md 7.3, 7.9); a framework whose deployment ends
``FAILED`` is still "created" for the provider, so ``pulumi up`` passes with it (7.10). Per Region with a
framework of the stack:

- ``config-recording``: a customer-managed configuration recorder that is recording
  (``DescribeConfigurationRecorderStatus``) and whose recording group takes every resource type the
  Region's controls need (``DescribeConfigurationRecorders``): all supported types, an inclusion list
  holding them, or an exclusion list naming none of them;
- ``audit-frameworks``: ``DescribeFramework`` of each framework name; ``DeploymentStatus`` ``FAILED`` or
  no such framework is a finding.

The controls' resource types and the setting are in ``audit_settings``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import item_reason
from dr_runtime.operations.audit_settings import CHECKS, FRAMEWORK_CHECK, RECORDING_CHECK

__all__ = ["CHECKS", "FRAMEWORK_CHECK", "RECORDING_CHECK", "FrameworkFinding", "RecordingCoverage"]


@dataclass(frozen=True)
class RecordingCoverage:
    region: str
    recorder: str | None
    """The recorder that records every needed type; ``None`` when none does."""
    missing: tuple[str, ...] = ()
    """Without a covering recorder: the needed types no recording recorder takes."""
    notes: tuple[str, ...] = ()

    @property
    def covered(self) -> bool:
        return self.recorder is not None

    @property
    def reason(self) -> str:
        if self.recorder is not None:
            return f"configuration recorder {self.recorder} records what the frameworks evaluate in {self.region}"
        why = "; ".join(self.notes) if self.notes else "no configuration recorder"
        return (
            f"AWS Config does not record {', '.join(self.missing)} in {self.region}, so the Audit Manager "
            f"frameworks there evaluate nothing: {why}"
        )


def _takes(group: Mapping[str, Any], resource_type: str) -> bool:
    strategy = (group.get("recordingStrategy") or {}).get("useOnly")
    if group.get("allSupported") and strategy in (None, "ALL_SUPPORTED_RESOURCE_TYPES"):
        return True
    if strategy == "EXCLUSION_BY_RESOURCE_TYPES":
        excluded = (group.get("exclusionByResourceTypes") or {}).get("resourceTypes") or []
        return resource_type not in excluded
    return resource_type in (group.get("resourceTypes") or [])


def recording(config: Any, region: str, needed: Sequence[str]) -> RecordingCoverage:
    """How AWS Config records ``needed`` in ``region``; raises ``ClientError`` only when the recorders
    cannot be listed at all."""
    recorders = config.describe_configuration_recorders().get("ConfigurationRecorders", [])
    statuses = {
        s.get("name"): s
        for s in config.describe_configuration_recorder_status().get("ConfigurationRecordersStatus", [])
    }
    notes: list[str] = []
    missing = set(needed)
    for recorder in recorders:
        name = str(recorder.get("name"))
        if recorder.get("servicePrincipal"):
            # A service-linked recorder records for its own service only (inferred, docs/aws-facts.md 7.9).
            notes.append(f"{name} is linked to {recorder['servicePrincipal']}")
            continue
        if not statuses.get(name, {}).get("recording"):
            notes.append(f"{name} is not recording")
            continue
        group = recorder.get("recordingGroup") or {}
        lacking = [t for t in needed if not _takes(group, t)]
        if not lacking:
            return RecordingCoverage(region, name)
        missing &= set(lacking)
        notes.append(f"{name} does not record {', '.join(lacking)}")
    return RecordingCoverage(region, None, tuple(t for t in needed if t in missing), tuple(notes))


@dataclass(frozen=True)
class FrameworkFinding:
    region: str
    framework: str
    reason: str


def frameworks(backup: Any, region: str, names: Sequence[str]) -> list[FrameworkFinding]:
    """The frameworks of ``names`` that failed to deploy, are missing or cannot be read."""
    found: list[FrameworkFinding] = []
    for name in names:
        try:
            answer = backup.describe_framework(FrameworkName=name)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                found.append(FrameworkFinding(region, name, f"no framework {name} in {region}"))
            else:
                found.append(FrameworkFinding(region, name, f"cannot be read ({item_reason(error)})"))
            continue
        except BotoCoreError as error:
            found.append(FrameworkFinding(region, name, f"cannot be read ({item_reason(error)})"))
            continue
        deployment = answer.get("DeploymentStatus")
        if deployment == "FAILED":
            status = answer.get("FrameworkStatus") or "unknown"
            found.append(
                FrameworkFinding(
                    region,
                    name,
                    f"deployment FAILED (framework status {status}): its controls evaluate nothing; "
                    "delete and recreate it once AWS Config records in the Region",
                )
            )
    return found
