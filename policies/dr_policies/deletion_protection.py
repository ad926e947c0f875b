"""Rule 14: vaults, air-gapped vaults and KMS keys are protected from deletion (``protect=True``).

Deleting any of them destroys recovery points (or makes them unreadable); Pulumi's ``protect`` option makes
an accidental ``pulumi destroy`` or a refactor that drops the resource fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from . import tokens
from .framework import Finding, ResourceRule, ResourceView, Rule
from .pack_config import Settings


def check_protected(resource: ResourceView, _settings: Settings) -> Iterator[Finding]:
    if not resource.protect:
        yield Finding(
            resource,
            "it is not protected, so a `pulumi destroy` or a refactor that drops it deletes it (and with it "
            "the recovery points it holds or encrypts)",
            "pass opts=pulumi.ResourceOptions(protect=True)",
        )


RULES: list[Rule] = [
    ResourceRule(
        name="aws-backup-deletion-protection",
        description=(
            "Backup vaults, logically air-gapped vaults and KMS keys must be created with protect=True: "
            "deleting one destroys or strands every recovery point in it. Fix: set "
            "pulumi.ResourceOptions(protect=True)."
        ),
        remediation_steps=(
            "Pass `opts=pulumi.ResourceOptions(protect=True)` to every `aws.backup.Vault`, "
            "`aws.backup.LogicallyAirGappedVault` and `aws.kms.Key` (also replica and external keys). To "
            "delete one on purpose, first run `pulumi state unprotect <urn>`."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=(),
        tokens=tokens.VAULTS | tokens.KMS_KEYS,
        related_tokens={},
        concept=r"^aws:(backup/\w*[vV]ault|kms/\w*[kK]ey):",
        check=check_protected,
    ),
]
