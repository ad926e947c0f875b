"""How the stacks name their vaults and spell vault ARNs: plain functions of the standard library only.

The program (``components/``) builds its vaults with these names, and the runtime finds them with the
same functions: the restore command in the workload account's DR region, the verifier in the isolated
account. They live here, on the runtime side, because a Lambda archive carries ``dr_runtime`` modules and
not the program's (``components/lambda_code.py``).
"""

from __future__ import annotations


def partition(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws-cn" if region.startswith("cn-") else "aws"


def vault_arn(region: str, account_id: str, name: str) -> str:
    """A vault's ARN from parts known before it exists (also a logically air-gapped one), so previews can
    check what references it."""
    return f"arn:{partition(region)}:backup:{region}:{account_id}:backup-vault:{name}"


def type_vault_name(prefix: str, type_key: str) -> str:
    """A type's vault in each region of the workload account, ``<prefix>-<type>``."""
    return f"{prefix}-{type_key}"


def air_gapped_vault_name(prefix: str, workload_account: str) -> str:
    """The default name of a stack's vault in the isolated account: it carries the workload account, so
    every stack of a fleet can share one isolated account (docs/fleet.md)."""
    return f"{prefix}-{workload_account}-air-gapped"


def locked_vault_name(prefix: str, workload_account: str) -> str:
    """A stack's locked standard vault in the isolated account, for the types AWS Backup cannot copy into
    an air-gapped vault (``catalog.IsolatedCopy.LOCKED_VAULT``); at most 40 characters."""
    return f"{prefix}-{workload_account}-locked"


def air_gapped_share_name(vault_name: str) -> str:
    """The RAM share of the air-gapped vault, named after it (``<prefix>-air-gapped-vault`` for a kept old
    name): the program creates it, the verifier checks what it associates."""
    return f"{vault_name}-vault"
