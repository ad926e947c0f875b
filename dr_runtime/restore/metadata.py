"""Restore metadata per resource type: what ``StartRestoreJob`` is sent, and why each value is there.

Start from the recovery point's own metadata (``GetRecoveryPointRestoreMetadata``), make it valid in the
target account and region, then apply the profile. Every value the planner chose rather than copied is
recorded with its reason (``defaults``), so a reviewer sees each assumption. What cannot be restored
without a profile setting is recorded in ``blocked`` with the setting to add; ``start`` refuses it.

The rules follow AWS's "Restore ... by resource type" pages and restore testing's inferred metadata
(sources and the traps each rule handles: docs/restore.md):

- S3 and DynamoDB restore into a *new* bucket or table, so each gets a new name derived from the original.
- EFS restores into a new file system (``newFileSystem``), made idempotent by ``CreationToken``.
- EBS needs an availability zone of the target region.
- RDS instances and Aurora, DocumentDB and Neptune clusters need a DB subnet group and security groups
  that exist in the target region; the source's are regional and do not. Without a profile the restore
  goes to the target region's default VPC and its default security group, as restore testing does.
- Restoring an Aurora, DocumentDB or Neptune cluster creates *no DB instances*: the plan says so and
  gives the command that creates them (``followUp``).
- Keys are regional too: a key of another region is replaced by the target vault's key (types whose
  recovery points keep the source's encryption) or by the service's default encryption (types AWS Backup
  fully manages), unless the profile names one. RDS instance restores ignore ``KmsKeyId``: the restored
  instance keeps the recovery point's key, which for a cross-region copy is the DR vault's key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dr_model import catalog
from dr_runtime.restore.profile import ResourceSettings, TypeSettings
from dr_runtime.restore.target import TargetFacts

CLUSTER_TYPES = frozenset({"aurora", "documentdb", "neptune"})
EFS_DEFAULT_KEY = "alias/aws/elasticfilesystem"
# The CLI service that creates DB instances in a restored cluster.
INSTANCE_SERVICE = {"aurora": "rds", "documentdb": "docdb", "neptune": "neptune"}
# Keys only the recovery point can supply; when its metadata lacks one the planner asks
# GetRestoreTestingInferredMetadata.
SOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "efs": ("file-system-id",),
    "aurora": ("Engine",),
    "documentdb": ("Engine",),
    "neptune": ("Engine",),
}


class Meta:
    """Restore metadata with AWS's key matching: keys compare without regard to case; a key keeps the
    spelling it was first given (usually the recovery point's own)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for key, value in (values or {}).items():
            self.set(key, value)

    def get(self, key: str) -> str | None:
        found = self._items.get(key.lower())
        return found[1] if found else None

    def set(self, key: str, value: str) -> None:
        existing = self._items.get(key.lower())
        self._items[key.lower()] = (existing[0] if existing else key, value)

    def pop(self, key: str) -> str | None:
        found = self._items.pop(key.lower(), None)
        return found[1] if found else None

    def __contains__(self, key: str) -> bool:
        return key.lower() in self._items

    def as_dict(self) -> dict[str, str]:
        return dict(sorted(self._items.values()))


def json_list(value: str | None) -> list[str]:
    """List-typed metadata values are JSON arrays inside a string, e.g. ``'["sg-1"]'``."""
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in parsed] if isinstance(parsed, list) else [str(parsed)]


def as_json_list(values: list[str]) -> str:
    return json.dumps(values, separators=(",", ":"))


@dataclass
class Draft:
    type_key: str
    source_arn: str
    metadata: Meta
    defaults: list[dict[str, str]] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    blocked: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    follow_up: list[str] = field(default_factory=list)
    instances: dict[str, Any] | None = None
    """Clusters: the DB instances to create once the restore completed (``instances`` command)."""

    def chose(self, key: str, value: str | None, why: str) -> None:
        if value is None:
            self.metadata.pop(key)
        else:
            self.metadata.set(key, value)
        self.defaults.append({"key": key, "value": "(not sent)" if value is None else value, "why": why})

    def block(self, setting: str, why: str) -> None:
        self.blocked.append({"setting": setting, "why": why})


