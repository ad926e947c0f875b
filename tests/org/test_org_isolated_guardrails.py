"""The isolated accounts' own guardrails (air-gapped shares, verifier reader roles, report buckets) and the
backup keys' resource control policy: documents judged with the evaluator against the names the stacks and
the organisation program really register, both ways, and what the program registers from them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from drplan.graph import RegisteredResource, StackGraph
from org import guardrails
from org import scp_documents as scp
from org.org_config import OrgConfig, parse
from tests.config_mutations import Mutation
from tests.org.org_graphs import (
    BUCKET,
    JOB_BUCKET,
    MANAGEMENT,
    NS,
    ORGANIZATION_ID,
    assert_refused_before_registering,
    fleet_graphs,
    org_stack_config,
    provider_of,
    run_org,
    set_org,
)
from tests.org.policy_evaluator import Request, denying

POLICY = "aws:organizations/policy:Policy"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
ISOLATED, REGION = "222222222222", "us-east-1"
ISOLATED_DEPLOYER = f"arn:aws:iam::{ISOLATED}:role/AwsDrBackupDeployer"
ISOLATED_ADMIN = f"arn:aws:iam::{ISOLATED}:role/IsolatedAdministrator"
WORKLOAD_DEPLOYER = "arn:aws:iam::111111111111:role/aws-dr-backup-deploy"
"""Exempt in the workload accounts, but not in the isolated ones: a workload pipeline is not their deployer."""


def _raw(config: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy({k.removeprefix(NS): v for k, v in config.items()})


@pytest.fixture(scope="module")
def config() -> OrgConfig:
    return parse(_raw(org_stack_config()), "management")


@pytest.fixture(scope="module")
def isolated(config: OrgConfig) -> tuple[scp.Document, ...]:
    return scp.isolated_policies(config.isolated_guardrail_scope)


@pytest.fixture(scope="module")
def fleet() -> dict[str, StackGraph]:
    return fleet_graphs()


def _names(graphs: list[StackGraph], type_token: str, key: str = "name") -> list[str]:
    found = sorted({str(r.inputs[key]) for g in graphs for r in g.by_type(type_token) if r.inputs.get(key)})
    assert found, type_token
    return found


def _both_ways(
    policies: tuple[scp.Document, ...], sid: str, action: str, resource: str, **context: Any
) -> None:
    """The isolated account's admin and the workload deployer are denied by ``sid``; the isolated deployer
    is not."""
    for principal in (ISOLATED_ADMIN, WORKLOAD_DEPLOYER):
        assert sid in denying(policies, Request(action, resource, principal, context)), (action, resource)
    assert sid not in denying(policies, Request(action, resource, ISOLATED_DEPLOYER, context)), (
        action,
        resource,
    )


def _actions(policies: tuple[scp.Document, ...], sid: str) -> list[str]:
    found = [s for p in policies for s in p["Statement"] if s["Sid"] == sid]
    assert len(found) == 1, sid
    action = found[0]["Action"]
    return action if isinstance(action, list) else [action]


def test_documents_fit(isolated: tuple[scp.Document, ...]) -> None:
    assert 1 <= len(isolated) <= scp.GUARDRAIL_POLICY_SLOTS
    for policy in isolated:
        assert scp.size(policy) <= scp.MAX_SCP_CHARACTERS
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Deny"
            assert not {"Principal", "NotPrincipal", "NotAction", "NotResource"} & set(statement)


def test_air_gapped_shares(isolated: tuple[scp.Document, ...], fleet: dict[str, StackGraph]) -> None:
    shares = _names(list(fleet.values()), "aws:ram/resourceShare:ResourceShare")
    assert len(shares) >= 3
    arn = f"arn:aws:ram:{REGION}:{ISOLATED}:resource-share/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    for action in _actions(isolated, "ProtectAirGappedVaultShares"):
        for share in shares:
            _both_ways(
                isolated, "ProtectAirGappedVaultShares", action, arn, **{"ram:ResourceShareName": share}
            )
        assert not denying(
            isolated, Request(action, arn, ISOLATED_ADMIN, {"ram:ResourceShareName": "app-share"})
        )
    # Reading or accepting shares is not denied.
    assert not denying(
        isolated, Request("ram:GetResourceShares", arn, ISOLATED_ADMIN, {"ram:ResourceShareName": shares[0]})
    )


def test_isolated_vaults_and_points(isolated: tuple[scp.Document, ...], fleet: dict[str, StackGraph]) -> None:
    graphs = list(fleet.values())
    vaults = _names(graphs, "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault")
    vaults += [v for v in _names(graphs, "aws:backup/vault:Vault") if v.endswith("-locked")]
    assert any(v.endswith("-locked") for v in vaults)
    for action in _actions(isolated, "ProtectBackupVaults"):
        for vault in vaults:
            _both_ways(
                isolated,
                "ProtectBackupVaults",
                action,
                f"arn:aws:backup:{REGION}:{ISOLATED}:backup-vault:{vault}",
            )
        assert not denying(
            isolated,
            Request(action, f"arn:aws:backup:{REGION}:{ISOLATED}:backup-vault:app-vault", ISOLATED_ADMIN),
        )
    point = f"arn:aws:backup:{REGION}:{ISOLATED}:recovery-point:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    for action in _actions(isolated, "ProtectRecoveryPoints"):
        _both_ways(isolated, "ProtectRecoveryPoints", action, point)
    for principal in (ISOLATED_ADMIN, ISOLATED_DEPLOYER):
        assert denying(isolated, Request("organizations:LeaveOrganization", "*", principal)) == [
            "DenyLeavingTheOrganization"
        ]


def test_verifier_reader_roles(isolated: tuple[scp.Document, ...], org_graph: StackGraph) -> None:
    readers = [name for name in _names([org_graph], "aws:iam/role:Role") if name.endswith("-reader")]
    assert len(readers) == 2, readers
    for action in _actions(isolated, "ProtectVerifierReaderRoles"):
        for role in readers:
            _both_ways(isolated, "ProtectVerifierReaderRoles", action, f"arn:aws:iam::{ISOLATED}:role/{role}")
        assert not denying(
            isolated, Request(action, f"arn:aws:iam::{ISOLATED}:role/app-reader", ISOLATED_ADMIN)
        )


def test_report_buckets(config: OrgConfig, isolated: tuple[scp.Document, ...], org_graph: StackGraph) -> None:
    buckets = _names([org_graph], "aws:s3/bucket:Bucket", "bucket")
    assert {BUCKET, JOB_BUCKET} <= set(buckets)
    actions = _actions(isolated, "ProtectReportBuckets")
    for bucket in (BUCKET, JOB_BUCKET):
        for action in actions:
            resource = f"arn:aws:s3:::{bucket}" + (
                "/coverage/x.json" if action == "s3:DeleteObjectVersion" else ""
            )
            _both_ways(isolated, "ProtectReportBuckets", action, resource)
        # Publishing and reading reports stay allowed.
        for action in ("s3:PutObject", "s3:GetObject"):
            assert not denying(
                isolated, Request(action, f"arn:aws:s3:::{bucket}/coverage/x.json", ISOLATED_ADMIN)
            )
    assert not denying(isolated, Request("s3:DeleteBucket", "arn:aws:s3:::app-team-bucket", ISOLATED_ADMIN))
    # The roles the organisation stack itself assumes there are exempt, or its next update would fail.
    for role in (
        config.reports_role_arn,
        f"arn:aws:iam::{config.accounts.delegated_administrator}:role/AwsDrBackupDeployer",
    ):
        assert not denying(isolated, Request("s3:PutBucketPolicy", f"arn:aws:s3:::{BUCKET}", role))


def test_the_program_attaches_them_to_the_isolated_targets(
    config: OrgConfig, isolated: tuple[scp.Document, ...], org_graph: StackGraph
) -> None:
    registered = [p for p in org_graph.by_type(POLICY) if "-isolated-guardrails-" in p.inputs["name"]]
    assert [json.loads(p.inputs["content"]) for p in registered] == list(isolated)
    assert {p.inputs["type"] for p in registered} == {"SERVICE_CONTROL_POLICY"}
    for policy in registered:
        assert provider_of(org_graph, policy)["account"] == MANAGEMENT
    names = {p.inputs["name"] for p in registered}
    attached = sorted(
        (a.inputs["policyId"], a.inputs["targetId"])
        for a in org_graph.by_type(ATTACHMENT)
        if a.inputs["policyId"] in names
    )
    assert attached == sorted((n, t) for n in names for t in config.guardrails.isolated_targets)
    assert set(config.guardrails.isolated_targets) == {"222222222222", "444444444444"}


def test_no_isolated_targets_no_isolated_policies(org_config: dict[str, Any]) -> None:
    set_org("guardrails.isolatedTargets", [])(org_config)
    graph = run_org(org_config)
    names = [p.inputs["name"] for p in graph.by_type(POLICY)]
    assert names
    assert not [n for n in names if "-isolated-" in n]


# -- the backup keys' resource control policy ------------------------------------------------------------


def _rcp(graph: StackGraph) -> list[RegisteredResource]:
    return [p for p in graph.by_type(POLICY) if p.inputs["type"] == "RESOURCE_CONTROL_POLICY"]


def test_the_rcp_is_off_by_default(config: OrgConfig, org_graph: StackGraph) -> None:
    assert config.guardrails.resource_control_policy is False
    assert _rcp(org_graph) == []


def test_the_rcp_keeps_outsiders_off_the_backup_keys(
    org_config: dict[str, Any], fleet: dict[str, StackGraph]
) -> None:
    set_org("guardrails.resourceControlPolicy", True)(org_config)
    graph = run_org(org_config)
    (policy,) = _rcp(graph)
    assert policy.inputs["name"] == guardrails.key_rcp_name("dr-org")
    document = json.loads(policy.inputs["content"])
    assert len(policy.inputs["content"]) <= scp.MAX_SCP_CHARACTERS
    config = parse(_raw(org_config), "management")
    assert document == scp.key_rcp(config.key_perimeter)
    attached = sorted(
        a.inputs["targetId"]
        for a in graph.by_type(ATTACHMENT)
        if a.inputs["policyId"] == policy.inputs["name"]
    )
    assert attached == sorted({*config.guardrails.targets, *config.guardrails.isolated_targets})

    key = f"arn:aws:kms:{REGION}:111111111111:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    outsider = "arn:aws:iam::999999999999:role/Attacker"
    aliases = _names(list(fleet.values()), "aws:kms/alias:Alias")
    for alias in aliases:
        held = {"kms:ResourceAliases": [alias], "aws:PrincipalIsAWSService": "false"}
        for action in ("kms:PutKeyPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion"):
            sid = "ProtectBackupKeysFromOutsideTheOrganization"
            # Outside the organisation: another organisation's principal, or one in none (key absent).
            assert denying(
                [document], Request(action, key, outsider, {**held, "aws:PrincipalOrgID": "o-other0000001"})
            ) == [sid]
            assert denying([document], Request(action, key, outsider, held)) == [sid]
            # Inside the organisation, and AWS services, are left to the SCPs and key policies.
            inside = {**held, "aws:PrincipalOrgID": ORGANIZATION_ID}
            assert denying([document], Request(action, key, WORKLOAD_DEPLOYER, inside)) == []
            service = {"kms:ResourceAliases": [alias], "aws:PrincipalIsAWSService": "true"}
            assert denying([document], Request(action, key, "backup.amazonaws.com", service)) == []
    other = {"kms:ResourceAliases": ["alias/app-team"], "aws:PrincipalIsAWSService": "false"}
    assert denying([document], Request("kms:PutKeyPolicy", key, outsider, other)) == []
    # Using a key is not this policy's business.
    assert (
        denying(
            [document],
            Request(
                "kms:Decrypt",
                key,
                outsider,
                {"kms:ResourceAliases": [aliases[0]], "aws:PrincipalIsAWSService": "false"},
            ),
        )
        == []
    )


# -- bad input -----------------------------------------------------------------------------------------

BAD_INPUT: list[tuple[str, Mutation, tuple[str, ...]]] = [
    (
        "isolated-target-format",
        set_org("guardrails.isolatedTargets", ["isolated"]),
        ("aws-dr-backup-org:guardrails.isolatedTargets.0 = 'isolated'", "organizational unit ID"),
    ),
    (
        "isolated-target-a-workload-account",
        set_org("guardrails.isolatedTargets", ["111111111111"]),
        (
            "guardrails.isolatedTargets lists 111111111111, which is not an isolated account",
            "222222222222, 444444444444, 888888888888",
        ),
    ),
    (
        "isolated-exempt-role-in-a-workload-account",
        set_org("guardrails.isolatedExemptRoles", [WORKLOAD_DEPLOYER]),
        (
            f"guardrails.isolatedExemptRoles lists {WORKLOAD_DEPLOYER}, in account 111111111111",
            "allowed: 222222222222, 444444444444, 888888888888",
        ),
    ),
    (
        "isolated-targets-without-deployer",
        set_org("guardrails.isolatedExemptRoles", []),
        ("isolatedExemptRoles is empty but isolatedTargets is set",),
    ),
    (
        "isolated-exempt-wildcard-account",
        set_org("guardrails.isolatedExemptRoles", ["arn:aws:iam::*:role/AwsDrBackupDeployer"]),
        ("guardrails.isolatedExemptRoles.0", "a wildcard account would exempt"),
    ),
    (
        "rcp-not-a-bool",
        set_org("guardrails.resourceControlPolicy", "sometimes"),
        ("aws-dr-backup-org:guardrails.resourceControlPolicy = 'sometimes'",),
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [pytest.param(m, e, id=i) for i, m, e in BAD_INPUT])
def test_bad_isolated_config_fails_before_anything_is_registered(
    org_config: dict[str, Any], mutate: Mutation, expected: tuple[str, ...]
) -> None:
    assert_refused_before_registering(org_config, mutate, expected)
