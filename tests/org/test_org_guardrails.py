"""The organisation's backup guardrails: SCP documents judged as AWS would, against the names the workload
stacks really register, and the policies the organisation program registers from them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

from components.config import PROJECT_TAG_KEY
from dr_model.backup_selection import DEFAULT_OPT_OUT_VALUE
from drplan.graph import RegisteredResource, StackGraph
from org import scp_documents as scp
from org.org_config import OrgConfig, parse
from tests.config_mutations import Mutation, drop_key, set_key
from tests.org.org_graphs import (
    MANAGEMENT,
    NS,
    WORKLOAD_STACKS,
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
ACCOUNT, REGION = "111111111111", "us-east-1"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/aws-dr-backup-deploy"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/WorkloadAdministrator"
UNLISTED_DEPLOYER = "arn:aws:iam::999999999999:role/aws-dr-backup-deploy"
"""The exempt role's name in an account the config does not list: not exempt (fails closed)."""
DOCS = Path(__file__).resolve().parents[2] / "docs" / "guardrails.md"


def _raw(config: dict[str, Any]) -> dict[str, Any]:
    return {k.removeprefix(NS): v for k, v in config.items()}


@pytest.fixture(scope="module")
def config() -> OrgConfig:
    return parse(_raw(org_stack_config()), "management")


@pytest.fixture(scope="module")
def policies(config: OrgConfig) -> tuple[scp.Document, ...]:
    return scp.policies(config.guardrail_scope)


@pytest.fixture(scope="module")
def fleet() -> dict[str, StackGraph]:
    return fleet_graphs()


def _names(fleet: dict[str, StackGraph], type_token: str, key: str = "name") -> list[str]:
    found = sorted(
        {
            str(r.inputs[key])
            for graph in fleet.values()
            for r in graph.by_type(type_token)
            if r.inputs.get(key)
        }
    )
    assert found, f"the fleet registers no {type_token}"
    return found


def _denied(
    policies: tuple[scp.Document, ...], action: str, resource: str, principal: str, **context: Any
) -> list[str]:
    return denying(policies, Request(action, resource, principal, context))


def _both_ways(
    policies: tuple[scp.Document, ...], sid: str, action: str, resource: str, **context: Any
) -> None:
    """The workload admin is denied by ``sid``; the exempt deployer is not; the deployer's name in an account
    the config does not list is."""
    assert sid in _denied(policies, action, resource, ADMIN, **context), (action, resource)
    assert sid not in _denied(policies, action, resource, DEPLOYER, **context), (action, resource)
    assert sid in _denied(policies, action, resource, UNLISTED_DEPLOYER, **context), (action, resource)


def _actions(policies: tuple[scp.Document, ...], sid: str) -> list[str]:
    found = [s for p in policies for s in p["Statement"] if s["Sid"] == sid]
    assert len(found) == 1, sid
    action = found[0]["Action"]
    return action if isinstance(action, list) else [action]


# -- the documents -------------------------------------------------------------------------------------


def test_every_document_fits_an_scp_and_a_target_keeps_a_slot(policies: tuple[scp.Document, ...]) -> None:
    assert 1 <= len(policies) <= scp.GUARDRAIL_POLICY_SLOTS == 4
    for policy in policies:
        text = scp.content(policy)
        assert text.isascii()
        assert len(text) == scp.size(policy) <= scp.MAX_SCP_CHARACTERS == 5120
        # Minified: no white space outside strings, which would count against the limit.
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def test_one_deny_per_control_named_by_its_sid(config: OrgConfig, policies: tuple[scp.Document, ...]) -> None:
    statements = [s for p in policies for s in p["Statement"]]
    controls = scp.controls(config.guardrail_scope)
    assert [s["Sid"] for s in statements] == [c.sid for c in controls]
    for statement in statements:
        assert re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"])
        assert statement["Effect"] == "Deny"
        assert not {"Principal", "NotPrincipal", "NotAction", "NotResource"} & set(statement)
    for control in controls:
        assert len(control.reason) > 40, control.sid


