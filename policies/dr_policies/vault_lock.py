"""Rule 16: every standard backup vault is under Vault Lock; in production as strong as configured.

A vault without a lock lets anyone allowed ``backup:DeleteRecoveryPoint`` (a workload admin) delete its recovery
points at once (threat model a2). A lock is found by its ``backupVaultName`` in the vault's region, or by its
dependency on the vault.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from . import tokens
from .framework import Finding, ResourceView, Rule, StackRule, StackView
from .pack_config import Settings
from .type_coverage import production_stack
from .values import is_unknown


def _locks_of(stack: StackView, vault: ResourceView) -> list[ResourceView]:
    name = vault.props.get("name")
    found = []
    for lock in stack.of(tokens.VAULT_LOCKS):
        target = lock.props.get("backupVaultName")
        by_name = isinstance(name, str) and target == name and lock.region == vault.region
        if by_name or vault.urn in lock.depends_on("backupVaultName"):
            found.append(lock)
    return found


def check_vault_locks(stack: StackView, settings: Settings) -> Iterator[Finding]:
    production = production_stack(stack, settings) is not None
    wanted = str(settings["productionVaultLockMode"])
    for vault in stack.of(tokens.STANDARD_VAULTS):
        locks = _locks_of(stack, vault)
        if not locks:
            yield Finding(
                vault,
                "it has no Vault Lock, so anyone allowed backup:DeleteRecoveryPoint can delete its recovery points "
                "before they expire",
                "add aws.backup.VaultLockConfiguration(backup_vault_name=<vault>.name, min_retention_days=<the "
                "shortest retention any rule or copy puts there>)",
            )
            continue
        if production and wanted == "compliance":
            grace = [lock.props.get("changeableForDays") for lock in locks]
            if not any(g is not None and not is_unknown(g) for g in grace):
                yield Finding(
                    vault,
                    f"production stack '{production_stack(stack, settings)}' needs a compliance-mode lock "
                    "(productionVaultLockMode: compliance), but its lock is in governance mode (no "
                    "changeableForDays)",
                    "set changeable_for_days (3 or more) on its VaultLockConfiguration (config vaultLock: "
                    "{mode: compliance, changeableForDays: N})",
                )


RULES: list[Rule] = [
    StackRule(
        name="aws-backup-vault-locked",
        description=(
            "Every standard backup vault must be under AWS Backup Vault Lock (a VaultLockConfiguration naming it); "
            "in a production stack the lock must be at least productionVaultLockMode (governance, or compliance "
            "with changeableForDays). Fix: add the lock."
        ),
        remediation_steps=(
            "Create `aws.backup.VaultLockConfiguration(backup_vault_name=vault.name, min_retention_days=N)` with N "
            "at most the shortest retention any rule or copy action gives the vault; for compliance mode also "
            "`changeable_for_days` (3 or more)."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("productionStacks", "productionVaultLockMode"),
        tokens=tokens.STANDARD_VAULTS,
        reads=tokens.VAULT_LOCKS,
        related_tokens={},
        concept=r"^aws:backup/vault:",
        check=check_vault_locks,
    ),
]
