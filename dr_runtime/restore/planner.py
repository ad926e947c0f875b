"""``plan``: the newest completed recovery point of every resource in scope, and what a restore would send.

API calls grow with pages, not with resources times vaults: each source vault is listed once, paginated
(filtered by resource type only where one vault holds several types and the scope is a subset), and the
newest ``COMPLETED`` point per resource is picked from the listing. Then one
``GetRecoveryPointRestoreMetadata`` per chosen point (bounded concurrency), plus
``GetRestoreTestingInferredMetadata`` only where the point's metadata lacks a key only AWS can infer.
Target-region facts (zones, VPC, subnet groups, security groups, keys) are listed once each, when a
resource first needs them (``target.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_model import catalog
from dr_runtime.operations.watchdog_settings import DEFAULT_COMPLETION_WINDOW_MINUTES
from dr_runtime.restore import freshness, metadata
from dr_runtime.restore.failures import InputError, error_code, error_text, item_reason, run_error
from dr_runtime.restore.profile import Profile
from dr_runtime.restore.source_vaults import Source, VaultRef
from dr_runtime.restore.target import TargetFacts

ClientFactory = Callable[[str], Any]
PLAN_VERSION = 1
USABLE = "COMPLETED"
PAGE_SIZE = 1000
EXPIRY_WARNING = timedelta(hours=24)
DEFAULT_ROLE = "arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole"
BY_BACKUP_NAME = {t.backup_name: t.key for t in catalog.CATALOG}
_MISSING_VAULT = {"ResourceNotFoundException", "AccessDeniedException", "InvalidParameterValueException"}


@dataclass(frozen=True)
class Scope:
    types: tuple[str, ...] = catalog.TYPE_KEYS
    arns: frozenset[str] = frozenset()
    tags: Mapping[str, str] = field(default_factory=dict)

    def covers(self, type_key: str, arn: str) -> bool:
        return type_key in self.types and (not self.arns or arn in self.arns)


@dataclass(frozen=True)
class PrimaryVaults:
    """Where the stack's in-region backups are (the primary region), to list the resources that have a
    backup there but no copy in the source; ``unknown`` says why they cannot be read instead."""

    region: str | None = None
    vaults: Mapping[str, VaultRef] = field(default_factory=dict)
    """Type -> the type's vault in the primary region."""
    unknown: str | None = None


@dataclass(frozen=True)
class PlanRequest:
    source: Source
    vaults: Sequence[VaultRef]
    region: str
    scope: Scope = field(default_factory=Scope)
    profile: Profile = field(default_factory=Profile)
    profile_path: str | None = None
    key_vaults: Mapping[str, VaultRef] = field(default_factory=dict)
    """Type -> the stack's vault of that type in the target region, whose key is the default for types
    whose restored resource is encrypted with a customer-managed key (cross-region: the source vaults)."""
    roles: Mapping[str, str] = field(default_factory=dict)
    """Type -> restore role from the stack's outputs (``restoreRoleArns``)."""
    concurrency: int = 8
    schedule: freshness.Schedule | None = None
    """The stack's copy schedule for this source, used where a point records none (``--stack``)."""
    completion_window: timedelta = timedelta(minutes=DEFAULT_COMPLETION_WINDOW_MINUTES)
    primary: PrimaryVaults = field(
        default_factory=lambda: PrimaryVaults(
            unknown="the primary vaults are unknown (no --stack or --stack-outputs)"
        )
    )
    vaults_from: str = "--vault"


