"""``plan`` against the traps of a real recovery: a point whose copies stopped (stale), a retention that
already ended, a protected resource with no copy in the source, and no outputs file at hand (the vaults
found by name from the stack file). Each trap is tried both ways."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from components import config as stack_config
from dr_model import cron
from dr_runtime.restore import freshness, planner, stack_file, text_views
from dr_runtime.restore import recovery_cli as cli
from dr_runtime.restore import source_vaults as sources
from dr_runtime.restore.failures import EXIT_CODES_HELP, InputError
from dr_runtime.vault_names import type_vault_name
from drplan.program import read_stack_config, register_stack
from drplan.program import stack_file as program_stack_file
from tests.recovery.conftest import (
    DR,
    ISOLATED,
    NOW,
    PRIMARY,
    SOURCE_ARNS,
    SOURCE_METADATA,
    WORKLOAD,
    Clients,
    recovery_point,
    vault_arn,
)

DAILY = "cron(0 5 ? * * *)"
PROD = str(program_stack_file("prod"))
WINDOW = timedelta(minutes=360)


def _daily_point(ident: str, hours_old: float, **extra: Any) -> dict[str, Any]:
    point = recovery_point("dynamodb", ident, hours_old=hours_old)
    point["CreatedBy"] = {
        "BackupRuleCron": DAILY,
        "BackupRuleTimezone": "Etc/UTC",
        "BackupRuleName": "full-daily",
    }
    point.update(extra)
    return point


def _stub_plan(clients: Clients, point: dict[str, Any], name: str = "dr-prod-dynamodb") -> None:
    clients.backup.add_response("describe_backup_vault", {"BackupVaultName": name}, {"BackupVaultName": name})
    clients.backup.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": [point]},
        {"BackupVaultName": name, "MaxResults": planner.PAGE_SIZE},
    )
    clients.backup.add_response(
        "get_recovery_point_restore_metadata",
        {"RestoreMetadata": SOURCE_METADATA["dynamodb"]},
        {"BackupVaultName": name, "RecoveryPointArn": point["RecoveryPointArn"]},
    )


def _plan(clients: Clients, **request: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "source": sources.Source.CROSS_REGION,
        "region": DR,
        "concurrency": 1,
        "vaults": [sources.VaultRef(vault_arn("dr-prod-dynamodb"), "dynamodb")],
        "scope": planner.Scope(types=("dynamodb",)),
    }
    return planner.make_plan(clients, planner.PlanRequest(**{**defaults, **request}), now=NOW)


# --- 1. stale points and past deadlines ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "hours"),
    [
        (DAILY, 24),
        ("cron(0 5,17 ? * * *)", 12),
        ("cron(0 1,7 ? * * *)", 18),
        ("cron(0 5 ? * MON-FRI *)", 72),  # Friday 05:00 to Monday 05:00
        ("cron(0 10 ? * SAT *)", 168),
        ("cron(0 5 1 * ? *)", 31 * 24),  # a month is allowed for day-of-month schedules
    ],
)
def test_the_longest_gap_of_a_schedule(expression: str, hours: int) -> None:
    assert freshness.longest_gap(expression) == timedelta(hours=hours)


def test_a_121_hour_old_point_of_a_daily_copy_is_stale_in_json_text_and_exit_code(clients: Clients) -> None:
    _stub_plan(clients, _daily_point("old", 121))
    plan = _plan(clients)
    clients.assert_stubs_used()
    [resource] = plan["resources"]
    assert resource["freshness"]["stale"] is True
    assert resource["freshness"]["allowedAgeHours"] == 36.0  # 24 h gap + 6 h completion window + 6 h margin
    assert resource["freshness"]["scheduleFrom"] == "recovery point (CreatedBy.BackupRuleCron)"
    assert resource["warnings"][0].startswith("STALE: 121.0 h old")
    assert plan["summary"]["stale"] == 1
    assert plan["summary"]["perType"]["dynamodb"]["stale"] == 1
    assert planner.needs_attention(plan)
    text = text_views.plan(plan)
    [row] = [line for line in text.splitlines() if line.startswith("dynamodb  ")]  # the table row
    assert row.endswith("STALE")
    assert "1 STALE (copies stopped)" in text
    assert "stale because its copies stopped" in EXIT_CODES_HELP


def test_a_point_within_the_schedule_is_not_stale(clients: Clients) -> None:
    _stub_plan(clients, _daily_point("fresh", 30))
    plan = _plan(clients)
    [resource] = plan["resources"]
    assert resource["freshness"] == {
        "stale": False,
        "judged": True,
        "schedule": DAILY,
        "scheduleFrom": "recovery point (CreatedBy.BackupRuleCron)",
        "allowedAgeHours": 36.0,
    }
    assert not any("STALE" in w for w in resource["warnings"])
    assert plan["summary"]["stale"] == 0
    assert not planner.needs_attention(plan)


def test_the_stack_schedule_is_used_where_the_point_records_none(clients: Clients) -> None:
    point = recovery_point("dynamodb", "old", hours_old=121)  # no CreatedBy
    _stub_plan(clients, point)
    stack = freshness.Schedule(DAILY, "Pulumi.prod.yaml schedules.crossRegion")
    plan = _plan(clients, schedule=stack, completion_window=timedelta(minutes=120))
    [resource] = plan["resources"]
    assert resource["freshness"]["stale"] is True
    assert resource["freshness"]["allowedAgeHours"] == 32.0
    assert resource["freshness"]["scheduleFrom"] == "Pulumi.prod.yaml schedules.crossRegion"

    _stub_plan(clients, point)
    plan = _plan(clients)  # neither the point nor a stack file says the schedule
    [resource] = plan["resources"]
    assert resource["freshness"]["judged"] is False
    assert "age not judged" in resource["freshness"]["why"]
    assert plan["summary"]["stale"] == 0


def test_a_retention_that_already_ended_is_said_as_past_never_as_a_deadline(clients: Clients) -> None:
    point = _daily_point("old", 121, CalculatedLifecycle={"DeleteAt": NOW - timedelta(days=2)})
    _stub_plan(clients, point)
    plan = _plan(clients)
    [resource] = plan["resources"]
    assert resource["expired"] is True
    assert resource["deleteAt"] == "2025-01-13T12:00:00Z"
    [note] = [w for w in resource["warnings"] if "2025-01-13" in w]
    assert note.startswith(
        "EXPIRED: the recovery point's retention ended at 2025-01-13T12:00:00Z (in the past)"
    )
    assert "restore before" not in " ".join(resource["warnings"])
    assert plan["summary"]["expired"] == 1
    assert "EXPIRED" in text_views.plan(plan)


def test_a_retention_ending_soon_is_a_deadline(clients: Clients) -> None:
    point = _daily_point("fresh", 6, CalculatedLifecycle={"DeleteAt": NOW + timedelta(hours=3)})
    _stub_plan(clients, point)
    [resource] = _plan(clients)["resources"]
    assert resource["expired"] is False
    assert "the recovery point expires at 2025-01-15T15:00:00Z: restore before then" in resource["warnings"]


# --- 2. protected resources with no copy in the source ------------------------------------------------

OTHER_TABLE = f"arn:aws:dynamodb:{PRIMARY}:{WORKLOAD}:table/sessions"
PRIMARY_VAULT = sources.VaultRef(vault_arn("dr-prod-dynamodb", PRIMARY), "dynamodb")


def _protected(clients: Clients, arns: list[str]) -> None:
    clients.backup.add_response(
        "list_protected_resources_by_backup_vault",
        {
            "Results": [
                {"ResourceArn": arn, "ResourceType": "DynamoDB", "LastBackupTime": NOW - timedelta(hours=7)}
                for arn in arns
            ]
        },
        {"BackupVaultName": "dr-prod-dynamodb", "MaxResults": planner.PAGE_SIZE},
    )


def test_a_resource_backed_up_in_the_primary_without_a_copy_is_listed(clients: Clients) -> None:
    primary = Clients(PRIMARY)
    _stub_plan(clients, _daily_point("fresh", 6))
    _protected(primary, [SOURCE_ARNS["dynamodb"], OTHER_TABLE])
    plan = planner.make_plan(
        clients,
        planner.PlanRequest(
            source=sources.Source.CROSS_REGION,
            vaults=[sources.VaultRef(vault_arn("dr-prod-dynamodb"), "dynamodb")],
            region=DR,
            scope=planner.Scope(types=("dynamodb",)),
            primary=planner.PrimaryVaults(region=PRIMARY, vaults={"dynamodb": PRIMARY_VAULT}),
            concurrency=1,
        ),
        now=NOW,
        primary_clients=primary,
    )
    primary.assert_stubs_used()
    without = plan["withoutCopy"]
    assert without["checked"] is True
    assert without["resources"] == [
        {
            "type": "dynamodb",
            "sourceArn": OTHER_TABLE,
            "primaryVaultArn": PRIMARY_VAULT.arn,
            "lastBackupAt": "2025-01-15T05:00:00Z",
        }
    ]
    assert plan["summary"]["withoutCopy"] == 1
    assert planner.needs_attention(plan)
    text = text_views.plan(plan)
    assert f"No copy in the source (backed up in {PRIMARY}" in text
    assert f"dynamodb {OTHER_TABLE}: last backup 2025-01-15T05:00:00Z" in text


def test_every_primary_resource_with_a_copy_lists_none(clients: Clients) -> None:
    primary = Clients(PRIMARY)
    _stub_plan(clients, _daily_point("fresh", 6))
    _protected(primary, [SOURCE_ARNS["dynamodb"]])
    plan = planner.make_plan(
        clients,
        planner.PlanRequest(
            source=sources.Source.CROSS_REGION,
            vaults=[sources.VaultRef(vault_arn("dr-prod-dynamodb"), "dynamodb")],
            region=DR,
            scope=planner.Scope(types=("dynamodb",)),
            primary=planner.PrimaryVaults(region=PRIMARY, vaults={"dynamodb": PRIMARY_VAULT}),
            concurrency=1,
        ),
        now=NOW,
        primary_clients=primary,
    )
    assert plan["withoutCopy"]["resources"] == []
    assert not planner.needs_attention(plan)
    assert f"Every resource backed up in {PRIMARY} has a point in the source." in text_views.plan(plan)


def test_an_unreadable_primary_says_resources_without_a_copy_cannot_be_listed(clients: Clients) -> None:
    primary = Clients(PRIMARY)
    _stub_plan(clients, _daily_point("fresh", 6))
    primary.backup.add_client_error(
        "list_protected_resources_by_backup_vault", "ServiceUnavailableException", "us-east-1 is down", 503
    )
    plan = planner.make_plan(
        clients,
        planner.PlanRequest(
            source=sources.Source.CROSS_REGION,
            vaults=[sources.VaultRef(vault_arn("dr-prod-dynamodb"), "dynamodb")],
            region=DR,
            scope=planner.Scope(types=("dynamodb",)),
            primary=planner.PrimaryVaults(region=PRIMARY, vaults={"dynamodb": PRIMARY_VAULT}),
            concurrency=1,
        ),
        now=NOW,
        primary_clients=primary,
    )
    without = plan["withoutCopy"]
    assert without["checked"] is False
    assert without["why"].startswith(f"the primary region {PRIMARY} could not be read (")
    assert without["why"].endswith("resources without any copy in the source cannot be listed")
    assert len(plan["resources"]) == 1  # the rest of the plan is unaffected
    assert "Resources without any copy: not listed: the primary region" in text_views.plan(plan)


# --- 3. vaults found by name from the stack file ------------------------------------------------------


def test_the_stack_file_gives_the_facts_the_program_reads() -> None:
    facts = stack_file.load(PROD)
    parsed = stack_config.parse(
        stack_config.from_namespaced(read_stack_config(program_stack_file("prod"))), "prod"
    )
    assert facts.prefix == parsed.prefix
    assert facts.workload_account == parsed.accounts.workload
    assert (facts.primary_region, facts.dr_region) == (parsed.regions.primary, parsed.regions.dr)
    assert facts.cross_region_schedule == parsed.schedules.cross_region
    assert facts.cross_account_schedule == parsed.schedules.cross_account
    assert facts.completion_window == timedelta(minutes=parsed.windows.completion_minutes)


def test_discovery_names_are_the_program_s_own() -> None:
    outputs = register_stack("prod").outputs
    prefix = stack_file.load(PROD).prefix
    for key, by_region in outputs["vaultArns"].items():
        for arn in by_region.values():
            assert sources.VaultRef(arn, key).name == type_vault_name(prefix, key)
    assert sources.VaultRef(outputs["airGappedVaultArn"], None).name.startswith(f"{prefix}-")


def _vaults(clients: Clients, vaults: list[dict[str, Any]], **params: Any) -> None:
    clients.backup.add_response("list_backup_vaults", {"BackupVaultList": vaults}, params)


def test_cross_region_vaults_are_found_by_name_and_the_plan_runs(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    _vaults(
        clients,
        [
            {"BackupVaultName": "dr-prod-dynamodb", "BackupVaultArn": vault_arn("dr-prod-dynamodb")},
            {"BackupVaultName": "dr-staging-dynamodb", "BackupVaultArn": vault_arn("dr-staging-dynamodb")},
            {"BackupVaultName": "Default", "BackupVaultArn": vault_arn("Default")},
        ],
    )
    _stub_plan(clients, recovery_point("dynamodb", "old", hours_old=121))
    _protected(clients, [SOURCE_ARNS["dynamodb"]])  # same stubbed client stands for the primary region
    code = cli.main(
        ["plan", "--source", "cross-region", "--stack", PROD, "--type", "dynamodb", "--json"],
        factory=lambda region: clients,
    )
    out = capsys.readouterr()
    clients.assert_stubs_used()
    document = json.loads(out.out)
    assert code == 1  # stale by the stack's schedule
    assert [v["arn"] for v in document["vaults"]] == [vault_arn("dr-prod-dynamodb")]
    assert document["vaultsFrom"].startswith(f"found by name in {DR} (ListBackupVaults, prefix dr-prod")
    assert f"vaults found by name in {DR}" in out.err
    [resource] = document["resources"]
    assert resource["freshness"]["stale"] is True
    assert resource["freshness"]["scheduleFrom"] == f"{PROD} schedules.crossRegion"
    assert document["withoutCopy"]["checked"] is True


def test_a_requested_type_without_a_vault_is_one_line(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    _vaults(
        clients, [{"BackupVaultName": "dr-prod-dynamodb", "BackupVaultArn": vault_arn("dr-prod-dynamodb")}]
    )
    code = cli.main(
        ["plan", "--source", "cross-region", "--stack", PROD, "--type", "rds"], factory=lambda region: clients
    )
    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err == (
        f"restore: --stack: no vault dr-prod-rds in {DR} (ListBackupVaults); check --stack and --region, "
        "or pass --vault TYPE=ARN\n"
    )


AIR_GAPPED = vault_arn(f"dr-prod-{WORKLOAD}-air-gapped", PRIMARY, ISOLATED)
LAG = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"


def test_the_shared_air_gapped_vault_is_found_with_by_shared(clients: Clients) -> None:
    _vaults(
        clients,
        [
            {
                "BackupVaultName": f"dr-prod-{WORKLOAD}-air-gapped",
                "BackupVaultArn": AIR_GAPPED,
                "VaultType": LAG,
            },
            {"BackupVaultName": "dr-prod-dynamodb", "BackupVaultArn": vault_arn("dr-prod-dynamodb", PRIMARY)},
            {
                "BackupVaultName": "payments-333333333333-air-gapped",
                "BackupVaultArn": vault_arn("payments-333333333333-air-gapped", PRIMARY, ISOLATED),
                "VaultType": LAG,
            },
        ],
        ByShared=True,
    )
    [vault] = sources.discover(
        clients("backup"), sources.Source.AIR_GAPPED, ("rds",), PRIMARY, "dr-prod", explicit_types=False
    )
    assert (vault.arn, vault.type_key, vault.owner_param(WORKLOAD)) == (
        AIR_GAPPED,
        None,
        {"BackupVaultAccountId": ISOLATED},
    )


def test_two_shared_air_gapped_vaults_of_the_prefix_are_ambiguous(clients: Clients) -> None:
    kept = vault_arn("dr-prod-air-gapped", PRIMARY, ISOLATED)
    both = [
        {"BackupVaultName": f"dr-prod-{WORKLOAD}-air-gapped", "BackupVaultArn": AIR_GAPPED, "VaultType": LAG},
        {"BackupVaultName": "dr-prod-air-gapped", "BackupVaultArn": kept, "VaultType": LAG},
    ]
    _vaults(clients, both, ByShared=True)
    with pytest.raises(
        InputError, match=r"expected one logically air-gapped vault named dr-prod-\.\.\."
    ) as error:
        sources.discover(
            clients("backup"), sources.Source.AIR_GAPPED, ("rds",), PRIMARY, "dr-prod", explicit_types=False
        )
    assert f"found {AIR_GAPPED}, {kept}" in str(error.value) or f"found {kept}, {AIR_GAPPED}" in str(
        error.value
    )
    # The stack's airGappedVault.name settles it.
    _vaults(clients, both, ByShared=True)
    [vault] = sources.discover(
        clients("backup"),
        sources.Source.AIR_GAPPED,
        ("rds",),
        PRIMARY,
        "dr-prod",
        explicit_types=False,
        air_gapped_name="dr-prod-air-gapped",
    )
    assert vault.arn == kept


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["plan", "--source", "air-gapped"],
            "--source air-gapped: say where the vaults are: --stack NAME (Pulumi.NAME.yaml here; the vaults are "
            "found by name), --stack-outputs FILE (`pulumi stack output --json`) or --vault",
        ),
        (
            ["plan", "--source", "cross-region", "--stack", "nosuch"],
            "--stack nosuch: no stack file Pulumi.nosuch.yaml",
        ),
    ],
)
def test_missing_input_is_one_line_before_any_aws_call(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)

    def no_aws(region: str) -> Any:
        raise AssertionError("no AWS client may be made for bad input")

    code = cli.main(argv, factory=no_aws)
    out = capsys.readouterr()
    assert (code, out.out) == (2, "")
    assert out.err.startswith(f"restore: {message}")
    assert out.err.count("\n") == 1


def test_a_bad_schedule_in_the_stack_file_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: aws-dr-backup\nruntime: python\n", encoding="utf-8")
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  aws-dr-backup:prefix: dr-x\n  aws-dr-backup:schedules:\n    crossRegion: rate(1 day)\n",
        encoding="utf-8",
    )
    with pytest.raises(
        InputError, match=r"schedules.crossRegion = 'rate\(1 day\)': AWS Backup accepts only cron"
    ):
        stack_file.load(str(tmp_path / "Pulumi.x.yaml"))
    assert cron.parse_backup_cron(DAILY)  # the same grammar accepts the stack's own
