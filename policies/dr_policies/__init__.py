"""AWS Backup disaster-recovery guardrails for Pulumi CrossGuard.

Self-contained: depends only on ``pulumi`` and ``pulumi-policy`` (see ``requirements.txt``). Each module
declares the rules of one concern in a ``RULES`` list; :data:`RULES` collects them in order and
:func:`build_policies` turns them into CrossGuard policies.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from . import (
    air_gapped,
    alerting,
    bucket_policy,
    continuous_backup,
    cross_account_kms,
    global_settings,
    guardrail_attachments,
    kms_keys,
    plan_windows,
    s3_buckets,
    servicer,
    vault_lock,
    vault_policy,
    vault_routing,
)
from . import (
    deletion_protection as protection,
)
from . import (
    schedule_rules as schedules,
)
from . import (
    selection_rules as selections,
)
from . import (
    type_coverage as coverage,
)
from .framework import ResourceRule, Rule, StackRule, to_policy

PACK_NAME = "aws-dr-backup"

RULES: list[Rule] = [
    *cross_account_kms.RULES,
    *plan_windows.RULES,
    *air_gapped.RULES,
    *kms_keys.RULES,
    *vault_policy.RULES,
    *selections.RULES,
    *protection.RULES,
    *continuous_backup.RULES,
    *vault_routing.RULES,
    *s3_buckets.RULES,
    *coverage.RULES,
    *schedules.RULES,
    *alerting.RULES,
    *bucket_policy.RULES,
    *global_settings.RULES,
    *vault_lock.RULES,
    *guardrail_attachments.RULES,
]

__all__ = ["PACK_NAME", "RULES", "ResourceRule", "StackRule", "build_policies", "serve"]


def build_policies() -> list[Policy]:
    names = [r.name for r in RULES]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate policy names: {sorted(duplicates)}")
    return [to_policy(rule) for rule in RULES]


def serve() -> None:
    """Start the pack's Analyzer gRPC server (prints its port, then blocks), as the Pulumi CLI expects.

    Same protocol as ``PolicyPack(...)``; the servicer deserialises each request once instead of once per
    policy (see :mod:`.servicer`).
    """
    servicer.serve(
        name=PACK_NAME,
        description=(
            "Guardrails for AWS Backup disaster recovery: customer-managed keys for cross-account copies, "
            "backup windows, air-gapped retention, key and vault policies, selection opt-outs, deletion "
            "protection, continuous backup, one vault per type, S3 bucket settings, production coverage, "
            "schedules and failure alerts; for the organisation stack, cross-account backup kept on and bucket "
            "policies scoped to the organisation."
        ),
        display_name="AWS Backup DR guardrails",
        provider="aws",
        enforcement_level=EnforcementLevel.ADVISORY,
        policies=build_policies(),
    )
