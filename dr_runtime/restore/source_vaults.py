"""Where the recovery points are: the source vaults, read from the stack's outputs.

The vaults come from ``pulumi stack output --json`` saved to a file (``--stack-outputs``), from ``--vault``
flags, or, when neither is at hand (in an outage the outputs file may be what is missing), are found by
name from the stack file's prefix (``--stack``, :func:`discover`): ``ListBackupVaults`` in the source
region for the per-type vaults ``<prefix>-<type>`` (:func:`type_vault_name`), and ``ListBackupVaults
ByShared=true`` for the logically air-gapped vault the isolated account shares through AWS RAM.

Sources:

- ``cross-region``: the per-type vaults of the workload account in the DR region (``vaultArns``);
- ``air-gapped``: the isolated account's logically air-gapped vault as shared to this account through
  AWS RAM (``airGappedVaultArn``); calls on it name the owning account (``BackupVaultAccountId``);
- ``restore-access``: a restore-access vault created in a recovery account after multi-party approval
  (``--vault ARN``); it belongs to the caller's account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_model import catalog
from dr_runtime.restore.failures import InputError, run_error
from dr_runtime.vault_names import type_vault_name

VAULT_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):backup:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):backup-vault:(?P<name>[A-Za-z0-9_.-]+)$"
)


MISSING_SOURCE = (
    "--source {source}: say where the vaults are: --stack NAME (Pulumi.NAME.yaml here; the vaults are "
    "found by name), --stack-outputs FILE (`pulumi stack output --json`) or --vault"
)
AIR_GAPPED_TYPE = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"


class Source(StrEnum):
    CROSS_REGION = "cross-region"
    AIR_GAPPED = "air-gapped"
    RESTORE_ACCESS = "restore-access"


@dataclass(frozen=True)
class VaultRef:
    arn: str
    type_key: str | None
    """The type the vault holds, or None for a vault that holds every type (air-gapped, restore-access)."""

    @property
    def _parts(self) -> Mapping[str, str]:
        match = VAULT_ARN.match(self.arn)
        if match is None:  # constructed only through parse_vault_arn
            raise InputError(f"{self.arn!r} is not a backup vault ARN")
        return match.groupdict()

    @property
    def name(self) -> str:
        return self._parts["name"]

    @property
    def account(self) -> str:
        return self._parts["account"]

    @property
    def region(self) -> str:
        return self._parts["region"]

    def owner_param(self, caller_account: str) -> dict[str, str]:
        """``BackupVaultAccountId`` for a vault another account owns (shared through RAM), else nothing."""
        return {} if self.account == caller_account else {"BackupVaultAccountId": self.account}


def parse_vault_arn(value: str, where: str, type_key: str | None = None) -> VaultRef:
    if not VAULT_ARN.match(value):
        raise InputError(
            f"{where} = {value!r}: not a backup vault ARN "
            "(arn:aws:backup:<region>:<12-digit account>:backup-vault:<name>)"
        )
    return VaultRef(arn=value, type_key=type_key)


def load_stack_outputs(path: Path) -> dict[str, Any]:
    flag = f"--stack-outputs {path}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{flag}: no such file (save it with `pulumi stack output --json`)") from None
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"{flag}: not a JSON document: {error}") from None
    if not isinstance(document, dict):
        raise InputError(f"{flag}: expected the JSON object `pulumi stack output --json` prints")
    return document


def _type_key(value: str, where: str) -> str:
    if value not in catalog.BY_KEY:
        raise InputError(f"{where}: unknown resource type {value!r}; allowed: {', '.join(catalog.TYPE_KEYS)}")
    return value


def cross_region_vaults(outputs: Mapping[str, Any], region: str, types: Sequence[str]) -> list[VaultRef]:
    """The vault of each type in ``region`` from the stack's ``vaultArns`` (type -> region -> ARN)."""
    per_type = outputs.get("vaultArns")
    if not isinstance(per_type, dict):
        raise InputError("--stack-outputs: no `vaultArns` object (type -> region -> vault ARN) in the file")
    vaults = []
    for key in types:
        by_region = per_type.get(key)
        if not isinstance(by_region, dict) or not isinstance(by_region.get(region), str):
            regions = sorted(by_region) if isinstance(by_region, dict) else []
            raise InputError(
                f"--stack-outputs: vaultArns.{key} has no vault in --region {region} "
                f"(regions there: {', '.join(regions) or 'none'}; is the type active in this stack?)"
            )
        vaults.append(parse_vault_arn(by_region[region], f"vaultArns.{key}.{region}", key))
    return vaults


def air_gapped_vault(outputs: Mapping[str, Any]) -> VaultRef:
    arn = outputs.get("airGappedVaultArn")
    if not isinstance(arn, str):
        raise InputError("--stack-outputs: no `airGappedVaultArn` string in the file")
    return parse_vault_arn(arn, "airGappedVaultArn")


