"""What the coverage job checks of the stack's Audit Manager frameworks (``dr_runtime.operations.audit_checks``):
the controls' AWS Config resource types and the ``DR_AUDIT`` setting. Plain data, no boto3: the Pulumi
program imports it to write the setting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dr_runtime.errors import ConfigError
from dr_runtime.settings import Setting

RECORDING_CHECK = "config-recording"
FRAMEWORK_CHECK = "audit-frameworks"
CHECKS = (RECORDING_CHECK, FRAMEWORK_CHECK)

RESOURCE_COMPLIANCE = "AWS::Config::ResourceCompliance"
"""Every control needs it: it records the compliance results (AWS Backup "Choosing your controls")."""
BACKUP_SELECTION = "AWS::Backup::BackupSelection"
BACKUP_PLAN = "AWS::Backup::BackupPlan"
BACKUP_VAULT = "AWS::Backup::BackupVault"
RECOVERY_POINT = "AWS::Backup::RecoveryPoint"
CONTROL_RECORDING: Mapping[str, tuple[str, ...]] = {
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN": (BACKUP_SELECTION,),
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION": (BACKUP_SELECTION,),
    "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT": (BACKUP_SELECTION,),
    "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK": (BACKUP_SELECTION,),
    "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK": (BACKUP_PLAN,),
    "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED": (BACKUP_VAULT,),
    "BACKUP_RECOVERY_POINT_ENCRYPTED": (RECOVERY_POINT,),
    "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK": (RECOVERY_POINT,),
    "BACKUP_LAST_RECOVERY_POINT_CREATED": (RECOVERY_POINT,),
    "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT": (RECOVERY_POINT,),
    "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET": (),
}
"""Control -> the AWS Config resource types it needs recorded, besides ``RESOURCE_COMPLIANCE``
(docs/aws-facts.md 7.9)."""

AUDIT = Setting(
    "--audit",
    "DR_AUDIT",
    'JSON: Region -> {"frameworks": [names], "resourceTypes": [AWS Config types]} of the stack\'s '
    "Audit Manager frameworks (the deployment writes it; default: no audit checks)",
)


def recorded_types(control_names: Iterable[str]) -> tuple[str, ...]:
    """The AWS Config resource types ``control_names`` need recorded; an unknown control is refused."""
    needed = {RESOURCE_COMPLIANCE}
    for control in control_names:
        if control not in CONTROL_RECORDING:
            raise ValueError(
                f"control {control!r}: its AWS Config resource types are not known; add it to CONTROL_RECORDING"
            )
        needed.update(CONTROL_RECORDING[control])
    return tuple(sorted(needed))


@dataclass(frozen=True)
class AuditRegion:
    """The stack's frameworks in one Region and the resource types AWS Config must record there."""

    region: str
    frameworks: tuple[str, ...]
    resource_types: tuple[str, ...]


def describe(regions: Sequence[AuditRegion]) -> dict[str, dict[str, list[str]]]:
    """The ``DR_AUDIT`` document."""
    return {
        r.region: {"frameworks": list(r.frameworks), "resourceTypes": list(r.resource_types)} for r in regions
    }


def parse_setting(raw: str | None) -> tuple[AuditRegion, ...]:
    if raw is None or not raw.strip():
        return ()
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{AUDIT.label}: not JSON ({error.msg} at character {error.pos})") from None
    shape = (
        f"{AUDIT.label} = {raw[:80]!r}: must be a JSON object of Region -> "
        '{"frameworks": [names], "resourceTypes": [types]}'
    )
    if not isinstance(document, Mapping):
        raise ConfigError(shape)
    out: list[AuditRegion] = []
    for region, entry in document.items():
        if not isinstance(entry, Mapping):
            raise ConfigError(shape)
        names, types = entry.get("frameworks"), entry.get("resourceTypes")
        if not isinstance(names, list) or not isinstance(types, list) or not names:
            raise ConfigError(shape)
        if not (_strings(names) and _strings(types)):
            raise ConfigError(shape)
        out.append(AuditRegion(str(region), tuple(names), tuple(types)))
    return tuple(out)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)