def test_packing_is_deterministic_and_splits_as_needed(config: OrgConfig) -> None:
    scope = config.guardrail_scope
    assert scp.policies(scope) == scp.policies(scope)
    bigger = scp.GuardrailScope(
        partition=scope.partition,
        prefixes=(*scope.prefixes, *(f"dr-team{i}" for i in range(8))),
        exempt_principal_arns=scope.exempt_principal_arns,
        isolated_accounts=scope.isolated_accounts,
    )
    split = scp.policies(bigger)
    assert len(split) > len(scp.policies(scope))
    assert all(scp.size(p) <= scp.MAX_SCP_CHARACTERS for p in split)
    assert [s["Sid"] for p in split for s in p["Statement"]] == [c.sid for c in scp.controls(bigger)]


def test_too_many_statements_for_the_slots_is_refused(config: OrgConfig) -> None:
    scope = config.guardrail_scope
    many = scp.GuardrailScope(
        scope.partition,
        tuple(f"dr-t{i}" for i in range(24)),
        scope.exempt_principal_arns,
        scope.isolated_accounts,
    )
    with pytest.raises(scp.GuardrailSizeError, match="more than the 4 a target can take"):
        scp.policies(many)


# -- each control both ways, on the names the stacks register -------------------------------------------


def test_vaults(policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]) -> None:
    vaults = _names(fleet, "aws:backup/vault:Vault") + _names(
        fleet, "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"
    )
    for action in _actions(policies, "ProtectBackupVaults"):
        for vault in vaults:
            _both_ways(
                policies,
                "ProtectBackupVaults",
                action,
                f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{vault}",
            )
        assert not _denied(
            policies, action, f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:app-team-vault", ADMIN
        )


def _effective_tags(graph: StackGraph, resource: RegisteredResource) -> dict[str, str]:
    default = json.loads(provider_of(graph, resource).get("defaultTags", "{}")).get("tags", {})
    return {**default, **(resource.inputs.get("tags") or {})}


def test_plans_and_selections_by_the_project_tag(
    policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]
) -> None:
    plan_arn = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-plan:0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    plans = [(graph, plan) for graph in fleet.values() for plan in graph.by_type("aws:backup/plan:Plan")]
    assert plans
    for graph, plan in plans:
        tags = _effective_tags(graph, plan)
        context = {f"aws:ResourceTag/{key}": value for key, value in tags.items()}
        for action in _actions(policies, "ProtectBackupPlansAndSelections"):
            _both_ways(policies, "ProtectBackupPlansAndSelections", action, plan_arn, **context)
    for action in _actions(policies, "ProtectBackupPlansAndSelections"):
        assert not _denied(
            policies, action, plan_arn, ADMIN, **{f"aws:ResourceTag/{PROJECT_TAG_KEY}": "other"}
        )
        assert not _denied(policies, action, plan_arn, ADMIN)
    for action in ("backup:UntagResource", "backup:TagResource"):
        _both_ways(policies, "ProtectBackupPlanTag", action, plan_arn, **{"aws:TagKeys": [PROJECT_TAG_KEY]})
        _both_ways(
            policies, "ProtectBackupPlanTag", action, plan_arn, **{"aws:TagKeys": ["owner", PROJECT_TAG_KEY]}
        )
        assert not _denied(policies, action, plan_arn, ADMIN, **{"aws:TagKeys": ["owner"]})


def test_recovery_points_of_any_vault(policies: tuple[scp.Document, ...]) -> None:
    points = (
        f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        f"arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0",
        f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:awsbackup:job-0123",
    )
    for action in _actions(policies, "ProtectRecoveryPoints"):
        for point in points:
            _both_ways(policies, "ProtectRecoveryPoints", action, point)
    assert not _denied(policies, "backup:StartRestoreJob", points[0], ADMIN)


def test_region_settings(policies: tuple[scp.Document, ...]) -> None:
    _both_ways(policies, "ProtectRegionSettings", "backup:UpdateRegionSettings", "*")
    assert not _denied(policies, "backup:DescribeRegionSettings", "*", ADMIN)


