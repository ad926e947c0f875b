"""The coverage job's settings: each field's flag and environment variable, declared once.

The handler and the command read them (``CoverageConfig.from_settings``); the component
(``components/operations/coverage_job.py``) writes the function's environment from the same declarations
(``dr_runtime.settings.environment``). No boto3: Pulumi programs import it, and the coverage Lambda bundle
ships it with ``dr_model/catalog.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dr_model.catalog import BACKUP_NAMES as ALL_TYPES
from dr_runtime.errors import NO_REGION, ConfigError
from dr_runtime.operations import audit_settings, publish, windows
from dr_runtime.operations.selection_verdict import (
    CROSS_REGION_OPT_OUT_TAG_SETTING,
    KUBERNETES_CLUSTERS_SETTING,
    OPT_OUT_TAG_SETTING,
    OPT_OUT_VALUE_SETTING,
    SelectionConfig,
)
from dr_runtime.settings import Setting, names, optional, publish_metrics, region, text, whole_number

DEFAULT_RECENT_HOURS = 26
"""A recovery point this many hours old is recent: a daily plan's points plus two hours of slack."""
PREREQUISITE_METRIC = "PrerequisiteFindings"
"""Per ``Check`` dimension, and in total without dimensions (what the prerequisites alarm watches)."""
_ACCOUNT_ID = re.compile(r"^\d{12}$")

TYPES = Setting(
    "--types", "DR_COVERAGE_TYPES", f"comma-separated subset of {','.join(ALL_TYPES)} (default all)"
)
RECENT_HOURS = Setting(
    "--recent-hours",
    "DR_COVERAGE_RECENT_HOURS",
    f"age in hours of a recent recovery point (default {DEFAULT_RECENT_HOURS})",
)
ACCOUNT_ID = Setting("--account-id", "DR_ACCOUNT_ID", "account ID in the ARNs built (default: from STS)")
PROTECTED_TYPES = Setting(
    "--protected-types",
    "DR_PROTECTED_TYPES",
    "comma-separated: the stack's active types, which decide the plans an rds cluster lands in (default all)",
)
PLAN_START_WINDOWS = windows.PLAN_START_WINDOWS
CLUSTER_VAULTS = Setting(
    "--cluster-vaults",
    "DR_CLUSTER_VAULTS",
    "JSON: cluster type -> the stack's vault ARN for it in this Region (the deployment writes it)",
)
TRAIL_REGIONS = Setting(
    "--trail-region",
    "DR_TRAIL_REGIONS",
    "Region whose key-threat alert needs a CloudTrail trail; repeat per Region (default: no trail check)",
)
KEY_THREAT_CALLS = Setting(
    "--key-threat-calls",
    "DR_KEY_THREAT_CALLS",
    "comma-separated KMS calls the key-threat rule matches (the deployment writes them)",
)
AUDIT = audit_settings.AUDIT
FLEET_BUCKET = Setting(
    "--fleet-bucket",
    publish.FLEET_BUCKET_ENV,
    "the organisation's fleet bucket: also write the report there, as coverage/<account>/<region>/latest.json "
    "(needs --account-id; default: not published)",
)
DR_REGION = Setting(
    "--dr-region",
    "DR_COVERAGE_DR_REGION",
    "the stack's DR Region: a copy job into this account's vaults there counts for the cross-region tier "
    "(with --isolated-account; default: the copy tiers are not measured)",
)
ISOLATED_ACCOUNT = Setting(
    "--isolated-account",
    "DR_COVERAGE_ISOLATED_ACCOUNT",
    "the isolated account: a copy job into its vaults counts for the air-gapped tier (with --dr-region)",
)
_REGION_NAME = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