@dataclass(frozen=True)
class Context:
    type_key: str
    source_arn: str
    recovery_point: Mapping[str, Any]
    target: TargetFacts
    settings: TypeSettings
    resource: ResourceSettings
    name_suffix: str
    vault_key: str | None
    """The target vault's customer-managed key (the stack's vault of this type in the target region)."""

    def setting(self, name: str) -> str:
        return f"types.{self.type_key}.{name}"


# --- names ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameRule:
    key: str
    max_length: int
    invalid: str
    """Characters to replace with '-'."""
    lower: bool


NAME_RULES: dict[str, NameRule] = {
    "s3": NameRule("DestinationBucketName", 63, r"[^a-z0-9.-]", lower=True),
    "dynamodb": NameRule("targetTableName", 255, r"[^A-Za-z0-9_.-]", lower=False),
    "efs": NameRule("CreationToken", 64, r"[^A-Za-z0-9_.-]", lower=False),
    "rds": NameRule("DBInstanceIdentifier", 63, r"[^a-z0-9-]", lower=True),
    "aurora": NameRule("DBClusterIdentifier", 63, r"[^a-z0-9-]", lower=True),
    "documentdb": NameRule("DBClusterIdentifier", 63, r"[^a-z0-9-]", lower=True),
    "neptune": NameRule("DBClusterIdentifier", 63, r"[^a-z0-9-]", lower=True),
}


def default_suffix(created: datetime) -> str:
    """``dr-<recovery point time>``: the same name on a rerun of the same plan, a new one per point."""
    return f"dr-{created:%Y%m%d%H%M}"


def original_name(type_key: str, arn: str, recovery_point: Mapping[str, Any]) -> str:
    if type_key == "efs" and recovery_point.get("ResourceName"):
        return str(recovery_point["ResourceName"])
    return re.split(r"[:/]", arn)[-1]


def derive_name(type_key: str, original: str, suffix: str) -> str:
    rule = NAME_RULES[type_key]
    base = original.lower() if rule.lower else original
    base = re.sub(rule.invalid, "-", base)
    base = re.sub(r"-{2,}", "-", base).strip("-.")
    if rule.key in {"DBInstanceIdentifier", "DBClusterIdentifier"} and not base[:1].isalpha():
        base = f"r-{base}"
    keep = rule.max_length - len(suffix) - 1
    return f"{base[:keep].rstrip('-.')}-{suffix}"


# --- shared rules -----------------------------------------------------------------------------------


def _in_target(ctx: Context, key_id: str) -> bool:
    """Whether a key reference can be used in the target region and account."""
    if key_id.startswith("alias/"):
        return True
    parts = key_id.split(":")
    return len(parts) > 5 and parts[3] == ctx.target.region and parts[4] == ctx.target.account


def _use_key(draft: Draft, ctx: Context, key: str, value: str, setting: str, why: str, chosen: bool) -> None:
    if not value.startswith("alias/aws/"):
        state = ctx.target.key(value)
        if not state.usable:
            draft.block(
                setting,
                f"key {value} is {state.state}: set {setting} to an enabled key in {ctx.target.region}",
            )
            return
    if chosen:
        draft.chose(key, value, why)
    else:
        draft.metadata.set(key, value)


def _key(draft: Draft, ctx: Context, key: str, service_default: str | None) -> None:
    """The restored resource's key: profile, else the recovery point's own if it is usable here, else the
    target vault's key (types that keep the source's encryption) or the service default."""
    setting = ctx.setting("kmsKeyId")
    if ctx.settings.kms_key_id:
        _use_key(draft, ctx, key, ctx.settings.kms_key_id, setting, "", chosen=False)
        draft.overrides.append(key)
        return
    current = draft.metadata.get(key)
    if current and _in_target(ctx, current) and ctx.target.key(current).usable:
        return
    was = (
        f"the recovery point's key {current} is not usable in {ctx.target.region}"
        if current
        else "no key given"
    )
    if catalog.get(ctx.type_key).encryption is catalog.Encryption.SOURCE_KEY and ctx.vault_key:
        _use_key(draft, ctx, key, ctx.vault_key, setting, f"{was}: the target vault's key", chosen=True)
    else:
        draft.chose(key, service_default, f"{was}: the service's default encryption")


