"""Rule: S3 bucket policies grant nothing to everyone, and whole accounts only inside the organisation.

The fleet bucket takes reports from every workload account: its grants name the accounts and carry
``aws:PrincipalOrgID``, so an account that leaves the organisation (or a typo) writes nothing. The same
holds for any bucket a stack shares with other accounts. Deny statements (e.g. plain HTTP refused for
everyone) are not grants and may name ``*``.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, Severity

from . import iam, tokens
from .framework import Finding, ResourceRule, ResourceView, Rule
from .pack_config import Settings

_ROOT = ":root"


def _whole_accounts(st: iam.Statement, own: str | None) -> list[str]:
    """Principals that stand for a whole other account (its root ARN or bare ID)."""
    found = []
    for principal in st.aws_principals:
        account = iam.account_of(principal)
        whole = principal == account or principal.endswith(_ROOT)
        if account is not None and whole and account != own:
            found.append(account)
    return found


def check_bucket_policy(resource: ResourceView, settings: Settings) -> Iterator[Finding]:
    try:
        statements = iam.parse(resource.get("policy"))
    except iam.DocumentError as exc:
        yield Finding(resource, f"its policy cannot be read: {exc}", "pass a valid JSON policy")
        return
    org_keys = settings.str_list("organizationConditionKeys")
    own = resource.provider.account
    for st in statements:
        if not st.allows:
            continue
        if st.wildcard_principal:
            yield Finding(
                resource,
                f"{st.label} allows principal '*' ({', '.join(st.actions)})",
                "name the principals (account root or role ARNs); an organisation condition alone still "
                "leaves the grant open to every account of the organisation",
            )
            continue
        accounts = _whole_accounts(st, own)
        if accounts and not iam.org_restricted(st, org_keys):
            yield Finding(
                resource,
                f"{st.label} grants whole accounts ({', '.join(accounts)}) without an organisation condition",
                f"add a condition on one of {', '.join(org_keys)} that names your organisation",
            )


RULES: list[Rule] = [
    ResourceRule(
        name="aws-s3-bucket-policy-org-scoped",
        description=(
            "An S3 bucket policy must not grant anything to principal '*', and a grant to whole other accounts "
            "must carry an organisation condition (aws:PrincipalOrgID): the fleet bucket receives every "
            "account's reports. Fix: name the principals and add the condition."
        ),
        remediation_steps=(
            'In the `aws.s3.BucketPolicy`, replace `"Principal": "*"` in Allow statements with the account '
            'root or role ARNs, and add `"Condition": {"StringEquals": {"aws:PrincipalOrgID": '
            '"o-..."}}` to every statement that names other accounts\' roots.'
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("organizationConditionKeys",),
        tokens=tokens.S3_BUCKET_POLICIES,
        related_tokens={},
        concept=r"^aws:s3/bucketPolicy:",
        check=check_bucket_policy,
    ),
]
