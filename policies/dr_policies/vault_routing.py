"""Rule 9: one vault per resource type.

Each resource type has its own vaults (keys, access and retention are per type), so no vault may be fed
by selections of two types. Aurora, DocumentDB and Neptune clusters all have ``arn:aws:rds:*:*:cluster:*``
ARNs: their selections are told apart only by a discriminator tag (``clusterEngineTagKey``), and two
cluster selections whose plans write to different vaults must never both pick one cluster (it would be
backed up twice, into the wrong type's vault as well).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import EnforcementLevel, Severity

from . import refs, scope, tokens
from .framework import Finding, ResourceView, Rule, StackRule, StackView, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, is_unknown

_WHY = "Each vault must receive one resource type only."


@dataclass(frozen=True)
class VaultKey:
    key: str
    label: str
    resource: ResourceView | None


def _vault_key(ref: refs.VaultRef, plan: ResourceView, name: object) -> VaultKey:
    if ref.resource is not None:
        return VaultKey(ref.resource.urn, ref.resource.label, ref.resource)
    return VaultKey(f"{plan.region}/{plan.provider.account}/{name}", f"vault '{name}'", None)


class _Targets:
    """Target vaults per plan, computed once per plan."""

    def __init__(self, stack: StackView) -> None:
        self.stack = stack
        self._cache: dict[str, list[VaultKey] | str] = {}

    def of(self, plan: ResourceView) -> list[VaultKey] | str:
        """The plan's target vaults, or why they cannot be told."""
        if plan.urn not in self._cache:
            self._cache[plan.urn] = self._compute(plan)
        return self._cache[plan.urn]

    def _compute(self, plan: ResourceView) -> list[VaultKey] | str:
        found: dict[str, VaultKey] = {}
        try:
            rules = refs.plan_rules(plan)
        except UnknownValue as unknown:
            return f"{plan.label} {unknown} is unknown at preview"
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            candidates = refs.target_vaults(self.stack, plan, rule)
            name = rule.get("targetVaultName")
            if len(candidates) == 1:
                vault = _vault_key(candidates[0], plan, name)
            elif not candidates and isinstance(name, str) and not is_unknown(name):
                vault = VaultKey(f"{plan.region}/{plan.provider.account}/{name}", f"vault '{name}'", None)
            else:
                return f"{plan.label} rules[{i}].targetVaultName cannot be resolved to one vault at preview"
            found[vault.key] = vault
        return list(found.values())


def _plan_vaults(stack: StackView, selection: ResourceView, targets: _Targets) -> list[VaultKey] | str:
    plans = refs.plan_of_selection(stack, selection)
    if len(plans) != 1:
        return "its plan cannot be identified (planId has no dependency on a plan in this stack)"
    return targets.of(plans[0])


def check_single_type(stack: StackView, settings: Settings) -> Iterator[Finding]:
    targets = _Targets(stack)
    scopes: list[tuple[ResourceView, scope.Scope]] = []
    for selection in stack.of(tokens.SELECTIONS):
        try:
            scopes.append((selection, scope.scope_of(selection)))
        except UnknownValue as unknown:
            yield cannot_verify(selection, unknown, _WHY)
    # Engines the stack does not route to their own plans are protected as Aurora, on purpose.
    engines = scope.routed(scope.Engines.from_settings(settings), (sc for _s, sc in scopes))
    among = scope.cluster_types(engines)
    feeds: dict[str, tuple[VaultKey, dict[str, list[ResourceView]]]] = {}
    for selection, sc in scopes:
        types = scope.types_selected(sc, engines, among)
        if not types:
            continue
        vaults = _plan_vaults(stack, selection, targets)
        if isinstance(vaults, str):
            yield cannot_verify(selection, vaults, _WHY)
            continue
        for vault in vaults:
            by_type = feeds.setdefault(vault.key, (vault, {}))[1]
            for rtype in types:
                by_type.setdefault(rtype, []).append(selection)
    for vault, by_type in feeds.values():
        if len(by_type) < 2:
            continue
        sources = "; ".join(
            f"{rtype} (from {', '.join(s.label for s in selections[:3])})"
            for rtype, selections in by_type.items()
        )
        first = next(iter(by_type.values()))[0]
        subject = vault.resource or first
        where = "" if vault.resource is not None else f"{vault.label}, the target of its plan, "
        yield Finding(
            subject,
            f"{where}receives {len(by_type)} resource types: {sources}",
            "give each resource type its own vault (and plans), and narrow each selection's resources to one "
            f"type's ARN pattern; keep cluster engines apart with aws:ResourceTag/{engines.key} conditions",
        )


@dataclass(frozen=True)
class _ClusterSelection:
    selection: ResourceView
    vaults: frozenset[str]
    labels: str
    constraints: tuple[scope.Constraint, ...]