def test_audit_and_restore_testing(policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]) -> None:
    kinds = {
        "framework": _names(fleet, "aws:backup/framework:Framework"),
        "report-plan": _names(fleet, "aws:backup/reportPlan:ReportPlan"),
        "restore-testing-plan": _names(fleet, "aws:backup/restoreTestingPlan:RestoreTestingPlan"),
    }
    verbs = {"framework": "Framework", "report-plan": "ReportPlan", "restore-testing-plan": "RestoreTesting"}
    actions = _actions(policies, "ProtectAuditAndRestoreTesting")
    for kind, names in kinds.items():
        own = [a for a in actions if verbs[kind] in a]
        assert own, kind
        for action in own:
            for name in names:
                # These ARNs end <name>-<id>.
                _both_ways(
                    policies,
                    "ProtectAuditAndRestoreTesting",
                    action,
                    f"arn:aws:backup:{REGION}:{ACCOUNT}:{kind}:{name}-0a1b2c3d",
                )
            assert not _denied(
                policies, action, f"arn:aws:backup:{REGION}:{ACCOUNT}:{kind}:app_team_plan-0a1b2c3d", ADMIN
            )


def test_backup_roles(policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]) -> None:
    roles = [name for name in _names(fleet, "aws:iam/role:Role") if "AWSBackup" in name]
    assert len(roles) > len(WORKLOAD_STACKS)
    for action in _actions(policies, "ProtectBackupRoles"):
        for role in roles:
            _both_ways(policies, "ProtectBackupRoles", action, f"arn:aws:iam::{ACCOUNT}:role/{role}")
        assert not _denied(policies, action, f"arn:aws:iam::{ACCOUNT}:role/app-team-role", ADMIN)
        assert not _denied(policies, action, f"arn:aws:iam::{ACCOUNT}:role/other-AWSBackupRole", ADMIN)


