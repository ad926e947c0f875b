"""Coverage over a fixture inventory with every tag combination; pagination, throttling, failures."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dr_runtime.aws import client
from dr_runtime.errors import ConfigError
from dr_runtime.operations import coverage
from dr_runtime.operations import inventory as inv
from dr_runtime.operations.coverage_settings import CoverageConfig
from dr_runtime.operations.selection_verdict import SelectionConfig
from dr_runtime.report import JobFailedError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "111111111111"
REGION = "us-east-1"
OPT_OUT = "exclude-disaster-recovery-backup"
XREGION = "exclude-cross-region-backup"
RECENT = NOW - timedelta(hours=3)
STALE = NOW - timedelta(hours=27)
CONFIG = CoverageConfig(region=REGION, selection=SelectionConfig(kubernetes_clusters=("prod",)))


def tags(**pairs: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def rds_arn(kind: str, name: str) -> str:
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:{kind}:{name}"


@dataclass
class Fixture:
    arns: dict[str, str] = field(default_factory=dict)
    backups: dict[str, datetime] = field(default_factory=dict)


def build_fixture(clients: Any) -> Fixture:
    """Every tag combination across the types; ``backups`` is what ListProtectedResources returns."""
    fx = Fixture()
    s3 = clients("s3")
    for name, tagset in (
        ("dr-plain", None),
        ("dr-optout", {OPT_OUT: "true"}),
        ("dr-optout-false", {OPT_OUT: "false"}),
        ("dr-xregion", {XREGION: "true"}),
    ):
        s3.create_bucket(Bucket=name)
        if tagset:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags(**tagset)})
        fx.arns[f"s3:{name}"] = f"arn:aws:s3:::{name}"
    # Another Region's bucket belongs to that Region's report.
    client("s3", "us-west-2").create_bucket(
        Bucket="dr-west", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    fx.backups.update(
        {fx.arns["s3:dr-plain"]: RECENT, fx.arns["s3:dr-optout"]: RECENT, fx.arns["s3:dr-xregion"]: RECENT}
    )

    ec2 = clients("ec2")
    for label, tagset in (
        ("plain", {}),
        ("optout", {OPT_OUT: "true"}),
        ("k8s-owned-prod", {"kubernetes.io/cluster/prod": "owned"}),
        ("k8s-owned-staging", {"kubernetes.io/cluster/staging": "owned"}),
        ("k8s-shared-prod", {"kubernetes.io/cluster/prod": "shared"}),
        ("xregion", {XREGION: "true"}),
    ):
        spec = [{"ResourceType": "volume", "Tags": tags(**tagset)}] if tagset else []
        volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, TagSpecifications=spec)
        fx.arns[f"ebs:{label}"] = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{volume['VolumeId']}"
    fx.backups.update(
        {
            fx.arns["ebs:plain"]: RECENT,
            fx.arns["ebs:k8s-owned-staging"]: STALE,
            fx.arns["ebs:k8s-shared-prod"]: RECENT,
            fx.arns["ebs:xregion"]: RECENT,
        }
    )

    efs = clients("efs")
    for label, tagset in (("plain", {}), ("k8s-tagged", {"kubernetes.io/cluster/prod": "owned"})):
        fs = efs.create_file_system(CreationToken=label, Tags=tags(**tagset))
        fx.arns[f"efs:{label}"] = fs["FileSystemArn"]
    fx.backups[fx.arns["efs:k8s-tagged"]] = RECENT

    ddb = clients("dynamodb")
    for name, tagset in (
        ("never-tagged", {}),
        ("optout-capital", {OPT_OUT: "True"}),
        ("optout", {OPT_OUT: "true"}),
    ):
        extra = {"Tags": tags(**tagset)} if tagset else {}
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
        fx.arns[f"ddb:{name}"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    fx.backups.update({fx.arns["ddb:never-tagged"]: RECENT, fx.arns["ddb:optout-capital"]: RECENT})

    # moto's RDS has no DocumentDB engine, so RDS is stubbed (Stubber still checks the request shapes).
    rds = clients.stub("rds")
    rds.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {"DBInstanceIdentifier": "orders", "DBInstanceArn": rds_arn("db", "orders"), "TagList": []},
                {
                    "DBInstanceIdentifier": "ledger-1",
                    "DBInstanceArn": rds_arn("db", "ledger-1"),
                    "DBClusterIdentifier": "ledger",
                },
            ]
        },
        {"MaxRecords": 100},
    )
    rds.add_response(
        "describe_db_clusters",
        {
            "DBClusters": [
                {
                    "DBClusterIdentifier": "ledger",
                    "DBClusterArn": rds_arn("cluster", "ledger"),
                    "Engine": "aurora-postgresql",
                },
                {
                    "DBClusterIdentifier": "catalog",
                    "DBClusterArn": rds_arn("cluster", "catalog"),
                    "Engine": "docdb",
                    "TagList": tags(**{OPT_OUT: "true"}),
                },
                {
                    "DBClusterIdentifier": "graph",
                    "DBClusterArn": rds_arn("cluster", "graph"),
                    "Engine": "neptune",
                },
                {"DBClusterIdentifier": "maz", "DBClusterArn": rds_arn("cluster", "maz"), "Engine": "mysql"},
            ]
        },
        {"MaxRecords": 100},
    )
    fx.backups.update(
        {
            rds_arn("db", "orders"): RECENT,
            rds_arn("cluster", "ledger"): RECENT,
            rds_arn("cluster", "catalog"): RECENT,
            rds_arn("cluster", "graph"): STALE,
        }
    )
    return fx


def stub_protected(clients: Any, backups: dict[str, datetime]) -> None:
    """ListProtectedResources over two pages."""
    items = [{"ResourceArn": arn, "LastBackupTime": when} for arn, when in backups.items()]
    stub = clients.stub("backup")
    half = len(items) // 2
    stub.add_response(
        "list_protected_resources", {"Results": items[:half], "NextToken": "p2"}, {"MaxResults": 1000}
    )
    stub.add_response(
        "list_protected_resources", {"Results": items[half:]}, {"MaxResults": 1000, "NextToken": "p2"}
    )


@pytest.fixture
def fixture(clients: Any) -> Fixture:
    fx = build_fixture(clients)
    stub_protected(clients, fx.backups)
    return fx


EXPECTED_TYPES = {
    "S3": {
        "eligible": 4,
        "total": 4,
        "selected": 3,
        "opted_out": 1,
        "kubernetes_excluded": 0,
        "no_cross_region": 1,
        "recent": 2,
        "not_routed": 0,
        "coverage_percent": 50.0,
    },
    "EBS": {
        "eligible": 5,
        "total": 6,
        "selected": 4,
        "opted_out": 1,
        "kubernetes_excluded": 1,
        "no_cross_region": 1,
        "recent": 3,
        "not_routed": 0,
        "coverage_percent": 60.0,
    },
    "EFS": {
        "eligible": 2,
        "total": 2,
        "selected": 2,
        "opted_out": 0,
        "kubernetes_excluded": 0,
        "no_cross_region": 0,
        "recent": 1,
        "not_routed": 0,
        "coverage_percent": 50.0,
    },
    "DynamoDB": {
        "eligible": 3,
        "total": 3,
        "selected": 2,
        "opted_out": 1,
        "kubernetes_excluded": 0,
        "no_cross_region": 0,
        "recent": 2,
        "not_routed": 0,
        "coverage_percent": 66.67,
    },
    "RDS": {
        "eligible": 2,
        "total": 2,
        "selected": 2,
        "opted_out": 0,
        "kubernetes_excluded": 0,
        "no_cross_region": 0,
        "recent": 1,
        "not_routed": 0,
        "coverage_percent": 50.0,
    },
    "Aurora": {
        "eligible": 1,
        "total": 1,
        "selected": 1,
        "opted_out": 0,
        "kubernetes_excluded": 0,
        "no_cross_region": 0,
        "recent": 1,
        "not_routed": 0,
        "coverage_percent": 100.0,
    },
    "DocumentDB": {
        "eligible": 1,
        "total": 1,
        "selected": 0,
        "opted_out": 1,
        "kubernetes_excluded": 0,
        "no_cross_region": 0,
        "recent": 0,
        "not_routed": 0,
        "coverage_percent": 0.0,
    },
    "Neptune": {
        "eligible": 1,
        "total": 1,
        "selected": 1,
        "opted_out": 0,
        "kubernetes_excluded": 0,
        "no_cross_region": 0,
        "recent": 0,
        "not_routed": 0,
        "coverage_percent": 0.0,
    },
}


def test_fixture_inventory_percentages_drift_and_exclusions(clients: Any, fixture: Fixture) -> None:
    report = coverage.collect(CONFIG, clients, NOW).as_dict()

    # An opted-out resource counts as not covered (DocumentDB, all opted out, is 0 %, not 100 %).
    assert {
        t: {k: v for k, v in c.items() if k != "tiers"} for t, c in report["types"].items()
    } == EXPECTED_TYPES
    assert report["failed_types"] == {}
    assert [(d["type"], d["arn"], d["last_backup"]) for d in report["drift"]] == sorted(
        [
            ("EBS", fixture.arns["ebs:k8s-owned-staging"], STALE.isoformat()),
            ("EFS", fixture.arns["efs:plain"], "never"),
            ("Neptune", rds_arn("cluster", "graph"), STALE.isoformat()),
            ("RDS", rds_arn("cluster", "maz"), "never"),
            ("S3", "arn:aws:s3:::dr-optout-false", "never"),
        ]
    )
    assert sorted((e["type"], e["arn"], e["reason"]) for e in report["excluded"]) == sorted(
        [
            ("S3", "arn:aws:s3:::dr-optout", f"{OPT_OUT}=true"),
            ("EBS", fixture.arns["ebs:optout"], f"{OPT_OUT}=true"),
            ("EBS", fixture.arns["ebs:k8s-owned-prod"], "kubernetes.io/cluster/prod=owned"),
            ("DynamoDB", fixture.arns["ddb:optout"], f"{OPT_OUT}=true"),
            ("DocumentDB", rds_arn("cluster", "catalog"), f"{OPT_OUT}=true"),
        ]
    )
    assert sorted(x["arn"] for x in report["no_cross_region"]) == sorted(
        ["arn:aws:s3:::dr-xregion", fixture.arns["ebs:xregion"]]
    )
    clients.assert_stubs_used()


def test_metrics_and_table(clients: Any, fixture: Fixture) -> None:
    report = coverage.collect(CONFIG, clients, NOW)
    coverage.finish(report, CONFIG, clients)

    stats = clients("cloudwatch").get_metric_statistics(
        Namespace="AwsDrBackup",
        MetricName="CoveragePercent",
        Dimensions=[{"Name": "ResourceType", "Value": "S3"}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )
    assert [p["Maximum"] for p in stats["Datapoints"]] == [50.0]
    names = {
        (m["MetricName"], m["Dimensions"][0]["Value"])
        for m in clients("cloudwatch").list_metrics(Namespace="AwsDrBackup")["Metrics"]
        if m["Dimensions"] and m["Dimensions"][0]["Name"] == "ResourceType"
    }
    per_type = ("CoveragePercent", "UnprotectedResources", "SelectedResources", "ExcludedResources")
    assert {n for n in names if n[0] in per_type} == {
        (metric, t) for metric in per_type for t in inv.ALL_TYPES
    }
    # Without the copy tiers' settings only the in-region tier is measured: its coverage for every type,
    # its RPO only where a resource is covered.
    assert {n for n in names if n[0] == "TierCoveragePercent"} == {
        ("TierCoveragePercent", t) for t in inv.ALL_TYPES
    }
    assert {t for m, t in names if m == "TierRpoHours"} == {"S3", "EBS", "EFS", "DynamoDB", "RDS", "Aurora"}

    table = coverage.render_table(report)
    lines = table.splitlines()
    assert lines[0].split() == [
        "TYPE",
        "TOTAL",
        "SELECTED",
        "OPTED-OUT",
        "K8S-EXCL",
        "NO-XREGION",
        "RECENT",
        "COVERED",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:9]}
    assert rows["S3"] == ["4", "3", "1", "0", "1", "2", "50.00%"]
    assert rows["Neptune"] == ["1", "1", "0", "0", "0", "0", "0.00%"]
    assert "Drift (selected, no recovery point in the last 26 h): 5" in table


def test_cli_json(
    clients: Any, fixture: Fixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coverage, "datetime", _FrozenDatetime)

    code = coverage.main(
        ["--json", "--no-metrics", "--region", REGION, "--kubernetes-cluster", "prod"], clients
    )

    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {
        t: {k: v for k, v in c.items() if k != "tiers"} for t, c in out["types"].items()
    } == EXPECTED_TYPES
    assert len(out["drift"]) == 5
    assert clients("cloudwatch").list_metrics(Namespace="AwsDrBackup")["Metrics"] == []


def test_cli_without_the_cluster_flag_counts_owned_volumes_as_selected(
    clients: Any, fixture: Fixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coverage, "datetime", _FrozenDatetime)
    monkeypatch.delenv("DR_KUBERNETES_CLUSTERS", raising=False)

    coverage.main(["--json", "--no-metrics", "--region", REGION, "--types", "EBS"], clients)

    out = json.loads(capsys.readouterr().out)
    del out["types"]["EBS"]["tiers"]
    assert out["types"] == {
        "EBS": {
            "eligible": 6,
            "total": 6,
            "selected": 5,
            "opted_out": 1,
            "kubernetes_excluded": 0,
            "no_cross_region": 1,
            "recent": 3,
            "not_routed": 0,
            "coverage_percent": 50.0,
        }
    }


def test_a_failing_listing_fails_only_its_types(clients: Any) -> None:
    clients("s3").create_bucket(Bucket="dr-plain")
    clients.stub("efs").add_client_error("describe_file_systems", "AccessDeniedException", "not allowed", 403)
    clients.stub("backup").add_response("list_protected_resources", {"Results": []})
    config = CoverageConfig(region=REGION, types=("S3", "EFS"))

    report = coverage.collect(config, clients, NOW)

    assert list(report.per_type) == ["S3"]
    assert report.per_type["S3"].total == 1
    assert report.failed_types == {
        "EFS": "access denied: DescribeFileSystems (AccessDeniedException): not allowed"
    }
    with pytest.raises(JobFailedError, match="EFS"):
        coverage.finish(report, config, clients)
    published = {
        m["Dimensions"][0]["Value"]
        for m in clients("cloudwatch").list_metrics(MetricName="CoveragePercent")["Metrics"]
    }
    assert published == {"S3"}


def test_inventory_follows_every_page(clients: Any) -> None:
    tagging = clients.stub("resourcegroupstaggingapi")
    filters = {"ResourceTypeFilters": ["dynamodb:table", "s3"], "ResourcesPerPage": 100}
    tagging.add_response(
        "get_resources",
        {
            "ResourceTagMappingList": [{"ResourceARN": "arn:aws:s3:::b1", "Tags": tags(**{OPT_OUT: "true"})}],
            "PaginationToken": "t1",
        },
        filters,
    )
    # GetResources may return an empty page that still carries a token.
    tagging.add_response(
        "get_resources",
        {"ResourceTagMappingList": [], "PaginationToken": "t2"},
        {**filters, "PaginationToken": "t1"},
    )
    tagging.add_response(
        "get_resources",
        {
            "ResourceTagMappingList": [
                {
                    "ResourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tbl3",
                    "Tags": tags(**{XREGION: "true"}),
                }
            ]
        },
        {**filters, "PaginationToken": "t2"},
    )
    s3 = clients.stub("s3")
    s3_params = {"BucketRegion": REGION, "MaxBuckets": 10000}
    s3.add_response("list_buckets", {"Buckets": [{"Name": "b1"}], "ContinuationToken": "c1"}, s3_params)
    s3.add_response("list_buckets", {"Buckets": [{"Name": "b2"}]}, {**s3_params, "ContinuationToken": "c1"})
    ddb = clients.stub("dynamodb")
    ddb.add_response(
        "list_tables", {"TableNames": ["tbl1", "tbl2"], "LastEvaluatedTableName": "tbl2"}, {"Limit": 100}
    )
    ddb.add_response(
        "list_tables", {"TableNames": ["tbl3"]}, {"Limit": 100, "ExclusiveStartTableName": "tbl2"}
    )
    ec2 = clients.stub("ec2")
    live = [{"Name": "status", "Values": ["creating", "available", "in-use"]}]
    ec2.add_response(
        "describe_volumes",
        {"Volumes": [{"VolumeId": "vol-1"}], "NextToken": "v1"},
        {"MaxResults": 1000, "Filters": live},
    )
    ec2.add_response(
        "describe_volumes",
        {"Volumes": [{"VolumeId": "vol-2"}]},
        {"MaxResults": 1000, "Filters": live, "NextToken": "v1"},
    )

    found = inv.collect_inventory(clients, REGION, ("S3", "DynamoDB", "EBS"), account_id=ACCOUNT)

    assert found.failures == {}
    assert {(r.type, r.name): dict(r.tags) for r in found.resources} == {
        ("S3", "b1"): {OPT_OUT: "true"},
        ("S3", "b2"): {},
        ("DynamoDB", "tbl1"): {},
        ("DynamoDB", "tbl2"): {},
        ("DynamoDB", "tbl3"): {XREGION: "true"},
        ("EBS", "vol-1"): {},
        ("EBS", "vol-2"): {},
    }
    clients.assert_stubs_used()


def test_throttled_tagging_call_is_retried(clients: Any, fake_http: Any, retry_sleeps: list[float]) -> None:
    clients("s3").create_bucket(Bucket="dr-plain")
    clients("s3").create_bucket(Bucket="dr-optout")
    http = fake_http(clients("resourcegroupstaggingapi"))
    # The tagging API's own throttling code, which the standard retry mode treats as throttling.
    http.add(400, {"__type": "ThrottledException", "Message": "Rate exceeded"})
    http.add(
        200,
        {
            "ResourceTagMappingList": [
                {"ResourceARN": "arn:aws:s3:::dr-optout", "Tags": tags(**{OPT_OUT: "true"})}
            ]
        },
    )

    found = inv.collect_inventory(clients, REGION, ("S3",))

    assert found.failures == {}
    assert {r.name: dict(r.tags) for r in found.resources} == {"dr-plain": {}, "dr-optout": {OPT_OUT: "true"}}
    assert len(http.requests) == 2
    assert len(retry_sleeps) == 1


def test_config_rejects_unknown_types_and_bad_hours() -> None:
    with pytest.raises(ConfigError, match=r"^--types \(DR_COVERAGE_TYPES\) = 'S3,Redshift': allowed types"):
        CoverageConfig(region=REGION, types=("S3", "Redshift"))
    with pytest.raises(
        ConfigError, match=r"^--recent-hours \(DR_COVERAGE_RECENT_HOURS\) = 0: must be at least 1"
    ):
        CoverageConfig(region=REGION, recent_hours=0)
    with pytest.raises(
        ConfigError, match=r"^--recent-hours \(DR_COVERAGE_RECENT_HOURS\) = 'a day': must be a whole"
    ):
        CoverageConfig.from_settings({"AWS_REGION": REGION, "DR_COVERAGE_RECENT_HOURS": "a day"})


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenDatetime:
        return cls.fromtimestamp(NOW.timestamp(), tz)
