"""Rule 6: backup vault access policies. Copy-in only from named accounts; no wildcard principal unless
an organisation condition restricts it."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from . import iam, tokens
from .framework import Finding, ResourceRule, ResourceView, Rule
from .pack_config import Settings

COPY_IN = "backup:CopyIntoBackupVault"


def check_vault_policy(resource: ResourceView, settings: Settings) -> Iterator[Finding]:
    document = resource.get("policy")
    try:
        statements = iam.parse(document)
    except iam.DocumentError as exc:
        yield Finding(resource, f"its access policy cannot be read: {exc}", "pass a valid JSON policy")
        return
    allowed = set(settings.str_list("allowedCopySourceAccounts"))
    org_keys = settings.str_list("organizationConditionKeys")
    org_wide_ok = bool(settings["allowOrganizationWideCopyIn"])
    for st in statements:
        if not st.allows:
            continue
        org = iam.org_restricted(st, org_keys)
        copy_in = st.grants(COPY_IN)
        if st.wildcard_principal and copy_in and not (org_wide_ok and org):
            yield Finding(
                resource,
                f"{st.label} allows {COPY_IN} from principal '*'"
                + (
                    " (an organisation condition is not enough: allowOrganizationWideCopyIn is off)"
                    if org
                    else ""
                ),
                "allow copy-in only from the named source accounts: Principal {'AWS': "
                "['arn:aws:iam::<account>:root']}",
            )
            continue
        if st.wildcard_principal and not org:
            yield Finding(
                resource,
                f"{st.label} allows principal '*' ({', '.join(st.actions)}) without an organisation condition",
                f"name the principals, or add a condition on one of {', '.join(org_keys)}",
            )
            continue
        if not copy_in:
            continue
        for principal in st.aws_principals:
            account = iam.account_of(principal)
            if account is None:
                yield Finding(
                    resource,
                    f"{st.label} allows {COPY_IN} from '{principal}', which does not name an account",
                    "use the source account's root or backup role ARN",
                )
            elif allowed and account not in allowed:
                yield Finding(
                    resource,
                    f"{st.label} allows {COPY_IN} from account {account}, which is not in "
                    f"allowedCopySourceAccounts ({', '.join(sorted(allowed))})",
                    "remove that account or add it to the policy's allowedCopySourceAccounts config",
                )


RULES: list[Rule] = [
    ResourceRule(
        name="aws-backup-vault-policy-copy-sources",
        description=(
            "A backup vault access policy may allow backup:CopyIntoBackupVault only from named accounts, and "
            "must not allow principal '*' without an organisation condition: otherwise anyone can fill (or "
            "worse, read) the DR vault. Fix: list the source accounts as principals."
        ),
        remediation_steps=(
            "In the `aws.backup.VaultPolicy`, give `backup:CopyIntoBackupVault` to "
            '`{"AWS": ["arn:aws:iam::<source account>:root"]}` only (and only accounts listed in '
            '`allowedCopySourceAccounts` when set); restrict any other `"*"` principal with '
            "`aws:PrincipalOrgID`."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("allowedCopySourceAccounts", "allowOrganizationWideCopyIn", "organizationConditionKeys"),
        tokens=tokens.VAULT_POLICIES,
        related_tokens={},
        concept=r"^aws:backup/vaultPolicy:",
        check=check_vault_policy,
    ),
]
