"""The OpenSearch bridge's settings: each field's flag and environment variable, declared once.

The handler and the command read them (``OpenSearchBridgeConfig.from_settings``); the component
(``components/opensearch_bridge.py``) writes the function's environment from the same declarations. No boto3:
Pulumi programs import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dr_runtime.errors import NO_REGION, ConfigError
from dr_runtime.settings import Setting, region, required, text

DEFAULT_REPOSITORY = "dr-backup"
DEFAULT_SNAPSHOT_PREFIX = "dr"
# DescribeDomains accepts at most five names per call.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

BUCKET = Setting("--bucket", "DR_OPENSEARCH_BUCKET", "bridge bucket (required)")
ROLE_ARN = Setting(
    "--role-arn",
    "DR_OPENSEARCH_SNAPSHOT_ROLE_ARN",
    "IAM role OpenSearch assumes to write snapshots (required)",
)
REPOSITORY = Setting(
    "--repository", "DR_OPENSEARCH_REPOSITORY", f"snapshot repository name (default {DEFAULT_REPOSITORY})"
)
SNAPSHOT_PREFIX = Setting(
    "--snapshot-prefix",
    "DR_OPENSEARCH_SNAPSHOT_PREFIX",
    f"snapshot name prefix (default {DEFAULT_SNAPSHOT_PREFIX})",
)


@dataclass(frozen=True)
class OpenSearchBridgeConfig:
    bucket: str
    region: str
    role_arn: str
    repository: str = DEFAULT_REPOSITORY
    snapshot_prefix: str = DEFAULT_SNAPSHOT_PREFIX

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ConfigError(f"{BUCKET.label} is required")
        if not self.region:
            raise ConfigError(NO_REGION)
        if not self.role_arn.startswith("arn:") or ":role/" not in self.role_arn:
            raise ConfigError(
                f"{ROLE_ARN.label} = {self.role_arn!r}: must be an IAM role ARN, arn:aws:iam::<account>:role/<name>"
            )
        if not _NAME.match(self.repository) or self.repository.startswith("cs-"):
            # OpenSearch Service reserves the cs- prefix for its own repositories.
            raise ConfigError(
                f"{REPOSITORY.label} = {self.repository!r}: must be lowercase (a-z, 0-9, '.', '_', '-') "
                "and must not start with 'cs-'"
            )
        if not _NAME.match(self.snapshot_prefix):
            raise ConfigError(
                f"{SNAPSHOT_PREFIX.label} = {self.snapshot_prefix!r}: must be lowercase (a-z, 0-9, '.', '_', '-')"
            )

    @classmethod
    def from_settings(cls, environ: Mapping[str, str], args: Any = None) -> OpenSearchBridgeConfig:
        """From the environment (the handler) or flags over the environment (the command)."""
        return cls(
            bucket=required(BUCKET, environ, args),
            region=region(environ, args, profile=args is not None),
            role_arn=required(ROLE_ARN, environ, args),
            repository=text(REPOSITORY, environ, args, DEFAULT_REPOSITORY),
            snapshot_prefix=text(SNAPSHOT_PREFIX, environ, args, DEFAULT_SNAPSHOT_PREFIX),
        )