def test_backup_keys(policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]) -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    aliases = _names(fleet, "aws:kms/alias:Alias")
    for alias in aliases:
        held = {"kms:ResourceAliases": [alias]}
        for action in ("kms:DisableKey", "kms:PutKeyPolicy"):
            _both_ways(policies, "ProtectBackupKeys", action, key, **held)
        # A short window is refused for everyone, the exempt deployer too; 30 days only to the deployer.
        short = {**held, "kms:ScheduleKeyDeletionPendingWindowInDays": 7}
        assert "DenyShortKeyDeletionWindow" in _denied(
            policies, "kms:ScheduleKeyDeletion", key, DEPLOYER, **short
        )
        full = {**held, "kms:ScheduleKeyDeletionPendingWindowInDays": 30}
        assert not _denied(policies, "kms:ScheduleKeyDeletion", key, DEPLOYER, **full)
        assert _denied(policies, "kms:ScheduleKeyDeletion", key, ADMIN, **full) == ["ProtectBackupKeys"]
        for action in ("kms:DeleteAlias", "kms:UpdateAlias"):
            _both_ways(policies, "ProtectBackupKeyAliases", action, f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}")
    other = {"kms:ResourceAliases": ["alias/app-team"], "kms:ScheduleKeyDeletionPendingWindowInDays": 7}
    assert not _denied(policies, "kms:ScheduleKeyDeletion", key, ADMIN, **other)
    assert not _denied(policies, "kms:DisableKey", key, ADMIN, **other)
    assert not _denied(policies, "kms:DeleteAlias", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app-team", ADMIN)


def test_alert_rules_and_topics(policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]) -> None:
    rules = _names(fleet, "aws:cloudwatch/eventRule:EventRule")
    assert _names(fleet, "aws:cloudwatch/eventTarget:EventTarget", "rule") == rules
    for action in _actions(policies, "ProtectAlertRules"):
        for rule in rules:
            _both_ways(
                policies, "ProtectAlertRules", action, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"
            )
        assert not _denied(policies, action, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/app-team-rule", ADMIN)
    for action in _actions(policies, "ProtectAlertTopics"):
        for topic in _names(fleet, "aws:sns/topic:Topic"):
            _both_ways(policies, "ProtectAlertTopics", action, f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}")
        assert not _denied(policies, action, f"arn:aws:sns:{REGION}:{ACCOUNT}:app-team-topic", ADMIN)


def test_operations_jobs_schedules_and_alarms(
    policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]
) -> None:
    functions = _names(fleet, "aws:lambda/function:Function")
    schedules = [
        (schedule.inputs["name"], schedule.inputs.get("groupName") or "default")
        for graph in fleet.values()
        for schedule in graph.by_type("aws:scheduler/schedule:Schedule")
    ]
    alarms = _names(fleet, "aws:cloudwatch/metricAlarm:MetricAlarm")
    # The coverage and watchdog jobs of every stack, and its snapshot bridges.
    assert {
        f"dr-{stack}-backup-{job}" for stack in WORKLOAD_STACKS for job in ("coverage", "watchdog")
    } <= set(functions)
    assert any(name.endswith("-bridge") for name in functions)
    actions = _actions(policies, "ProtectOperationsJobs")
    by_service: dict[str, list[str]] = {}
    for action in actions:
        by_service.setdefault(action.split(":")[0], []).append(action)
    assert set(by_service) == {"lambda", "scheduler", "cloudwatch"}
    for action in by_service["lambda"]:
        for function in functions:
            for arn in (
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:$LATEST",
            ):
                _both_ways(policies, "ProtectOperationsJobs", action, arn)
        assert not _denied(policies, action, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:app-team-fn", ADMIN)
    for action in by_service["scheduler"]:
        for name, group in schedules:
            _both_ways(
                policies,
                "ProtectOperationsJobs",
                action,
                f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{name}",
            )
        assert not _denied(
            policies, action, f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/app-team-job", ADMIN
        )
        # Another group's schedule of the same name is not the stack's.
        assert not _denied(
            policies, action, f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/apps/{schedules[0][0]}", ADMIN
        )
    for action in by_service["cloudwatch"]:
        for alarm in alarms:
            _both_ways(
                policies,
                "ProtectOperationsJobs",
                action,
                f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}",
            )
        assert not _denied(
            policies, action, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:app-team-cpu-high", ADMIN
        )
    # Invoking the function, reading it, or publishing metrics stay allowed.
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{functions[0]}"
    assert not _denied(policies, "lambda:InvokeFunction", function_arn, ADMIN)
    assert not _denied(policies, "lambda:GetFunction", function_arn, ADMIN)


def _opt_out_keys(fleet: dict[str, StackGraph]) -> set[str]:
    """The opt-out tag keys the stacks' selections really read (their StringNotEquals conditions)."""
    keys: set[str] = set()
    for graph in fleet.values():
        for selection in graph.by_type("aws:backup/selection:Selection"):
            for condition in selection.inputs.get("conditions") or ():
                for found in condition.get("stringNotEquals") or ():
                    # The opt-out conditions compare with the opt-out value; others exclude engines or clusters.
                    if found["value"] == DEFAULT_OPT_OUT_VALUE:
                        keys.add(found["key"].removeprefix("aws:ResourceTag/"))
    assert keys, "no selection reads an opt-out tag"
    return keys


