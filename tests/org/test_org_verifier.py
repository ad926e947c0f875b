"""The air-gap verifier as the organisation stack deploys it (org/verifier_deployment.py, docs/verifier.md).

The org program runs under Pulumi's mocks with its real stack file; the function's environment is read
back through the runtime's own parser (``VerifierConfig.from_settings``), as the Lambda handler reads it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import documents
from components.config import from_namespaced
from components.config import parse as parse_stack
from dr_model import catalog
from dr_runtime.vault_names import air_gapped_vault_name, locked_vault_name
from dr_runtime.verifier import event_silence, policy_check
from dr_runtime.verifier import settings as runtime
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import REPO, read_stack_config, stack_file, stack_name
from org.org_config import parse
from org.verifier_config import schedule_gap_minutes
from tests.config_mutations import Mutation
from tests.org.org_graphs import (
    DELEGATED,
    MANAGEMENT,
    NS,
    REPORTS,
    VERIFIER,
    WORKLOADS,
    assert_refused_before_registering,
    drop_org,
    one,
    provider_of,
    run_org,
    set_org,
)

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
SCHEDULE = "aws:scheduler/schedule:Schedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
BUCKET = "aws:s3/bucket:Bucket"
COMPONENT = "aws-dr-backup-org:verifier:VerifierDeployment"
FLEET = {"111111111111": "dr-prod", "555555555555": "dr-payments", "666666666666": "dr-analytics"}
VAULT_READER = f"arn:aws:iam::{REPORTS}:role/dr-org-verifier-vault-reader"
JOB_READER = f"arn:aws:iam::{DELEGATED}:role/dr-org-verifier-job-reader"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{VERIFIER}:dr-org-backup-verifier-findings"
EVIDENCE_BUCKET = f"dr-org-verifier-{VERIFIER}-us-east-1"
OWN_STATEMENTS = ("WriteOwnLogs", "FailedInvocationsToDeadLetterQueue")


def _named(graph: StackGraph, type_token: str, name: str) -> RegisteredResource:
    found = [r for r in graph.by_type(type_token) if r.name == name]
    assert len(found) == 1, f"{type_token} {name}: {len(found)} registered"
    return found[0]


def _document(resource: RegisteredResource, key: str = "policy") -> dict[str, Any]:
    return dict(json.loads(resource.inputs[key]))


def _statements(resource: RegisteredResource, key: str = "policy") -> list[dict[str, Any]]:
    return list(_document(resource, key)["Statement"])


def _function_policy(graph: StackGraph) -> list[dict[str, Any]]:
    policy = _named(graph, ROLE_POLICY, "verifier-job-exec-policy")
    return [s for s in _statements(policy) if s["Sid"] not in OWN_STATEMENTS]


def _function_role_arn(graph: StackGraph) -> str:
    return str(_named(graph, ROLE, "verifier-job-exec").computed["arn"])


def _environment(graph: StackGraph) -> dict[str, str]:
    return dict(_named(graph, FUNCTION, "verifier-job-fn").inputs["environment"]["variables"])


def _read_back(graph: StackGraph, region: str = "us-east-1") -> runtime.VerifierConfig:
    # Lambda sets AWS_REGION itself (a reserved variable): the function's own Region.
    return runtime.VerifierConfig.from_settings({**_environment(graph), "AWS_REGION": region})


def _verifier_resources(graph: StackGraph) -> list[RegisteredResource]:
    by_urn = graph.by_urn()
    component = one(graph, COMPONENT)

    def under(resource: RegisteredResource) -> bool:
        parent = resource.parent
        while parent:
            if parent == component.urn:
                return True
            parent = by_urn[parent].parent if parent in by_urn else ""
        return False

    return [r for r in graph.resources if r.custom and under(r)]


# --- config ---------------------------------------------------------------------------------------

BAD_INPUT: list[tuple[str, Mutation, tuple[str, ...]]] = [
    (
        "runs-in-a-workload-account",
        set_org("verifier.account", "111111111111"),
        ("aws-dr-backup-org:verifier.account = '111111111111': must not be a workload account",),
    ),
    (
        "isolated-account-is-a-workload",
        set_org("verifier.isolatedAccount", "555555555555"),
        ("verifier.isolatedAccount = '555555555555': must not be a workload account",),
    ),
    (
        "account-format",
        set_org("verifier.account", "9999"),
        ("aws-dr-backup-org:verifier.account = '9999'", "12-digit AWS account ID"),
    ),
    (
        "fleet-misses-accounts",
        set_org("verifier.fleet", ["111111111111=dr-prod"]),
        (
            "verifier.fleet misses 555555555555, 666666666666 of accounts.workloads",
            "or to verifier.unverified with the reason",
        ),
    ),
    (
        "fleet-outside-the-workloads",
        set_org("verifier.fleet", [*(f"{a}={p}" for a, p in FLEET.items()), "123456789012=dr-other"]),
        ("verifier.fleet lists 123456789012, not in accounts.workloads",),
    ),
    (
        "fleet-entry-shape",
        set_org("verifier.fleet", ["dr-prod"]),
        ("verifier.fleet: entry 'dr-prod' must be <12-digit account>=<value>",),
    ),
    (
        "fleet-prefix",
        set_org("verifier.fleet", ["111111111111=Dr_Prod"]),
        ("verifier.fleet: prefix 'Dr_Prod' of 111111111111 must be lower-case letters",),
    ),
    (
        "locked-vault-of-an-unknown-account",
        set_org("verifier.lockedVaults", ["123456789012"]),
        ("verifier.lockedVaults: '123456789012' must be a workload account of verifier.fleet",),
    ),
    (
        "vault-name-of-an-unknown-account",
        set_org("verifier.vaultNames", ["123456789012=old-vault"]),
        ("verifier.vaultNames: account 123456789012 is not in verifier.fleet",),
    ),
    (
        "unverified-and-in-the-fleet",
        set_org("verifier.unverified", {"111111111111": "copies elsewhere"}),
        ("verifier.unverified has 111111111111, which verifier.fleet lists too",),
    ),
    (
        "unverified-not-a-workload",
        set_org("verifier.unverified", {"333333333333": "staging", "123456789012": "gone"}),
        ("verifier.unverified has 123456789012, which is not in accounts.workloads",),
    ),
    (
        "schedule-too-rare",
        set_org("verifier.schedule", "rate(7 hours)"),
        ("aws-dr-backup-org:verifier.schedule = 'rate(7 hours)'", "at least every 360 minutes (6 hours)"),
    ),
    (
        "schedule-cron-too-rare",
        set_org("verifier.schedule", "cron(0 */8 * * ? *)"),
        ("verifier.schedule = 'cron(0 */8 * * ? *)'", "runs only every 480 minutes at its longest gap"),
    ),
    (
        "schedule-not-every-day",
        set_org("verifier.schedule", "cron(0 */2 ? * MON-FRI *)"),
        ("day-of-week 'MON-FRI' runs only on some days of the week", "must run every day"),
    ),
    (
        "schedule-once",
        set_org("verifier.schedule", "at(2026-01-01T00:00:00)"),
        ("verifier.schedule = 'at(2026-01-01T00:00:00)': at(...) runs the verifier only once",),
    ),
    (
        "schedule-grammar",
        set_org("verifier.schedule", "every 6 hours"),
        ("verifier.schedule = 'every 6 hours'", "it must be cron(...), rate(...) or at(...)"),
    ),
    (
        "drop-percent",
        set_org("verifier.thresholds.dropPercent", 0),
        ("aws-dr-backup-org:verifier.thresholds.dropPercent = 0: must be between 1 and 99",),
    ),
    (
        "drop-percent-as-text",
        set_org("verifier.thresholds.dropPercent", "20"),
        ("aws-dr-backup-org:verifier.thresholds.dropPercent = '20'",),
    ),
    (
        "baseline-shorter-than-the-stale-threshold",
        set_org("verifier.thresholds.baselineDays", 1),
        (
            "verifier.thresholds.baselineDays = 1: must be longer than "
            "verifier.thresholds.scheduleIntervalMinutes + verifier.thresholds.completionWindowMinutes + "
            "verifier.thresholds.marginMinutes = 1920 minutes",
        ),
    ),
    (
        "no-alert-email",
        set_org("verifier.alertEmails", []),
        ("aws-dr-backup-org:verifier.alertEmails = []: must not be empty",),
    ),
    (
        "alert-email-shape",
        set_org("verifier.alertEmails", ["on-call"]),
        ("aws-dr-backup-org:verifier.alertEmails.0 = 'on-call'", "an e-mail address"),
    ),
    (
        "isolated-account-without-a-role",
        set_org("verifier.isolatedAccount", "444444444444"),
        ("verifier.isolatedAccountRole is required: verifier.isolatedAccount (444444444444)",),
    ),
    (
        "role-in-another-account",
        set_org("verifier.role", "arn:aws:iam::222222222222:role/Deployer"),
        (
            "verifier.role (arn:aws:iam::222222222222:role/Deployer) must be a role name or a role ARN in account 999999999999",
        ),
    ),
    (
        "evidence-retention",
        set_org("verifier.evidenceRetentionDays", 0),
        ("aws-dr-backup-org:verifier.evidenceRetentionDays = 0",),
    ),
    ("missing-fleet", drop_org("verifier.fleet"), ("verifier.fleet: required setting is missing",)),
    (
        "retention-of-an-unknown-account",
        set_org("verifier.vaultRetention", ["777777777777=7-35"]),
        ("verifier.vaultRetention: account 777777777777 is not in verifier.fleet",),
    ),
    (
        "retention-range-reversed",
        set_org("verifier.vaultRetention", ["111111111111=35-7"]),
        ("verifier.vaultRetention: '35-7' of 111111111111 must be <min days>-<max days>",),
    ),
    (
        "retention-shape",
        set_org("verifier.vaultRetention", ["111111111111"]),
        ("verifier.vaultRetention: entry '111111111111' must be <12-digit account>=<value>",),
    ),
    (
        "unknown-key",
        set_org("verifier.thresholds.staleHours", 30),
        ("aws-dr-backup-org:verifier.thresholds.staleHours = 30", "unknown setting"),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BAD_INPUT], ids=[i for i, _, _ in BAD_INPUT]
)
def test_bad_verifier_config_fails_before_anything_is_registered(
    org_config: dict[str, Any], mutate: Mutation, expected: tuple[str, ...]
) -> None:
    assert_refused_before_registering(org_config, mutate, expected)


@pytest.mark.parametrize(
    ("expression", "gap"),
    [
        ("rate(6 hours)", 360),
        ("rate(1 hour)", 60),
        ("rate(30 minutes)", 30),
        ("cron(15 */6 * * ? *)", 360),
        ("cron(0 1,5,9,13,17,21 * * ? *)", 240),
        ("cron(0 0,12,13 * * ? *)", 720),
    ],
)
def test_schedule_gap_is_the_longest_time_between_runs(expression: str, gap: int) -> None:
    assert schedule_gap_minutes(expression) == gap


def test_without_the_section_nothing_of_the_verifier_is_deployed(org_config: dict[str, Any]) -> None:
    del org_config[NS + "verifier"]
    graph = run_org(org_config)
    assert graph.by_type(COMPONENT) == []
    assert graph.by_type(FUNCTION) == []
    assert "verifier" not in {r.name for r in graph.by_type("pulumi:providers:aws")}
    assert not any(key.startswith("verifier") for key in graph.outputs)


def test_every_workload_account_verified_needs_no_unverified_list(org_config: dict[str, Any]) -> None:
    verifier = org_config[NS + "verifier"]
    del verifier["unverified"]
    verifier["fleet"] = [*verifier["fleet"], "333333333333=dr-staging"]
    config = _read_back(run_org(org_config))
    assert [a.account_id for a in config.fleet] == sorted(WORKLOADS)


def test_the_example_fleet_is_the_stack_files(org_config: dict[str, Any]) -> None:
    """Each fleet entry is a workload stack's accounts.workload and prefix, and its vault is in the
    verifier's isolated account; each unverified account's stack copies elsewhere."""
    verifier = org_config[NS + "verifier"]
    stacks = {}
    for path in sorted(REPO.glob("Pulumi.*.yaml")):
        stack = parse_stack(
            from_namespaced(read_stack_config(stack_file(stack_name(path)))), stack_name(path)
        )
        stacks[stack.accounts.workload] = stack
    fleet = dict(entry.split("=") for entry in verifier["fleet"])
    assert set(fleet) | set(verifier["unverified"]) == set(stacks)
    for account, prefix in fleet.items():
        assert stacks[account].prefix == prefix
        assert stacks[account].accounts.isolated == verifier["isolatedAccount"]
        assert stacks[account].air_gapped_vault_name == air_gapped_vault_name(prefix, account)
    for account in verifier["unverified"]:
        assert stacks[account].accounts.isolated != verifier["isolatedAccount"]


# --- where everything lives -------------------------------------------------------------------------


def test_the_verifier_lives_outside_every_workload_account(org_graph: StackGraph) -> None:
    places: dict[str, set[str]] = {}
    for resource in _verifier_resources(org_graph):
        provider = provider_of(org_graph, resource)
        assert provider["region"] == "us-east-1"
        places.setdefault(provider["account"], set()).add(resource.name)
    assert not set(places) & set(WORKLOADS)
    assert MANAGEMENT not in places
    # The isolated account holds the vault reader alone, the delegated administrator the job reader alone.
    assert places[REPORTS] == {"verifier-vault-reader", "verifier-vault-reader-policy"}
    assert places[DELEGATED] == {"verifier-job-reader", "verifier-job-reader-policy"}
    assert {
        "verifier-job-fn",
        "verifier-job-schedule",
        "verifier-topic",
        "verifier-key",
        "verifier-evidence-bucket",
        "verifier-findings",
        "verifier-errors",
        "verifier-silent",
    } <= places[VERIFIER]
    assert set(places) == {REPORTS, DELEGATED, VERIFIER}
    verifier_provider = org_graph.by_urn()[_named(org_graph, FUNCTION, "verifier-job-fn").provider_urn]
    assert json.loads(verifier_provider.inputs["assumeRoles"])[0]["roleArn"] == (
        f"arn:aws:iam::{VERIFIER}:role/AwsDrBackupDeployer"
    )
    assert org_graph.outputs["verifierAccount"] == VERIFIER
    assert org_graph.outputs["verifierEvidenceBucket"] == EVIDENCE_BUCKET


def test_the_function_runs_the_handler_on_the_schedule(org_graph: StackGraph) -> None:
    function = _named(org_graph, FUNCTION, "verifier-job-fn")
    assert function.inputs["handler"] == "dr_runtime.verifier.verify.handler"
    assert function.inputs["name"] == "dr-org-backup-verifier"
    schedule = _named(org_graph, SCHEDULE, "verifier-job-schedule")
    assert schedule.inputs["scheduleExpression"] == "rate(6 hours)"
    assert schedule.inputs["target"]["input"] == '{"time": "<aws.scheduler.scheduled-time>"}'


def test_the_environment_reads_back_through_the_runtime_parser(org_graph: StackGraph) -> None:
    config = _read_back(org_graph)
    assert {(a.account_id, a.vault_name) for a in config.fleet} == {
        (account, air_gapped_vault_name(prefix, account)) for account, prefix in FLEET.items()
    }
    assert config.isolated_account == REPORTS
    assert config.delegated_admin_account == DELEGATED
    # The roles the settings name are the roles the stack creates, in their accounts.
    assert (
        config.vault_reader_role
        == VAULT_READER
        == _named(org_graph, ROLE, "verifier-vault-reader").computed["arn"]
    )
    assert (
        config.job_reader_role == JOB_READER == _named(org_graph, ROLE, "verifier-job-reader").computed["arn"]
    )
    assert config.evidence_bucket == EVIDENCE_BUCKET
    assert config.evidence_bucket == _named(org_graph, BUCKET, "verifier-evidence-bucket").inputs["bucket"]
    assert config.topic_arn == TOPIC_ARN
    assert TOPIC_ARN.rsplit(":", 1)[1] == _named(org_graph, TOPIC, "verifier-topic").inputs["name"]
    # Thresholds left out keep the runtime's defaults.
    assert (config.interval_minutes, config.margin_minutes, config.baseline_days) == (
        runtime.DEFAULT_INTERVAL_MINUTES,
        runtime.DEFAULT_MARGIN_MINUTES,
        runtime.DEFAULT_BASELINE_DAYS,
    )
    assert config.drop_percent == 20
    assert config.publish_metrics is True
    # Every variable written is one of the runtime's settings (the silence check's among them).
    assert set(_environment(org_graph)) <= {s.env for s in (*runtime.SETTINGS, *event_silence.SETTINGS)}


def test_retention_and_the_approval_team_check_reach_the_function(org_config: dict[str, Any]) -> None:
    # The example: every stack keeps the default 7-35 days, and multi-party approval is on.
    config = _read_back(run_org(org_config))
    assert {a.account_id: a.retention for a in config.fleet} == dict.fromkeys(FLEET, (7, 35))
    assert config.mpa_team_required is True
    org_config[NS + "verifier"]["vaultRetention"] = ["555555555555=14-60"]
    org_config[NS + "globalSettings"] = {**org_config[NS + "globalSettings"], "multiPartyApproval": False}
    config = _read_back(run_org(org_config))
    assert {a.account_id: a.retention for a in config.fleet}["555555555555"] == (14, 60)
    assert {a.account_id: a.retention for a in config.fleet}["111111111111"] == (7, 35)
    assert config.mpa_team_required is False


def test_the_example_retention_is_the_stack_files(org_config: dict[str, Any]) -> None:
    """The range the verifier expects of each account's vaults is its stack's airGappedVault range."""
    config = _read_back(run_org(org_config))
    for path in sorted(REPO.glob("Pulumi.*.yaml")):
        stack = parse_stack(
            from_namespaced(read_stack_config(stack_file(stack_name(path)))), stack_name(path)
        )
        for account in config.fleet:
            if account.account_id == stack.accounts.workload:
                vault = stack.air_gapped_vault
                assert account.retention == (vault.min_retention_days, vault.max_retention_days)


def test_thresholds_and_vault_names_reach_the_function(org_config: dict[str, Any]) -> None:
    verifier = org_config[NS + "verifier"]
    verifier["thresholds"] = {"scheduleIntervalMinutes": 720, "marginMinutes": 60, "dropPercent": 35}
    verifier["vaultNames"] = ["555555555555=payments-air-gap"]
    graph = run_org(org_config)
    config = _read_back(graph)
    assert (config.interval_minutes, config.margin_minutes, config.drop_percent) == (720, 60, 35)
    assert config.completion_window_minutes == 360
    assert {a.account_id: a.vault_name for a in config.fleet}["555555555555"] == "payments-air-gap"
    statement = _statements(_named(graph, ROLE_POLICY, "verifier-vault-reader-policy"))[0]
    assert f"arn:aws:backup:us-east-1:{REPORTS}:backup-vault:payments-air-gap" in statement["Resource"]


# --- least privilege ------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["verifier-vault-reader", "verifier-job-reader"])
def test_reader_roles_trust_only_the_verifier_function(org_graph: StackGraph, reader: str) -> None:
    function_role = _function_role_arn(org_graph)
    assert function_role.startswith(f"arn:aws:iam::{VERIFIER}:role/")
    [statement] = _statements(_named(org_graph, ROLE, reader), "assumeRolePolicy")
    assert statement == {
        "Sid": "OnlyTheVerifierFunction",
        "Effect": "Allow",
        "Principal": {"AWS": function_role},
        "Action": "sts:AssumeRole",
    }


def _isolated_vault_arns(isolated: str) -> list[str]:
    """Each fleet account's air-gapped vault and its locked one (all three stacks protect RDS), as the
    program names them (components/documents.py, components/config.py)."""
    return sorted(
        documents.vault_arn("us-east-1", isolated, name(prefix, account))
        for account, prefix in FLEET.items()
        for name in (air_gapped_vault_name, locked_vault_name)
    )


def test_the_vault_reader_reads_the_fleets_vaults_and_shares_only(org_graph: StackGraph) -> None:
    vaults, shares = _statements(_named(org_graph, ROLE_POLICY, "verifier-vault-reader-policy"))
    assert vaults["Effect"] == "Allow"
    assert sorted(vaults["Action"]) == [
        "backup:DescribeBackupVault",
        "backup:GetBackupVaultAccessPolicy",
        "backup:ListRecoveryPointsByBackupVault",
    ]
    assert sorted(vaults["Resource"]) == _isolated_vault_arns(REPORTS)
    # RAM's reads take no resource type (docs/verifier.md V15); they list the caller's own shares only.
    assert shares == {
        "Sid": "ReadTheIsolatedAccountsShares",
        "Effect": "Allow",
        "Action": ["ram:GetResourceShareAssociations", "ram:GetResourceShares"],
        "Resource": "*",
    }


def test_the_function_gets_the_locked_vaults_and_the_programs_policy(org_graph: StackGraph) -> None:
    config = _read_back(org_graph)
    assert {a.account_id: a.locked_vault_name for a in config.fleet} == {
        account: locked_vault_name(prefix, account) for account, prefix in FLEET.items()
    }
    # The template is the program's builder's output: filled in, it is the policy archive.py gives.
    template = config.policy_template
    assert template is not None
    for account, prefix in FLEET.items():
        for name in (air_gapped_vault_name, locked_vault_name):
            arn = documents.vault_arn("us-east-1", REPORTS, name(prefix, account))
            assert policy_check.expected_policy(template, arn, account) == documents.copy_into_vault_policy(
                arn, account
            )


def test_an_account_without_a_locked_vault_is_read_without_one(org_config: dict[str, Any]) -> None:
    org_config[NS + "verifier"]["lockedVaults"] = ["111111111111"]
    graph = run_org(org_config)
    config = _read_back(graph)
    assert [a.account_id for a in config.fleet if a.locked_vault_name] == ["111111111111"]
    vaults = _statements(_named(graph, ROLE_POLICY, "verifier-vault-reader-policy"))[0]
    assert (
        documents.vault_arn("us-east-1", REPORTS, locked_vault_name("dr-prod", "111111111111"))
        in (vaults["Resource"])
    )
    assert not [arn for arn in vaults["Resource"] if arn.endswith("-locked") and "111111111111" not in arn]


def test_the_example_locked_vaults_are_the_stacks_that_protect_rds(org_config: dict[str, Any]) -> None:
    verifier = org_config[NS + "verifier"]
    fleet = dict(entry.split("=") for entry in verifier["fleet"])
    with_locked = set()
    for path in sorted(REPO.glob("Pulumi.*.yaml")):
        stack = parse_stack(
            from_namespaced(read_stack_config(stack_file(stack_name(path)))), stack_name(path)
        )
        if stack.accounts.workload in fleet and catalog.locked_vault_types(stack.active_types):
            with_locked.add(stack.accounts.workload)
    assert set(verifier["lockedVaults"]) == with_locked


def test_the_job_reader_lists_jobs_only(org_graph: StackGraph) -> None:
    [statement] = _statements(_named(org_graph, ROLE_POLICY, "verifier-job-reader-policy"))
    assert statement == {
        "Sid": "ListTheOrganisationsJobs",
        "Effect": "Allow",
        "Action": ["backup:ListBackupJobs", "backup:ListCopyJobs"],
        "Resource": "*",
    }


def test_the_function_may_do_what_the_runtime_does_and_no_more(org_graph: StackGraph) -> None:
    by_sid = {s["Sid"]: s for s in _function_policy(org_graph)}
    assert all(s["Effect"] == "Allow" for s in by_sid.values())
    assert by_sid["AssumeTheReaderRoles"]["Action"] == "sts:AssumeRole"
    assert sorted(by_sid["AssumeTheReaderRoles"]["Resource"]) == sorted([VAULT_READER, JOB_READER])
    assert by_sid["ReadAndWriteEvidence"]["Resource"] == f"arn:aws:s3:::{EVIDENCE_BUCKET}/verifier/accounts/*"
    assert sorted(by_sid["ReadAndWriteEvidence"]["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert by_sid["ListEvidencePrefix"]["Resource"] == f"arn:aws:s3:::{EVIDENCE_BUCKET}"
    assert by_sid["ListEvidencePrefix"]["Condition"] == {"StringLike": {"s3:prefix": "verifier/accounts/*"}}
    assert by_sid["PublishFindings"]["Resource"] == TOPIC_ARN
    key_arn = _named(org_graph, "aws:kms/key:Key", "verifier-key").computed["arn"]
    assert by_sid["EncryptFindingsForTheTopic"]["Resource"] == key_arn
    assert by_sid["PublishRunSummary"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "AwsDrBackup"}
    }
    # The silence check: a query on the job-event log group alone, and its results by ID.
    assert by_sid["QueryTheFleetsJobEvents"]["Action"] == "logs:StartQuery"
    assert by_sid["QueryTheFleetsJobEvents"]["Resource"] == (
        f"arn:aws:logs:us-east-1:{VERIFIER}:log-group:/aws/events/dr-org-backup-job-events:*"
    )
    assert sorted(by_sid["ReadTheQuerysResults"]["Action"]) == ["logs:GetQueryResults", "logs:StopQuery"]
    assert set(by_sid) == {
        "AssumeTheReaderRoles",
        "ReadAndWriteEvidence",
        "ListEvidencePrefix",
        "PublishFindings",
        "EncryptFindingsForTheTopic",
        "PublishRunSummary",
        "QueryTheFleetsJobEvents",
        "ReadTheQuerysResults",
    }
    # It reads AWS Backup only through the reader roles.
    actions = [
        a for s in by_sid.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if a.startswith("backup:")]


def test_running_in_the_isolated_account_reads_the_vaults_with_its_own_role(
    org_config: dict[str, Any],
) -> None:
    org_config[NS + "verifier"]["account"] = REPORTS
    graph = run_org(org_config)
    assert [r.name for r in graph.by_type(ROLE) if "reader" in r.name] == ["verifier-job-reader"]
    config = _read_back(graph)
    assert config.vault_reader_role is None
    assert config.job_reader_role == JOB_READER
    by_sid = {s["Sid"]: s for s in _function_policy(graph)}
    assert by_sid["AssumeTheReaderRoles"]["Resource"] == [JOB_READER]
    assert sorted(by_sid["ReadTheFleetsIsolatedVaults"]["Resource"]) == _isolated_vault_arns(REPORTS)
    assert by_sid["ReadTheIsolatedAccountsShares"]["Resource"] == "*"
    assert provider_of(graph, _named(graph, FUNCTION, "verifier-job-fn"))["account"] == REPORTS


def test_another_isolated_account_gets_its_own_provider(org_config: dict[str, Any]) -> None:
    verifier = org_config[NS + "verifier"]
    verifier["isolatedAccount"] = "444444444444"
    verifier["isolatedAccountRole"] = "AwsDrBackupDeployer"
    graph = run_org(org_config)
    reader = _named(graph, ROLE, "verifier-vault-reader")
    assert provider_of(graph, reader)["account"] == "444444444444"
    assert graph.by_urn()[reader.provider_urn].name == "verifier-isolated"
    assert (
        _read_back(graph).vault_reader_role == "arn:aws:iam::444444444444:role/dr-org-verifier-vault-reader"
    )


def test_without_a_delegated_administrator_the_management_account_lists_the_jobs(
    org_config: dict[str, Any],
) -> None:
    del org_config[NS + "accounts"]["delegatedAdministrator"]
    del org_config[NS + "roles"]["delegatedAdministrator"]
    graph = run_org(org_config)
    assert provider_of(graph, _named(graph, ROLE, "verifier-job-reader"))["account"] == MANAGEMENT
    config = _read_back(graph)
    assert config.delegated_admin_account == MANAGEMENT
    assert config.job_reader_role == f"arn:aws:iam::{MANAGEMENT}:role/dr-org-verifier-job-reader"


# --- evidence, topic, alarms ------------------------------------------------------------------------


def test_the_evidence_bucket_is_locked_and_written_by_the_verifier_alone(org_graph: StackGraph) -> None:
    bucket = _named(org_graph, BUCKET, "verifier-evidence-bucket")
    assert bucket.inputs["objectLockEnabled"] is True
    lock = _named(
        org_graph,
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "verifier-evidence-object-lock",
    )
    assert lock.inputs["bucket"] == EVIDENCE_BUCKET
    assert lock.inputs["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 90}
    policy = _named(org_graph, "aws:s3/bucketPolicy:BucketPolicy", "verifier-evidence-policy")
    by_sid = {s["Sid"]: s for s in _statements(policy)}
    assert set(by_sid) == {"DenyInsecureTransport", "OnlyTheVerifierWritesEvidence"}
    deny = by_sid["OnlyTheVerifierWritesEvidence"]
    assert deny["Effect"] == "Deny"
    assert sorted(deny["Action"]) == ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"]
    assert deny["Resource"] == f"arn:aws:s3:::{EVIDENCE_BUCKET}/*"
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": _function_role_arn(org_graph)}}
    # No statement of the bucket allows anything: writes come from the function role's own policy.
    assert [s for s in by_sid.values() if s["Effect"] == "Allow"] == []
    [rule] = _named(
        org_graph,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "verifier-evidence-lifecycle",
    ).inputs["rules"]
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 91


def test_the_topic_is_encrypted_and_mails_the_on_call(org_graph: StackGraph) -> None:
    topic = _named(org_graph, TOPIC, "verifier-topic")
    key = _named(org_graph, "aws:kms/key:Key", "verifier-key")
    assert topic.inputs["kmsMasterKeyId"] == key.computed["arn"]
    assert key.protect
    subscription = one(org_graph, "aws:sns/topicSubscription:TopicSubscription")
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == (
        "email",
        "security-oncall@example.com",
    )
    grants = [s for s in _statements(key) if s["Sid"] != "OwnerAccountAdministersThroughIam"]
    # The alarms and the event bus's rules encrypt for this topic only.
    assert [s["Principal"] for s in grants] == [
        {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]}
    ]
    assert grants[0]["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"] == TOPIC_ARN
    topic_policy = _named(org_graph, "aws:sns/topicPolicy:TopicPolicy", "verifier-topic-policy")
    allowed = [s for s in _statements(topic_policy) if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allowed] == [
        {"Service": "events.amazonaws.com"},
        {"Service": "cloudwatch.amazonaws.com"},
    ]
    assert [s["Condition"]["StringEquals"] for s in allowed] == [{"aws:SourceAccount": VERIFIER}] * 2


def _alarm(graph: StackGraph, name: str) -> dict[str, Any]:
    return _named(graph, ALARM, name).inputs


def test_alarms_on_findings_errors_and_silence(org_graph: StackGraph) -> None:
    topic_arn = _named(org_graph, TOPIC, "verifier-topic").computed["arn"]
    findings = _alarm(org_graph, "verifier-findings")
    assert (findings["namespace"], findings["metricName"]) == ("AwsDrBackup", "VerifierFindings")
    assert "dimensions" not in findings  # the total, not one kind
    assert (findings["comparisonOperator"], findings["threshold"]) == ("GreaterThanThreshold", 0)
    errors = _alarm(org_graph, "verifier-errors")
    assert (errors["namespace"], errors["metricName"]) == ("AWS/Lambda", "Errors")
    assert errors["dimensions"] == {"FunctionName": "dr-org-backup-verifier"}
    silent = _alarm(org_graph, "verifier-silent")
    assert (silent["namespace"], silent["metricName"], silent["dimensions"]) == (
        "AwsDrBackup",
        "DoneItems",
        {"Job": "verifier"},
    )
    assert silent["treatMissingData"] == "breaching"
    assert (silent["comparisonOperator"], silent["threshold"], silent["statistic"]) == (
        "LessThanThreshold",
        1,
        "SampleCount",
    )
    # Every 6 hours: seven empty hours in a row mean a run is missing.
    assert (silent["period"], silent["evaluationPeriods"], silent["datapointsToAlarm"]) == (3600, 7, 7)
    for alarm in (findings, errors, silent):
        assert alarm["alarmActions"] == [topic_arn]


def test_the_silence_alarm_follows_the_schedule(org_config: dict[str, Any]) -> None:
    org_config[NS + "verifier"]["schedule"] = "rate(1 hour)"
    silent = _alarm(run_org(org_config), "verifier-silent")
    assert (silent["evaluationPeriods"], silent["datapointsToAlarm"]) == (2, 2)


def test_parse_keeps_the_runtime_defaults(org_config: dict[str, Any]) -> None:
    raw = {k.removeprefix(NS): v for k, v in org_config.items()}
    del raw["verifier"]["thresholds"]
    thresholds = parse(raw, "management").verifier.thresholds  # type: ignore[union-attr]
    assert thresholds.drop_percent == runtime.DEFAULT_DROP_PERCENT
    assert thresholds.baseline_days == runtime.DEFAULT_BASELINE_DAYS
