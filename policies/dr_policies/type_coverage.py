"""Rule 11: a production stack protects every resource type, each with a cross-region and an air-gapped copy.

Production is decided by the stack name (from the resources' URNs ``urn:pulumi:<stack>::...``) matched
against ``productionStacks``. A type is protected when a selection of the stack can pick it (see
:mod:`.scope`); its copies are those of the plans of those selections. A cross-region copy goes to a vault
of the same account in another region; an air-gapped copy goes to a logically air-gapped vault (one in the
stack, or one described in ``knownExternalVaults``). A type AWS Backup cannot copy into such a vault
(``airGappedUnsupportedResourceTypes``) needs a copy into a standard vault of another account instead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import refs, scope, tokens
from .framework import Finding, ResourceView, Rule, StackRule, StackView, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, get


def production_stack(stack: StackView, settings: Settings) -> str | None:
    """The stack's name if it is a production stack."""
    name = tokens.stack_name(stack.resources[0].urn) if stack.resources else ""
    if any(fnmatch.fnmatchcase(name, p) for p in settings.str_list("productionStacks")):
        return name
    return None


@dataclass
class _Copies:
    cross_region: bool | None = False
    air_gapped: bool | None = False
    other_account: bool | None = False
    """A copy into a standard vault of another account."""


def _merge(current: bool | None, new: bool | None) -> bool | None:
    if current is True or new is True:
        return True
    return None if current is None or new is None else False


def _plan_copies(stack: StackView, plan: ResourceView, known_external: list[Mapping[str, Any]]) -> _Copies:
    found = _Copies()
    try:
        rules = refs.plan_rules(plan)
    except UnknownValue:
        return _Copies(None, None, None)
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        try:
            get(plan.props, "rules", i, "copyActions")
        except UnknownValue:
            return _Copies(
                _merge(found.cross_region, None),
                _merge(found.air_gapped, None),
                _merge(found.other_account, None),
            )
        sources = refs.target_vaults(stack, plan, rule)
        source_region = sources[0].region if len(sources) == 1 and sources[0].region else plan.region
        source_account = (
            sources[0].account if len(sources) == 1 and sources[0].account else plan.provider.account
        )
        destinations = refs.copy_destinations(stack, plan, rule, sources, known_external)
        for candidates in destinations.per_action:
            if not candidates:
                found.cross_region = _merge(found.cross_region, None)
                found.air_gapped = _merge(found.air_gapped, None)
                found.other_account = _merge(found.other_account, None)
                continue
            air = {c.air_gapped for c in candidates}
            found.air_gapped = _merge(found.air_gapped, air.pop() if len(air) == 1 else None)
            regional: set[bool | None] = set()
            elsewhere: set[bool | None] = set()
            for c in candidates:
                if c.region is None or source_region is None or c.account is None or source_account is None:
                    regional.add(None)
                else:
                    regional.add(c.region != source_region and c.account == source_account)
                if c.air_gapped is None or c.account is None or source_account is None:
                    elsewhere.add(None)
                else:
                    elsewhere.add(not c.air_gapped and c.account != source_account)
            found.cross_region = _merge(found.cross_region, regional.pop() if len(regional) == 1 else None)
            found.other_account = _merge(
                found.other_account, elsewhere.pop() if len(elsewhere) == 1 else None
            )
    return found