def _network(draft: Draft, ctx: Context, zones_key: str, many_zones: bool) -> None:
    facts, meta, settings = ctx.target, draft.metadata, ctx.settings
    region = facts.region
    vpc: str | None = None
    group_setting = ctx.setting("dbSubnetGroupName")
    if settings.db_subnet_group_name:
        groups = facts.db_subnet_groups()
        if settings.db_subnet_group_name in groups:
            meta.set("DBSubnetGroupName", settings.db_subnet_group_name)
            draft.overrides.append("DBSubnetGroupName")
            vpc = groups[settings.db_subnet_group_name]
        else:
            draft.block(group_setting, f"no DB subnet group {settings.db_subnet_group_name!r} in {region}")
    else:
        current = meta.get("DBSubnetGroupName")
        groups = facts.db_subnet_groups() if current else {}
        if current and current in groups:
            vpc = groups[current]
        else:
            default_vpc = facts.default_vpc()
            missing = (
                f"DB subnet group {current!r} does not exist in {region}" if current else "no DB subnet group"
            )
            if default_vpc:
                vpc = default_vpc
                draft.chose(
                    "DBSubnetGroupName", None, f"{missing}: restored into the default VPC {default_vpc}"
                )
            else:
                meta.pop("DBSubnetGroupName")
                draft.block(group_setting, f"{missing} and {region} has no default VPC")

    sgs_setting = ctx.setting("vpcSecurityGroupIds")
    known = (
        facts.security_groups()
        if (settings.vpc_security_group_ids or meta.get("VpcSecurityGroupIds"))
        else {}
    )
    if settings.vpc_security_group_ids:
        wrong = [g for g in settings.vpc_security_group_ids if g not in known or (vpc and known[g][0] != vpc)]
        if wrong:
            draft.block(
                sgs_setting,
                f"security groups {', '.join(wrong)} are not in {region}{f' VPC {vpc}' if vpc else ''}",
            )
        else:
            meta.set("VpcSecurityGroupIds", as_json_list(list(settings.vpc_security_group_ids)))
            draft.overrides.append("VpcSecurityGroupIds")
    else:
        current_sgs = json_list(meta.get("VpcSecurityGroupIds"))
        if not (current_sgs and all(g in known and (vpc is None or known[g][0] == vpc) for g in current_sgs)):
            default_sg = facts.default_security_group(vpc) if vpc else None
            was = (
                f"security groups {', '.join(current_sgs)} are not in {region}"
                if current_sgs
                else "none given"
            )
            if default_sg:
                draft.chose(
                    "VpcSecurityGroupIds",
                    as_json_list([default_sg]),
                    f"{was}: the default security group of {vpc}",
                )
            else:
                draft.chose("VpcSecurityGroupIds", None, f"{was}: the service picks the VPC's default group")

    zones = facts.availability_zones()
    if many_zones:
        current_zones = json_list(meta.get(zones_key))
        kept = [z for z in current_zones if z in zones]
        if current_zones and kept != current_zones:
            value = as_json_list(kept) if kept else None
            draft.chose(zones_key, value, f"zones {', '.join(current_zones)} are not in {region}")
    else:
        zone = meta.get(zones_key)
        if zone and zone not in zones:
            draft.chose(zones_key, None, f"zone {zone} is not in {region}: the service picks one")


def _regional_name(draft: Draft, ctx: Context, key: str, available: Callable[[], set[str]]) -> None:
    current = draft.metadata.get(key)
    if current and not current.startswith("default") and current not in available():
        draft.chose(
            key, None, f"{current!r} does not exist in {ctx.target.region}: the engine's default group"
        )
        draft.warnings.append(
            f"{key} {current!r} is missing in {ctx.target.region}: create it and set "
            f"types.{ctx.type_key}.metadata.{key} to restore with it"
        )