def _overlap(a: _ClusterSelection, b: _ClusterSelection) -> str | None:
    """A discriminator value (``""`` for untagged) both selections accept, or None if they exclude each other."""
    combined = list(a.constraints + b.constraints)
    for value in scope.witnesses(combined):
        if scope.satisfiable(combined, [value]):
            return "" if value is None else value
    return None


def _same_place(a: ResourceView, b: ResourceView) -> bool:
    if a.region is not None and b.region is not None and a.region != b.region:
        return False
    return not (a.provider.account and b.provider.account and a.provider.account != b.provider.account)


def check_cluster_exclusive(stack: StackView, settings: Settings) -> Iterator[Finding]:
    engines = scope.Engines.from_settings(settings)
    targets = _Targets(stack)
    groups: dict[tuple[object, ...], _ClusterSelection] = {}
    for selection in stack.of(tokens.SELECTIONS):
        try:
            sc = scope.scope_of(selection)
        except UnknownValue as unknown:
            yield cannot_verify(
                selection, unknown, "Cluster selections of different vaults must exclude each other."
            )
            continue
        if not sc.arn_selected(scope.SAMPLE_ARNS["Aurora"]) or not sc.satisfiable_except(engines.key):
            continue
        vaults = _plan_vaults(stack, selection, targets)
        if isinstance(vaults, str):
            yield cannot_verify(
                selection, vaults, "Cluster selections of different vaults must exclude each other."
            )
            continue
        constraints = tuple(sorted(sc.on(engines.key)))
        keys = frozenset(v.key for v in vaults)
        signature = (selection.region, selection.provider.account, constraints, keys)
        # Selections with the same discriminator constraints and vaults behave alike: compare one of each.
        groups.setdefault(
            signature, _ClusterSelection(selection, keys, ", ".join(v.label for v in vaults), constraints)
        )
    members = list(groups.values())
    for i, later in enumerate(members):
        for earlier in members[:i]:
            if earlier.vaults == later.vaults or not _same_place(earlier.selection, later.selection):
                continue
            shared = _overlap(earlier, later)
            if shared is None:
                continue
            cluster = f"tagged {engines.key}={shared!r}" if shared else f"without a {engines.key} tag"
            yield Finding(
                later.selection,
                f"it and {earlier.selection.label} both pick clusters {cluster}, but write to different vaults "
                f"({later.labels} vs {earlier.labels}); Aurora, DocumentDB and Neptune clusters share the ARN "
                "arn:aws:rds:*:*:cluster:*, so such a cluster would be backed up into both",
                f"make the selections exclusive on aws:ResourceTag/{engines.key}: a string_equals condition with "
                "the engine's own value on the DocumentDB/Neptune selections and string_not_equals conditions "
                "for those values on the Aurora selection",
            )


RULES: list[Rule] = [
    StackRule(
        name="aws-backup-vault-single-resource-type",
        description=(
            "A backup vault must receive one resource type only: no two types' selections may feed plans "
            "that target the same vault (keys, access policies and retention are per type). Cluster engines "
            "(DocumentDB, Neptune) count as their own type only where the stack routes them to their own "
            "selections; otherwise their clusters are protected as Aurora. Fix: give each "
            "type its own vault and narrow each selection to one type's ARN pattern."
        ),
        remediation_steps=(
            "Create one `aws.backup.Vault` per resource type and point each type's plan rules "
            "(`target_vault_name`) at it; set each selection's `resources` to that type's ARN pattern "
            "(e.g. `arn:aws:ec2:*:*:volume/*`), never `*` or a whole service; tell cluster engines apart with "
            "`aws:ResourceTag/<clusterEngineTagKey>` conditions."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_keys=("clusterEngineTagKey", "clusterEngineTagValues"),
        tokens=tokens.SELECTIONS,
        reads=tokens.PLANS | tokens.VAULTS,
        related_tokens={},
        concept=r"^aws:backup/selection:",
        check=check_single_type,
    ),
    StackRule(
        name="aws-backup-selection-cluster-engine-exclusive",
        description=(
            "Aurora, DocumentDB and Neptune clusters share the ARN arn:aws:rds:*:*:cluster:*, so two cluster "
            "selections whose plans write to different vaults must exclude each other by their conditions on "
            "the engine tag (clusterEngineTagKey, default dr-backup-engine); otherwise one cluster is backed up "
            "into two types' vaults. Fix: add StringEquals/StringNotEquals conditions on that tag."
        ),
        remediation_steps=(
            "Tag DocumentDB and Neptune clusters `<clusterEngineTagKey>=<engine value>`; give their selections "
            "`string_equals` on `aws:ResourceTag/<clusterEngineTagKey>` with that value, and the Aurora selection "
            "`string_not_equals` on each of those values."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("clusterEngineTagKey", "clusterEngineTagValues"),
        tokens=tokens.SELECTIONS,
        reads=tokens.PLANS | tokens.VAULTS,
        related_tokens={},
        concept=r"^aws:backup/selection:",
        check=check_cluster_exclusive,
    ),
]