@dataclass(frozen=True)
class CoverageConfig:
    region: str
    types: tuple[str, ...] = ALL_TYPES
    recent_hours: int = DEFAULT_RECENT_HOURS
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    account_id: str | None = None
    publish_metrics: bool = True
    protected_types: tuple[str, ...] = ALL_TYPES
    """The stack's active types: which type's plans take an rds cluster depends on them."""
    plan_windows: Mapping[str, tuple[windows.PlanWindows, ...]] | None = None
    """Per type, its plans' UTC start windows; ``None`` skips the RDS window check."""
    cluster_vaults: Mapping[str, str] = field(default_factory=dict)
    """Cluster type -> the stack's vault ARN for it in this Region."""
    trail_regions: tuple[str, ...] = ()
    """Regions whose key-threat alert needs a CloudTrail trail; none skips the trail check."""
    key_threat_calls: tuple[str, ...] = ()
    """The KMS calls the key-threat rule matches."""
    fleet_bucket: str | None = None
    """The organisation's fleet bucket, where the report is also written (``dr_runtime.operations.publish``)."""
    audit: tuple[audit_settings.AuditRegion, ...] = ()
    """The stack's Audit Manager frameworks per Region; none skips the AWS Config and framework checks."""
    dr_region: str | None = None
    """The DR Region of the cross-Region copies; with ``isolated_account`` the copy tiers are measured."""
    isolated_account: str | None = None
    """The isolated account of the air-gapped (and locked-vault) copies."""

    def __post_init__(self) -> None:
        if not self.region:
            raise ConfigError(NO_REGION)
        unknown = sorted(set(self.types) - set(ALL_TYPES))
        if unknown or not self.types:
            raise ConfigError(
                f"{TYPES.label} = {','.join(self.types)!r}: allowed types are {', '.join(ALL_TYPES)} "
                "(at least one)"
            )
        for setting, names_given in (
            (PROTECTED_TYPES, tuple(self.protected_types)),
            (CLUSTER_VAULTS, tuple(self.cluster_vaults)),
            (PLAN_START_WINDOWS, tuple(self.plan_windows or {})),
        ):
            strange = sorted(set(names_given) - set(ALL_TYPES))
            if strange:
                raise ConfigError(
                    f"{setting.label}: unknown type {strange[0]!r}; allowed types are {', '.join(ALL_TYPES)}"
                )
        if self.recent_hours < 1:
            raise ConfigError(f"{RECENT_HOURS.label} = {self.recent_hours}: must be at least 1")
        if self.account_id is not None and not _ACCOUNT_ID.match(self.account_id):
            raise ConfigError(f"{ACCOUNT_ID.label} = {self.account_id!r}: must be 12 digits")
        if self.dr_region is not None and (
            not _REGION_NAME.match(self.dr_region) or self.dr_region == self.region
        ):
            raise ConfigError(
                f"{DR_REGION.label} = {self.dr_region!r}: must be a Region name like us-west-2, other than "
                f"the job's Region {self.region}"
            )
        if self.isolated_account is not None and (
            not _ACCOUNT_ID.match(self.isolated_account) or self.isolated_account == self.account_id
        ):
            raise ConfigError(
                f"{ISOLATED_ACCOUNT.label} = {self.isolated_account!r}: must be 12 digits, and not the "
                "workload account itself"
            )
        if (self.dr_region is None) != (self.isolated_account is None):
            given, other = (
                (DR_REGION, ISOLATED_ACCOUNT)
                if self.isolated_account is None
                else (ISOLATED_ACCOUNT, DR_REGION)
            )
            raise ConfigError(f"{given.label} needs {other.label}: the copy tiers are measured together")
        if self.fleet_bucket is not None and self.account_id is None:
            raise ConfigError(
                f"{FLEET_BUCKET.label} = {self.fleet_bucket!r} needs {ACCOUNT_ID.label}: the report is written "
                "under the account's own prefix"
            )

    @classmethod
    def from_settings(cls, env: Mapping[str, str], args: Any = None) -> CoverageConfig:
        """From the environment (the handler) or flags over the environment (the command)."""
        return cls(
            # The command also finds the region of the AWS profile, as the AWS CLI does.
            region=region(env, args, profile=args is not None),
            types=names(TYPES, env, args, ALL_TYPES),
            recent_hours=whole_number(RECENT_HOURS, env, args, DEFAULT_RECENT_HOURS),
            selection=SelectionConfig(
                opt_out_tag=text(OPT_OUT_TAG_SETTING, env, args, SelectionConfig.opt_out_tag),
                cross_region_opt_out_tag=text(
                    CROSS_REGION_OPT_OUT_TAG_SETTING, env, args, SelectionConfig.cross_region_opt_out_tag
                ),
                kubernetes_clusters=names(KUBERNETES_CLUSTERS_SETTING, env, args),
                opt_out_value=text(OPT_OUT_VALUE_SETTING, env, args, SelectionConfig.opt_out_value),
            ),
            account_id=optional(ACCOUNT_ID, env, args),
            publish_metrics=publish_metrics(env, args),
            protected_types=names(PROTECTED_TYPES, env, args, ALL_TYPES),
            plan_windows=windows.parse_setting(optional(PLAN_START_WINDOWS, env, args)),
            cluster_vaults=_vaults(optional(CLUSTER_VAULTS, env, args)),
            trail_regions=names(TRAIL_REGIONS, env, args),
            key_threat_calls=names(KEY_THREAT_CALLS, env, args),
            fleet_bucket=optional(FLEET_BUCKET, env, args),
            audit=audit_settings.parse_setting(optional(AUDIT, env, args)),
            dr_region=optional(DR_REGION, env, args),
            isolated_account=optional(ISOLATED_ACCOUNT, env, args),
        )


def _vaults(raw: str | None) -> dict[str, str]:
    if raw is None:
        return {}
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{CLUSTER_VAULTS.label}: not JSON ({error.msg} at character {error.pos})"
        ) from None
    if not isinstance(document, Mapping) or not all(isinstance(v, str) for v in document.values()):
        raise ConfigError(f"{CLUSTER_VAULTS.label} = {raw[:80]!r}: must be a JSON object of vault ARNs")
    return {str(k): v for k, v in document.items()}
