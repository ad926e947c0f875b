"""Each stack's policy pack configuration: one organisation-wide file plus the stack's own facts.

A fleet shares one pack configuration (``examples/policy-config.json``: levels, windows, opt-out tags,
retention floors). Some policies also need facts of the account itself, which its stack file already
holds: the Kubernetes clusters whose owned volumes the stack excludes (``kubernetesClusters``), the
account allowed to copy into its air-gapped vault (``accounts.workload``) and the isolated account's vaults
its plans copy into (``knownExternalVaults``: the isolated stack registers them, docs/isolated-account.md,
so the workload graph names them by ARN only). Those are filled in from the stack's validated config, so a
new workload account needs only its ``Pulumi.<stack>.yaml``.

Precedence (docs/policy-pack-config.md, "One file per organisation"):

1. the stack's own file (``examples/policy-config.<stack>.json``, or the fleet's ``--policy-config``
   template) when it exists: used whole, as ``pulumi preview --policy-pack-config`` would read it;
2. else the organisation-wide file (``--org-policy-config``) with the stack's facts added to the
   settings it leaves out (a setting the organisation's file gives explicitly wins);
3. else no configuration: every policy at its defaults.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.config import StackConfig
from drplan.policy_config import ENFORCEMENT_LEVEL, PolicyConfig, PolicyConfigError, load

# Relative to the project directory; the Makefile and the workflows pass these.
ORG_POLICY_CONFIG = "examples/policy-config.json"
STACK_POLICY_CONFIG = "examples/policy-config.{stack}.json"
ORG_FLAG = "--org-policy-config"
STACK_FLAG = "--policy-config"

KUBERNETES_VOLUMES = "aws-backup-selection-kubernetes-volumes"
COPY_SOURCES = "aws-backup-vault-policy-copy-sources"
KNOWN_EXTERNAL_VAULTS = "knownExternalVaults"
# The policies that read knownExternalVaults (policies/dr_policies: their config_keys).
READ_EXTERNAL_VAULTS = (
    "aws-backup-air-gapped-copy-retention",
    "aws-backup-air-gapped-supported-types",
    "aws-backup-cross-account-copy-cmk",
    "aws-backup-selection-cross-region-opt-out",
    "aws-backup-production-coverage",
)


def isolated_vaults(config: StackConfig) -> list[dict[str, Any]]:
    """The isolated account's vaults the stack's plans copy into, as ``knownExternalVaults`` entries: the
    air-gapped vault with its retention range and, when an active type needs it, the locked standard vault
    (not air-gapped; its lock has the same range). ARNs as the program spells them."""
    vault = config.air_gapped_vault
    bounds = {"minRetentionDays": vault.min_retention_days, "maxRetentionDays": vault.max_retention_days}
    entries: list[dict[str, Any]] = [{"arn": config.air_gapped_vault_arn, "airGapped": True, **bounds}]
    if config.locked_vault_arn is not None:
        entries.append({"arn": config.locked_vault_arn, "airGapped": False, **bounds})
    return entries


def stack_facts(config: StackConfig) -> dict[str, dict[str, Any]]:
    """The pack settings that are facts of one account, from its validated stack config."""
    facts: dict[str, dict[str, Any]] = {
        KUBERNETES_VOLUMES: {"kubernetesClusters": list(config.kubernetes_clusters)},
        COPY_SOURCES: {"allowedCopySourceAccounts": [config.accounts.workload]},
    }
    vaults = isolated_vaults(config)
    for policy in READ_EXTERNAL_VAULTS:
        facts.setdefault(policy, {})[KNOWN_EXTERNAL_VAULTS] = vaults
    return facts


def with_stack_facts(org: Mapping[str, Any], config: StackConfig) -> PolicyConfig:
    """The organisation's configuration with the stack's facts in every setting it leaves out."""
    result: PolicyConfig = copy.deepcopy(dict(org))
    for policy, facts in stack_facts(config).items():
        entry = result.get(policy)
        if isinstance(entry, str):  # a bare enforcement level
            entry = {ENFORCEMENT_LEVEL: entry}
        settings = dict(entry or {})
        for key, value in facts.items():
            if key == KNOWN_EXTERNAL_VAULTS and isinstance(settings.get(key), list):
                # The organisation's own external vaults stay, the stack's isolated vaults are added (an
                # entry the organisation gives for the same ARN wins).
                given = {e.get("arn") for e in settings[key] if isinstance(e, Mapping)}
                settings[key] = [*settings[key], *(copy.deepcopy(e) for e in value if e["arn"] not in given)]
            else:
                settings.setdefault(key, copy.deepcopy(value))
        result[policy] = settings
    return result


class PackConfigSource:
    """Where the stacks' pack configurations come from: a per-stack file (a path or a ``{stack}``
    template) and the organisation-wide file; either may be absent."""

    def __init__(self, stack_file: str | Path | None, org_file: Path | None) -> None:
        self.stack_file = None if stack_file is None else str(stack_file)
        self.org_file = org_file

    @property
    def configured(self) -> bool:
        return self.stack_file is not None or self.org_file is not None

    def own_file(self, stack: str) -> Path | None:
        """The stack's own file when it is to be used: it exists, or there is no organisation-wide file
        to fall back to (then loading it reports it missing)."""
        if self.stack_file is None:
            return None
        path = Path(self.stack_file.replace("{stack}", stack))
        return path if path.is_file() or self.org_file is None else None

    def load_org(self) -> PolicyConfig | None:
        """The organisation-wide file, or ``None``; its problems name the flag and the file."""
        if self.org_file is None:
            return None
        try:
            return load(self.org_file)
        except PolicyConfigError as exc:
            raise PolicyConfigError(_flagged(ORG_FLAG, self.org_file, exc)) from None

    def for_stack(self, stack: str, config: StackConfig | None) -> tuple[PolicyConfig | None, str]:
        """The stack's configuration and where it came from (for messages); ``config`` is the stack's
        validated config (``None`` when it is invalid: then the facts cannot be known and the caller
        reports the config error instead)."""
        own = self.own_file(stack)
        if own is not None:
            try:
                return load(own), str(own)
            except PolicyConfigError as exc:
                raise PolicyConfigError(_flagged(STACK_FLAG, own, exc)) from None
        org = self.load_org()
        if org is None or config is None:
            return None, ""
        return with_stack_facts(org, config), f"{self.org_file} with {stack}'s facts"


def _flagged(flag: str, path: Path, exc: PolicyConfigError) -> str:
    return "\n".join(f"{flag} {path}: {line}" for line in str(exc).splitlines())


def dump(config: Mapping[str, Any]) -> str:
    """The configuration as the file ``pulumi preview --policy-pack-config`` reads."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"
