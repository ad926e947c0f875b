"""How the stacks name what the verifier reads in the isolated account: plain functions, no Pulumi.

The program states the same facts in ``components/config.py`` (``air_gapped_vault_name``) and
``components/documents.py`` (``vault_arn``). Runtime code must not import ``components/`` (the Lambda
bundle ships ``dr_runtime`` alone), so they live here too until the program imports them from here; a
test holds the two spellings equal meanwhile (``tests/verifier/test_verifier_naming.py``).
"""

from __future__ import annotations

AIR_GAPPED_SUFFIX = "-air-gapped"


def air_gapped_vault_name(prefix: str, workload_account: str) -> str:
    """A stack's default vault in the isolated account, ``<prefix>-<workload account>-air-gapped``."""
    return f"{prefix}-{workload_account}{AIR_GAPPED_SUFFIX}"


def partition(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws-cn" if region.startswith("cn-") else "aws"


def vault_arn(region: str, account_id: str, name: str) -> str:
    """A backup vault's ARN from its parts, as AWS Backup spells it (also a logically air-gapped one)."""
    return f"arn:{partition(region)}:backup:{region}:{account_id}:backup-vault:{name}"


def arn_parts(arn: str) -> tuple[str, str] | None:
    """``(region, account)`` of an ARN; None when it has neither (``arn:aws:s3:::bucket``) or is no ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[3] or not parts[4]:
        return None
    return parts[3], parts[4]
