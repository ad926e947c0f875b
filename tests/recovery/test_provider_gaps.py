"""What the Pulumi AWS provider cannot do yet for multi-party approval, so the runbook does it by CLI.

These fail once ``pulumi_aws`` gains the capability: then the stack should manage it instead of the
documented step (docs/runbooks/account-compromise.md).
"""

from __future__ import annotations

import inspect

import pulumi_aws as aws


def test_logically_air_gapped_vault_has_no_mpa_approval_team_argument() -> None:
    parameters = inspect.signature(aws.backup.LogicallyAirGappedVaultArgs.__init__).parameters
    assert "min_retention_days" in parameters  # the introspection itself works
    assert not [p for p in parameters if "mpa" in p or "approval" in p]


def test_no_restore_access_vault_resource() -> None:
    names = [name.lower() for name in dir(aws.backup)]
    assert "logicallyairgappedvault" in names
    assert not [n for n in names if "restoreaccess" in n or "mpa" in n]