def check_production_coverage(stack: StackView, settings: Settings) -> Iterator[Finding]:
    name = production_stack(stack, settings)
    if name is None:
        return
    required = settings.str_list("requiredResourceTypes")
    no_air_gapped = set(settings.str_list("airGappedUnsupportedResourceTypes"))
    engines = scope.Engines.from_settings(settings)
    known_external = list(settings["knownExternalVaults"])
    plans_of: dict[str, list[ResourceView]] = {t: [] for t in required}
    undecided: list[str] = []
    for selection in stack.of(tokens.SELECTIONS):
        try:
            types = scope.types_selected(scope.scope_of(selection), engines, required)
        except UnknownValue as unknown:
            undecided.append(f"{selection.label} {unknown} is unknown at preview")
            continue
        if not types:
            continue
        plans = refs.plan_of_selection(stack, selection)
        if len(plans) != 1:
            undecided.append(f"the plan of {selection.label} cannot be identified")
            continue
        for rtype in types:
            if plans[0] not in plans_of[rtype]:
                plans_of[rtype].append(plans[0])
    copies: dict[str, _Copies] = {}
    for rtype in required:
        plans = sorted(plans_of[rtype], key=lambda p: p.name)
        if not plans:
            problem = f"production stack '{name}' protects no {rtype} resources: no selection picks them"
            if undecided:
                yield cannot_verify(
                    None, f"{problem} ({undecided[0]})", "Every resource type must be protected."
                )
            else:
                yield Finding(
                    None,
                    problem,
                    f"add a plan and a selection for {rtype} (its ARN pattern in resources), or remove {rtype} "
                    "from requiredResourceTypes if the organisation does not use it",
                )
            continue
        total = _Copies()
        for plan in plans:
            if plan.urn not in copies:
                copies[plan.urn] = _plan_copies(stack, plan, known_external)
            total.cross_region = _merge(total.cross_region, copies[plan.urn].cross_region)
            total.air_gapped = _merge(total.air_gapped, copies[plan.urn].air_gapped)
            total.other_account = _merge(total.other_account, copies[plan.urn].other_account)
        names = ", ".join(p.label for p in plans)
        isolated = (
            (
                "copy into a standard vault of another account (AWS Backup cannot copy it into a logically "
                "air-gapped vault)",
                total.other_account,
                "add a copy action into a standard vault of the isolated account under a compliance-mode "
                "vault lock",
            )
            if rtype in no_air_gapped
            else (
                "air-gapped copy (a logically air-gapped vault)",
                total.air_gapped,
                "add a copy action into the logically air-gapped vault (describe an external one in "
                "knownExternalVaults)",
            )
        )
        for kind, verdict, fix in (
            (
                "cross-region copy (a vault of the same account in another region)",
                total.cross_region,
                "add a copy action whose destination_vault_arn is a vault of this account in the DR region",
            ),
            isolated,
        ):
            if verdict is True:
                continue
            problem = f"in production stack '{name}', no plan protecting {rtype} ({names}) makes a {kind}"
            if verdict is None:
                yield cannot_verify(plans[0], f"{problem} known at preview", f"{rtype} needs a {kind}.")
            else:
                yield Finding(plans[0], problem, fix)


RULES: list[Rule] = [
    StackRule(
        name="aws-backup-production-coverage",
        description=(
            "A production stack (name matching productionStacks) must protect every required resource type "
            "(S3, EBS, EFS, DynamoDB, RDS, Aurora, DocumentDB, Neptune by default), and for each type its plans "
            "must copy both cross-region (a vault of the same account in another region) and to a logically "
            "air-gapped vault (for airGappedUnsupportedResourceTypes: to a standard vault of another account). "
            "Fix: add the missing plan, selection or copy action."
        ),
        remediation_steps=(
            "For each type in `requiredResourceTypes`, create a plan whose selection picks the type's ARN pattern "
            "and whose rules have `copy_actions` into (1) the same account's vault in the DR region and (2) the "
            "logically air-gapped vault. Adjust `productionStacks` / `requiredResourceTypes` in the policy config "
            "if the organisation's names or types differ."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_keys=(
            "productionStacks",
            "requiredResourceTypes",
            "airGappedUnsupportedResourceTypes",
            "clusterEngineTagKey",
            "clusterEngineTagValues",
            "knownExternalVaults",
        ),
        tokens=tokens.PLANS | tokens.SELECTIONS,
        reads=tokens.VAULTS,
        related_tokens={},
        concept=r"^aws:backup/(plan|selection):",
        check=check_production_coverage,
    ),
]
