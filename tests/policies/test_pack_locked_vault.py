"""Types AWS Backup cannot copy into a logically air-gapped vault (RDS DB instances), both ways, over gRPC.

The compliant fixture's EBS plan copies into the air-gapped vault; narrowed to RDS DB instances, its
selection must instead feed a plan whose isolated copy goes to a standard (locked) vault of the isolated
account. The pack's default list is the catalog's (one source: ``dr_model/catalog.py``).
"""

from __future__ import annotations

from dataclasses import replace

from dr_model import catalog
from drplan.graph import RegisteredResource, StackGraph
from drplan.policy_client import PolicyPackClient
from policies.dr_policies import pack_config
from tests.policies import fixtures as fx
from tests.policies.harness import all_violations, only

SUPPORTED = "aws-backup-air-gapped-supported-types"
COVERAGE = "aws-backup-production-coverage"
RDS_ONLY = {COVERAGE: {"requiredResourceTypes": ["RDS"]}}
LOCKED_ARN = fx.vault_arn("us-east-1", fx.ISOLATED, "dr-test-locked")

LOCKED_VAULT = fx.resource(
    "aws:backup/vault:Vault",
    "archive-locked-vault",
    {
        "name": "dr-test-locked",
        "kmsKeyArn": fx.key_arn("us-east-1", fx.ISOLATED, "locked"),
        "forceDestroy": False,
    },
    fx.ARCHIVE,
    protect=True,
)
RDS_SELECTION = fx.mutate(fx.SELECTION, ("resources",), ["arn:aws:rds:*:*:db:*"])


def _plan_into(arn: str, *deps: RegisteredResource) -> RegisteredResource:
    """The EBS plan with its isolated copy sent to ``arn`` (and its rules depending on ``deps``)."""
    plan = fx.mutate(fx.PLAN, ("rules", 0, "copyActions", 1, "destinationVaultArn"), arn)
    urns = tuple(v.urn for v in (fx.ORIGIN_VAULT, fx.DR_VAULT, *deps))
    return replace(plan, property_dependencies={"rules": urns}, dependencies=urns)


LOCKED_PLAN = _plan_into(LOCKED_ARN, LOCKED_VAULT)


def _rds(plan: RegisteredResource, *extra: RegisteredResource) -> StackGraph:
    return fx.graph(RDS_SELECTION, plan, *extra)


def test_rds_copied_into_a_standard_vault_of_the_isolated_account_passes(client: PolicyPackClient) -> None:
    assert [
        v for v in all_violations(client, _rds(LOCKED_PLAN, LOCKED_VAULT)) if v.policy_name == SUPPORTED
    ] == []


def test_rds_copied_into_the_air_gapped_vault_is_reported(client: PolicyPackClient) -> None:
    violation = only(all_violations(client, _rds(fx.PLAN)), SUPPORTED)
    assert violation.urn == RDS_SELECTION.urn
    assert "can pick RDS" in violation.message
    assert "backup.Plan 'ebs-full-plan' copies into a logically air-gapped vault" in violation.message


def test_an_empty_list_accepts_rds_in_the_air_gapped_vault(client: PolicyPackClient) -> None:
    client.configure({SUPPORTED: {"airGappedUnsupportedResourceTypes": []}})
    assert [v for v in all_violations(client, _rds(fx.PLAN)) if v.policy_name == SUPPORTED] == []


def test_production_rds_needs_the_locked_copy_not_the_air_gapped_one(client: PolicyPackClient) -> None:
    client.configure(RDS_ONLY)
    passing = fx.in_stack(_rds(LOCKED_PLAN, LOCKED_VAULT), "prod")
    assert [v for v in all_violations(client, passing) if v.policy_name == COVERAGE] == []
    failing = fx.in_stack(_rds(fx.PLAN), "prod")
    violation = only([v for v in all_violations(client, failing) if v.policy_name == COVERAGE], COVERAGE)
    assert "no plan protecting RDS" in violation.message
    assert "copy into a standard vault of another account" in violation.message


def test_production_types_that_fit_still_need_the_air_gapped_copy(client: PolicyPackClient) -> None:
    """EBS copied into the locked vault instead is reported: it belongs in the air-gapped vault."""
    client.configure({COVERAGE: {"requiredResourceTypes": ["EBS"]}})
    graph = fx.in_stack(fx.graph(LOCKED_PLAN, LOCKED_VAULT), "prod")
    violation = only([v for v in all_violations(client, graph) if v.policy_name == COVERAGE], COVERAGE)
    assert "no plan protecting EBS" in violation.message
    assert "air-gapped copy (a logically air-gapped vault)" in violation.message


def test_the_pack_default_is_the_catalogs_list(client: PolicyPackClient) -> None:
    expected = [
        t.backup_name for t in catalog.CATALOG if t.isolated_copy is catalog.IsolatedCopy.LOCKED_VAULT
    ]
    assert expected == ["RDS"]
    assert pack_config.SCHEMA["airGappedUnsupportedResourceTypes"]["default"] == expected
    for name in (SUPPORTED, COVERAGE):
        schema = client.info().policy(name).config_schema
        assert schema["airGappedUnsupportedResourceTypes"]["default"] == expected
