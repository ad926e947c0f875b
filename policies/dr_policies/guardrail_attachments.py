"""Rule: the organisation stack attaches every guardrail policy to every target its config names.

An SCP that exists but is attached nowhere, or not to one of the OUs or accounts ``guardrails.targets``
names, protects nothing there: that account's admin and CI role can again delete vaults, recovery points,
keys and roles (threat model a, b), and the preview still succeeds. The targets come from the
``BackupGuardrails`` component's inputs (``targets``, ``isolatedTargets``, ``rcpTargets``), which the
organisation stack sets from its config; each policy belongs to one group by its physical name, as
``org/guardrails.py`` names them. An attachment is found by its ``policyId``'s dependency on the policy
(the id is unknown before the policy exists).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from . import tokens
from .framework import Finding, ResourceView, Rule, StackRule, StackView
from .pack_config import Settings
from .values import as_string_list, is_unknown

# (component input naming the targets, config key, physical name pattern of that group's policies)
GROUPS = (
    ("targets", "guardrails.targets", re.compile(r"-backup-guardrails-\d+$")),
    ("isolatedTargets", "guardrails.isolatedTargets", re.compile(r"-isolated-guardrails-\d+$")),
    (
        "rcpTargets",
        "guardrails.targets and isolatedTargets (resourceControlPolicy: true)",
        re.compile(r"-backup-keys-perimeter$"),
    ),
)


def _group(policy: ResourceView) -> tuple[str, str] | None:
    name = policy.get("name")
    if not isinstance(name, str):
        return None
    for key, config_key, pattern in GROUPS:
        if pattern.search(name):
            return key, config_key
    return None


def _attached_to(stack: StackView, policy: ResourceView) -> dict[str, ResourceView]:
    """Target id -> attachment, for every attachment whose policyId comes from ``policy``."""
    found: dict[str, ResourceView] = {}
    for attachment in stack.of(tokens.ORGANIZATION_POLICY_ATTACHMENTS):
        if policy.urn in attachment.depends_on("policyId"):
            target = attachment.get("targetId")
            if isinstance(target, str):
                found[target] = attachment
    return found


def check_guardrails_attached(stack: StackView, _settings: Settings) -> Iterator[Finding]:
    policies = stack.of(tokens.ORGANIZATION_POLICIES)
    for component in stack.of(tokens.BACKUP_GUARDRAILS):
        named = {key: as_string_list(component.get(key)) for key, _, _ in GROUPS}
        children = [p for p in policies if p.parent == component.urn]
        grouped = {key for p in children if (group := _group(p)) is not None for key in (group[0],)}
        for key, config_key, _ in GROUPS:
            targets = [t for t in named[key] if not is_unknown(t)]
            if targets and key not in grouped:
                yield Finding(
                    component,
                    f"{config_key} names {', '.join(targets)} but the stack registers no policy for them",
                    "register that group's aws.organizations.Policy in BackupGuardrails and attach it to every "
                    "target",
                )
        for policy in children:
            group = _group(policy)
            if group is None:
                yield Finding(
                    policy,
                    "it is a guardrails policy whose name matches none of the stack's groups, so the pack cannot "
                    "tell which targets it must reach",
                    "name it as org/guardrails.py does (<prefix>-backup-guardrails-N, <prefix>-isolated-guardrails-N, "
                    "<prefix>-backup-keys-perimeter)",
                )
                continue
            key, config_key = group
            wanted = [t for t in named[key] if not is_unknown(t)]
            attached = _attached_to(stack, policy)
            for target in wanted:
                if target not in attached:
                    yield Finding(
                        policy,
                        f"it is not attached to {target}, which {config_key} names: there it denies nothing",
                        f"add aws.organizations.PolicyAttachment(policy_id=<policy>.id, target_id={target!r})",
                    )
            for target, attachment in attached.items():
                if target not in wanted:
                    yield Finding(
                        attachment,
                        f"it attaches {policy.label} to {target}, which {config_key} does not name",
                        f"add {target!r} to {config_key}, or remove the attachment",
                    )


RULES: list[Rule] = [
    StackRule(
        name="aws-organizations-guardrails-attached",
        description=(
            "The organisation stack must attach each guardrail policy (the backup SCPs, the isolated "
            "accounts' SCPs, the backup keys' RCP) to every OU or account its config names for that policy "
            "(guardrails.targets, guardrails.isolatedTargets), and to no other. Fix: add the missing "
            "PolicyAttachment, or add the target to the config."
        ),
        remediation_steps=(
            "For each policy `p` of `BackupGuardrails` and each configured target `t`, create "
            "`aws.organizations.PolicyAttachment(policy_id=p.id, target_id=t)`; an attachment to a target the "
            "config does not list is either added to `guardrails.targets` / `isolatedTargets` or removed."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=(),
        tokens=tokens.ORGANIZATION_POLICIES | tokens.BACKUP_GUARDRAILS,
        reads=tokens.ORGANIZATION_POLICY_ATTACHMENTS,
        related_tokens={},
        concept=r"^aws:organizations/policy:",
        check=check_guardrails_attached,
    ),
]