def test_opt_out_tags_only_by_the_deployers(
    config: OrgConfig, policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]
) -> None:
    keys = _opt_out_keys(fleet)
    assert keys == set(config.guardrails.opt_out_tag_keys)
    volume = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0123456789abcdef0"
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
    db = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders"
    for key in sorted(keys):
        # The tagging calls of the protected types, and create calls that carry tags.
        for action, resource in (
            ("ec2:CreateTags", volume),
            ("ec2:CreateVolume", volume),
            ("rds:AddTagsToResource", db),
            ("rds:RemoveTagsFromResource", db),
            ("rds:CreateDBInstance", db),
            ("dynamodb:TagResource", table),
            ("dynamodb:CreateTable", table),
            (
                "elasticfilesystem:TagResource",
                f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-1",
            ),
            ("s3:TagResource", "arn:aws:s3:::orders-bucket"),
        ):
            _both_ways(policies, "DenyOptOutTagging", action, resource, **{"aws:TagKeys": [key]})
            _both_ways(policies, "DenyOptOutTagging", action, resource, **{"aws:TagKeys": ["owner", key]})
            # Other tags, and requests without tags, are not this statement's business.
            assert not _denied(policies, action, resource, ADMIN, **{"aws:TagKeys": ["owner", "cost-centre"]})
            assert not _denied(policies, action, resource, ADMIN)
        # A look-alike key is another key: tag keys compare exactly.
        assert not _denied(policies, "ec2:CreateTags", volume, ADMIN, **{"aws:TagKeys": [f"{key}-not"]})


def test_opt_out_detect_builds_no_statement(org_config: dict[str, Any]) -> None:
    raw = deepcopy(_raw(org_config))
    raw["guardrails"]["optOutTags"] = "detect"
    detect = parse(raw, "management")
    sids = [c.sid for c in scp.controls(detect.guardrail_scope)]
    assert "DenyOptOutTagging" not in sids
    assert "ProtectOperationsJobs" in sids
    volume = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0123456789abcdef0"
    request = Request("ec2:CreateTags", volume, ADMIN, {"aws:TagKeys": ["exclude-disaster-recovery-backup"]})
    assert denying(scp.policies(detect.guardrail_scope), request) == []
    assert parse(_raw(org_config), "management").guardrails.opt_out_tags == "deny"


def test_leaving_the_organisation_is_denied_to_everyone(policies: tuple[scp.Document, ...]) -> None:
    for principal in (ADMIN, DEPLOYER):
        assert _denied(policies, "organizations:LeaveOrganization", "*", principal) == [
            "DenyLeavingTheOrganization"
        ]


def _copy_destinations(fleet: dict[str, StackGraph]) -> Iterator[str]:
    for graph in fleet.values():
        for plan in graph.by_type("aws:backup/plan:Plan"):
            for rule in plan.inputs["rules"]:
                for copy in rule.get("copyActions") or ():
                    yield copy["destinationVaultArn"]


def test_copies_go_only_where_the_stacks_copy(
    config: OrgConfig, policies: tuple[scp.Document, ...], fleet: dict[str, StackGraph]
) -> None:
    point = f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    destinations = sorted(set(_copy_destinations(fleet)))
    # The fleet copies cross-region in its own account and into each isolated account the config lists.
    assert {arn.split(":")[4] for arn in destinations} - set(config.guardrails.isolated_accounts) == {
        "111111111111",
        "333333333333",
        "555555555555",
        "666666666666",
    }
    assert {arn.split(":")[4] for arn in destinations} >= set(config.guardrails.isolated_accounts)
    for principal in (ADMIN, DEPLOYER):
        assert not _denied(
            policies, "backup:CopyFromBackupVault", point, principal, **{"backup:CopyTargets": destinations}
        )
        for destination in destinations:
            assert not _denied(
                policies,
                "backup:CopyFromBackupVault",
                point,
                principal,
                **{"backup:CopyTargets": [destination]},
            )
        foreign = "arn:aws:backup:us-east-1:999999999999:backup-vault:exfiltration"
        for targets in ([foreign], [destinations[0], foreign]):
            assert _denied(
                policies, "backup:CopyFromBackupVault", point, principal, **{"backup:CopyTargets": targets}
            ) == ["DenyCopiesOutsideIsolatedAccounts"]


# -- the organisation program ---------------------------------------------------------------------------


