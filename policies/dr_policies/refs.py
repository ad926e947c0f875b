"""Following references between resources in a stack: plan rule -> vault, copy action -> destination vault,
vault -> KMS key, selection -> plan.

At preview, a reference to a resource created in the same update is often unknown (an output such as
an ARN). The pack then falls back to the engine's dependency information: the URNs a property was
computed from (``propertyDependencies``), narrowed by type and region. A reference that cannot be pinned
down is returned as a set of candidates (possibly empty); the rule decides only when every candidate
leads to the same verdict and otherwise reports "cannot verify".
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import tokens
from .framework import ResourceView, StackView
from .values import get_list, is_unknown

_VAULT_ARN = re.compile(r"^arn:aws[a-z-]*:backup:([a-z0-9-]+):(\d{12}):backup-vault:(.+)$")


@dataclass(frozen=True)
class VaultRef:
    """A vault a plan writes to: one created in this stack (``resource``) or an external one (``arn``)."""

    label: str
    resource: ResourceView | None
    arn: str | None
    region: str | None
    account: str | None
    air_gapped: bool | None
    """``None``: an external vault the pack knows nothing about."""
    external: Mapping[str, Any] | None = None
    """The matching ``knownExternalVaults`` entry, if any."""

    @property
    def provider_urn(self) -> str:
        return self.resource.provider.urn if self.resource is not None else ""


def parse_vault_arn(arn: str) -> tuple[str, str, str] | None:
    match = _VAULT_ARN.match(arn)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def vault_ref(resource: ResourceView) -> VaultRef:
    return VaultRef(
        label=resource.label,
        resource=resource,
        arn=None,
        region=resource.region,
        account=resource.provider.account,
        air_gapped=resource.type in tokens.AIR_GAPPED_VAULTS,
    )


def _compatible(candidate: ResourceView, region: str | None, account: str | None) -> bool:
    if region is not None and candidate.region is not None and candidate.region != region:
        return False
    return not (account is not None and candidate.provider.account not in (None, account))


def same_account(a: VaultRef, b: VaultRef) -> bool | None:
    """Whether two vaults live in one account; ``None`` when the stack does not say."""
    if a.account is not None and b.account is not None:
        return a.account == b.account
    if a.resource is not None and b.resource is not None and a.provider_urn == b.provider_urn:
        return True
    return None


def same_region(a: VaultRef, b: VaultRef) -> bool | None:
    """Whether two vaults live in one region; ``None`` when the stack does not say."""
    if a.region is not None and b.region is not None:
        return a.region == b.region
    if (
        a.resource is not None
        and b.resource is not None
        and a.provider_urn == b.provider_urn
        and not a.resource.props.get("region")
        and not b.resource.props.get("region")
    ):
        return True
    return None


def _dependency_vaults(
    stack: StackView, owner: ResourceView, prop: str, types: frozenset[str]
) -> list[ResourceView]:
    found = [stack.by_urn[u] for u in owner.depends_on(prop) if u in stack.by_urn]
    return [r for r in found if r.type in types]


def target_vaults(stack: StackView, plan: ResourceView, rule: Mapping[str, Any]) -> list[VaultRef]:
    """Candidates for a plan rule's ``targetVaultName`` (raises UnknownValue only via ``get`` callers)."""
    name = rule.get("targetVaultName")
    if isinstance(name, str) and not is_unknown(name):
        matches = stack.named(name, tokens.STANDARD_VAULTS)
        narrowed = [v for v in matches if _compatible(v, plan.region, plan.provider.account)]
        if len(narrowed) > 1:
            narrowed = [v for v in narrowed if v.provider.urn == plan.provider.urn] or narrowed
        return [vault_ref(v) for v in narrowed]
    deps = _dependency_vaults(stack, plan, "rules", tokens.STANDARD_VAULTS)
    local = [v for v in deps if _compatible(v, plan.region, plan.provider.account)]
    if plan.region is not None:
        local = [v for v in local if v.region == plan.region] or local
    same_provider = [v for v in local if v.provider.urn == plan.provider.urn]
    return [vault_ref(v) for v in (same_provider if len(same_provider) == 1 else local)]


