"""``plan``: newest completed point per resource, pagination, the air-gapped vault shared through RAM,
scope by type, ARN and tag, inferred metadata, and the stack's outputs as the source of vault ARNs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dr_runtime.restore import planner
from dr_runtime.restore import source_vaults as sources
from dr_runtime.restore.failures import InputError
from dr_runtime.restore.profile import parse
from drplan.program import register_stack
from tests.recovery.conftest import (
    DR,
    ISOLATED,
    NOW,
    PRIMARY,
    SOURCE_ARNS,
    SOURCE_METADATA,
    WORKLOAD,
    Clients,
    point_arn,
    recovery_point,
    vault_arn,
)

AIR_GAPPED = vault_arn("dr-prod-air-gapped", PRIMARY, ISOLATED)


def _describe(clients: Clients, name: str, owner: str | None = None, **extra: Any) -> None:
    params = {"BackupVaultName": name, **({"BackupVaultAccountId": owner} if owner else {})}
    response = {"BackupVaultName": name, "BackupVaultArn": "arn", **extra}
    clients.backup.add_response("describe_backup_vault", response, params)


def _list(clients: Clients, name: str, pages: list[list[dict[str, Any]]], **filters: Any) -> None:
    for index, page in enumerate(pages):
        params = {"BackupVaultName": name, "MaxResults": planner.PAGE_SIZE, **filters}
        if index:
            params["NextToken"] = f"t{index}"
        response: dict[str, Any] = {"RecoveryPoints": page}
        if index < len(pages) - 1:
            response["NextToken"] = f"t{index + 1}"
        clients.backup.add_response("list_recovery_points_by_backup_vault", response, params)


def _restore_metadata(
    clients: Clients, name: str, point: str, metadata: dict[str, str], owner: str | None = None
) -> None:
    params = {
        "BackupVaultName": name,
        "RecoveryPointArn": point,
        **({"BackupVaultAccountId": owner} if owner else {}),
    }
    clients.backup.add_response("get_recovery_point_restore_metadata", {"RestoreMetadata": metadata}, params)


def _vault(type_key: str) -> sources.VaultRef:
    return sources.VaultRef(vault_arn(f"dr-prod-{type_key}"), type_key)


def _plan(clients: Clients, **request: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"source": sources.Source.CROSS_REGION, "region": DR, "concurrency": 1}
    return planner.make_plan(clients, planner.PlanRequest(**{**defaults, **request}), now=NOW)


def test_newest_completed_point_wins_and_unusable_points_are_reported(clients: Clients) -> None:
    other = f"arn:aws:dynamodb:{PRIMARY}:{WORKLOAD}:table/sessions"
    _describe(clients, "dr-prod-dynamodb", EncryptionKeyArn="arn:aws:kms:us-east-2:111111111111:key/k")
    points = [
        recovery_point("dynamodb", "old", hours_old=30),
        recovery_point("dynamodb", "newest-partial", status="PARTIAL", hours_old=2),
        recovery_point("dynamodb", "good", hours_old=6),
        recovery_point("dynamodb", "expired", status="EXPIRED", hours_old=1),
        recovery_point("dynamodb", "deleting", status="DELETING", hours_old=3, resource=other),
        recovery_point("dynamodb", "partial", status="PARTIAL", hours_old=4, resource=other),
    ]
    _list(clients, "dr-prod-dynamodb", [points[:3], points[3:]])  # two pages, followed
    _restore_metadata(clients, "dr-prod-dynamodb", point_arn("good"), SOURCE_METADATA["dynamodb"])
    plan = _plan(clients, vaults=[_vault("dynamodb")], scope=planner.Scope(types=("dynamodb",)))
    clients.assert_stubs_used()

    [resource] = plan["resources"]
    assert resource["recoveryPointArn"] == point_arn("good")
    assert resource["ageHours"] == 6.0
    assert resource["createdAt"] == "2025-01-15T06:00:00Z"
    assert resource["vaultArn"] == vault_arn("dr-prod-dynamodb")
    assert resource["metadata"]["targetTableName"] == "orders-dr-202501150600"
    assert resource["iamRoleArn"] == f"arn:aws:iam::{WORKLOAD}:role/service-role/AWSBackupDefaultServiceRole"
    [missing] = plan["unrestorable"]
    assert missing["sourceArn"] == other
    assert "newest is DELETING" in missing["reason"]
    assert plan["summary"]["perType"] == {
        "dynamodb": {"resources": 1, "maxAgeHours": 6.0, "blocked": 0, "stale": 0}
    }
    assert (plan["targetAccount"], plan["targetRegion"], plan["source"]) == (WORKLOAD, DR, "cross-region")


def test_scope_by_arn_reports_resources_without_any_point(clients: Clients) -> None:
    absent = f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:db:never-backed-up"
    _describe(clients, "dr-prod-rds")
    _list(
        clients,
        "dr-prod-rds",
        [
            [
                recovery_point("rds", "r1"),
                recovery_point("rds", "r2", resource=f"arn:aws:rds:{PRIMARY}:{WORKLOAD}:db:other"),
            ]
        ],
    )
    _restore_metadata(clients, "dr-prod-rds", point_arn("r1"), SOURCE_METADATA["rds"])
    plan = _plan(
        clients,
        vaults=[_vault("rds")],
        scope=planner.Scope(types=("rds",), arns=frozenset({SOURCE_ARNS["rds"], absent})),
    )
    assert [r["sourceArn"] for r in plan["resources"]] == [SOURCE_ARNS["rds"]]
    assert plan["unrestorable"] == [
        {"type": None, "sourceArn": absent, "reason": "no recovery point in the source vaults"}
    ]


def test_air_gapped_vault_shared_through_ram_names_its_owner_on_every_call(clients: Clients) -> None:
    _describe(
        clients,
        "dr-prod-air-gapped",
        owner=ISOLATED,
        VaultType="LOGICALLY_AIR_GAPPED_BACKUP_VAULT",
        EncryptionKeyType="AWS_OWNED_KMS_KEY",
        MpaApprovalTeamArn="arn:aws:mpa:us-east-1:444444444444:approval-team/dr",
    )
    points = [
        recovery_point("s3", "s3-1", vault="dr-prod-air-gapped", region=PRIMARY, account=ISOLATED),
        recovery_point("ebs", "ebs-1", vault="dr-prod-air-gapped", region=PRIMARY, account=ISOLATED),
    ]
    _list(clients, "dr-prod-air-gapped", [points], ByResourceType="S3", BackupVaultAccountId=ISOLATED)
    _list(clients, "dr-prod-air-gapped", [[points[1]]], ByResourceType="EBS", BackupVaultAccountId=ISOLATED)
    # Sorted by type: ebs, then s3.
    _restore_metadata(
        clients,
        "dr-prod-air-gapped",
        point_arn("ebs-1", PRIMARY, ISOLATED),
        {"availabilityZone": "us-east-1a"},
        owner=ISOLATED,
    )
    _restore_metadata(clients, "dr-prod-air-gapped", point_arn("s3-1", PRIMARY, ISOLATED), {}, owner=ISOLATED)
    primary = Clients(PRIMARY)  # EC2 and friends of us-east-1 from moto; Backup stubbed
    plan = planner.make_plan(
        lambda s: clients("backup") if s == "backup" else primary(s),
        planner.PlanRequest(
            source=sources.Source.AIR_GAPPED,
            vaults=[sources.VaultRef(AIR_GAPPED, None)],
            region=PRIMARY,
            scope=planner.Scope(types=("s3", "ebs")),
            concurrency=1,
        ),
        now=NOW,
    )
    clients.assert_stubs_used()
    assert [(r["type"], r["vaultAccountId"]) for r in plan["resources"]] == [
        ("ebs", ISOLATED),
        ("s3", ISOLATED),
    ]
    assert plan["vaults"][0]["mpaApprovalTeamArn"] == "arn:aws:mpa:us-east-1:444444444444:approval-team/dr"
    ebs = plan["resources"][0]
    assert ebs["metadata"]["availabilityZone"] == "us-east-1a"  # the zone exists in us-east-1: kept


def test_a_source_vault_that_does_not_exist_is_bad_input(clients: Clients) -> None:
    clients.backup.add_client_error(
        "describe_backup_vault",
        "ResourceNotFoundException",
        "Backup vault dr-prod-rds not found",
        404,
        expected_params={"BackupVaultName": "dr-prod-rds"},
    )
    with pytest.raises(
        InputError,
        match=r"source vault arn:aws:backup:us-east-2:111111111111:backup-vault:dr-prod-rds does not exist",
    ):
        _plan(clients, vaults=[_vault("rds")], scope=planner.Scope(types=("rds",)))


def test_missing_engine_is_inferred_like_restore_testing(clients: Clients) -> None:
    _describe(clients, "dr-prod-neptune")
    _list(clients, "dr-prod-neptune", [[recovery_point("neptune", "n1")]])
    without_engine = {k: v for k, v in SOURCE_METADATA["neptune"].items() if k != "Engine"}
    _restore_metadata(clients, "dr-prod-neptune", point_arn("n1"), without_engine)
    clients.backup.add_response(
        "get_restore_testing_inferred_metadata",
        {"InferredMetadata": {"engine": "neptune", "dbClusterIdentifier": "awsbackup-restore-test-x"}},
        {"BackupVaultName": "dr-prod-neptune", "RecoveryPointArn": point_arn("n1")},
    )
    plan = _plan(clients, vaults=[_vault("neptune")], scope=planner.Scope(types=("neptune",)))
    clients.assert_stubs_used()
    [resource] = plan["resources"]
    assert resource["metadata"]["Engine"] == "neptune"
    # Only the missing key is taken; the name stays the one derived from the original.
    assert resource["metadata"]["DBClusterIdentifier"] == "graph-dr-202501150600"
    assert resource["defaults"][0] == {
        "key": "Engine",
        "value": "neptune",
        "why": "inferred by AWS Backup (GetRestoreTestingInferredMetadata)",
    }


def test_tag_scope_reads_the_tags_of_the_chosen_point_only(clients: Clients) -> None:
    other = f"arn:aws:dynamodb:{PRIMARY}:{WORKLOAD}:table/sessions"
    _describe(clients, "dr-prod-dynamodb")
    _list(
        clients,
        "dr-prod-dynamodb",
        [[recovery_point("dynamodb", "a"), recovery_point("dynamodb", "b", resource=other)]],
    )
    clients.backup.add_response("list_tags", {"Tags": {"app": "shop"}}, {"ResourceArn": point_arn("a")})
    clients.backup.add_response("list_tags", {"Tags": {"app": "other"}}, {"ResourceArn": point_arn("b")})
    _restore_metadata(clients, "dr-prod-dynamodb", point_arn("a"), SOURCE_METADATA["dynamodb"])
    plan = _plan(
        clients, vaults=[_vault("dynamodb")], scope=planner.Scope(types=("dynamodb",), tags={"app": "shop"})
    )
    clients.assert_stubs_used()
    assert [r["sourceArn"] for r in plan["resources"]] == [SOURCE_ARNS["dynamodb"]]


def test_a_point_whose_key_is_pending_deletion_is_blocked(clients: Clients, dr_vault_key: str) -> None:
    clients("kms").schedule_key_deletion(KeyId=dr_vault_key.rsplit("/", 1)[-1], PendingWindowInDays=7)
    _describe(clients, "dr-prod-ebs")
    _list(clients, "dr-prod-ebs", [[recovery_point("ebs", "e1", key=dr_vault_key)]])
    _restore_metadata(clients, "dr-prod-ebs", point_arn("e1"), SOURCE_METADATA["ebs"])
    plan = _plan(clients, vaults=[_vault("ebs")], scope=planner.Scope(types=("ebs",)))
    [resource] = plan["resources"]
    assert "PendingDeletion" in resource["blocked"][-1]["why"]
    assert "cancel-key-deletion" in resource["blocked"][-1]["why"]
    assert plan["summary"]["blocked"] == 1


def test_profile_role_and_stack_role_and_expiry_warning(clients: Clients) -> None:
    _describe(clients, "dr-prod-s3")
    point = recovery_point("s3", "s1")
    point["CalculatedLifecycle"] = {"DeleteAt": NOW + timedelta(hours=3)}
    _list(clients, "dr-prod-s3", [[point]])
    _restore_metadata(clients, "dr-prod-s3", point_arn("s1"), {})
    stack_role = f"arn:aws:iam::{WORKLOAD}:role/dr-prod-s3-AWSBackupRole"
    plan = _plan(clients, vaults=[_vault("s3")], scope=planner.Scope(types=("s3",)), roles={"s3": stack_role})
    [resource] = plan["resources"]
    assert resource["iamRoleArn"] == stack_role
    assert any("expires at 2025-01-15T15:00:00Z" in w for w in resource["warnings"])

    _describe(clients, "dr-prod-s3")
    _list(clients, "dr-prod-s3", [[recovery_point("s3", "s1")]])
    _restore_metadata(clients, "dr-prod-s3", point_arn("s1"), {})
    own = f"arn:aws:iam::{WORKLOAD}:role/restorer"
    plan = _plan(
        clients,
        vaults=[_vault("s3")],
        scope=planner.Scope(types=("s3",)),
        roles={"s3": stack_role},
        profile=parse({"iamRoleArn": own}, "p"),
    )
    assert plan["resources"][0]["iamRoleArn"] == own


def test_the_stack_outputs_are_what_the_program_exports() -> None:
    outputs = register_stack("prod").outputs
    vaults, region = sources.resolve(sources.Source.CROSS_REGION, ("rds", "ebs"), DR, outputs, [])
    assert region == DR
    assert [(v.type_key, v.name, v.account) for v in vaults] == [
        ("rds", "dr-prod-rds", WORKLOAD),
        ("ebs", "dr-prod-ebs", WORKLOAD),
    ]
    [lag], region = sources.resolve(sources.Source.AIR_GAPPED, ("rds",), None, outputs, [])
    assert (lag.type_key, lag.account, region) == (None, ISOLATED, PRIMARY)
    assert lag.owner_param(WORKLOAD) == {"BackupVaultAccountId": ISOLATED}
    assert outputs["restoreRoleArns"]["rds"] == f"arn:aws:iam::{WORKLOAD}:role/dr-prod-rds-AWSBackupRole"


@pytest.mark.parametrize(
    ("source", "region", "flags", "message"),
    [
        (sources.Source.CROSS_REGION, None, [], "pass --region"),
        (sources.Source.CROSS_REGION, "eu-west-1", [], "vaultArns.rds has no vault in --region eu-west-1"),
        (sources.Source.AIR_GAPPED, DR, [], "the air-gapped vaults are in us-east-1"),
        (sources.Source.CROSS_REGION, DR, ["rds:arn"], "give TYPE=ARN"),
        (sources.Source.CROSS_REGION, DR, ["foo=" + vault_arn("x")], "unknown resource type 'foo'"),
        (sources.Source.RESTORE_ACCESS, DR, ["not-an-arn"], "--vault = 'not-an-arn': not a backup vault ARN"),
    ],
)
def test_source_resolution_errors_name_the_flag(
    source: sources.Source, region: str | None, flags: list[str], message: str
) -> None:
    outputs = register_stack("prod").outputs
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        sources.resolve(source, ("rds",), region, outputs, flags)