@dataclass
class _Vault:
    ref: VaultRef
    description: dict[str, Any]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _describe_vault(backup: Any, vault: VaultRef, account: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = backup.describe_backup_vault(
            BackupVaultName=vault.name, **vault.owner_param(account)
        )
    except ClientError as error:
        if error_code(error) in _MISSING_VAULT:
            shared = "" if vault.account == account else f" or is not shared with account {account}"
            raise InputError(
                f"source vault {vault.arn} does not exist{shared} ({error_code(error)})"
            ) from None
        raise run_error(error) from error
    except BotoCoreError as error:
        raise run_error(error) from error
    return found


def _list_points(
    backup: Any, vault: VaultRef, account: str, types: Sequence[str]
) -> Iterable[dict[str, Any]]:
    """Every recovery point of the vault (of the types in scope), page by page."""
    base: dict[str, Any] = {
        "BackupVaultName": vault.name,
        "MaxResults": PAGE_SIZE,
        **vault.owner_param(account),
    }
    if vault.type_key is not None or set(types) >= set(catalog.TYPE_KEYS):
        filters: list[dict[str, Any]] = [base]
    else:
        filters = [{**base, "ByResourceType": catalog.get(key).backup_name} for key in types]
    paginator = backup.get_paginator("list_recovery_points_by_backup_vault")
    for params in filters:
        try:
            for page in paginator.paginate(**params):
                yield from page.get("RecoveryPoints", [])
        except (BotoCoreError, ClientError) as error:
            raise run_error(error) from error


def _type_of(point: Mapping[str, Any], vault: VaultRef) -> str | None:
    return BY_BACKUP_NAME.get(str(point.get("ResourceType", ""))) or vault.type_key


def _newest(points: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The newest usable point and the newest point of any status."""
    ordered = sorted(points, key=lambda p: p["CreationDate"], reverse=True)
    usable = next((p for p in ordered if p.get("Status") == USABLE), None)
    return usable, ordered[0]


class Planner:
    def __init__(
        self,
        clients: ClientFactory,
        request: PlanRequest,
        now: datetime | None = None,
        primary_clients: ClientFactory | None = None,
    ) -> None:
        self.clients = clients
        self.primary_clients = primary_clients
        self.request = request
        self.now = now or datetime.now(UTC)
        self.backup = clients("backup")

    def _caller_account(self) -> str:
        try:
            return str(self.clients("sts").get_caller_identity()["Account"])
        except (BotoCoreError, ClientError) as error:
            raise run_error(error) from error

    def plan(self) -> dict[str, Any]:
        request = self.request
        account = self._caller_account()
        vaults = [_Vault(v, _describe_vault(self.backup, v, account)) for v in request.vaults]
        target = TargetFacts(self.clients, request.region, account)
        vault_keys = self._vault_keys(vaults, account)

        grouped: dict[tuple[str, str], tuple[_Vault, list[dict[str, Any]]]] = {}
        for vault in vaults:
            for point in _list_points(self.backup, vault.ref, account, request.scope.types):
                type_key = _type_of(point, vault.ref)
                arn = str(point.get("ResourceArn", ""))
                if type_key is None or not request.scope.covers(type_key, arn):
                    continue
                grouped.setdefault((type_key, arn), (vault, []))[1].append(point)

        unrestorable: list[dict[str, Any]] = []
        chosen: list[tuple[str, str, _Vault, dict[str, Any]]] = []
        fresh: dict[tuple[str, str], dict[str, Any]] = {}
        for (type_key, arn), (vault, points) in sorted(grouped.items()):
            usable, latest = _newest(points)
            if usable is None:
                unrestorable.append(
                    {
                        "type": type_key,
                        "sourceArn": arn,
                        "reason": f"no {USABLE} recovery point in {vault.ref.arn}; newest is "
                        f"{latest.get('Status')} from {_iso(latest['CreationDate'])}",
                    }
                )
            else:
                chosen.append((type_key, arn, vault, usable))
                schedule = freshness.recorded_schedule(points) or request.schedule
                fresh[(type_key, arn)] = freshness.judge(
                    usable["CreationDate"], self.now, schedule, request.completion_window
                )
        seen = {arn for _, arn in grouped}
        for arn in sorted(request.scope.arns - seen):
            unrestorable.append(
                {"type": None, "sourceArn": arn, "reason": "no recovery point in the source vaults"}
            )

        if request.scope.tags:
            chosen = self._tagged(chosen)
        with ThreadPoolExecutor(max_workers=max(1, request.concurrency)) as pool:
            results = list(pool.map(lambda item: self._resource(item, account, target, vault_keys), chosen))
        resources = [r for r in results if "reason" not in r]
        for resource in resources:
            resource["freshness"] = fresh[(resource["type"], resource["sourceArn"])]
            if resource["freshness"]["stale"]:
                resource["warnings"].insert(0, resource["freshness"]["why"])
        unrestorable += [r for r in results if "reason" in r]
        without_copy = self._without_copy(account, seen)
        return self._document(account, vaults, resources, unrestorable, without_copy)

    def _without_copy(self, account: str, seen: set[str]) -> dict[str, Any]:
        """Resources with a backup in the stack's primary vaults but no point at all in the source."""
        primary, scope = self.request.primary, self.request.scope
        entry: dict[str, Any] = {"checked": False, "primaryRegion": primary.region, "resources": []}
        cannot = "resources without any copy in the source cannot be listed"
        if primary.unknown is not None or self.primary_clients is None:
            entry["why"] = f"{primary.unknown or 'the primary region is not read'}: {cannot}"
            return entry
        if scope.tags:
            entry["why"] = f"--tag scope (tags of the primary's recovery points are not read): {cannot}"
            return entry
        backup = self.primary_clients("backup")
        found: list[dict[str, Any]] = []
        read: list[str] = []
        for type_key, vault in sorted(primary.vaults.items()):
            if type_key not in scope.types:
                continue
            if vault.account != account:
                entry["why"] = (
                    f"the primary vaults belong to account {vault.account}, not {account}: {cannot}"
                )
                return entry
            try:
                pages = backup.get_paginator("list_protected_resources_by_backup_vault").paginate(
                    BackupVaultName=vault.name, MaxResults=PAGE_SIZE
                )
                for page in pages:
                    for item in page.get("Results", []):
                        arn = str(item.get("ResourceArn", ""))
                        if arn in seen or not scope.covers(type_key, arn):
                            continue
                        last = item.get("LastBackupTime")
                        found.append(
                            {
                                "type": type_key,
                                "sourceArn": arn,
                                "primaryVaultArn": vault.arn,
                                "lastBackupAt": _iso(last) if isinstance(last, datetime) else None,
                            }
                        )
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    continue  # the type is not active in this stack
                entry["why"] = (
                    f"the primary region {primary.region} could not be read ({error_text(error)}): {cannot}"
                )
                return entry
            except BotoCoreError as error:
                entry["why"] = (
                    f"the primary region {primary.region} could not be read ({error_text(error)}): {cannot}"
                )
                return entry
            read.append(vault.arn)
        entry.update(
            checked=True, vaults=read, resources=sorted(found, key=lambda r: (r["type"], r["sourceArn"]))
        )
        return entry

    def _vault_keys(self, vaults: list[_Vault], account: str) -> dict[str, str]:
        keys: dict[str, str] = {}
        for vault in vaults:
            key = vault.description.get("EncryptionKeyArn")
            if (
                vault.ref.type_key
                and key
                and vault.description.get("EncryptionKeyType") != "AWS_OWNED_KMS_KEY"
            ):
                keys[vault.ref.type_key] = str(key)
        for type_key, ref in self.request.key_vaults.items():
            if type_key in keys or type_key not in self.request.scope.types:
                continue
            try:
                key = _describe_vault(self.backup, ref, account).get("EncryptionKeyArn")
            except InputError:
                continue  # no such vault in the target region: the service's default key is used instead
            if key:
                keys[type_key] = str(key)
        return keys

    def _tagged(
        self, chosen: list[tuple[str, str, _Vault, dict[str, Any]]]
    ) -> list[tuple[str, str, _Vault, dict[str, Any]]]:
        wanted = dict(self.request.scope.tags)

        def tags_of(item: tuple[str, str, _Vault, dict[str, Any]]) -> dict[str, str]:
            try:
                return dict(self.backup.list_tags(ResourceArn=item[3]["RecoveryPointArn"]).get("Tags", {}))
            except (BotoCoreError, ClientError) as error:
                raise run_error(error) from error

        with ThreadPoolExecutor(max_workers=max(1, self.request.concurrency)) as pool:
            tags = list(pool.map(tags_of, chosen))
        return [
            item
            for item, found in zip(chosen, tags, strict=True)
            if all(found.get(k) == v for k, v in wanted.items())
        ]

    def _restore_metadata(
        self, vault: _Vault, point: Mapping[str, Any], type_key: str, account: str
    ) -> tuple[dict[str, str], list[dict[str, str]]]:
        params = {
            "BackupVaultName": vault.ref.name,
            "RecoveryPointArn": point["RecoveryPointArn"],
            **vault.ref.owner_param(account),
        }
        found = dict(self.backup.get_recovery_point_restore_metadata(**params).get("RestoreMetadata", {}))
        inferred: list[dict[str, str]] = []
        known = metadata.Meta(found)
        missing = [k for k in metadata.SOURCE_KEYS.get(type_key, ()) if k not in known]
        if missing:
            guessed = metadata.Meta(
                self.backup.get_restore_testing_inferred_metadata(**params)["InferredMetadata"]
            )
            for key in missing:
                value = guessed.get(key)
                if value is not None:
                    found[key] = value
                    inferred.append(
                        {
                            "key": key,
                            "value": value,
                            "why": "inferred by AWS Backup (GetRestoreTestingInferredMetadata)",
                        }
                    )
        return found, inferred

    def _resource(
        self,
        item: tuple[str, str, _Vault, dict[str, Any]],
        account: str,
        target: TargetFacts,
        vault_keys: Mapping[str, str],
    ) -> dict[str, Any]:
        type_key, arn, vault, point = item
        request = self.request
        try:
            found, inferred = self._restore_metadata(vault, point, type_key, account)
            created: datetime = point["CreationDate"]
            ctx = metadata.Context(
                type_key=type_key,
                source_arn=arn,
                recovery_point=point,
                target=target,
                settings=request.profile.for_type(type_key),
                resource=request.profile.for_resource(arn),
                name_suffix=request.profile.name_suffix or metadata.default_suffix(created),
                vault_key=vault_keys.get(type_key),
            )
            draft = metadata.build(ctx, found)
            draft.defaults[:0] = inferred
            self._check_point_key(draft, point, target)
        except (BotoCoreError, ClientError) as error:
            return {"type": type_key, "sourceArn": arn, "reason": item_reason(error)}
        role = request.profile.role_for(type_key)
        if role is None:
            # The stack's role serves only its own account (a recovery account has its own roles).
            stack_role = request.roles.get(type_key)
            if stack_role and f":{account}:" in stack_role:
                role, why = stack_role, "the stack's AWS Backup role for the type"
            else:
                role, why = DEFAULT_ROLE.format(account=account), "AWS Backup's default service role"
            draft.defaults.append({"key": "IamRoleArn", "value": role, "why": why})
        expires = (point.get("CalculatedLifecycle") or {}).get("DeleteAt")
        delete_at = expires if isinstance(expires, datetime) else None
        note = freshness.retention_note(delete_at, self.now, EXPIRY_WARNING)
        if note is not None:
            draft.warnings.append(note[0])
        return {
            "type": type_key,
            "resourceType": catalog.get(type_key).backup_name,
            "sourceArn": arn,
            "recoveryPointArn": point["RecoveryPointArn"],
            "vaultArn": vault.ref.arn,
            "vaultAccountId": vault.ref.account,
            "createdAt": _iso(created),
            "deleteAt": _iso(delete_at) if delete_at else None,
            "expired": bool(note and note[1]),
            "ageHours": round((self.now - created).total_seconds() / 3600, 1),
            "iamRoleArn": role,
            "metadata": draft.metadata.as_dict(),
            "defaults": draft.defaults,
            "overrides": sorted(set(draft.overrides)),
            "blocked": draft.blocked,
            "warnings": draft.warnings,
            "followUp": draft.follow_up,
            "instances": draft.instances,
        }

    @staticmethod
    def _check_point_key(draft: metadata.Draft, point: Mapping[str, Any], target: TargetFacts) -> None:
        """A customer-managed key of this account that protects the point must be enabled to restore it."""
        key = point.get("EncryptionKeyArn")
        if not key or point.get("EncryptionKeyType") == "AWS_OWNED_KMS_KEY":
            return
        parts = str(key).split(":")
        if len(parts) < 5 or parts[4] != target.account:
            return
        state = target.key(str(key))
        if not state.usable:
            draft.block(
                "recovery point key",
                f"{key} is {state.state}: enable it or cancel its deletion (aws kms cancel-key-deletion "
                f"--key-id {key}) before restoring",
            )

    def _document(
        self,
        account: str,
        vaults: list[_Vault],
        resources: list[dict[str, Any]],
        unrestorable: list[dict[str, Any]],
        without_copy: dict[str, Any],
    ) -> dict[str, Any]:
        request = self.request
        created = _iso(self.now)
        plan_id = hashlib.sha256(
            json.dumps([created, request.source, [r["recoveryPointArn"] for r in resources]]).encode()
        ).hexdigest()[:16]
        per_type: dict[str, dict[str, Any]] = {}
        for resource in resources:
            entry = per_type.setdefault(
                resource["type"], {"resources": 0, "maxAgeHours": 0.0, "blocked": 0, "stale": 0}
            )
            entry["resources"] += 1
            entry["maxAgeHours"] = max(entry["maxAgeHours"], resource["ageHours"])
            entry["blocked"] += bool(resource["blocked"])
            entry["stale"] += bool(resource["freshness"]["stale"])
        return {
            "version": PLAN_VERSION,
            "planId": plan_id,
            "createdAt": created,
            "source": str(request.source),
            "targetAccount": account,
            "targetRegion": request.region,
            "profile": request.profile_path,
            "scope": {
                "types": list(request.scope.types),
                "arns": sorted(request.scope.arns),
                "tags": dict(request.scope.tags),
            },
            "vaults": [
                {
                    "arn": v.ref.arn,
                    "type": v.ref.type_key,
                    "vaultType": v.description.get("VaultType", "BACKUP_VAULT"),
                    "encryptionKeyArn": v.description.get("EncryptionKeyArn"),
                    "mpaApprovalTeamArn": v.description.get("MpaApprovalTeamArn"),
                }
                for v in vaults
            ],
            "vaultsFrom": request.vaults_from,
            "resources": resources,
            "unrestorable": unrestorable,
            "withoutCopy": without_copy,
            "summary": {
                "resources": len(resources),
                "blocked": sum(1 for r in resources if r["blocked"]),
                "stale": sum(1 for r in resources if r["freshness"]["stale"]),
                "expired": sum(1 for r in resources if r["expired"]),
                "unrestorable": len(unrestorable),
                "withoutCopy": len(without_copy["resources"]),
                "perType": dict(sorted(per_type.items())),
            },
        }


def make_plan(
    clients: ClientFactory,
    request: PlanRequest,
    now: datetime | None = None,
    primary_clients: ClientFactory | None = None,
) -> dict[str, Any]:
    return Planner(clients, request, now, primary_clients).plan()


def needs_attention(document: Mapping[str, Any]) -> bool:
    """Exit 1: something in scope cannot be restored as planned, is stale, or has no copy in the source."""
    summary = document["summary"]
    return any(summary.get(key) for key in ("unrestorable", "blocked", "stale", "withoutCopy"))