def test_the_program_registers_each_document_once_and_attaches_it_to_every_target(
    config: OrgConfig, policies: tuple[scp.Document, ...], org_graph: StackGraph
) -> None:
    registered = [
        p for p in org_graph.by_type(POLICY) if p.inputs["name"].startswith("dr-org-backup-guardrails-")
    ]
    assert [json.loads(p.inputs["content"]) for p in registered] == list(policies)
    assert [p.inputs["content"] for p in registered] == [scp.content(p) for p in policies]
    for policy in registered:
        assert policy.inputs["type"] == "SERVICE_CONTROL_POLICY"
        assert provider_of(org_graph, policy)["account"] == MANAGEMENT
    names = {p.inputs["name"] for p in registered}
    attachments = [a for a in org_graph.by_type(ATTACHMENT) if a.inputs["policyId"] in names]
    assert sorted((a.inputs["policyId"], a.inputs["targetId"]) for a in attachments) == sorted(
        (name, target) for name in names for target in config.guardrails.targets
    )
    assert config.guardrails.targets


def test_two_targets_and_turning_it_off(org_config: dict[str, Any]) -> None:
    set_key(NS.removesuffix(":"), "guardrails.targets", ["ou-ab12-cd34ef56", "r-ab12"])(org_config)
    graph = run_org(org_config)
    workload = {p.inputs["name"] for p in graph.by_type(POLICY) if "-backup-guardrails-" in p.inputs["name"]}
    assert sorted(
        a.inputs["targetId"] for a in graph.by_type(ATTACHMENT) if a.inputs["policyId"] in workload
    ) == sorted(["ou-ab12-cd34ef56", "r-ab12"] * len(workload))
    set_key(NS.removesuffix(":"), "guardrails.enabled", False)(org_config)
    off = run_org(org_config)
    assert off.by_type(POLICY) == []
    assert off.by_type(ATTACHMENT) == []
    drop_key(NS.removesuffix(":"), "guardrails")(org_config)
    assert run_org(org_config).by_type(POLICY) == []


def test_role_names_stand_for_the_listed_accounts_and_arns_for_themselves(config: OrgConfig) -> None:
    scope = config.guardrail_scope
    assert config.guardrail_accounts == (
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
        "555555555555",
        "666666666666",
    )
    assert scope.exempt_principal_arns == tuple(
        f"arn:aws:iam::{account}:role/aws-dr-backup-deploy" for account in config.guardrail_accounts
    )
    raw = _raw(org_stack_config())
    raw["guardrails"]["exemptRoles"] = [
        "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Deploy_*"
    ]
    sso = parse(raw, "management").guardrail_scope
    assert sso.exempt_principal_arns == (
        "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Deploy_*",
    )
    policies = scp.policies(sso)
    session_role = (
        "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Deploy_0123abcd"
    )
    assert "ProtectRegionSettings" not in denying(
        policies, Request("backup:UpdateRegionSettings", "*", session_role)
    )
    assert "ProtectRegionSettings" in denying(policies, Request("backup:UpdateRegionSettings", "*", DEPLOYER))


