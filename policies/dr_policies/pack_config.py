"""The pack's configuration schema: every threshold and exemption an organisation can tune without code.

Each rule names the keys it reads; its CrossGuard config schema is built from :data:`SCHEMA` (JSON
schema, with a ``default``), so ``pulumi policy enable --config`` and Pulumi Cloud show and validate
them. :class:`Settings` merges a policy's configured values over these defaults; the pack applies the
defaults itself as well, so a missing or partial config never changes a threshold silently.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyConfigSchema

from . import backup_selection

EXEMPTIONS = "exemptions"

ORGANIZATION_CONDITION_KEYS = [
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
]

SCHEMA: dict[str, dict[str, Any]] = {
    EXEMPTIONS: {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": [],
        "description": (
            "Resources this policy does not check: shell-style patterns (fnmatch: *, ?, [..]) matched against "
            "the resource's logical name and against its URN. Keep them narrow, e.g. 'legacy-vault-*'."
        ),
    },
    "completionWindowMinutes": {
        "type": "integer",
        "minimum": 60,
        "maximum": 52560000,
        "default": 360,
        "description": "The exact completion window (minutes) every backup rule must use.",
    },
    "minStartWindowMinutes": {
        "type": "integer",
        "minimum": 60,
        "default": 60,
        "description": "The smallest start window (minutes) a backup rule may use (AWS minimum: 60).",
    },
    "airGappedMinRetentionDays": {
        "type": "integer",
        "minimum": 1,
        "default": 7,
        "description": "The smallest minRetentionDays a logically air-gapped vault may have.",
    },
    "minKeyDeletionWindowDays": {
        "type": "integer",
        "minimum": 7,
        "maximum": 30,
        "default": 30,
        "description": "The shortest KMS key deletion window (days) allowed.",
    },
    "drOptOutTagKey": {
        "type": "string",
        "minLength": 1,
        "default": backup_selection.DEFAULT_OPT_OUT_TAG,
        "description": "Tag key whose value opts a resource out of every DR backup.",
    },
    "crossRegionOptOutTagKey": {
        "type": "string",
        "minLength": 1,
        "default": backup_selection.DEFAULT_CROSS_REGION_OPT_OUT_TAG,
        "description": "Tag key whose value opts a resource out of cross-region copies.",
    },
    "optOutTagValue": {
        "type": "string",
        "minLength": 1,
        "default": backup_selection.DEFAULT_OPT_OUT_VALUE,
        "description": "The tag value that means 'opted out'.",
    },
    "kubernetesClusters": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "uniqueItems": True,
        "default": [],
        "description": (
            "Kubernetes clusters whose volumes no backup selection may pick: every selection that can pick "
            "EBS volumes must carry StringNotEquals aws:ResourceTag/kubernetes.io/cluster/<name> = 'owned' for "
            "each of them. List the stack's kubernetesClusters (each stack's policy group its own). Empty: "
            "nothing to check."
        ),
    },
    "kubernetesClusterTagKeyTemplate": {
        "type": "string",
        "minLength": 1,
        "pattern": "\\{cluster\\}",
        "default": backup_selection.kubernetes_tag_key("{cluster}"),
        "description": "Tag key that marks a cluster's volumes; '{cluster}' is replaced by each cluster name.",
    },
    "allowedCopySourceAccounts": {
        "type": "array",
        "items": {"type": "string", "pattern": "^[0-9]{12}$"},
        "default": [],
        "description": (
            "Accounts that may copy into a vault. Empty: any explicitly named account is accepted, "
            "wildcards never are."
        ),
    },
    "allowOrganizationWideCopyIn": {
        "type": "boolean",
        "default": False,
        "description": "Accept copy-in from principal '*' when the statement carries an organisation condition.",
    },
    "organizationConditionKeys": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": ORGANIZATION_CONDITION_KEYS,
        "description": "Condition keys that restrict a wildcard principal to the organisation.",
    },
    "customerManagedKeyArns": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": [],
        "description": (
            "Patterns of customer-managed KMS key ARNs created outside the stack that the pack may trust "
            "(keys the stack creates are recognised on their own)."
        ),
    },
    "knownExternalVaults": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["arn", "airGapped"],
            "properties": {
                "arn": {"type": "string", "minLength": 1},
                "airGapped": {"type": "boolean"},
                "minRetentionDays": {"type": "integer", "minimum": 1},
                "maxRetentionDays": {"type": "integer", "minimum": 1},
            },
        },
        "default": [],
        "description": (
            "Vaults outside the stack that plans copy into (arn may be a pattern), with what the pack "
            "needs to check copies into them."
        ),
    },
    "continuousBackupResourceTypes": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": ["S3", "RDS", "Aurora", "SAPHANA"],
        "description": (
            "Resource types AWS Backup supports continuous (point-in-time) backup for; a continuous rule's "
            "selections must pick no other type. Names: S3, EBS, EC2, EFS, DynamoDB, RDS, Aurora, DocumentDB, "
            "Neptune, FSx, StorageGateway, Redshift, Timestream, CloudFormation, SAPHANA, VirtualMachine."
        ),
    },
    "airGappedUnsupportedResourceTypes": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "uniqueItems": True,
        "default": ["RDS"],
        "description": (
            "Resource types AWS Backup cannot copy into a logically air-gapped vault (RDS: DB instances); "
            "their copy for the isolated account goes to a standard vault of another account under a "
            "compliance-mode vault lock instead. Names as in continuousBackupResourceTypes."
        ),
    },
    "maxContinuousRetentionDays": {
        "type": "integer",
        "minimum": 1,
        "maximum": 35,
        "default": 35,
        "description": "The longest retention (days) of a continuous backup rule (AWS maximum: 35).",
    },
    "clusterEngineTagKey": {
        "type": "string",
        "minLength": 1,
        "default": "dr-backup-engine",
        "description": (
            "Tag key that tells Aurora, DocumentDB and Neptune clusters apart (they share the ARN "
            "arn:aws:rds:<region>:<account>:cluster:<id>, and selection conditions can only test tags)."
        ),
    },
    "clusterEngineTagValues": {
        "type": "object",
        "additionalProperties": {"type": "string", "minLength": 1},
        "default": {"DocumentDB": "documentdb", "Neptune": "neptune"},
        "description": (
            "The clusterEngineTagKey value of each non-Aurora engine; a cluster with no or another value is Aurora."
        ),
    },
    "productionVaultLockMode": {
        "type": "string",
        "enum": ["governance", "compliance"],
        "default": "governance",
        "description": (
            "The weakest Vault Lock a production stack's standard vaults may have: governance (a governance or "
            "compliance lock) or compliance (a lock with changeableForDays)."
        ),
    },
    "productionStacks": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": ["prod", "prod-*", "production*"],
        "description": "Stack names (fnmatch patterns) that are production; taken from the resources' URNs.",
    },
    "requiredResourceTypes": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": ["S3", "EBS", "EFS", "DynamoDB", "RDS", "Aurora", "DocumentDB", "Neptune"],
        "description": "Resource types a production stack must protect, each with a cross-region and an air-gapped copy.",
    },
    "maxRpoHours": {
        "type": "integer",
        "minimum": 1,
        "default": 24,
        "description": "The longest gap (hours) allowed between two scheduled backups of a rule (the RPO).",
    },
}


def schema_for(keys: tuple[str, ...]) -> PolicyConfigSchema:
    properties = {key: copy.deepcopy(SCHEMA[key]) for key in (*keys, EXEMPTIONS)}
    return PolicyConfigSchema(properties=properties)


class Settings:
    """A policy's effective configuration: schema defaults overlaid with what the organisation set."""

    def __init__(self, keys: tuple[str, ...], configured: Mapping[str, Any] | None) -> None:
        self._values: dict[str, Any] = {key: SCHEMA[key]["default"] for key in (*keys, EXEMPTIONS)}
        for key, value in (configured or {}).items():
            if key in self._values and value is not None:
                self._values[key] = value
        self._exemptions = tuple(str(p) for p in self._values[EXEMPTIONS])

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def int(self, key: str) -> int:
        return int(self._values[key])

    def str_list(self, key: str) -> list[str]:
        return [str(v) for v in self._values[key]]

    def is_exempt(self, name: str, urn: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(urn, p) for p in self._exemptions)
