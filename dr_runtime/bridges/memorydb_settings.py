"""The MemoryDB bridge's settings: each field's flag and environment variable, declared once.

The handler and the command read them (``MemoryDbBridgeConfig.from_settings``); the component
(``components/memorydb_bridge.py``) writes the function's environment from the same declarations. No boto3:
Pulumi programs import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dr_runtime.errors import NO_REGION, ConfigError
from dr_runtime.settings import Setting, region, required, text, whole_number

DEFAULT_EXPORT_PREFIX = "dr-export"
# Today and the two days before: a day missed by failed runs is still caught. It must not exceed the
# bucket's 2-day expiration, or an expired export would be exported again.
DEFAULT_LOOKBACK_DAYS = 2

BUCKET = Setting("--bucket", "DR_MEMORYDB_BUCKET", "bridge bucket (required)")
LOOKBACK_DAYS = Setting(
    "--lookback-days",
    "DR_MEMORYDB_LOOKBACK_DAYS",
    f"days before today whose snapshots are exported (0-{DEFAULT_LOOKBACK_DAYS}, default {DEFAULT_LOOKBACK_DAYS})",
)
EXPORT_PREFIX = Setting(
    "--export-prefix", "DR_MEMORYDB_EXPORT_PREFIX", f"export name prefix (default {DEFAULT_EXPORT_PREFIX})"
)


@dataclass(frozen=True)
class MemoryDbBridgeConfig:
    bucket: str
    region: str
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    export_prefix: str = DEFAULT_EXPORT_PREFIX

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ConfigError(f"{BUCKET.label} is required")
        if not self.region:
            raise ConfigError(NO_REGION)
        if not re.fullmatch(r"[A-Za-z0-9._-]+", self.bucket):
            # CopySnapshot's TargetBucket pattern.
            raise ConfigError(f"{BUCKET.label} = {self.bucket!r}: must match ^[A-Za-z0-9._-]+$")
        if not 0 <= self.lookback_days <= DEFAULT_LOOKBACK_DAYS:
            raise ConfigError(
                f"{LOOKBACK_DAYS.label} = {self.lookback_days}: must be between 0 and {DEFAULT_LOOKBACK_DAYS} "
                "(the bucket expiration)"
            )
        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.export_prefix):
            raise ConfigError(
                f"{EXPORT_PREFIX.label} = {self.export_prefix!r}: must be lowercase letters, digits or '-', "
                "starting with a letter"
            )

    @classmethod
    def from_settings(cls, environ: Mapping[str, str], args: Any = None) -> MemoryDbBridgeConfig:
        """From the environment (the handler) or flags over the environment (the command)."""
        return cls(
            bucket=required(BUCKET, environ, args),
            region=region(environ, args, profile=args is not None),
            lookback_days=whole_number(LOOKBACK_DAYS, environ, args, DEFAULT_LOOKBACK_DAYS),
            export_prefix=text(EXPORT_PREFIX, environ, args, DEFAULT_EXPORT_PREFIX),
        )
