"""Every runtime command stops with one line and a documented exit code, never a traceback, and every
Lambda handler logs one structured line before it raises.

Subprocess runs (a bare environment: no region, no credentials) prove what a user's shell shows; the
AWS refusals (access denied, throttling, expired credentials, metrics) run in-process through
``main(argv, clients=...)`` with botocore Stubbers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dr_runtime.bridges import memorydb, opensearch
from dr_runtime.errors import EXIT_CODES_HELP, AwsUnavailableError, ConfigError, Kind
from dr_runtime.operations import coverage, watchdog
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.report import RunSummary
from dr_runtime.settings import Setting, region

from .conftest import ACCOUNT, REGION, StubbedClients, bare_environment

ROOT = Path(__file__).resolve().parents[2]
ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/dr-operations/session-1"
SNAPSHOT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/dr-opensearch-snapshot"
OS_BUCKET = "dr-prod-search-opensearch-snapshots"
MDB_BUCKET = "dr-prod-cache-memorydb-snapshots"
NO_REGION = "no AWS region: pass --region or set AWS_REGION"
NO_CREDENTIALS = "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an IAM role"

# module, job name on its lines, arguments it needs besides the region
COMMANDS: dict[str, tuple[ModuleType, str, list[str]]] = {
    "watchdog": (watchdog, "watchdog", []),
    "coverage": (coverage, "coverage", []),
    "opensearch": (
        opensearch,
        "opensearch-snapshot-bridge",
        ["--bucket", OS_BUCKET, "--role-arn", SNAPSHOT_ROLE],
    ),
    "memorydb": (memorydb, "memorydb-snapshot-bridge", ["--bucket", MDB_BUCKET]),
}


def denied(action: str, resource: str) -> str:
    return (
        f"User: {ROLE} is not authorized to perform: {action} on resource: {resource} because no "
        f"identity-based policy allows the {action} action"
    )


@pytest.fixture(scope="module")
def bare_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, bool], subprocess.CompletedProcess[str]]:
    """Each command run as ``python -m`` in a bare environment, without and with ``--region``; all eight at
    once, so the module costs about as long as its slowest run."""
    env = bare_environment(str(tmp_path_factory.mktemp("home")))

    def launch(name: str, with_region: bool) -> subprocess.CompletedProcess[str]:
        module, _, extra = COMMANDS[name]
        # The coverage report used to fail even with --no-metrics; run it that way.
        flags = ["--no-metrics"] if name == "coverage" else []
        argv = [
            sys.executable,
            "-m",
            module.__name__,
            *extra,
            *flags,
            *(["--region", REGION] if with_region else []),
        ]
        return subprocess.run(
            argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )

    keys = [(name, with_region) for name in COMMANDS for with_region in (False, True)]
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return dict(zip(keys, pool.map(lambda key: launch(*key), keys), strict=True))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_without_a_region_each_command_exits_2_with_one_line(
    name: str, bare_runs: dict[tuple[str, bool], subprocess.CompletedProcess[str]]
) -> None:
    result = bare_runs[(name, False)]
    job = COMMANDS[name][1]

    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"{job}: {NO_REGION}\n")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_without_credentials_each_command_exits_3_with_one_line(
    name: str, bare_runs: dict[tuple[str, bool], subprocess.CompletedProcess[str]]
) -> None:
    result = bare_runs[(name, True)]
    job = COMMANDS[name][1]

    assert "Traceback" not in result.stderr
    assert (result.returncode, result.stdout, result.stderr) == (3, "", f"{job}: {NO_CREDENTIALS}\n")


def refuse_first_call(name: str, stubbed: StubbedClients, code: str, message: str) -> None:
    """Answer each command's first call (the one its whole run depends on) with an error."""
    if name == "watchdog":
        stubbed.stub("backup").add_client_error("list_backup_jobs", code, message, 400)
    elif name == "coverage":
        stubbed.stub("backup").add_client_error("list_protected_resources", code, message, 400)
    elif name == "opensearch":
        stubbed.stub("s3").add_response("head_bucket", {}, {"Bucket": OS_BUCKET})
        stubbed.stub("opensearch").add_client_error("list_domain_names", code, message, 400)
    else:
        stubbed.stub("s3").add_response("head_bucket", {}, {"Bucket": MDB_BUCKET})
        stubbed.stub("s3").add_response(
            "list_objects_v2", {"KeyCount": 0}, {"Bucket": MDB_BUCKET, "Prefix": "dr-export-"}
        )
        stubbed.stub("memorydb").add_client_error("describe_clusters", code, message, 400)


