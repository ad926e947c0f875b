"""The restore profile: where restored resources land in the target region, validated at the edge.

A YAML file; every key is optional, because ``plan`` fills what a restore needs the way AWS's restore
testing does (``metadata.py``) and lists each default it chose. The profile overrides those defaults::

    iamRoleArn: arn:aws:iam::111111111111:role/dr-prod-restore      # every type, unless set per type
    nameSuffix: dr                                                    # new names: <original>-<suffix>
    types:
      rds:
        dbSubnetGroupName: dr-databases
        vpcSecurityGroupIds: [sg-0123456789abcdef0]
        dbInstanceClass: db.r6g.large
      aurora:
        dbSubnetGroupName: dr-databases
        kmsKeyId: arn:aws:kms:us-east-2:111111111111:key/...
        instanceClass: db.r6g.large      # for the DB instances AWS Backup does not create
      ebs: {availabilityZone: us-east-2a}
      s3: {kmsKeyId: arn:aws:kms:us-east-2:111111111111:key/...}
    resources:
      arn:aws:dynamodb:us-east-1:111111111111:table/orders:
        name: orders-dr
        metadata: {deletionProtection: "true"}

Each type accepts only the settings that mean something for it (``SETTINGS``); an unknown type, an
unknown setting or a malformed value stops the command with one line naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dr_model import catalog
from dr_model.naming import ROLE_ARN, SECURITY_GROUP_ID
from dr_runtime.restore.failures import InputError
from dr_runtime.yaml_documents import DuplicateKeyError, YamlFileError, load_yaml

# The ground floor's patterns: one definition of an IAM role ARN and of a security group ID.
_ROLE_ARN = ROLE_ARN.pattern
_KMS = r"^(arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[\w/+=,.@-]+|alias/[\w/+=,.@-]+)$"
_SG = SECURITY_GROUP_ID
_AZ = r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"
_SUFFIX = r"^[a-z0-9][a-z0-9-]{0,19}$"
_CLASS = r"^db\.[a-z0-9]+(\.[a-z0-9]+)?$"
_PATTERN_HELP = {
    _ROLE_ARN: "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
    _KMS: "a KMS key or alias ARN in the target region, or alias/<name>",
    _SG: "a security group ID (sg-...)",
    _AZ: "an availability zone name such as us-east-2a",
    _NAME: "a resource name (letters, digits, '.', '_', '-')",
    _SUFFIX: "1-20 lower-case letters, digits and hyphens",
    _CLASS: "a DB instance class such as db.r6g.large or db.serverless",
}
MAX_INSTANCE_COUNT = 16
MAX_SUBNET_GROUP_NAME = 255

# The settings each type accepts (camelCase, as written in the profile).
_NETWORK = ("dbSubnetGroupName", "vpcSecurityGroupIds")
_CLUSTER = ("iamRoleArn", "kmsKeyId", *_NETWORK, "instanceClass", "instanceCount", "metadata")
SETTINGS: dict[str, tuple[str, ...]] = {
    "s3": ("iamRoleArn", "kmsKeyId", "metadata"),
    "ebs": ("iamRoleArn", "kmsKeyId", "availabilityZone", "metadata"),
    "efs": ("iamRoleArn", "kmsKeyId", "metadata"),
    "dynamodb": ("iamRoleArn", "kmsKeyId", "metadata"),
    "rds": ("iamRoleArn", "kmsKeyId", *_NETWORK, "dbInstanceClass", "metadata"),
    "aurora": _CLUSTER,
    "documentdb": _CLUSTER,
    "neptune": _CLUSTER,
}
if set(SETTINGS) != set(catalog.TYPE_KEYS):  # pragma: no cover - caught by the tests on import
    raise RuntimeError("profile.SETTINGS must name every catalog type")


@dataclass(frozen=True)
class TypeSettings:
    iam_role_arn: str | None = None
    kms_key_id: str | None = None
    """Key of the restored resource (S3: SSE-KMS; DynamoDB: KMS encryption; others: KmsKeyId)."""
    availability_zone: str | None = None
    db_subnet_group_name: str | None = None
    vpc_security_group_ids: tuple[str, ...] | None = None
    db_instance_class: str | None = None
    instance_class: str | None = None
    """Clusters: class of the DB instances to create after the restore (AWS Backup creates none)."""
    instance_count: int = 1
    metadata: dict[str, str] = field(default_factory=dict)
    """Any other restore metadata key, sent as given (keys are matched without regard to case)."""


@dataclass(frozen=True)
class ResourceSettings:
    name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    iam_role_arn: str | None = None
    name_suffix: str | None = None
    types: dict[str, TypeSettings] = field(default_factory=dict)
    resources: dict[str, ResourceSettings] = field(default_factory=dict)

    def for_type(self, key: str) -> TypeSettings:
        return self.types.get(key, TypeSettings())

    def for_resource(self, arn: str) -> ResourceSettings:
        return self.resources.get(arn, ResourceSettings())

    def role_for(self, key: str) -> str | None:
        return self.for_type(key).iam_role_arn or self.iam_role_arn


EMPTY = Profile()


class _InvalidError(Exception):
    """One bad value: where it is (``loc``, from the top of the profile), what was given and what is allowed."""

    def __init__(self, loc: tuple[str | int, ...], given: object, message: str) -> None:
        super().__init__(message)
        self.loc, self.given, self.message = loc, given, message


_Check = Callable[[object, tuple[str | int, ...]], object]


def _text(value: object, loc: tuple[str | int, ...]) -> str:
    if not isinstance(value, str):
        raise _InvalidError(loc, value, "must be a string")
    return value


def _matching(pattern: str) -> _Check:
    compiled = re.compile(pattern)

    def check(value: object, loc: tuple[str | int, ...]) -> str:
        if not compiled.match(_text(value, loc)):
            raise _InvalidError(loc, value, f"must be {_PATTERN_HELP[pattern]}")
        return str(value)

    return check


def _optional(check: _Check) -> _Check:
    return lambda value, loc: None if value is None else check(value, loc)


def _subnet_group(value: object, loc: tuple[str | int, ...]) -> str:
    text = _text(value, loc)
    if not 1 <= len(text) <= MAX_SUBNET_GROUP_NAME:
        raise _InvalidError(loc, value, f"must be 1 to {MAX_SUBNET_GROUP_NAME} characters long")
    return text


def _security_groups(value: object, loc: tuple[str | int, ...]) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise _InvalidError(loc, value, "must be a list of security group IDs")
    if not value:
        raise _InvalidError(loc, value, "must name at least 1 security group")
    group = _matching(_SG)
    return tuple(str(group(item, (*loc, index))) for index, item in enumerate(value))


def _instance_count(value: object, loc: tuple[str | int, ...]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _InvalidError(loc, value, f"must be a whole number from 0 to {MAX_INSTANCE_COUNT}")
    if value < 0:
        raise _InvalidError(loc, value, "Input should be greater than or equal to 0")
    if value > MAX_INSTANCE_COUNT:
        raise _InvalidError(loc, value, f"Input should be less than or equal to {MAX_INSTANCE_COUNT}")
    return value


def _mapping(value: object, loc: tuple[str | int, ...]) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _InvalidError(loc, value, "must be a mapping")
    return value


def _metadata(value: object, loc: tuple[str | int, ...]) -> dict[str, str]:
    return {
        _text(key, (*loc, str(key))): _text(item, (*loc, str(key)))
        for key, item in _mapping(value, loc).items()
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _fields(raw: object, loc: tuple[str | int, ...], checks: Mapping[str, _Check]) -> dict[str, object]:
    """Each key of ``raw`` (camelCase, or the field's own snake_case name) checked; unknown keys refused."""
    by_key = {**{name: name for name in checks}, **{_camel(name): name for name in checks}}
    values: dict[str, object] = {}
    for key, value in _mapping(raw, loc).items():
        if key not in by_key:
            raise _InvalidError((*loc, str(key)), value, "Extra inputs are not permitted")
        values[by_key[key]] = checks[by_key[key]](value, (*loc, key))
    return values


_TYPE_CHECKS: dict[str, _Check] = {
    "iam_role_arn": _optional(_matching(_ROLE_ARN)),
    "kms_key_id": _optional(_matching(_KMS)),
    "availability_zone": _optional(_matching(_AZ)),
    "db_subnet_group_name": _optional(_subnet_group),
    "vpc_security_group_ids": _optional(_security_groups),
    "db_instance_class": _optional(_matching(_CLASS)),
    "instance_class": _optional(_matching(_CLASS)),
    "instance_count": _instance_count,
    "metadata": _metadata,
}
_RESOURCE_CHECKS: dict[str, _Check] = {"name": _optional(_matching(_NAME)), "metadata": _metadata}


def _type_settings(value: object, loc: tuple[str | int, ...]) -> TypeSettings:
    return TypeSettings(**_fields(value, loc, _TYPE_CHECKS))  # type: ignore[arg-type]


def _resource_settings(value: object, loc: tuple[str | int, ...]) -> ResourceSettings:
    return ResourceSettings(**_fields(value, loc, _RESOURCE_CHECKS))  # type: ignore[arg-type]


def _each(check: _Check) -> _Check:
    def checked(value: object, loc: tuple[str | int, ...]) -> dict[str, object]:
        return {str(key): check(item, (*loc, key)) for key, item in _mapping(value, loc).items()}

    return checked


_PROFILE_CHECKS: dict[str, _Check] = {
    "iam_role_arn": _optional(_matching(_ROLE_ARN)),
    "name_suffix": _optional(_matching(_SUFFIX)),
    "types": _each(_type_settings),
    "resources": _each(_resource_settings),
}


def _check_types(raw: Mapping[str, Any], where: str) -> None:
    types = raw.get("types")
    if types is None:
        return
    if not isinstance(types, Mapping):
        raise InputError(f"{where}: types must be a mapping of resource type to settings")
    for key, settings in types.items():
        if key not in SETTINGS:
            raise InputError(
                f"{where}: types.{key}: unknown resource type; allowed: {', '.join(catalog.TYPE_KEYS)}"
            )
        for setting in settings or {}:
            if setting not in SETTINGS[key]:
                raise InputError(
                    f"{where}: types.{key}.{setting}: not a setting of {key}; allowed: {', '.join(SETTINGS[key])}"
                )


def parse(raw: Any, where: str) -> Profile:
    if raw is None:
        return EMPTY
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: expected a mapping at the top level")
    _check_types(raw, where)
    try:
        return Profile(**_fields(raw, (), _PROFILE_CHECKS))  # type: ignore[arg-type]
    except _InvalidError as error:
        loc = ".".join(str(part) for part in error.loc)
        given = error.given
        shown = "" if isinstance(given, Mapping) or given is None else f" = {given!r}"
        raise InputError(f"{where}: {loc}{shown}: {error.message}") from None


def load(path: Path | None) -> Profile:
    if path is None:
        return EMPTY
    where = f"--profile {path}"
    if not path.exists():
        raise InputError(f"{where}: no such file")
    try:
        raw = load_yaml(path)
    except DuplicateKeyError as error:
        raise InputError(f"--profile {error}") from None
    except YamlFileError as error:
        raise InputError(f"{where}: not a YAML document: {' '.join(str(error).split())}") from None
    return parse(raw, where)
