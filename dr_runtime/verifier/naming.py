"""What the verifier parses of the ARNs it reads; the vaults' names and ARNs are ``dr_runtime.vault_names``,
the functions the program builds them with."""

from __future__ import annotations

from dr_runtime.vault_names import (
    air_gapped_share_name,
    air_gapped_vault_name,
    locked_vault_name,
    partition,
    vault_arn,
)

__all__ = [
    "air_gapped_share_name",
    "air_gapped_vault_name",
    "arn_parts",
    "locked_vault_name",
    "partition",
    "vault_arn",
]


def arn_parts(arn: str) -> tuple[str, str] | None:
    """``(region, account)`` of an ARN; None when it has neither (``arn:aws:s3:::bucket``) or is no ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[3] or not parts[4]:
        return None
    return parts[3], parts[4]
