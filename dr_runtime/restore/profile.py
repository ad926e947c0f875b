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

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from components.config import ROLE_ARN, SECURITY_GROUP_ID
from dr_model import catalog
from dr_runtime.restore.failures import InputError
from dr_runtime.yaml_documents import DuplicateKeyError, YamlFileError, load_yaml

# The stack config's own patterns: one definition of an IAM role ARN and of a security group ID.
_ROLE_ARN = ROLE_ARN.pattern
_KMS = r"^(arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[\w/+=,.@-]+|alias/[\w/+=,.@-]+)$"
_SG = SECURITY_GROUP_ID
_AZ = r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"
_SUFFIX = r"^[a-z0-9][a-z0-9-]{0,19}$"
_CLASS = r"^db\.[a-z0-9]+(\.[a-z0-9]+)?$"

RoleArn = Annotated[str, StringConstraints(pattern=_ROLE_ARN)]
KmsKey = Annotated[str, StringConstraints(pattern=_KMS)]
SecurityGroupId = Annotated[str, StringConstraints(pattern=_SG)]
AvailabilityZone = Annotated[str, StringConstraints(pattern=_AZ)]
_PATTERN_HELP = {
    _ROLE_ARN: "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
    _KMS: "a KMS key or alias ARN in the target region, or alias/<name>",
    _SG: "a security group ID (sg-...)",
    _AZ: "an availability zone name such as us-east-2a",
    _NAME: "a resource name (letters, digits, '.', '_', '-')",
    _SUFFIX: "1-20 lower-case letters, digits and hyphens",
    _CLASS: "a DB instance class such as db.r6g.large or db.serverless",
}

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


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class TypeSettings(_Model):
    iam_role_arn: RoleArn | None = None
    kms_key_id: KmsKey | None = None
    """Key of the restored resource (S3: SSE-KMS; DynamoDB: KMS encryption; others: KmsKeyId)."""
    availability_zone: AvailabilityZone | None = None
    db_subnet_group_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    vpc_security_group_ids: tuple[SecurityGroupId, ...] | None = Field(default=None, min_length=1)
    db_instance_class: Annotated[str, StringConstraints(pattern=_CLASS)] | None = None
    instance_class: Annotated[str, StringConstraints(pattern=_CLASS)] | None = None
    """Clusters: class of the DB instances to create after the restore (AWS Backup creates none)."""
    instance_count: int = Field(default=1, ge=0, le=16)
    metadata: dict[str, str] = {}
    """Any other restore metadata key, sent as given (keys are matched without regard to case)."""


class ResourceSettings(_Model):
    name: Annotated[str, StringConstraints(pattern=_NAME)] | None = None
    metadata: dict[str, str] = {}


class Profile(_Model):
    iam_role_arn: RoleArn | None = None
    name_suffix: Annotated[str, StringConstraints(pattern=_SUFFIX)] | None = None
    types: dict[str, TypeSettings] = {}
    resources: dict[str, ResourceSettings] = {}

    def for_type(self, key: str) -> TypeSettings:
        return self.types.get(key, TypeSettings())

    def for_resource(self, arn: str) -> ResourceSettings:
        return self.resources.get(arn, ResourceSettings())

    def role_for(self, key: str) -> str | None:
        return self.for_type(key).iam_role_arn or self.iam_role_arn


EMPTY = Profile()


def _describe(error: Mapping[str, Any]) -> str:
    pattern = (error.get("ctx") or {}).get("pattern")
    if pattern in _PATTERN_HELP:
        return f"must be {_PATTERN_HELP[pattern]}"
    return str(error["msg"]).removeprefix("Value error, ")


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
        return Profile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(part) for part in error["loc"])
        given = error.get("input")
        shown = "" if isinstance(given, Mapping) or given is None else f" = {given!r}"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise InputError(f"{where}: {loc}{shown}: {_describe(error)}{more}") from None


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