def _external(arn: str, known: Iterable[Mapping[str, Any]]) -> VaultRef:
    parsed = parse_vault_arn(arn)
    entry = next((e for e in known if fnmatch.fnmatchcase(arn, str(e.get("arn", "")))), None)
    return VaultRef(
        label=f"vault {arn}",
        resource=None,
        arn=arn,
        region=parsed[0] if parsed else None,
        account=parsed[1] if parsed else None,
        air_gapped=bool(entry["airGapped"]) if entry is not None and "airGapped" in entry else None,
        external=entry,
    )


@dataclass(frozen=True)
class Destinations:
    per_action: list[list[VaultRef]]
    """For each copy action, the vaults it may copy into (exactly one: resolved; none: unknown)."""
    pool: tuple[VaultRef, ...] = ()
    """Candidates shared by the copy actions whose destination is unknown at preview."""
    unknown: tuple[int, ...] = ()
    """Indexes of the copy actions whose destination is unknown (they draw from ``pool``)."""

    @property
    def pool_is_exact(self) -> bool:
        """Every pooled vault is the destination of one unknown copy action (so the set is known)."""
        return bool(self.unknown) and len(self.pool) == len(self.unknown)


def copy_destinations(
    stack: StackView,
    plan: ResourceView,
    rule: Mapping[str, Any],
    targets: list[VaultRef],
    known_external: Iterable[Mapping[str, Any]] = (),
) -> Destinations:
    """Where each copy action of a plan rule copies to."""
    actions = rule.get("copyActions")
    if not isinstance(actions, list):
        return Destinations(per_action=[])
    result: list[list[VaultRef] | None] = []
    claimed: set[str] = {t.resource.urn for t in targets if t.resource is not None}
    for action in actions:
        arn = action.get("destinationVaultArn") if isinstance(action, Mapping) else None
        if isinstance(arn, str) and not is_unknown(arn):
            parsed = parse_vault_arn(arn)
            if parsed is None:
                result.append([_external(arn, known_external)])
                continue
            region, account, name = parsed
            matches = [v for v in stack.named(name, tokens.VAULTS) if _compatible(v, region, account)]
            if matches:
                claimed.update(v.urn for v in matches)
                result.append([vault_ref(v) for v in matches])
            else:
                result.append([_external(arn, known_external)])
        else:
            result.append(None)
    unresolved = [i for i, r in enumerate(result) if r is None]
    if not unresolved:
        return Destinations(per_action=[r or [] for r in result])
    deps = [v for v in _dependency_vaults(stack, plan, "rules", tokens.VAULTS) if v.urn not in claimed]
    pool = tuple(vault_ref(v) for v in deps)
    return Destinations(
        per_action=[r if r is not None else list(pool) for r in result], pool=pool, unknown=tuple(unresolved)
    )


def plan_of_selection(stack: StackView, selection: ResourceView) -> list[ResourceView]:
    """The plan a selection belongs to, via the dependency of its ``planId`` input."""
    return [
        stack.by_urn[u]
        for u in selection.depends_on("planId")
        if u in stack.by_urn and stack.by_urn[u].type in tokens.PLANS
    ]


def plan_rules(plan: ResourceView) -> list[Any]:
    return get_list(plan.props, "rules")


def key_is_customer_managed(
    stack: StackView, vault: ResourceView, key_prop: str, trusted_patterns: list[str]
) -> tuple[bool | None, str]:
    """Whether the vault's key input names a customer-managed key: (verdict or None if undecidable, why)."""
    key_deps = [stack.by_urn[u] for u in vault.depends_on(key_prop) if u in stack.by_urn]
    if any(d.type in tokens.KMS_KEYS for d in key_deps):
        return True, "uses a key created in this stack"
    value = vault.props.get(key_prop)
    if value is None or value == "":
        return False, f"sets no {key_prop}, so AWS Backup encrypts with the AWS-managed key aws/backup"
    if is_unknown(value):
        return None, f"{key_prop} is unknown at preview and does not come from a key in this stack"
    text = str(value)
    if text == "aws/backup" or ":alias/aws/" in text or text.startswith("alias/aws/"):
        return False, f"uses the AWS-managed key {text}"
    if any(fnmatch.fnmatchcase(text, p) for p in trusted_patterns):
        return True, "uses a key listed in customerManagedKeyArns"
    if ":alias/" in text or text.startswith("alias/"):
        return True, "uses a customer alias (only AWS-managed aliases start with alias/aws/)"
    return None, (
        f"{key_prop} '{text}' is not a key this stack creates, so the pack cannot tell whether it is "
        "customer-managed (list it in customerManagedKeyArns if it is)"
    )