def vaults_from_flags(values: Sequence[str], source: Source) -> list[VaultRef]:
    """``--vault TYPE=ARN`` (cross-region, one per type) or ``--vault ARN`` (air-gapped, restore-access)."""
    vaults = []
    for value in values:
        if source is Source.CROSS_REGION:
            key, sep, arn = value.partition("=")
            if not sep:
                raise InputError(
                    f"--vault {value!r}: with --source cross-region give TYPE=ARN, e.g. rds=arn:..."
                )
            vaults.append(parse_vault_arn(arn, f"--vault {key}", _type_key(key, f"--vault {value!r}")))
        else:
            vaults.append(parse_vault_arn(value, "--vault"))
    if source is not Source.CROSS_REGION and len(vaults) > 1:
        raise InputError(f"--vault: --source {source} reads one vault, got {len(vaults)}")
    return vaults


def resolve(
    source: Source,
    types: Sequence[str],
    region: str | None,
    outputs: Mapping[str, Any] | None,
    vault_flags: Sequence[str],
) -> tuple[list[VaultRef], str]:
    """The source vaults and the region they (and so the restores) are in."""
    if vault_flags:
        vaults = vaults_from_flags(vault_flags, source)
        if source is Source.CROSS_REGION:
            vaults = [v for v in vaults if v.type_key in types]
    elif outputs is None:
        raise InputError(MISSING_SOURCE.format(source=source))
    elif source is Source.CROSS_REGION:
        if region is None:
            raise InputError("--source cross-region: pass --region (the DR region, e.g. us-east-2)")
        vaults = cross_region_vaults(outputs, region, types)
    elif source is Source.AIR_GAPPED:
        vaults = [air_gapped_vault(outputs)]
    else:
        raise InputError(
            "--source restore-access: pass --vault ARN of the restore-access vault in this account"
        )
    if not vaults:
        raise InputError("--vault: no vault for the types in scope")
    regions = {v.region for v in vaults}
    if len(regions) > 1:
        raise InputError(
            f"the source vaults are in several regions ({', '.join(sorted(regions))}); plan one at a time"
        )
    [vault_region] = regions
    if region is not None and region != vault_region:
        raise InputError(
            f"--region {region}: the {source} vaults are in {vault_region}; restores run where the recovery points are"
        )
    return vaults, vault_region


def _vault_list(backup: Any, **params: Any) -> Iterable[dict[str, Any]]:
    try:
        for page in backup.get_paginator("list_backup_vaults").paginate(**params):
            yield from page.get("BackupVaultList", [])
    except (BotoCoreError, ClientError) as error:
        raise run_error(error) from error


def discover(
    backup: Any,
    source: Source,
    types: Sequence[str],
    region: str,
    prefix: str,
    *,
    explicit_types: bool,
    air_gapped_name: str | None = None,
) -> list[VaultRef]:
    """The source vaults found by name in ``region`` (``backup`` is that region's client)."""
    if source is Source.CROSS_REGION:
        wanted = {type_vault_name(prefix, key): key for key in types}
        found = {v["BackupVaultName"]: v for v in _vault_list(backup) if v.get("BackupVaultName") in wanted}
        missing = [key for name, key in wanted.items() if name not in found]
        if missing and (explicit_types or len(missing) == len(wanted)):
            names = ", ".join(type_vault_name(prefix, key) for key in missing)
            raise InputError(
                f"--stack: no vault {names} in {region} (ListBackupVaults); check --stack and --region, "
                "or pass --vault TYPE=ARN"
            )
        return [
            parse_vault_arn(str(found[name]["BackupVaultArn"]), f"ListBackupVaults {name}", key)
            for name, key in wanted.items()
            if name in found
        ]
    if source is Source.AIR_GAPPED:
        shared = [
            v
            for v in _vault_list(backup, ByShared=True)
            if v.get("VaultType") == AIR_GAPPED_TYPE
            and (
                v.get("BackupVaultName") == air_gapped_name
                if air_gapped_name
                else str(v.get("BackupVaultName", "")).startswith(f"{prefix}-")
            )
        ]
        wanted_name = air_gapped_name or f"{prefix}-..."
        if len(shared) != 1:
            names = ", ".join(sorted(str(v.get("BackupVaultArn")) for v in shared)) or "none"
            raise InputError(
                f"--stack: expected one logically air-gapped vault named {wanted_name} shared with this account "
                f"in {region} (ListBackupVaults ByShared=true), found {names}; pass --vault ARN"
            )
        return [parse_vault_arn(str(shared[0]["BackupVaultArn"]), "ListBackupVaults ByShared=true")]
    raise InputError("--source restore-access: pass --vault ARN of the restore-access vault in this account")
