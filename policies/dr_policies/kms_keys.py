"""Rule 5: KMS keys that encrypt backups. No wildcard principal; CreateGrant to another account only for
AWS resources (``kms:GrantIsForAWSResource``); automatic rotation on; a deletion window of at least
30 days (a deleted key makes every recovery point it encrypts unreadable).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import iam, tokens
from .framework import Finding, ResourceRule, ResourceView, Rule
from .pack_config import Settings
from .values import as_number

KEY_CONCEPT = r"^aws:kms/\w*[kK]ey:"
POLICY_TOKENS = tokens.KMS_KEYS | tokens.KMS_KEY_POLICIES
_NO_AUTO_ROTATION = {
    "aws:kms/replicaKey:ReplicaKey": "a replica's rotation follows its primary key, which this rule checks",
    "aws:kms/externalKey:ExternalKey": "keys with imported material do not support automatic rotation",
    "aws:kms/replicaExternalKey:ReplicaExternalKey": "keys with imported material do not support automatic rotation",
}


def _statements(resource: ResourceView) -> list[iam.Statement] | Finding:
    document = resource.get("policy")
    if document is None or document == "":
        return []  # AWS's default key policy: the owning account only
    try:
        return iam.parse(document)
    except iam.DocumentError as exc:
        return Finding(resource, f"its key policy cannot be read: {exc}", "pass a valid JSON key policy")


def check_no_wildcard(resource: ResourceView, _settings: Settings) -> Iterator[Finding]:
    statements = _statements(resource)
    if isinstance(statements, Finding):
        yield statements
        return
    for st in statements:
        if st.allows and st.wildcard_principal:
            yield Finding(
                resource,
                f"key policy {st.label} allows principal '*' ({', '.join(st.actions) or 'no actions'})",
                "name the accounts or roles that need the key (e.g. arn:aws:iam::<account>:root) instead of '*'",
            )


def _owner_account(resource: ResourceView, statements: list[iam.Statement]) -> str | None:
    if resource.provider.account is not None:
        return resource.provider.account
    # KMS never lets another account manage a key, so the account granted PutKeyPolicy is the owner.
    admins = {
        acct
        for st in statements
        if st.allows and st.grants("kms:PutKeyPolicy")
        for acct in (iam.account_of(p) for p in st.aws_principals)
        if acct is not None
    }
    return next(iter(admins)) if len(admins) == 1 else None


def _for_aws_resource_only(st: iam.Statement) -> bool:
    for operator, value in st.condition_values("kms:GrantIsForAWSResource"):
        values = value if isinstance(value, list) else [value]
        if operator.lower() == "bool" and values and all(str(v).lower() == "true" for v in values):
            return True
    return False


def check_cross_account_grant(resource: ResourceView, _settings: Settings) -> Iterator[Finding]:
    statements = _statements(resource)
    if isinstance(statements, Finding):
        yield statements
        return
    owner = _owner_account(resource, statements)
    for st in statements:
        if not (st.allows and st.grants("kms:CreateGrant")) or _for_aws_resource_only(st):
            continue
        accounts = sorted({a for a in (iam.account_of(p) for p in st.aws_principals) if a is not None})
        foreign = [a for a in accounts if a != owner] if owner is not None else []
        if owner is None and accounts:
            yield Finding(
                resource,
                f"key policy {st.label} allows kms:CreateGrant to {', '.join(accounts)} without "
                "kms:GrantIsForAWSResource, and the key's own account is not known (set allowedAccountIds on "
                "the provider)",
                "add Condition {'Bool': {'kms:GrantIsForAWSResource': 'true'}} to grants for other accounts",
            )
        elif foreign:
            yield Finding(
                resource,
                f"key policy {st.label} allows kms:CreateGrant to account(s) {', '.join(foreign)} without the "
                "condition kms:GrantIsForAWSResource, so they can grant themselves any use of the key",
                "add Condition {'Bool': {'kms:GrantIsForAWSResource': 'true'}} to that statement",
            )


def _symmetric_default(resource: ResourceView) -> bool:
    spec = resource.get("customerMasterKeySpec")
    usage = resource.get("keyUsage")
    external_store = resource.get("customKeyStoreId") or resource.get("xksKeyId")
    return (
        spec in (None, "", "SYMMETRIC_DEFAULT")
        and usage in (None, "", "ENCRYPT_DECRYPT")
        and not external_store
    )


def check_rotation(resource: ResourceView, _settings: Settings) -> Iterator[Finding]:
    if not _symmetric_default(resource):
        return  # AWS rotates only symmetric encryption keys in AWS KMS key material
    enabled: Any = resource.get("enableKeyRotation")
    if enabled is not True and str(enabled).lower() != "true":
        yield Finding(
            resource,
            "automatic key rotation is off",
            "set enable_key_rotation=True on the aws.kms.Key",
        )


def check_deletion_window(resource: ResourceView, settings: Settings) -> Iterator[Finding]:
    minimum = settings.int("minKeyDeletionWindowDays")
    raw = resource.get("deletionWindowInDays")
    days = 30.0 if raw is None else as_number(raw)
    if days is None or days < minimum:
        yield Finding(
            resource,
            f"deletionWindowInDays is {raw}, below {minimum} days: a mistaken deletion would destroy every "
            "recovery point the key encrypts with little time to cancel",
            f"set deletion_window_in_days={minimum} (or leave it unset: AWS defaults to 30)",
        )


RULES: list[Rule] = [
    ResourceRule(
        name="aws-kms-key-policy-no-wildcard-principal",
        description=(
            "A KMS key policy must not allow principal '*': anyone who can reach the key could decrypt the "
            "backups it protects. Fix: name the accounts or roles instead of '*'."
        ),
        remediation_steps=(
            'Replace `"Principal": "*"` (or `{"AWS": "*"}`) in Allow statements of the key policy with '
            "explicit principals such as `arn:aws:iam::<account>:root` or role ARNs."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_keys=(),
        tokens=POLICY_TOKENS,
        related_tokens={},
        concept=r"^aws:kms/(\w*[kK]ey|keyPolicy):",
        check=check_no_wildcard,
    ),
    ResourceRule(
        name="aws-kms-key-cross-account-grant",
        description=(
            "A KMS key policy that lets another account call kms:CreateGrant must restrict it with the "
            "condition kms:GrantIsForAWSResource=true, so only AWS services (AWS Backup copying recovery "
            "points) get grants. Fix: add the Bool condition to the statement."
        ),
        remediation_steps=(
            'Add `"Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}` to every Allow '
            "statement that gives `kms:CreateGrant` to a principal of another account."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=(),
        tokens=POLICY_TOKENS,
        related_tokens={},
        concept=r"^aws:kms/(\w*[kK]ey|keyPolicy):",
        check=check_cross_account_grant,
    ),
    ResourceRule(
        name="aws-kms-key-rotation",
        description=(
            "Symmetric KMS keys must have automatic rotation on. Fix: set enable_key_rotation=True."
        ),
        remediation_steps="Set `enable_key_rotation=True` on the `aws.kms.Key`.",
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_keys=(),
        tokens=frozenset({tokens.KMS_KEY}),
        related_tokens=_NO_AUTO_ROTATION,
        concept=KEY_CONCEPT,
        check=check_rotation,
    ),
    ResourceRule(
        name="aws-kms-key-deletion-window",
        description=(
            "KMS keys must have a deletion window of at least the configured minimum (default 30 days): "
            "deleting a key makes every backup it encrypts unreadable. Fix: set deletion_window_in_days."
        ),
        remediation_steps="Set `deletion_window_in_days` >= `minKeyDeletionWindowDays` (default 30) or leave it unset.",
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("minKeyDeletionWindowDays",),
        tokens=tokens.KMS_KEYS,
        related_tokens={},
        concept=KEY_CONCEPT,
        check=check_deletion_window,
    ),
]
