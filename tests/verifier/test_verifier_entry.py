"""The verifier as a user and Lambda start it: settings, the command's exit codes, the handler, the roles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dr_runtime.errors import ConfigError
from dr_runtime.report import JobFailedError
from dr_runtime.settings import Setting, environment
from dr_runtime.verifier import cli, naming, settings, verify
from dr_runtime.verifier.aws_reading import Places, connect
from org.verifier_config import vault_policy_template
from tests.verifier.conftest import ADMIN, BUCKET, ISOLATED, NOW, OWN_ACCOUNT, REGION, Fleet, make_config

ROOT = Path(__file__).resolve().parents[2]
FLEET_ARG = "111111111111=dr-prod,333333333333=dr-staging"
BASE = ["--fleet", FLEET_ARG, "--isolated-account", ISOLATED, "--delegated-admin-account", ADMIN]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--fleet", "111111111111", "--isolated-account", ISOLATED, "--delegated-admin-account", ADMIN],
            "--fleet (DR_VERIFIER_FLEET): entry '111111111111' must be <12-digit account>=<value>, "
            "e.g. 111111111111=dr-prod",
        ),
        (
            ["--fleet", "1111=dr-prod", "--isolated-account", ISOLATED, "--delegated-admin-account", ADMIN],
            "--fleet (DR_VERIFIER_FLEET): entry '1111=dr-prod' must be <12-digit account>=<value>",
        ),
        (
            [
                "--fleet",
                "111111111111=a,111111111111=b",
                "--isolated-account",
                ISOLATED,
                "--delegated-admin-account",
                ADMIN,
            ],
            "--fleet (DR_VERIFIER_FLEET): account 111111111111 is given twice",
        ),
        (
            [
                "--fleet",
                "111111111111=Dr_Prod",
                "--isolated-account",
                ISOLATED,
                "--delegated-admin-account",
                ADMIN,
            ],
            "--fleet (DR_VERIFIER_FLEET): prefix 'Dr_Prod' of 111111111111 must be lower-case letters",
        ),
        (
            [
                "--fleet",
                f"{ISOLATED}=dr-iso",
                "--isolated-account",
                ISOLATED,
                "--delegated-admin-account",
                ADMIN,
            ],
            "--fleet (DR_VERIFIER_FLEET) holds --isolated-account (DR_VERIFIER_ISOLATED_ACCOUNT) = 222222222222",
        ),
        (["--fleet", FLEET_ARG, "--delegated-admin-account", ADMIN], "--isolated-account "),
        (BASE[:4], "--delegated-admin-account (DR_VERIFIER_DELEGATED_ADMIN_ACCOUNT) is required"),
        (
            [*BASE, "--vault-name", "999999999999=old-vault"],
            "--vault-name (DR_VERIFIER_VAULT_NAMES): account 999999999999 is not in --fleet (DR_VERIFIER_FLEET)",
        ),
        (
            [*BASE, "--drop-percent", "0"],
            "--drop-percent (DR_VERIFIER_DROP_PERCENT) = 0: must be between 1 and 99",
        ),
        (
            [*BASE, "--drop-percent", "a fifth"],
            "--drop-percent (DR_VERIFIER_DROP_PERCENT) = 'a fifth': must be a whole number",
        ),
        (
            [*BASE, "--baseline-days", "1"],
            "--baseline-days (DR_VERIFIER_BASELINE_DAYS) = 1: must be longer than "
            "--schedule-interval-minutes (DR_VERIFIER_SCHEDULE_INTERVAL_MINUTES) + "
            "--completion-window-minutes (DR_COMPLETION_WINDOW_MINUTES) + --margin-minutes "
            "(DR_VERIFIER_MARGIN_MINUTES) = 1920 minutes",
        ),
        (
            [*BASE, "--vault-reader-role", f"arn:aws:iam::{ADMIN}:role/Reader"],
            f"--vault-reader-role (DR_VERIFIER_VAULT_READER_ROLE) = 'arn:aws:iam::{ADMIN}:role/Reader': must be "
            f"a role in account {ISOLATED}, not {ADMIN}",
        ),
        (
            [*BASE, "--job-reader-role", "Reader"],
            "--job-reader-role (DR_VERIFIER_JOB_READER_ROLE) = 'Reader': must be an IAM role ARN",
        ),
        (
            [*BASE, "--evidence-bucket", "Evidence"],
            "--evidence-bucket (DR_VERIFIER_EVIDENCE_BUCKET) = 'Evidence': must be an S3 bucket name",
        ),
        (
            [*BASE, "--topic-arn", "findings"],
            "--topic-arn (DR_VERIFIER_TOPIC_ARN) = 'findings': must be an SNS topic ARN",
        ),
        (
            [*BASE, "--margin-minutes", "-5"],
            "--margin-minutes (DR_VERIFIER_MARGIN_MINUTES) = -5: must be at least 0",
        ),
        (
            [*BASE, "--vault-retention", "111111111111=35-7"],
            "--vault-retention (DR_VERIFIER_VAULT_RETENTION): '35-7' of 111111111111 must be "
            "<min days>-<max days>, whole numbers with 1 <= min <= max, e.g. 7-35",
        ),
        (
            [*BASE, "--vault-retention", "777777777777=7-35"],
            "--vault-retention (DR_VERIFIER_VAULT_RETENTION): account 777777777777 is not in --fleet",
        ),
        (
            [*BASE, "--mpa-team-required", "maybe"],
            "--mpa-team-required (DR_VERIFIER_MPA_TEAM_REQUIRED) = 'maybe': must be true or false",
        ),
        ([*BASE, "--frobnicate"], "unrecognized arguments: --frobnicate (see --help)"),
    ],
)
def test_bad_settings_stop_the_command_with_one_line(
    fleet: Fleet, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    def never(_config: settings.VerifierConfig) -> Places:
        raise AssertionError("connected despite bad settings")

    assert cli.main(argv, never) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"verifier: {message}")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_the_command_exits_0_on_a_healthy_fleet_and_1_on_a_finding(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.healthy_account("111111111111")
    fleet.healthy_account("333333333333")
    assert cli.main([*BASE, "--no-metrics"], lambda _config: fleet.places(), lambda: NOW) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "2 account(s) verified, 0 finding(s)"
    assert "  333333333333  ok\n    air-gapped  newest     5.0 h       5/5 fresh\n" in out

    fleet.isolated.vaults.pop(naming.air_gapped_vault_name("dr-staging", "333333333333"))
    assert cli.main([*BASE, "--no-metrics", "--json"], lambda _config: fleet.places(), lambda: NOW) == 1
    printed = json.loads(capsys.readouterr().out)
    assert [f["kind"] for f in printed["findings"]] == ["no-vault"]
    assert printed["accounts"]["333333333333"]["findings"] == ["no-vault"]


def test_an_unreadable_vault_fails_the_command_without_a_traceback(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.healthy_account("111111111111")
    fleet.isolated.denied["ListRecoveryPointsByBackupVault"] = "AccessDeniedException"
    assert cli.main([*BASE, "--no-metrics"], lambda _config: fleet.places(), lambda: NOW) == 1
    err = capsys.readouterr().err
    assert "verifier: 2 failed: 111111111111, 333333333333" in err
    assert "Traceback" not in err


def test_the_handler_reads_the_environment_a_component_writes(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.healthy_account("111111111111")
    fleet.healthy_databases("111111111111")
    fleet.healthy_account("333333333333")
    topic = fleet.topic()
    written = environment(
        {
            settings.FLEET: FLEET_ARG,
            settings.ISOLATED_ACCOUNT: ISOLATED,
            settings.DELEGATED_ADMIN: ADMIN,
            settings.EVIDENCE_BUCKET: BUCKET,
            settings.TOPIC: topic,
            settings.DROP_PERCENT: "25",
            settings.VAULT_POLICY: vault_policy_template(),
            settings.LOCKED_VAULTS: "111111111111",
        }
    )
    for name, value in written.items():
        monkeypatch.setenv(name, value)

    answer = verify.handler({"time": "2025-06-02T12:00:00Z"}, None, lambda _config: fleet.places())

    assert answer["findings"] == []
    assert answer["summary"]["done"] == ["111111111111", "333333333333"]
    assert sorted(answer["accounts"]["111111111111"]["tiers"]) == ["air-gapped", "locked"]
    assert sorted(answer["accounts"]["333333333333"]["tiers"]) == ["air-gapped"]
    assert fleet.own("s3").get_object(Bucket=BUCKET, Key="verifier/accounts/111111111111/latest.json")

    fleet.isolated.denied["ListRecoveryPointsByBackupVault"] = "AccessDeniedException"
    with pytest.raises(JobFailedError, match="verifier: 2 failed"):
        verify.handler({"time": "2025-06-02T13:00:00Z"}, None, lambda _config: fleet.places())
    assert len(fleet.messages()) == 2  # one per unreadable account, before the run failed


@pytest.mark.parametrize("missing", [settings.TOPIC, settings.EVIDENCE_BUCKET])
def test_the_handler_needs_a_topic_and_a_bucket(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, missing: Setting
) -> None:
    values = {
        settings.FLEET: FLEET_ARG,
        settings.ISOLATED_ACCOUNT: ISOLATED,
        settings.DELEGATED_ADMIN: ADMIN,
        settings.EVIDENCE_BUCKET: BUCKET,
        settings.TOPIC: f"arn:aws:sns:{REGION}:{OWN_ACCOUNT}:findings",
    }
    del values[missing]
    for name, value in environment(values).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"^{missing.flag} \({missing.env}\) is required"):
        verify.handler({}, None, lambda _config: fleet.places())


def test_connect_checks_each_place_is_the_account_it_stands_for(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto gives an assumed role's credentials the role's account only without MOTO_ACCOUNT_ID.
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    own_account = fleet.own("sts").get_caller_identity()["Account"]
    assert own_account not in (ISOLATED, ADMIN)
    # The own credentials are the security account's, not the isolated account's.
    with pytest.raises(ConfigError) as raised:
        connect(make_config(), fleet.own)
    assert str(raised.value) == (
        f"--isolated-account (DR_VERIFIER_ISOLATED_ACCOUNT) = {ISOLATED}, but the credentials that read there "
        f"are account {own_account}'s: set --vault-reader-role (DR_VERIFIER_VAULT_READER_ROLE) to a "
        f"read-only role in {ISOLATED}"
    )
    places = connect(
        make_config(
            vault_reader_role=f"arn:aws:iam::{ISOLATED}:role/AwsDrBackupVerifierReader",
            job_reader_role=f"arn:aws:iam::{ADMIN}:role/AwsDrBackupVerifierReader",
        ),
        fleet.own,
    )
    assert places.vaults("sts").get_caller_identity()["Account"] == ISOLATED
    assert places.jobs("sts").get_caller_identity()["Account"] == ADMIN


def test_the_vault_the_verifier_reads_is_the_one_the_program_registers() -> None:
    # The verifier derives each account's vault from the fleet's prefix and account; the isolated stack
    # registers it, and the workload stack copies into it by that ARN (docs/isolated-account.md).
    from drplan.program import read_stack_config, register_stack, stack_file
    from tests.isolated.isolated_graphs import run_isolated

    raw = read_stack_config(stack_file("prod"))
    prefix, workload = raw["aws-dr-backup:prefix"], raw["aws-dr-backup:accounts"]["workload"]
    name = naming.air_gapped_vault_name(prefix, workload)
    isolated = run_isolated(f"isolated-{ISOLATED}")
    vaults = isolated.by_type("aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault")
    assert name in {v.inputs["name"] for v in vaults}
    graph = register_stack("prod")
    assert graph.by_type("aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault") == []
    arn = naming.vault_arn("us-east-1", ISOLATED, name)
    assert graph.outputs["airGappedVaultArn"] == arn
    copies = [
        c["destinationVaultArn"]
        for plan in graph.by_type("aws:backup/plan:Plan")
        for rule in plan.inputs["rules"]
        for c in rule.get("copyActions", [])
    ]
    assert arn in copies


def test_the_verifier_imports_neither_pulumi_nor_pydantic_nor_the_program() -> None:
    code = (
        "import sys, dr_runtime.verifier.cli, dr_runtime.verifier.verify\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'pydantic', 'components'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_python_m_runs_the_command_and_prints_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dr_runtime.verifier", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "DR_VERIFIER_FLEET" in out.stdout
    assert "exit codes: 0 nothing failed" in " ".join(out.stdout.split())