FIRST_CALL = {
    "watchdog": ("backup:ListBackupJobs", "*", "ListBackupJobs"),
    "coverage": ("backup:ListProtectedResources", "*", "ListProtectedResources"),
    "opensearch": ("es:ListDomainNames", "*", "ListDomainNames"),
    "memorydb": (
        "memorydb:DescribeClusters",
        f"arn:aws:memorydb:{REGION}:{ACCOUNT}:cluster/*",
        "DescribeClusters",
    ),
}


def run_main(name: str, stubbed: StubbedClients, *extra: str) -> int:
    module, _, needed = COMMANDS[name]
    main: Callable[..., int] = module.main
    return main([*needed, "--region", REGION, *extra], clients=stubbed)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_access_denied_stops_each_command_with_one_line_naming_the_action(
    name: str, stubbed: StubbedClients, capsys: pytest.CaptureFixture[str]
) -> None:
    action, resource, _ = FIRST_CALL[name]
    refuse_first_call(name, stubbed, "AccessDeniedException", denied(action, resource))

    code = run_main(name, stubbed)

    captured = capsys.readouterr()
    job = COMMANDS[name][1]
    assert (code, captured.out) == (3, "")
    assert (
        captured.err == f"{job}: access denied: {action} on {resource} for {ROLE} (AccessDeniedException)\n"
    )


