"""Engine/vault drift of clusters, S3 prerequisites and CloudTrail coverage of the key-threat alert.

moto serves the inventory (S3, CloudWatch); Stubber serves RDS, AWS Backup and CloudTrail (moto cannot
read a multi-Region trail's selectors from another Region, nor model DocumentDB); ``KeyedStub`` serves
the per-bucket calls, which run concurrently (moto does not return ``EventBridgeConfiguration``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dr_model import catalog
from dr_runtime.aws import client
from dr_runtime.errors import ConfigError
from dr_runtime.operations import coverage, trails
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.report import JobFailedError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RECENT = NOW - timedelta(hours=3)
ACCOUNT = "111111111111"
REGION = "us-east-1"
DR = "us-east-2"
OPT_OUT = "exclude-disaster-recovery-backup"
TAG = catalog.CLUSTER_ENGINE_TAG
VAULTS = {
    name: f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:dr-prod-{name.lower()}"
    for name in ("Aurora", "DocumentDB", "Neptune")
}
CALLS = "DisableKey,ScheduleKeyDeletion"


def cluster_arn(name: str) -> str:
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{name}"


def cluster(name: str, engine: str, **tags: str) -> dict[str, Any]:
    return {
        "DBClusterIdentifier": name,
        "DBClusterArn": cluster_arn(name),
        "Engine": engine,
        "TagList": [{"Key": k.replace("_", "-"), "Value": v} for k, v in tags.items()],
    }


def config(**env: str) -> CoverageConfig:
    return CoverageConfig.from_settings(
        {"AWS_REGION": REGION, "DR_CLUSTER_VAULTS": json.dumps(VAULTS), **env}
    )


# --- engine / vault drift ---------------------------------------------------------------------------

CLUSTERS = [
    cluster("docdb-untagged", "docdb"),
    cluster("docdb-tagged", "docdb", dr_backup_engine="documentdb"),
    cluster("neptune-moved", "neptune", dr_backup_engine="neptune"),
    cluster("aurora-tagged-neptune", "aurora-mysql", dr_backup_engine="neptune"),
    cluster("aurora-plain", "aurora-postgresql"),
    cluster("docdb-opted-out", "docdb", **{OPT_OUT: "true"}),
    cluster("multi-az", "postgres"),
]
LAST_VAULTS = {
    "docdb-untagged": VAULTS["Aurora"],
    "docdb-tagged": VAULTS["DocumentDB"],
    # Tagged since its last backup: the next one goes to the Neptune vault.
    "neptune-moved": VAULTS["Aurora"],
    "aurora-plain": VAULTS["Aurora"],
    "docdb-opted-out": VAULTS["Aurora"],
    "multi-az": VAULTS["Aurora"],
}


def stub_clusters(clients: Any, clusters: list[dict[str, Any]], last_vaults: dict[str, str]) -> None:
    clients.stub("backup").add_response(
        "list_protected_resources",
        {
            "Results": [
                {"ResourceArn": cluster_arn(name), "LastBackupTime": RECENT, "LastBackupVaultArn": vault}
                for name, vault in last_vaults.items()
            ]
        },
        {"MaxResults": 1000},
    )
    clients.stub("rds").add_response("describe_db_clusters", {"DBClusters": clusters}, {"MaxRecords": 100})


def test_clusters_whose_engine_does_not_match_their_vault(clients: Any) -> None:
    stub_clusters(clients, CLUSTERS, LAST_VAULTS)

    report = coverage.collect(config(DR_COVERAGE_TYPES="Aurora,DocumentDB,Neptune"), clients, NOW)

    assert {f.name: f.reason for f in report.engine_mismatch} == {
        "docdb-untagged": (
            f"engine docdb (DocumentDB): {TAG}=(none) routes it to the Aurora plans and vault; "
            f"tag it {TAG}=documentdb; its last recovery point is in the Aurora vault"
        ),
        "neptune-moved": "engine neptune (Neptune): its last recovery point is in the Aurora vault",
        "aurora-tagged-neptune": (
            f"engine aurora-mysql (Aurora): {TAG}=neptune routes it to the Neptune plans and vault; "
            f"remove {TAG}=neptune"
        ),
    }
    docdb = next(f for f in report.engine_mismatch if f.name == "docdb-untagged")
    assert (docdb.type, docdb.routed_to, docdb.last_vault) == ("DocumentDB", "Aurora", "Aurora")
    table = coverage.render_table(report)
    assert "Clusters whose engine does not match their vault: 3" in table
    assert f"  DocumentDB  {cluster_arn('docdb-untagged')}  engine docdb (DocumentDB)" in table
    assert len(report.as_dict()["engine_mismatch"]) == 3
    assert report.findings_per_check()["engine-vault"] == 3
    clients.assert_stubs_used()


def test_routing_follows_the_protected_types(clients: Any) -> None:
    # DocumentDB switched off: its tag is nobody's claim, so the cluster falls back to the Aurora plans;
    # with Aurora off too, an untagged Aurora cluster is in no plan at all.
    stub_clusters(
        clients,
        [
            cluster("docdb-tagged", "docdb", dr_backup_engine="documentdb"),
            cluster("aurora-plain", "aurora-mysql"),
        ],
        {},
    )

    report = coverage.collect(
        config(DR_COVERAGE_TYPES="Aurora,DocumentDB", DR_PROTECTED_TYPES="DocumentDB,Neptune"), clients, NOW
    )

    assert report.engine_mismatch == []
    assert report.per_type["Aurora"].not_routed == 1
    assert report.per_type["Aurora"].selected == 0
    assert [(f.name, f.detail) for f in report.excluded] == [
        ("aurora-plain", f"no protected type's plans take clusters with {TAG}=(none)")
    ]

    stub_clusters(clients, [cluster("docdb-tagged", "docdb", dr_backup_engine="documentdb")], {})
    report = coverage.collect(
        config(DR_COVERAGE_TYPES="DocumentDB", DR_PROTECTED_TYPES="Aurora,Neptune"), clients, NOW
    )
    assert [f.reason for f in report.engine_mismatch] == [
        f"engine docdb (DocumentDB): {TAG}=documentdb routes it to the Aurora plans and vault; "
        "DocumentDB is not protected by this stack"
    ]


# --- S3 prerequisites ---------------------------------------------------------------------------------


def buckets_fixture(clients: Any, keyed_stub: Any) -> Any:
    s3 = clients("s3")
    for name in (
        "dr-ok",
        "dr-eventbridge-off",
        "dr-suspended",
        "dr-never-versioned",
        "dr-denied",
        "dr-opted-out",
    ):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket="dr-opted-out", Tagging={"TagSet": [{"Key": OPT_OUT, "Value": "true"}]})
    client("s3", "us-west-2").create_bucket(
        Bucket="dr-west", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    clients.stub("backup").add_response(
        "list_protected_resources",
        {"Results": [{"ResourceArn": "arn:aws:s3:::dr-eventbridge-off", "LastBackupTime": RECENT}]},
    )
    stub = keyed_stub(s3, "Bucket")
    for name, status in (
        ("dr-ok", "Enabled"),
        ("dr-eventbridge-off", "Enabled"),
        ("dr-suspended", "Suspended"),
    ):
        stub.add("get_bucket_versioning", name, {"Status": status})
    stub.add("get_bucket_versioning", "dr-never-versioned", {})
    stub.add_error("get_bucket_versioning", "dr-denied", "AccessDenied", "Access Denied")
    for name in ("dr-ok", "dr-suspended", "dr-never-versioned", "dr-denied"):
        stub.add("get_bucket_notification_configuration", name, {"EventBridgeConfiguration": {}})
    stub.add("get_bucket_notification_configuration", "dr-eventbridge-off", {"TopicConfigurations": []})
    return stub


def test_buckets_aws_backup_cannot_protect_are_named(clients: Any, keyed_stub: Any) -> None:
    stub = buckets_fixture(clients, keyed_stub)

    report = coverage.collect(config(DR_COVERAGE_TYPES="S3"), clients, NOW)

    assert [(f.bucket, f.check, f.reason) for f in report.bucket_findings] == [
        (
            "dr-denied",
            "s3-unreadable",
            "cannot read versioning: access denied: GetBucketVersioning (AccessDenied): Access Denied",
        ),
        (
            "dr-eventbridge-off",
            "s3-eventbridge",
            "S3 -> EventBridge notifications are off: continuous backup cannot follow changes since they "
            "were turned off (a tool that rewrites the notification configuration drops them)",
        ),
        (
            "dr-never-versioned",
            "s3-versioning",
            "versioning was never enabled: AWS Backup cannot back up a bucket unless versioning is Enabled",
        ),
        (
            "dr-suspended",
            "s3-versioning",
            "versioning is Suspended: AWS Backup cannot back up a bucket unless versioning is Enabled",
        ),
    ]
    # The opted-out bucket and the other Region's bucket are never asked about.
    assert {bucket for _op, bucket in stub.calls} == {
        "dr-ok",
        "dr-eventbridge-off",
        "dr-suspended",
        "dr-never-versioned",
        "dr-denied",
    }
    assert len(stub.calls) == 10
    assert report.findings_per_check() == {
        "s3-versioning": 2,
        "s3-eventbridge": 1,
        "s3-unreadable": 1,
    }
    table = coverage.render_table(report)
    assert "S3 buckets AWS Backup cannot protect as planned: 4" in table
    assert "  dr-suspended  s3-versioning: versioning is Suspended" in table
    document = report.as_dict()
    assert {f["bucket"] for f in document["bucket_findings"]} == {
        "dr-denied",
        "dr-eventbridge-off",
        "dr-never-versioned",
        "dr-suspended",
    }
    assert document["skipped_checks"] == {
        "rds-windows": "--plan-start-windows (DR_PLAN_START_WINDOWS) is not set",
        "cloudtrail": "--trail-region (DR_TRAIL_REGIONS) is not set",
        "engine-vault": "no Aurora, DocumentDB or Neptune clusters were listed",
        "audit-frameworks": "--audit (DR_AUDIT) is not set",
        "config-recording": "--audit (DR_AUDIT) is not set",
    }


def test_bucket_checks_wait_for_the_bucket_listing(clients: Any) -> None:
    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    clients.stub("resourcegroupstaggingapi").add_client_error(
        "get_resources", "AccessDeniedException", "no", 400
    )

    report = coverage.collect(config(DR_COVERAGE_TYPES="S3"), clients, NOW)

    assert report.failed_types == {"S3": "access denied: GetResources (AccessDeniedException): no"}
    assert report.skipped_checks["s3"] == "the buckets could not be listed"
    assert not set(report.findings_per_check()) & {"s3-versioning", "s3-eventbridge", "s3-unreadable"}


# --- CloudTrail ---------------------------------------------------------------------------------------


def trail(name: str, home: str, multi_region: bool, organization: bool = False) -> dict[str, Any]:
    return {
        "Name": name,
        "TrailARN": f"arn:aws:cloudtrail:{home}:{ACCOUNT}:trail/{name}",
        "HomeRegion": home,
        "IsMultiRegionTrail": multi_region,
        "IsOrganizationTrail": organization,
    }


BASIC_ALL = {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}


@pytest.mark.parametrize(
    ("selectors", "covered"),
    [
        (BASIC_ALL, True),
        ({"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}, True),
        ({"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]}, False),
        ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]}, False),
        (
            {
                "EventSelectors": [
                    {
                        "ReadWriteType": "All",
                        "IncludeManagementEvents": True,
                        "ExcludeManagementEventSources": ["kms.amazonaws.com"],
                    }
                ]
            },
            False,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
                ]
            },
            True,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ]
                    }
                ]
            },
            False,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                        ]
                    }
                ]
            },
            False,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "eventName", "Equals": ["DisableKey"]},
                        ]
                    }
                ]
            },
            False,  # ScheduleKeyDeletion is not recorded
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "eventName", "StartsWith": ["Disable", "Schedule"]},
                        ]
                    }
                ]
            },
            True,
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}
                ]
            },
            False,
        ),
        ({"EventSelectors": [], "AdvancedEventSelectors": []}, False),
    ],
)
def test_which_selectors_record_the_watched_kms_calls(selectors: dict[str, Any], covered: bool) -> None:
    assert trails.selects_kms_writes(selectors, CALLS.split(",")) is covered


def test_without_named_calls_an_event_name_filter_does_not_count() -> None:
    by_name = {
        "AdvancedEventSelectors": [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "eventName", "StartsWith": ["D"]},
                ]
            }
        ]
    }
    assert trails.selects_kms_writes(by_name) is False
    assert trails.selects_kms_writes(BASIC_ALL) is True


class Regional:
    """Client factories per Region, as the handler makes them, sharing the test's stubs."""

    def __init__(self, factories: dict[str, Any]) -> None:
        self.factories = factories
        self.asked: list[str] = []

    def __call__(self, region: str) -> Any:
        self.asked.append(region)
        return self.factories[region]