BAD_INPUT: list[tuple[str, Mutation, tuple[str, ...]]] = [
    (
        "target-format",
        set_org("guardrails.targets", ["workloads"]),
        ("aws-dr-backup-org:guardrails.targets.0 = 'workloads'", "organizational unit ID (ou-ab12-cd34ef56)"),
    ),
    ("target-twice", set_org("guardrails.targets", ["r-ab12", "r-ab12"]), ("targets lists r-ab12 twice",)),
    (
        "management-as-target",
        set_org("guardrails.targets", ["777777777777"]),
        (
            "guardrails.targets lists the management account (777777777777)",
            "never bind the management account",
        ),
    ),
    (
        "wildcard-account",
        set_org("guardrails.exemptRoles", ["arn:aws:iam::*:role/AwsDrBackupDeployer"]),
        (
            "guardrails.exemptRoles.0 = 'arn:aws:iam::*:role/AwsDrBackupDeployer'",
            "a wildcard account would exempt",
        ),
    ),
    (
        "wildcard-role",
        set_org("guardrails.exemptRoles", ["arn:aws:iam::111111111111:role/*"]),
        (
            "guardrails.exemptRoles.0 = 'arn:aws:iam::111111111111:role/*'",
            "wildcards only would exempt every role",
        ),
    ),
    (
        "enabled-without-targets",
        lambda config: (
            set_org("guardrails.targets", [])(config),
            set_org("guardrails.enabled", True)(config),
        ),
        ("aws-dr-backup-org:guardrails", "targets is empty but the guardrails are enabled"),
    ),
    (
        "no-exempt-role",
        set_org("guardrails.exemptRoles", []),
        ("exemptRoles is empty", "no deployment could update"),
    ),
    ("no-prefix", set_org("guardrails.prefixes", []), ("prefixes is empty",)),
    ("bad-prefix", set_org("guardrails.prefixes", ["DR_Prod"]), ("guardrails.prefixes.0 = 'DR_Prod'",)),
    ("no-isolated-account", set_org("guardrails.isolatedAccounts", []), ("isolatedAccounts is empty",)),
    (
        "isolated-account-unquoted",
        set_org("guardrails.isolatedAccounts", [222222222222]),
        ("guardrails.isolatedAccounts.0 = 222222222222",),
    ),
    (
        "too-many-prefixes",
        set_org("guardrails.prefixes", [f"dr-t{i}" for i in range(24)]),
        ("guardrails: the statements need", "more than the 4 a target can take beside FullAWSAccess"),
    ),
    (
        "too-many-exempt-roles",
        set_org(
            "guardrails.exemptRoles", [f"arn:aws:iam::111111111111:role/deployer-{i}" for i in range(120)]
        ),
        ("guardrails: statement", "alone is", "over the 5120 an SCP may hold"),
    ),
    ("unknown-key", set_org("guardrails.exemptPrincipals", ["x"]), ("guardrails.exemptPrincipals",)),
    (
        "target-not-an-ou",
        set_org("guardrails.targets", ["ou-workloads"]),
        (
            "aws-dr-backup-org:guardrails.targets.0 = 'ou-workloads'",
            "organizational unit ID (ou-ab12-cd34ef56)",
        ),
    ),
    (
        "exempt-role-in-an-unlisted-account",
        set_org("guardrails.exemptRoles", ["arn:aws:iam::999999999999:role/AwsDrBackupDeployer"]),
        (
            "guardrails.exemptRoles lists arn:aws:iam::999999999999:role/AwsDrBackupDeployer",
            "in account 999999999999, which the config does not list",
            "allowed: 111111111111, 222222222222",
        ),
    ),
    (
        "unknown-opt-out-choice",
        set_org("guardrails.optOutTags", "block"),
        ("aws-dr-backup-org:guardrails.optOutTags = 'block'", "'deny' or 'detect'"),
    ),
    (
        "deny-without-keys",
        set_org("guardrails.optOutTagKeys", []),
        ("optOutTagKeys is empty but optOutTags is deny",),
    ),
    (
        "bad-opt-out-key",
        set_org("guardrails.optOutTagKeys", ["aws:exclude"]),
        ("guardrails.optOutTagKeys.0 = 'aws:exclude'",),
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [pytest.param(m, e, id=i) for i, m, e in BAD_INPUT])
def test_bad_guardrails_config_fails_before_anything_is_registered(
    org_config: dict[str, Any], mutate: Mutation, expected: tuple[str, ...]
) -> None:
    assert_refused_before_registering(org_config, mutate, expected)


def test_disabled_guardrails_are_not_checked(org_config: dict[str, Any]) -> None:
    set_org("guardrails.enabled", False)(org_config)
    set_org("guardrails.prefixes", [])(org_config)
    assert run_org(org_config).by_type(POLICY) == []


def test_docs_explain_every_control(config: OrgConfig) -> None:
    text = DOCS.read_text(encoding="utf-8")
    rcp = scp.key_rcp(config.key_perimeter)["Statement"]
    sids = [c.sid for c in scp.controls(config.guardrail_scope)]
    sids += [c.sid for c in scp.isolated_controls(config.isolated_guardrail_scope)]
    for sid in [*sids, *(s["Sid"] for s in rcp)]:
        assert f"`{sid}`" in text, sid