@pytest.mark.parametrize("name", list(COMMANDS))
def test_throttling_after_retries_stops_each_command_with_one_line(
    name: str, stubbed: StubbedClients, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Stubber answers after botocore's retry loop, so this is the error left once retries are spent.
    refuse_first_call(name, stubbed, "ThrottlingException", "Rate exceeded")

    code = run_main(name, stubbed)

    captured = capsys.readouterr()
    operation = FIRST_CALL[name][2]
    assert (code, captured.out) == (3, "")
    assert captured.err == (
        f"{COMMANDS[name][1]}: throttled by AWS after the SDK's retries: {operation} (ThrottlingException); "
        "run again later\n"
    )


def test_expired_credentials_stop_the_run_even_on_one_item(
    stubbed: StubbedClients, capsys: pytest.CaptureFixture[str]
) -> None:
    # One cluster's snapshot listing is an item; an expired token would fail every other call the same way.
    refuse_first_call("memorydb", stubbed, "", "")
    stubbed.stub("memorydb")._queue.clear()
    stubbed.stub("memorydb").add_response(
        "describe_clusters", {"Clusters": [{"Name": "cache-a"}, {"Name": "cache-b"}]}
    )
    stubbed.stub("memorydb").add_client_error(
        "describe_snapshots", "ExpiredTokenException", "The security token included in the request is expired"
    )

    code = run_main("memorydb", stubbed, "--no-metrics")

    assert code == 3
    assert capsys.readouterr().err == (
        "memorydb-snapshot-bridge: AWS rejected the credentials (ExpiredTokenException): The security token "
        "included in the request is expired; refresh or replace them\n"
    )


def test_credentials_rejected_inside_an_item_are_not_swallowed_by_the_loop_around_it(
    stubbed: StubbedClients, capsys: pytest.CaptureFixture[str]
) -> None:
    # CopySnapshot has its own handler inside the per-cluster one; neither may turn this into an item.
    answer_a_clean_run("memorydb", stubbed)
    stubbed.stub("memorydb")._queue.clear()
    stubbed.stub("memorydb").add_response("describe_clusters", {"Clusters": [{"Name": "cache-a"}]})
    shard = {"Name": "0001", "SnapshotCreationTime": datetime.now(UTC)}
    stubbed.stub("memorydb").add_response(
        "describe_snapshots",
        {
            "Snapshots": [
                {"Name": "cache-a-1", "Status": "available", "ClusterConfiguration": {"Shards": [shard]}}
            ]
        },
    )
    stubbed.stub("memorydb").add_client_error(
        "copy_snapshot", "InvalidClientTokenId", "The token is invalid."
    )

    code = run_main("memorydb", stubbed, "--no-metrics")

    assert code == 3
    assert capsys.readouterr().err == (
        "memorydb-snapshot-bridge: AWS rejected the credentials (InvalidClientTokenId): The token is invalid.; "
        "refresh or replace them\n"
    )


def test_access_denied_on_the_bridge_bucket_names_the_permission(
    stubbed: StubbedClients, capsys: pytest.CaptureFixture[str]
) -> None:
    # HeadBucket answers 403 without a body, so the code is the status.
    stubbed.stub("s3").add_client_error("head_bucket", "403", "Forbidden", 403)

    code = run_main("opensearch", stubbed)

    assert code == 3
    assert capsys.readouterr().err == (
        f"opensearch-snapshot-bridge: access denied: s3:ListBucket on arn:aws:s3:::{OS_BUCKET} (HeadBucket "
        "answered 403): the role lacks s3:ListBucket on it, or another account owns it\n"
    )


def answer_a_clean_run(name: str, stubbed: StubbedClients) -> None:
    if name == "watchdog":
        backup = stubbed.stub("backup")
        backup.add_response("list_backup_jobs", {"BackupJobs": []})
        backup.add_response("list_backup_jobs", {"BackupJobs": []})
        backup.add_response("list_copy_jobs", {"CopyJobs": []})
    elif name == "coverage":
        stubbed.stub("backup").add_response("list_protected_resources", {"Results": []})
        stubbed.stub("efs").add_response("describe_file_systems", {"FileSystems": []})
    elif name == "opensearch":
        stubbed.stub("s3").add_response("head_bucket", {}, {"Bucket": OS_BUCKET})
        stubbed.stub("opensearch").add_response("list_domain_names", {"DomainNames": []})
    else:
        refuse_first_call("memorydb", stubbed, "", "")
        stubbed.stub("memorydb")._queue.clear()
        stubbed.stub("memorydb").add_response("describe_clusters", {"Clusters": []})


@pytest.mark.parametrize("name", list(COMMANDS))
def test_metrics_refused_after_a_clean_summary_keep_the_summary_and_exit_3(
    name: str, stubbed: StubbedClients, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    answer_a_clean_run(name, stubbed)
    stubbed.stub("cloudwatch").add_client_error(
        "put_metric_data", "AccessDenied", denied("cloudwatch:PutMetricData", "*"), 403
    )
    extra = ["--types", "EFS"] if name == "coverage" else []

    with caplog.at_level("INFO", logger="aws_dr_backup"):
        code = run_main(name, stubbed, *extra)

    job = COMMANDS[name][1]
    [summary] = [json.loads(r.message) for r in caplog.records if '"run-summary"' in r.message]
    assert summary["job"] == job
    assert summary["counts"]["failed"] == 0
    assert code == 3
    assert capsys.readouterr().err == (
        f"{job}: metrics not published: access denied: cloudwatch:PutMetricData on * for {ROLE} (AccessDenied)\n"
    )


def test_metrics_refused_after_failed_items_say_so_too() -> None:
    class Refusing:
        def put_metric_data(self, **_: Any) -> None:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": ""}}, "PutMetricData")

    summary = RunSummary("watchdog", failed={"job-1": "publish: access denied: Publish (AuthorizationError)"})

    with pytest.raises(AwsUnavailableError) as stopped:
        summary.finish(Refusing())

    assert stopped.value.problem.kind is Kind.METRICS_NOT_PUBLISHED
    assert str(stopped.value) == (
        "metrics not published: access denied: PutMetricData (AccessDenied); 1 item(s) failed too (see the summary)"
    )


def test_watchdog_prints_its_list_before_metrics_fail(
    stubbed: StubbedClients, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_a_clean_run("watchdog", stubbed)
    stubbed.stub("cloudwatch").add_client_error("put_metric_data", "Throttling", "Rate exceeded", 400)

    code = watchdog.main([], clients=stubbed)

    captured = capsys.readouterr()
    assert code == 3
    assert captured.out == "0 job(s) older than 330 minutes\n"
    assert captured.err == (
        "watchdog: metrics not published: throttled by AWS after the SDK's retries: PutMetricData (Throttling); "
        "run again later\n"
    )


def stopped_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.message) for r in caplog.records if '"job-stopped"' in r.message]


def test_watchdog_handler_logs_one_structured_line_and_raises_its_own_error(
    stubbed: StubbedClients, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("DR_ALERT_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:dr-alerts")
    monkeypatch.setattr(watchdog, "client_factory", lambda region=None: stubbed)
    refuse_first_call("watchdog", stubbed, "AccessDeniedException", denied("backup:ListBackupJobs", "*"))

    with caplog.at_level("INFO", logger="aws_dr_backup"), pytest.raises(AwsUnavailableError) as stopped:
        watchdog.handler({"time": "2026-03-01T12:00:00Z"}, None)

    # Lambda records the project's exception, not the SDK's chain.
    assert stopped.value.__cause__ is None
    assert stopped.value.__suppress_context__
    assert stopped_lines(caplog) == [
        {
            "event": "job-stopped",
            "job": "watchdog",
            "reason": "access-denied",
            "error": f"access denied: backup:ListBackupJobs on * for {ROLE} (AccessDeniedException)",
        }
    ]


def test_bridge_handler_without_credentials_logs_one_structured_line(
    no_aws_settings: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("DR_MEMORYDB_BUCKET", MDB_BUCKET)

    with (
        caplog.at_level("INFO", logger="aws_dr_backup"),
        pytest.raises(AwsUnavailableError, match="no AWS credentials"),
    ):
        memorydb.handler({}, None)

    assert [line["reason"] for line in stopped_lines(caplog)] == ["no-credentials"]
    # The run stopped at the bucket check: no summary claims that anything was looked at.
    assert not [r for r in caplog.records if '"run-summary"' in r.message]


def test_coverage_handler_without_a_region_names_the_setting(
    no_aws_settings: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="aws_dr_backup"), pytest.raises(ConfigError, match=NO_REGION):
        coverage.handler({}, None)

    assert stopped_lines(caplog) == [
        {"event": "job-stopped", "job": "coverage", "reason": "bad-settings", "error": NO_REGION}
    ]


def test_opt_out_value_has_a_flag_that_wins_over_the_variable() -> None:
    env = {"AWS_REGION": REGION, "DR_OPT_OUT_VALUE": "yes"}

    from_env = CoverageConfig.from_settings(env)
    from_flag = CoverageConfig.from_settings(
        env, coverage.parser().parse_args(["--opt-out-value", "excluded"])
    )

    assert from_env.selection.opt_out_value == "yes"
    assert from_flag.selection.opt_out_value == "excluded"
    with pytest.raises(ConfigError, match=r"^--opt-out-value \(DR_OPT_OUT_VALUE\) must not be empty$"):
        CoverageConfig.from_settings(env, coverage.parser().parse_args(["--opt-out-value", ""]))


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        (
            {"DR_PUBLISH_METRICS": "sometimes"},
            [],
            r"^--no-metrics \(DR_PUBLISH_METRICS\) = 'sometimes': must be true or false$",
        ),
        ({"DR_ACCOUNT_ID": "1111"}, [], r"^--account-id \(DR_ACCOUNT_ID\) = '1111': must be 12 digits$"),
        (
            {},
            ["--kubernetes-cluster", "prod/*"],
            r"^--kubernetes-cluster \(DR_KUBERNETES_CLUSTERS\): 'prod/\*'",
        ),
        (
            {"DR_OPT_OUT_TAG": "  "},
            ["--opt-out-tag", ""],
            r"^--opt-out-tag \(DR_OPT_OUT_TAG\) must not be empty$",
        ),
    ],
)
def test_coverage_settings_errors_name_flag_and_variable(
    env: dict[str, str], argv: list[str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        CoverageConfig.from_settings({"AWS_REGION": REGION, **env}, coverage.parser().parse_args(argv))


def test_commands_find_the_region_of_the_aws_profile(
    no_aws_settings: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile dr]\nregion = us-east-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "dr")

    assert region({}, None, profile=True) == "us-east-2"
    with pytest.raises(ConfigError, match=NO_REGION):
        region({}, None)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_lists_the_exit_codes_and_every_variable(name: str) -> None:
    module = COMMANDS[name][0]
    text = " ".join(module.parser().format_help().split())

    assert " ".join(EXIT_CODES_HELP.split()) in text
    for setting in settings_of(module):
        assert setting.flag in text
        assert setting.env is not None
        assert setting.env in text


def settings_of(module: ModuleType) -> list[Setting]:
    from dr_runtime.settings import PUBLISH_METRICS, REGION

    found = [value for value in vars(module).values() if isinstance(value, Setting)]
    return [*found, REGION, PUBLISH_METRICS]


@pytest.mark.parametrize(
    ("name", "readme"),
    [
        ("watchdog", "dr_runtime/operations/README.md"),
        ("coverage", "dr_runtime/operations/README.md"),
        ("opensearch", "dr_runtime/bridges/README.md"),
        ("memorydb", "dr_runtime/bridges/README.md"),
    ],
)
def test_readme_tables_pair_every_variable_with_its_flag(name: str, readme: str) -> None:
    rows = [line for line in (ROOT / readme).read_text().splitlines() if line.startswith("|")]
    for setting in settings_of(COMMANDS[name][0]):
        pairs = [row for row in rows if f"`{setting.env}`" in row and f"`{setting.flag}`" in row]
        assert pairs, f"{readme}: no table row pairs `{setting.env}` with `{setting.flag}`"