def stub_trails(
    stub: Any, region: str, listed: list[dict[str, Any]], checks: list[tuple[str, Any, Any]]
) -> None:
    stub.add_response("describe_trails", {"trailList": listed}, {"includeShadowTrails": True})
    for arn, logging, selectors in checks:
        if isinstance(logging, str):
            stub.add_client_error(
                "get_trail_status", logging, "not yours", 400, expected_params={"Name": arn}
            )
            continue
        stub.add_response("get_trail_status", {"IsLogging": logging}, {"Name": arn})
        if logging:
            stub.add_response("get_event_selectors", selectors, {"TrailName": arn})


def test_each_alert_region_needs_a_trail_that_logs_kms_writes(clients: Any, aws_env: None) -> None:
    from tests.operations.conftest import Clients

    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    home = clients.stub("cloudtrail")
    org = trail("org", "eu-west-1", multi_region=True, organization=True)
    local = trail("audit", REGION, multi_region=False)
    readonly = trail("reads", REGION, multi_region=False)
    # us-east-1: the organization trail cannot be read from here; the local trail is not logging; the
    # read-only trail does not count.
    stub_trails(
        home,
        REGION,
        [org, local, readonly, trail("elsewhere", "eu-west-1", multi_region=False)],
        [
            (local["TrailARN"], False, None),
            (readonly["TrailARN"], True, {"EventSelectors": [{"ReadWriteType": "ReadOnly"}]}),
            (org["TrailARN"], "TrailNotFoundException", None),
        ],
    )
    dr_clients = Clients(DR)
    dr_trail = trail("dr-audit", DR, multi_region=False)
    stub_trails(dr_clients.stub("cloudtrail"), DR, [dr_trail], [(dr_trail["TrailARN"], True, BASIC_ALL)])
    regional = Regional({DR: dr_clients})

    report = coverage.collect(
        config(DR_COVERAGE_TYPES="EFS", DR_TRAIL_REGIONS=f"{REGION},{DR}", DR_KEY_THREAT_CALLS=CALLS),
        clients,
        NOW,
        regional=regional,
    )

    assert regional.asked == [DR]
    by_region = {t.region: t for t in report.trail_coverage}
    assert by_region[DR].covered
    assert by_region[DR].trail == "dr-audit"
    assert not by_region[REGION].covered
    assert by_region[REGION].reason == (
        "no trail logs KMS management events in us-east-1, so the key-threat alert never fires there: "
        "audit is not logging; reads does not select KMS write management events; "
        "org cannot be read (TrailNotFoundException: not yours)"
    )
    assert report.findings_per_check()["cloudtrail"] == 1
    assert "  us-east-1   MISSING: no trail logs KMS management events in us-east-1" in coverage.render_table(
        report
    )
    assert report.as_dict()["cloudtrail"][1] == {
        "region": DR,
        "covered": True,
        "trail": "dr-audit",
        "reason": "trail dr-audit logs KMS write management events in us-east-2",
    }
    clients.assert_stubs_used()
    dr_clients.assert_stubs_used()