def _name(draft: Draft, ctx: Context) -> str:
    rule = NAME_RULES[ctx.type_key]
    if ctx.resource.name:
        draft.metadata.set(rule.key, ctx.resource.name)
        draft.overrides.append(rule.key)
        return ctx.resource.name
    name = derive_name(
        ctx.type_key, original_name(ctx.type_key, ctx.source_arn, ctx.recovery_point), ctx.name_suffix
    )
    draft.chose(rule.key, name, "a new name derived from the original (restores never overwrite)")
    return name


# --- per type ---------------------------------------------------------------------------------------


def _s3(draft: Draft, ctx: Context) -> None:
    _name(draft, ctx)
    draft.chose("NewBucket", "true", "S3 restores into a new bucket")
    draft.metadata.set("Encrypted", "true")
    if ctx.settings.kms_key_id:
        draft.metadata.set("EncryptionType", "SSE-KMS")
        _use_key(draft, ctx, "KMSKey", ctx.settings.kms_key_id, ctx.setting("kmsKeyId"), "", chosen=False)
        draft.overrides.append("KMSKey")
    else:
        draft.metadata.pop("KMSKey")
        draft.chose("EncryptionType", "SSE-S3", "no key in the profile: S3-managed encryption")
    draft.warnings.append("bucket names are global: a name another account holds fails the job")


def _dynamodb(draft: Draft, ctx: Context) -> None:
    _name(draft, ctx)
    if ctx.settings.kms_key_id:
        draft.metadata.set("encryptionType", "KMS")
        _use_key(
            draft, ctx, "kmsMasterKeyArn", ctx.settings.kms_key_id, ctx.setting("kmsKeyId"), "", chosen=False
        )
        draft.overrides.append("kmsMasterKeyArn")
    else:
        draft.metadata.pop("kmsMasterKeyArn")
        draft.chose("encryptionType", "Default", "no key in the profile: DynamoDB's default encryption")


def _ebs(draft: Draft, ctx: Context) -> None:
    zones = ctx.target.availability_zones()
    if ctx.settings.availability_zone:
        if ctx.settings.availability_zone in zones:
            draft.metadata.set("availabilityZone", ctx.settings.availability_zone)
            draft.overrides.append("availabilityZone")
        else:
            draft.block(
                ctx.setting("availabilityZone"),
                f"{ctx.settings.availability_zone} is not a zone of {ctx.target.region}",
            )
    else:
        zone = draft.metadata.get("availabilityZone")
        if zone not in zones and zones:
            was = f"zone {zone} is not in {ctx.target.region}" if zone else "no zone given"
            draft.chose("availabilityZone", zones[0], f"{was}: the region's first zone")
    draft.metadata.set("encrypted", "true")
    _key(draft, ctx, "kmsKeyId", None)


def _efs(draft: Draft, ctx: Context) -> None:
    _name(draft, ctx)
    draft.chose("newFileSystem", "true", "EFS restores into a new file system")
    draft.metadata.set("Encrypted", "true")
    _key(draft, ctx, "KmsKeyId", EFS_DEFAULT_KEY)
    if "PerformanceMode" not in draft.metadata:
        draft.chose("PerformanceMode", "generalPurpose", "not in the recovery point's metadata")


def _rds(draft: Draft, ctx: Context) -> None:
    _name(draft, ctx)
    _network(draft, ctx, "AvailabilityZone", many_zones=False)
    if ctx.settings.db_instance_class:
        draft.metadata.set("DBInstanceClass", ctx.settings.db_instance_class)
        draft.overrides.append("DBInstanceClass")
    _regional_name(draft, ctx, "DBParameterGroupName", ctx.target.db_parameter_groups)
    _regional_name(draft, ctx, "OptionGroupName", ctx.target.option_groups)
    current = draft.metadata.get("KmsKeyId")
    if current and not _in_target(ctx, current):
        draft.chose("KmsKeyId", None, "information only for RDS, and the key is not in the target region")
    point_key = ctx.recovery_point.get("EncryptionKeyArn")
    if point_key:
        draft.warnings.append(f"the restored instance keeps the recovery point's key {point_key}")


