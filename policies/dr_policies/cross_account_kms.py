"""Rule 1: a vault that is the source of a cross-account (or air-gapped) copy must use a customer-managed key.

Follows plan rule -> ``targetVaultName`` -> source vault -> ``kmsKeyArn``, and plan rule ->
``copyActions[].destinationVaultArn`` -> destination vault, to decide whether the copy leaves the
account. Copies of AWS-managed-key backups cannot be shared with another account (or put into an
air-gapped vault), so such copy jobs fail.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pulumi_policy import EnforcementLevel, Severity

from . import refs, tokens
from .framework import Finding, ResourceView, Rule, StackRule, StackView, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, get, is_unknown


def _leaves_account(source: refs.VaultRef, dest: refs.VaultRef) -> bool | None:
    same = refs.same_account(source, dest)
    if same is False:
        return True
    if dest.air_gapped:
        return True
    if same is True:
        return False
    return None


def _any_leaves(
    sources: list[refs.VaultRef], dests: list[refs.VaultRef] | tuple[refs.VaultRef, ...]
) -> bool | None:
    """True if some source/destination pair leaves the account, False if none does, None if unclear."""
    if not sources or not dests:
        return None
    verdicts = [_leaves_account(s, d) for s in sources for d in dests]
    if True in verdicts:
        return True
    return False if all(v is False for v in verdicts) else None


def _copy_leaves_account(sources: list[refs.VaultRef], destinations: refs.Destinations) -> bool | None:
    """Whether any copy action of a rule leaves the source vault's account (None: cannot tell)."""
    outcome: bool | None = False
    for index, candidates in enumerate(destinations.per_action):
        if index in destinations.unknown:
            continue
        verdict = _any_leaves(sources, candidates)
        if verdict is True and len(candidates) == 1:
            return True
        if verdict is not False:
            outcome = None
    if destinations.unknown:
        verdict = _any_leaves(sources, destinations.pool)
        if verdict is True and destinations.pool_is_exact:
            return True
        if verdict is not False:
            outcome = None
    return outcome


def check_cross_account_cmk(stack: StackView, settings: Settings) -> Iterator[Finding]:
    trusted = settings.str_list("customerManagedKeyArns")
    known_external = list(settings["knownExternalVaults"])
    reported: set[str] = set()
    for plan in stack.of(tokens.PLANS):
        try:
            rules = refs.plan_rules(plan)
        except UnknownValue as unknown:
            yield cannot_verify(
                plan, unknown, "Cross-account copies and their source key cannot be followed."
            )
            continue
        for i, rule in enumerate(rules):
            if not isinstance(rule, Mapping) or not rule.get("copyActions"):
                continue
            try:
                get(plan.props, "rules", i, "copyActions")
            except UnknownValue as unknown:
                yield cannot_verify(plan, unknown, "Cross-account copies cannot be followed.")
                continue
            sources = refs.target_vaults(stack, plan, rule)
            destinations = refs.copy_destinations(stack, plan, rule, sources, known_external)
            leaves = _copy_leaves_account(sources, destinations)
            if leaves is False:
                continue
            if len(sources) != 1:
                what = (
                    "is unknown at preview"
                    if is_unknown(rule.get("targetVaultName"))
                    else "is not a vault in this stack"
                )
                if leaves is True or not sources:
                    yield cannot_verify(
                        plan,
                        f"rules[{i}] copies to another account but its targetVaultName {what}",
                        "The source vault must use a customer-managed KMS key.",
                    )
                continue
            source_vault = sources[0].resource
            assert source_vault is not None
            if leaves is None:
                yield cannot_verify(
                    plan,
                    f"rules[{i}] copies from {source_vault.label}, but the stack does not say whether a copy "
                    "destination is in another account (set allowedAccountIds on the providers)",
                    "A cross-account source vault must use a customer-managed KMS key.",
                )
                continue
            if source_vault.urn in reported:
                continue
            yield from _check_source_key(stack, plan, i, source_vault, trusted, reported)


def _check_source_key(
    stack: StackView,
    plan: ResourceView,
    index: int,
    vault: ResourceView,
    trusted: list[str],
    reported: set[str],
) -> Iterator[Finding]:
    verdict, why = refs.key_is_customer_managed(stack, vault, "kmsKeyArn", trusted)
    if verdict is True:
        return
    reported.add(vault.urn)
    if verdict is None:
        yield cannot_verify(
            vault,
            f"it is the source of a cross-account copy ({plan.label} rules[{index}]) and {why}",
            "It must use a customer-managed KMS key.",
        )
        return
    yield Finding(
        vault,
        f"it is the source of a cross-account copy ({plan.label} rules[{index}]) but {why}; AWS cannot share "
        "such recovery points with another account",
        "set kms_key_arn to a customer-managed aws.kms.Key whose policy lets the destination account use it "
        "(CreateGrant only with kms:GrantIsForAWSResource)",
    )


RULES: list[Rule] = [
    StackRule(
        name="aws-backup-cross-account-copy-cmk",
        description=(
            "A backup vault that is the source of a cross-account or air-gapped copy must be encrypted with a "
            "customer-managed KMS key, never the AWS-managed aws/backup key or no key. Fix: create an "
            "aws.kms.Key, grant the destination account in its policy and set kms_key_arn on the vault."
        ),
        remediation_steps=(
            "Create a customer-managed `aws.kms.Key` (rotation on, deletion window 30 days) whose key policy "
            "allows the destination account to use it (CreateGrant only with `kms:GrantIsForAWSResource`), and "
            "set `kms_key_arn` on the source `aws.backup.Vault`. A vault's key cannot change: this replaces it."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_keys=("customerManagedKeyArns", "knownExternalVaults"),
        tokens=tokens.PLANS | tokens.STANDARD_VAULTS,
        reads=tokens.VAULTS | tokens.KMS_KEYS,
        related_tokens={},
        concept=r"^aws:backup/(plan|vault):",
        check=check_cross_account_cmk,
    ),
]
