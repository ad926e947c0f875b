"""Rule: the AWS Backup global settings keep cross-account backup on.

Every workload stack copies its recovery points into the isolated account; with
``isCrossAccountBackupEnabled`` off in the organisation's management account each of those copies fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from . import tokens
from .framework import Finding, ResourceRule, ResourceView, Rule
from .pack_config import Settings

CROSS_ACCOUNT_BACKUP = "isCrossAccountBackupEnabled"


def check_global_settings(resource: ResourceView, _settings: Settings) -> Iterator[Finding]:
    value = resource.get("globalSettings", CROSS_ACCOUNT_BACKUP)
    if str(value).lower() != "true":
        shown = "not set" if value is None else f"{value!r}"
        yield Finding(
            resource,
            f"{CROSS_ACCOUNT_BACKUP} is {shown}, so every copy into the isolated account fails",
            f'set global_settings["{CROSS_ACCOUNT_BACKUP}"] = "true"',
        )


RULES: list[Rule] = [
    ResourceRule(
        name="aws-backup-global-settings-cross-account",
        description=(
            "The AWS Backup global settings of the organisation must enable cross-account backup "
            '(isCrossAccountBackupEnabled = "true"): the air-gapped copies of every workload account depend '
            'on it. Fix: set it to "true".'
        ),
        remediation_steps=(
            'In `aws.backup.GlobalSettings`, set `global_settings={"isCrossAccountBackupEnabled": "true", ...}` '
            "(and list every key the API returns, or the resource shows a difference on each preview)."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=(),
        tokens=tokens.GLOBAL_SETTINGS,
        related_tokens={},
        concept=r"^aws:backup/globalSettings:",
        check=check_global_settings,
    ),
]