def _cluster(draft: Draft, ctx: Context) -> None:
    name = _name(draft, ctx)
    _network(draft, ctx, "AvailabilityZones", many_zones=True)
    _regional_name(draft, ctx, "DBClusterParameterGroupName", ctx.target.db_cluster_parameter_groups)
    if ctx.type_key == "aurora":
        _regional_name(draft, ctx, "OptionGroupName", ctx.target.option_groups)
    _key(draft, ctx, "KmsKeyId", None)
    engine = draft.metadata.get("Engine") or "<engine>"
    count = ctx.settings.instance_count
    instance_class = ctx.settings.instance_class or f"<{ctx.setting('instanceClass')}>"
    draft.warnings.append(
        f"AWS Backup restores the cluster without DB instances: create {count} after the restore completes "
        f"(`python -m dr_runtime.restore instances PLAN.json --yes`, or the commands in followUp)"
    )
    if not ctx.settings.instance_class:
        draft.warnings.append(
            f"set {ctx.setting('instanceClass')} for the DB instances (serverless v2: db.serverless)"
        )
    service = INSTANCE_SERVICE[ctx.type_key]
    draft.instances = {
        "service": service,
        "cluster": name,
        "engine": draft.metadata.get("Engine"),
        "instanceClass": ctx.settings.instance_class,
        "identifiers": [instance_name(name, index) for index in range(1, count + 1)],
    }
    for index in range(1, count + 1):
        draft.follow_up.append(
            f"aws {service} create-db-instance --region {ctx.target.region} --db-cluster-identifier {name} "
            f"--db-instance-identifier {instance_name(name, index)} --engine {engine} "
            f"--db-instance-class {instance_class}"
        )


def instance_name(cluster: str, index: int) -> str:
    suffix = f"-{index}"
    return f"{cluster[: 63 - len(suffix)].rstrip('-')}{suffix}"


RULES: dict[str, Callable[[Draft, Context], None]] = {
    "s3": _s3,
    "ebs": _ebs,
    "efs": _efs,
    "dynamodb": _dynamodb,
    "rds": _rds,
    "aurora": _cluster,
    "documentdb": _cluster,
    "neptune": _cluster,
}
# What a restore cannot go without, after the rules ran.
REQUIRED: dict[str, tuple[str, ...]] = {
    "s3": ("DestinationBucketName",),
    "ebs": ("availabilityZone",),
    "efs": ("file-system-id", "CreationToken"),
    "dynamodb": ("targetTableName",),
    "rds": ("DBInstanceIdentifier",),
    "aurora": ("DBClusterIdentifier", "Engine"),
    "documentdb": ("DBClusterIdentifier", "Engine"),
    "neptune": ("DBClusterIdentifier", "Engine"),
}
if set(RULES) != set(catalog.TYPE_KEYS) or set(REQUIRED) != set(catalog.TYPE_KEYS):  # pragma: no cover
    raise RuntimeError("metadata.RULES and REQUIRED must cover every catalog type")


def _overrides(draft: Draft, values: Mapping[str, str], where: str) -> Iterator[str]:
    for key, value in values.items():
        draft.metadata.set(key, value)
        draft.overrides.append(key)
        yield f"{where}.metadata.{key}"


def build(ctx: Context, restore_metadata: Mapping[str, str]) -> Draft:
    draft = Draft(type_key=ctx.type_key, source_arn=ctx.source_arn, metadata=Meta(restore_metadata))
    RULES[ctx.type_key](draft, ctx)
    list(_overrides(draft, ctx.settings.metadata, f"types.{ctx.type_key}"))
    list(_overrides(draft, ctx.resource.metadata, f"resources.{ctx.source_arn}"))
    for key in REQUIRED[ctx.type_key]:
        if key not in draft.metadata:
            draft.block(
                f"resources.{ctx.source_arn}.metadata.{key}",
                f"{key} is required and the recovery point has none",
            )
    return draft