def test_a_region_whose_trails_cannot_be_listed_fails_the_run(clients: Any) -> None:
    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    clients.stub("cloudtrail").add_client_error("describe_trails", "AccessDeniedException", "denied", 400)
    cfg = config(DR_COVERAGE_TYPES="EFS", DR_TRAIL_REGIONS=REGION)

    report = coverage.collect(cfg, clients, NOW)

    assert report.failed_checks == {
        "cloudtrail": "us-east-1: access denied: DescribeTrails (AccessDeniedException): denied"
    }
    assert "cloudtrail" not in report.findings_per_check()
    assert (
        "FAILED check cloudtrail: us-east-1: access denied: DescribeTrails (AccessDeniedException): denied"
        in coverage.render_table(report)
    )
    with pytest.raises(JobFailedError, match="check:cloudtrail"):
        coverage.finish(report, cfg, clients)
    published = clients("cloudwatch").list_metrics(MetricName="PrerequisiteFindings")["Metrics"]
    checks = {d["Value"] for m in published for d in m["Dimensions"] if d["Name"] == "Check"}
    assert checks == set()


def test_prerequisite_metrics_per_check_and_in_total(clients: Any, keyed_stub: Any) -> None:
    buckets_fixture(clients, keyed_stub)
    cfg = config(DR_COVERAGE_TYPES="S3")

    report = coverage.collect(cfg, clients, NOW)
    coverage.finish(report, cfg, clients)

    cloudwatch = clients("cloudwatch")
    published = cloudwatch.list_metrics(Namespace="AwsDrBackup", MetricName="PrerequisiteFindings")["Metrics"]
    assert sorted(tuple((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in published) == [
        (),
        (("Check", "s3-eventbridge"),),
        (("Check", "s3-unreadable"),),
        (("Check", "s3-versioning"),),
    ]
    total = cloudwatch.get_metric_statistics(
        Namespace="AwsDrBackup",
        MetricName="PrerequisiteFindings",
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )
    assert [p["Maximum"] for p in total["Datapoints"]] == [4.0]


def test_new_settings_are_checked_and_named() -> None:
    with pytest.raises(ConfigError, match=r"^--cluster-vaults \(DR_CLUSTER_VAULTS\): not JSON"):
        CoverageConfig.from_settings({"AWS_REGION": REGION, "DR_CLUSTER_VAULTS": "{"})
    with pytest.raises(
        ConfigError, match=r"\(DR_CLUSTER_VAULTS\) = '\[1\]': must be a JSON object of vault ARNs"
    ):
        CoverageConfig.from_settings({"AWS_REGION": REGION, "DR_CLUSTER_VAULTS": "[1]"})
    with pytest.raises(
        ConfigError, match=r"^--protected-types \(DR_PROTECTED_TYPES\): unknown type 'Redshift'"
    ):
        CoverageConfig.from_settings({"AWS_REGION": REGION, "DR_PROTECTED_TYPES": "S3,Redshift"})


def test_cli_trail_region_flag_and_json(
    clients: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DR_TRAIL_REGIONS", raising=False)
    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    stub_trails(clients.stub("cloudtrail"), REGION, [], [])

    code = coverage.main(
        ["--json", "--no-metrics", "--region", REGION, "--types", "EFS", "--trail-region", REGION], clients
    )

    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cloudtrail"] == [
        {
            "region": REGION,
            "covered": False,
            "trail": None,
            "reason": "no trail logs KMS management events in us-east-1, so the key-threat alert never fires "
            "there: no trail is multi-Region or homed here",
        }
    ]
    assert out["prerequisite_findings"] == {"cloudtrail": 1}
    assert out["skipped_checks"] == {
        "engine-vault": "no Aurora, DocumentDB or Neptune clusters were listed",
        "audit-frameworks": "--audit (DR_AUDIT) is not set",
        "config-recording": "--audit (DR_AUDIT) is not set",
        "rds-windows": "--plan-start-windows (DR_PLAN_START_WINDOWS) is not set",
        "s3": "S3 is not among the reported types",
    }
