"""Each registered job run end to end from its archive, under its registered role, against moto and the
local front (aws_front.py): its environment and schedule input as registered, resources seeded so it
does its real work, and its normal run report at the end."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from moto.opensearch.models import opensearch_backends
from moto.sns.models import sns_backends

from dr_model.backup_selection import KUBERNETES_OWNED_VALUE, kubernetes_tag_key
from dr_runtime.vault_names import air_gapped_share_name
from tests.artefacts.aws_front import RamShare
from tests.artefacts.conftest import Aws, run_function
from tests.artefacts.domain_endpoint import FakeDomain
from tests.artefacts.functions import LambdaFunction, every_function, registered_vault_policy

SCHEDULED = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
SCENARIOS: dict[str, str] = {}
"""Handler -> the test that runs it end to end in every stack registering it (``scenario``)."""
F = TypeVar("F", bound=Callable[..., None])


def scenario(handler: str) -> Callable[[F], F]:
    """Registers the test as ``handler``'s end-to-end scenario, run once per function registering it."""

    def register(test: F) -> F:
        SCENARIOS[handler] = test.__name__
        marked: F = pytest.mark.parametrize("function", _of(handler), ids=lambda f: f.id)(test)
        return marked

    return register


def _event(function: LambdaFunction) -> Any:
    # EventBridge Scheduler fills its context attribute in before it invokes the target.
    return json.loads(
        function.schedule_input.replace("<aws.scheduler.scheduled-time>", "2026-03-02T06:00:00Z")
    )


def _run(
    aws: Aws, function: LambdaFunction, tmp_path: Path, sdk: Path, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    credentials = aws.credentials_for(function)
    result = run_function(
        function,
        function.lay_out(tmp_path / "task"),
        sdk,
        _event(function),
        {**credentials, "AWS_ENDPOINT_URL": aws.front.url, **(extra_env or {})},
    )
    assert not aws.front.denied, f"{function.id} was refused: {aws.front.denied}"
    assert result.returncode == 0, f"{function.id}: {result.stderr}"
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("RESULT ")
    report: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return report


def _of(handler: str) -> list[LambdaFunction]:
    return [f for f in every_function() if f.handler == handler]


@scenario("dr_runtime.operations.watchdog.handler")
def test_the_watchdog_alerts_once_per_long_running_job(
    function: LambdaFunction, aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    aws.reset()
    env = function.environment
    table = env["DR_WATCHDOG_LEDGER_TABLE"]
    aws.client("dynamodb", function.account).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = aws.client("sns", function.account).create_topic(
        Name=env["DR_ALERT_TOPIC_ARN"].rsplit(":", 1)[1]
    )["TopicArn"]
    assert topic == env["DR_ALERT_TOPIC_ARN"]
    threshold = int(env["DR_WATCHDOG_THRESHOLD_MINUTES"])
    account = function.account
    vault = f"arn:aws:backup:us-east-1:{account}:backup-vault:dr-rds"
    aws.front.seeds.backup_jobs = [
        {
            "BackupJobId": job_id,
            "State": "RUNNING",
            "CreationDate": SCHEDULED - timedelta(minutes=minutes),
            "ResourceArn": f"arn:aws:rds:us-east-1:{account}:db:{job_id}",
            "ResourceType": "RDS",
            "BackupVaultName": "dr-rds",
            "BackupVaultArn": vault,
        }
        for job_id, minutes in (("backup-old", threshold + 10), ("backup-young", 60))
    ]
    aws.front.seeds.copy_jobs = [
        {
            "CopyJobId": "copy-old",
            "State": "RUNNING",
            "CreationDate": SCHEDULED - timedelta(minutes=threshold + 60),
            "ResourceArn": f"arn:aws:dynamodb:us-east-1:{account}:table/orders",
            "ResourceType": "DynamoDB",
            "SourceBackupVaultArn": vault,
            "DestinationBackupVaultArn": vault.replace("us-east-1", "us-west-2"),
        }
    ]
    report = _run(aws, function, tmp_path, sdk_dir)
    assert [job["job_id"] for job in report["long_running"]] == ["copy-old", "backup-old"]
    assert sorted(report["summary"]["done"]) == ["backup-old", "copy-old"]
    assert not report["summary"]["failed"]
    ledger = aws.client("dynamodb", function.account).scan(TableName=table)["Items"]
    assert sorted(item["job_id"]["S"] for item in ledger) == ["backup-old", "copy-old"]
    assert {"backup:ListBackupJobs", "backup:ListCopyJobs", "dynamodb:PutItem", "sns:Publish"} <= set(
        aws.front.calls
    )
    assert "cloudwatch:PutMetricData" in aws.front.calls
    # The next run finds the same jobs already claimed: no second alert.
    again = _run(aws, function, tmp_path / "again", sdk_dir)
    assert not again["summary"]["done"]
    assert sorted(again["summary"]["skipped"]) == ["backup-old", "copy-old"]


def test_a_call_the_role_does_not_allow_fails_the_run_naming_it(
    aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    function = next(f for f in _of("dr_runtime.operations.watchdog.handler") if f.stack == "prod")
    ((name, document),) = function.inline_policies.items()
    policy = json.loads(document)
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "ClaimJobsInLedger"]
    narrowed = replace(
        function, role_name="watchdog-without-ledger", inline_policies={name: json.dumps(policy)}
    )
    aws.reset()
    aws.front.seeds.backup_jobs = [
        {
            "BackupJobId": "backup-old",
            "State": "RUNNING",
            "CreationDate": SCHEDULED - timedelta(hours=7),
            "ResourceArn": f"arn:aws:rds:us-east-1:{function.account}:db:orders",
            "ResourceType": "RDS",
            "BackupVaultName": "dr-rds",
        }
    ]
    with pytest.raises(AssertionError, match=r"dynamodb:PutItem on arn:aws:dynamodb:us-east-1:\d{12}:table/"):
        _run(aws, narrowed, tmp_path, sdk_dir)


# --- the coverage job ---------------------------------------------------------------------------------


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _seed_coverage(aws: Aws, function: LambdaFunction) -> dict[str, Any]:
    """Resources of the stack's protected types, some opted out, some stale, some misconfigured; returns
    what the assertions need (names, ARNs, the conflicting RDS window)."""
    env, account, region = function.environment, function.account, function.region
    types = env["DR_COVERAGE_TYPES"].split(",")
    opt_out = {env["DR_OPT_OUT_TAG"]: env["DR_OPT_OUT_VALUE"]}
    no_cross_region = {env["DR_CROSS_REGION_OPT_OUT_TAG"]: env["DR_OPT_OUT_VALUE"]}
    clusters = [c for c in env["DR_KUBERNETES_CLUSTERS"].split(",") if c]
    recent, stale = SCHEDULED - timedelta(hours=3), SCHEDULED - timedelta(days=3)
    protected: list[tuple[str, str, datetime, str | None]] = []
    seeded: dict[str, Any] = {"types": types}

    # The organisation's fleet bucket lives in another account (the bucket name says which).
    fleet = env["DR_FLEET_BUCKET"]
    aws.client("s3", fleet.split("-")[-4]).create_bucket(Bucket=fleet)

    s3 = aws.client("s3", account)
    buckets = {
        f"app-data-{account}": ({"owner": "app"}, True, recent),
        f"raw-uploads-{account}": ({"owner": "ingest"}, False, None),
        f"scratch-{account}": (opt_out, False, None),
        f"trail-logs-{account}": (opt_out, True, None),
    }
    for name, (tags, versioned, last) in buckets.items():
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tag_list(tags)})
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        if last is not None:
            protected.append((f"arn:aws:s3:::{name}", "S3", last, None))
    seeded["buckets"] = buckets

    dynamodb = aws.client("dynamodb", account)
    for table, tags, last in (("orders", {"owner": "app"}, recent), ("sessions", no_cross_region, stale)):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=_tag_list(tags),
        )
        protected.append((f"arn:aws:dynamodb:{region}:{account}:table/{table}", "DynamoDB", last, None))

    ec2 = aws.client("ec2", account)
    volumes = {}
    for label, tags in (
        ("data", {"Name": "data"}),
        *((("pvc", {kubernetes_tag_key(clusters[0]): KUBERNETES_OWNED_VALUE}),) if clusters else ()),
    ):
        volume = ec2.create_volume(
            Size=10,
            AvailabilityZone=f"{region}a",
            TagSpecifications=[{"ResourceType": "volume", "Tags": _tag_list(tags)}],
        )
        volumes[label] = volume["VolumeId"]
    protected.append((f"arn:aws:ec2:{region}:{account}:volume/{volumes['data']}", "EBS", recent, None))
    seeded["volumes"] = volumes

    efs = aws.client("efs", account).create_file_system(
        CreationToken="shared", Tags=[{"Key": "Name", "Value": "shared"}]
    )
    protected.append((efs["FileSystemArn"], "EFS", recent, None))

    # An RDS backup window across the first plan's start (from the registered windows), and one clear of it.
    start = json.loads(env["DR_PLAN_START_WINDOWS"])["RDS"][0]["starts"][0]["utc"]
    at = datetime.combine(SCHEDULED.date(), datetime.strptime(start, "%H:%M").time())
    blocking = f"{at - timedelta(minutes=30):%H:%M}-{at + timedelta(minutes=30):%H:%M}"
    rds = aws.client("rds", account)
    for db, window in (("orders-db", blocking), ("reports-db", "01:00-01:30")):
        made = rds.create_db_instance(
            DBInstanceIdentifier=db,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="admin_user",
            MasterUserPassword="not-a-secret-0",
            BackupRetentionPeriod=7,
            PreferredBackupWindow=window,
            PreferredMaintenanceWindow="sun:02:00-sun:02:30",
        )["DBInstance"]
        protected.append((made["DBInstanceArn"], "RDS", recent, None))
    seeded["blocking"] = blocking
    vaults = json.loads(env["DR_CLUSTER_VAULTS"])
    clusters_made = {}
    for cluster, engine, tags in (
        ("ledger", "aurora-postgresql", {}),
        # A Neptune cluster without the engine tag: the Aurora plans take it (engine-vault finding).
        *((("graph", "neptune", {}),) if "Neptune" in types else ()),
    ):
        made = rds.create_db_cluster(
            DBClusterIdentifier=cluster,
            Engine=engine,
            MasterUsername="admin_user",
            MasterUserPassword="not-a-secret-0",
            PreferredBackupWindow="22:00-22:30",
            PreferredMaintenanceWindow="sun:03:00-sun:03:30",
            Tags=_tag_list(tags),
        )["DBCluster"]
        clusters_made[cluster] = made["DBClusterArn"]
        protected.append((made["DBClusterArn"], "Aurora", recent, vaults["Aurora"]))
    seeded["clusters"] = clusters_made

    # The copy tiers (DR_COVERAGE_DR_REGION, DR_COVERAGE_ISOLATED_ACCOUNT): the orders table copied into
    # the DR Region and the isolated account; the EFS file system into the isolated account only.
    dr_region, isolated = env["DR_COVERAGE_DR_REGION"], env["DR_COVERAGE_ISOLATED_ACCOUNT"]
    orders = f"arn:aws:dynamodb:{region}:{account}:table/orders"
    aws.front.seeds.copy_jobs = [
        {
            "CopyJobId": f"copy-{index}",
            "State": "COMPLETED",
            "AccountId": account,
            "CreationDate": recent,
            "ResourceArn": arn,
            "ResourceType": rtype,
            "SourceBackupVaultArn": f"arn:aws:backup:{region}:{account}:backup-vault:dr-src",
            "DestinationBackupVaultArn": destination,
        }
        for index, (arn, rtype, destination) in enumerate(
            (
                (orders, "DynamoDB", f"arn:aws:backup:{dr_region}:{account}:backup-vault:dr-ddb"),
                (
                    orders,
                    "DynamoDB",
                    f"arn:aws:backup:{region}:{isolated}:backup-vault:dr-{account}-air-gapped",
                ),
                (
                    efs["FileSystemArn"],
                    "EFS",
                    f"arn:aws:backup:{region}:{isolated}:backup-vault:dr-{account}-air-gapped",
                ),
            )
        )
    ]

    # A single-Region trail: the first trail Region is covered, the others are not.
    cloudtrail = aws.client("cloudtrail", account)
    cloudtrail.create_trail(Name="audit", S3BucketName=f"trail-logs-{account}")
    cloudtrail.start_logging(Name="audit")
    cloudtrail.put_event_selectors(
        TrailName="audit", EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )

    # The Audit Manager frameworks (DR_AUDIT): in the first Region AWS Config records everything and the
    # framework deployed; in any other, no recorder and the framework's deployment FAILED.
    audit = json.loads(env["DR_AUDIT"])
    for index, (audit_region, entry) in enumerate(audit.items()):
        if index == 0:
            config = aws.client("config", account, audit_region)
            config.put_configuration_recorder(
                ConfigurationRecorder={
                    "name": "default",
                    "roleARN": f"arn:aws:iam::{account}:role/config-recorder",
                    "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": False},
                }
            )
            config.put_delivery_channel(
                DeliveryChannel={"name": "default", "s3BucketName": f"trail-logs-{account}"}
            )
            config.start_configuration_recorder(ConfigurationRecorderName="default")
        for name in entry["frameworks"]:
            aws.front.seeds.frameworks[(account, audit_region, name)] = {
                "FrameworkName": name,
                "FrameworkArn": f"arn:aws:backup:{audit_region}:{account}:framework:{name}-0a1b2c3d",
                "DeploymentStatus": "COMPLETED" if index == 0 else "FAILED",
                "FrameworkStatus": "ACTIVE" if index == 0 else "UNAVAILABLE",
            }
    seeded["audit"] = list(audit)

    aws.front.seeds.protected_resources = [
        {
            "ResourceArn": arn,
            "ResourceType": rtype,
            "LastBackupTime": last,
            **({"LastBackupVaultArn": vault} if vault else {}),
        }
        for arn, rtype, last, vault in protected
    ]
    return seeded


@scenario("dr_runtime.operations.coverage.handler")
def test_the_coverage_job_reports_and_publishes(
    function: LambdaFunction, aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    aws.reset()
    seeded = _seed_coverage(aws, function)
    env, account = function.environment, function.account
    report = _run(aws, function, tmp_path, sdk_dir)

    assert report["generated_at"] == SCHEDULED.isoformat()
    assert report["failed_types"] == {}
    assert report["failed_checks"] == {}
    assert list(report["types"]) == seeded["types"]
    s3, ddb, ebs = report["types"]["S3"], report["types"]["DynamoDB"], report["types"]["EBS"]
    assert (s3["total"], s3["selected"], s3["opted_out"], s3["recent"]) == (4, 2, 2, 1)
    assert (ddb["selected"], ddb["recent"], ddb["no_cross_region"]) == (2, 1, 1)
    k8s = 1 if env["DR_KUBERNETES_CLUSTERS"] else 0
    assert (ebs["total"], ebs["selected"], ebs["kubernetes_excluded"]) == (1 + k8s, 1, k8s)
    assert report["types"]["EFS"]["coverage_percent"] == 100.0
    assert report["types"]["RDS"]["recent"] == 2
    # Per copy tier, from the account's own copy jobs, as the function's role may list them.
    assert report["tiers_not_measured"] is None
    ddb_tiers = {tier: (f["covered"], f["eligible"]) for tier, f in ddb["tiers"].items()}
    assert ddb_tiers == {"in-region": (1, 2), "cross-region": (1, 2), "air-gapped": (1, 2)}
    efs_tiers = {tier: f["coverage_percent"] for tier, f in report["types"]["EFS"]["tiers"].items()}
    assert efs_tiers == {"in-region": 100.0, "cross-region": 0.0, "air-gapped": 100.0}
    assert "backup:ListCopyJobs" in aws.front.calls
    drift = {f["name"]: f["last_backup"] for f in report["drift"]}
    assert drift == {
        f"raw-uploads-{account}": "never",
        "sessions": (SCHEDULED - timedelta(days=3)).isoformat(),
    }
    assert {f["name"]: f["decision"] for f in report["excluded"]} == {
        f"scratch-{account}": "opted-out",
        f"trail-logs-{account}": "opted-out",
        **({seeded["volumes"]["pvc"]: "kubernetes-excluded"} if k8s else {}),
    }
    assert [f["name"] for f in report["no_cross_region"]] == ["sessions"]
    conflicts = {(f["name"], f.get("rds_window")) for f in report["window_conflicts"]}
    assert {name for name, _ in conflicts} == {"orders-db"}
    assert ("orders-db", seeded["blocking"]) in conflicts
    assert {(f["bucket"], f["check"]) for f in report["bucket_findings"]} == {
        (f"raw-uploads-{account}", "s3-versioning"),
        (f"raw-uploads-{account}", "s3-eventbridge"),
    }
    regions = env["DR_TRAIL_REGIONS"].split(",")
    assert [(t["region"], t["covered"], t["trail"]) for t in report["cloudtrail"]] == [
        (regions[0], True, "audit"),
        *((r, False, None) for r in regions[1:]),
    ]
    mismatch = [(f["name"], f["routed_to"]) for f in report["engine_mismatch"]]
    assert mismatch == ([("graph", "Aurora")] if "Neptune" in seeded["types"] else [])
    assert report["prerequisite_findings"]["rds-windows"] == 1
    home, *others = seeded["audit"]
    assert [(r["region"], r["covered"], r["recorder"]) for r in report["config_recording"]] == [
        (home, True, "default"),
        *((r, False, None) for r in others),
    ]
    assert [(f["region"], f["reason"].split(" (")[0]) for f in report["audit_frameworks"]] == [
        (r, "deployment FAILED") for r in others
    ]
    assert report["prerequisite_findings"]["config-recording"] == len(others)
    assert report["prerequisite_findings"]["audit-frameworks"] == len(others)
    assert report["prerequisite_findings"]["cloudtrail"] == len(regions) - 1

    # The report the organisation reads: its own account's prefix of the fleet bucket.
    fleet = env["DR_FLEET_BUCKET"]
    key = f"coverage/{account}/{function.region}/latest.json"
    published = json.loads(
        aws.client("s3", fleet.split("-")[-4]).get_object(Bucket=fleet, Key=key)["Body"].read()
    )
    assert published == {"account_id": account, **report}
    metrics = aws.client("cloudwatch", account).list_metrics(Namespace="AwsDrBackup")["Metrics"]
    names = {m["MetricName"] for m in metrics}
    assert {"CoveragePercent", "UnprotectedResources", "PrerequisiteFindings", "DoneItems"} <= names
    assert {"backup:ListProtectedResources", "cloudtrail:GetEventSelectors", "s3:PutObject"} <= set(
        aws.front.calls
    )


# --- the MemoryDB bridge ------------------------------------------------------------------------------


def _seed_memorydb(aws: Aws, function: LambdaFunction) -> str:
    """The bridge bucket and three clusters: one with today's snapshot, one data-tiering, one without
    snapshots. Returns the snapshot's name."""
    account = function.account
    aws.client("s3", account).create_bucket(Bucket=function.environment["DR_MEMORYDB_BUCKET"])
    memorydb = aws.client("memorydb", account)
    memorydb.create_cluster(ClusterName="sessions", NodeType="db.r6g.large", ACLName="open-access")
    memorydb.create_cluster(
        ClusterName="tiered", NodeType="db.r6gd.xlarge", ACLName="open-access", DataTiering=True
    )
    memorydb.create_cluster(ClusterName="quiet", NodeType="db.r6g.large", ACLName="open-access")
    memorydb.create_snapshot(ClusterName="sessions", SnapshotName="sessions-daily")
    return "sessions-daily"


@scenario("dr_runtime.bridges.memorydb.handler")
def test_the_memorydb_bridge_exports_each_snapshot_once(
    function: LambdaFunction, aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    aws.reset()
    snapshot = _seed_memorydb(aws, function)
    bucket = function.environment["DR_MEMORYDB_BUCKET"]
    report = _run(aws, function, tmp_path, sdk_dir)
    export = f"dr-export-{snapshot}"
    assert report["done"] == [f"sessions/{snapshot}->{export}"]
    assert "data tiering" in report["skipped"]["tiered"]
    assert report["skipped"]["quiet"].startswith("no available snapshot since")
    assert not report["failed"]
    assert aws.front.seeds.memorydb_copies == [
        {"SourceSnapshotName": snapshot, "TargetSnapshotName": export, "TargetBucket": bucket}
    ]
    # MemoryDB writes one file per shard; the next run finds it and exports nothing.
    aws.client("s3", function.account).put_object(Bucket=bucket, Key=f"{export}-0001.rdb", Body=b"rdb")
    again = _run(aws, function, tmp_path / "again", sdk_dir)
    assert not again["done"]
    assert again["skipped"][f"sessions/{snapshot}"] == f"already exported as {export}"
    assert len(aws.front.seeds.memorydb_copies) == 1


# --- the OpenSearch bridge ----------------------------------------------------------------------------


@pytest.fixture
def domains(aws: Aws, domain_cert: tuple[Path, Path]) -> Iterator[dict[str, FakeDomain]]:
    made: dict[str, FakeDomain] = {}
    yield made
    for domain in made.values():
        domain.stop()


def _seed_opensearch(
    aws: Aws, function: LambdaFunction, domains: dict[str, FakeDomain], cert: tuple[Path, Path]
) -> date:
    """The bridge bucket and two domains whose endpoints are fake domains on loopback, ``logs`` public and
    ``search`` in a VPC; ``search`` already has today's snapshot. Returns today (UTC), the day the bridge names its snapshot after."""
    account, region, env = function.account, function.region, function.environment
    aws.client("s3", account).create_bucket(Bucket=env["DR_OPENSEARCH_BUCKET"])
    client = aws.client("opensearch", account)
    for name in ("logs", "search"):
        client.create_domain(DomainName=name, EngineVersion="OpenSearch_2.11")
        domains[name] = FakeDomain(name, region, account, aws.front, cert, function.passed_roles)
        held = opensearch_backends[account][region].domains[name]
        if name == "search":
            # A VPC domain: DescribeDomains reports only Endpoints["vpc"].
            held.endpoint, held.endpoints = None, {"vpc": domains[name].host}
        else:
            held.endpoint = domains[name].host
    today = datetime.now(UTC).date()
    repository = env["DR_OPENSEARCH_REPOSITORY"]
    settings = {"bucket": env["DR_OPENSEARCH_BUCKET"], "base_path": f"search/{today}", "region": region}
    domains["search"].state.repositories[repository] = {"type": "s3", "settings": settings}
    domains["search"].state.snapshots[(repository, f"dr-{today}")] = {"state": "SUCCESS"}
    return today


@scenario("dr_runtime.bridges.opensearch.handler")
def test_the_opensearch_bridge_snapshots_every_domain_daily(
    function: LambdaFunction,
    aws: Aws,
    domains: dict[str, FakeDomain],
    domain_cert: tuple[Path, Path],
    tmp_path: Path,
    sdk_dir: Path,
) -> None:
    aws.reset()
    today = _seed_opensearch(aws, function, domains, domain_cert)
    env = function.environment
    tls = {"SSL_CERT_FILE": str(domain_cert[0])}
    report = _run(aws, function, tmp_path, sdk_dir, tls)
    snapshot = f"dr-{today}"
    assert report["done"] == [f"logs/{snapshot}"]
    assert report["skipped"] == {"search": f"today's snapshot {snapshot} already exists (SUCCESS)"}
    assert not report["failed"]
    repository = env["DR_OPENSEARCH_REPOSITORY"]
    logs = domains["logs"].state
    assert logs.repositories[repository] == {
        "type": "s3",
        "settings": {
            "bucket": env["DR_OPENSEARCH_BUCKET"],
            "base_path": f"logs/{today}",
            "region": function.region,
            "role_arn": env["DR_OPENSEARCH_SNAPSHOT_ROLE_ARN"],
        },
    }
    assert logs.snapshots[(repository, snapshot)]["indices"] == "*"
    assert domains["search"].state.requests == [
        f"GET /_snapshot/{repository}",
        f"GET /_snapshot/{repository}/{snapshot}",
    ]
    # The next run the same day registers nothing and takes no second snapshot.
    again = _run(aws, function, tmp_path / "again", sdk_dir, tls)
    assert not again["done"]
    assert again["skipped"]["logs"] == f"today's snapshot {snapshot} already exists (IN_PROGRESS)"
    assert sum(r.startswith("PUT") for r in logs.requests) == 2


# --- the air-gap verifier (organisation stack) ----------------------------------------------------------

VERIFIER = "dr_runtime.verifier.verify.handler"
# Pulumi.management.yaml verifier.evidenceRetentionDays: the bucket's default Object Lock retention.
EVIDENCE_RETENTION_DAYS = 90


def _fleet(function: LambdaFunction) -> dict[str, str]:
    """Workload account -> its air-gapped vault's name (``<prefix>-<account>-air-gapped``)."""
    pairs = (entry.split("=") for entry in function.environment["DR_VERIFIER_FLEET"].split(","))
    return {account: f"{prefix}-{account}-air-gapped" for account, prefix in pairs}


def _seed_verifier(aws: Aws, function: LambdaFunction) -> dict[str, Any]:
    """The reader roles as registered (trust and policies) in their accounts, the fleet's air-gapped vaults
    in the isolated account with recovery points (fresh for every account but the last, whose newest is
    three days old), the organisation's jobs in the delegated administrator, and the evidence bucket
    (Object Lock, compliance) and the findings topic in the verifier's account. Returns the stale account
    and the resources per account."""
    env, region = function.environment, function.region
    isolated, admin = env["DR_VERIFIER_ISOLATED_ACCOUNT"], env["DR_VERIFIER_DELEGATED_ADMIN_ACCOUNT"]
    readers = {env["DR_VERIFIER_VAULT_READER_ROLE"], env["DR_VERIFIER_JOB_READER_ROLE"]}
    assert set(function.passed_roles) == readers, f"registered reader roles: {sorted(function.passed_roles)}"
    for arn, role in function.passed_roles.items():
        iam = aws.client("iam", arn.split(":")[4])
        name = arn.rsplit("/", 1)[1]
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=role.trust_policy)
        for index, document in enumerate(role.inline_policies):
            iam.put_role_policy(RoleName=name, PolicyName=f"{name}-{index}", PolicyDocument=document)

    fleet = _fleet(function)
    stale = sorted(fleet)[-1]
    # Each vault as the stack built it (the lock's range from the org stack's setting, an approval team
    # where the organisation requires one), over moto's standard, unlocked description.
    ranges = dict(
        pair.split("=", 1) for pair in env.get("DR_VERIFIER_VAULT_RETENTION", "").split(",") if pair
    )
    team = env.get("DR_VERIFIER_MPA_TEAM_REQUIRED", "false") == "true"

    def state(account: str, vault_type: str) -> dict[str, Any]:
        described: dict[str, Any] = {"VaultType": vault_type, "Locked": True}
        if account in ranges:
            low, high = ranges[account].split("-")
            described |= {"MinRetentionDays": int(low), "MaxRetentionDays": int(high)}
        if team and vault_type == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT":
            described["MpaApprovalTeamArn"] = f"arn:aws:mpa:{region}:{admin}:approval-team/dr-approvers"
        return described

    # The fleet's forwarded job events in the verifier's log group: every account sent some.
    aws.front.seeds.job_events[env["DR_VERIFIER_EVENTS_LOG_GROUP"]] = dict.fromkeys(fleet, 3)
    backup = aws.client("backup", isolated, region)
    resources: dict[str, list[str]] = {}
    for account, vault in fleet.items():
        backup.create_backup_vault(BackupVaultName=vault)
        vault_arn = f"arn:aws:backup:{region}:{isolated}:backup-vault:{vault}"
        aws.front.seeds.vault_states[vault_arn] = state(account, "LOGICALLY_AIR_GAPPED_BACKUP_VAULT")
        # The vault as the workload stack built it: the policy it registers, and its RAM share.
        aws.front.seeds.vault_policies[vault_arn] = registered_vault_policy(vault)
        share = air_gapped_share_name(vault)
        aws.front.seeds.ram_shares.append(
            RamShare(
                owner=isolated,
                region=region,
                arn=f"arn:aws:ram:{region}:{isolated}:resource-share/{share}",
                name=share,
                resources=(vault_arn,),
                principals=(account,),
            )
        )
        newest = SCHEDULED - (timedelta(days=3) if account == stale else timedelta(hours=5))
        arns = [f"arn:aws:dynamodb:{region}:{account}:table/orders", f"arn:aws:s3:::app-data-{account}"]
        resources[account] = arns
        points = [
            (arn, rtype, when, status)
            for arn, rtype in zip(arns, ("DynamoDB", "S3"), strict=True)
            for when, status in ((newest, "COMPLETED"), (newest - timedelta(days=1), "COMPLETED"))
        ]
        # A copy still being made: counted, never fresh.
        points.append((arns[0], "DynamoDB", SCHEDULED - timedelta(hours=1), "CREATING"))
        aws.front.seeds.recovery_points[vault_arn] = [
            {
                "RecoveryPointArn": f"arn:aws:backup:{region}:{isolated}:recovery-point:{account}-{n}",
                "BackupVaultName": vault,
                "BackupVaultArn": vault_arn,
                "ResourceArn": arn,
                "ResourceType": rtype,
                "CreationDate": when,
                "Status": status,
            }
            for n, (arn, rtype, when, status) in enumerate(points)
        ]
        # The locked vault of an account that protects RDS: a fresh copy of its instance, its policy.
        if account in env.get("DR_VERIFIER_LOCKED_VAULT_ACCOUNTS", "").split(","):
            locked = vault.removesuffix("-air-gapped") + "-locked"
            backup.create_backup_vault(BackupVaultName=locked)
            locked_arn = f"arn:aws:backup:{region}:{isolated}:backup-vault:{locked}"
            aws.front.seeds.vault_policies[locked_arn] = registered_vault_policy(locked)
            aws.front.seeds.vault_states[locked_arn] = state(account, "BACKUP_VAULT")
            aws.front.seeds.recovery_points[locked_arn] = [
                {
                    "RecoveryPointArn": f"arn:aws:backup:{region}:{isolated}:recovery-point:{account}-rds",
                    "BackupVaultName": locked,
                    "BackupVaultArn": locked_arn,
                    "ResourceArn": f"arn:aws:rds:{region}:{account}:db:billing",
                    "ResourceType": "RDS",
                    "CreationDate": SCHEDULED - timedelta(hours=5),
                    "Status": "COMPLETED",
                }
            ]
        # The delegated administrator's view: in-Region backups go on for every account; copies into
        # the air-gapped vault stopped for the stale one.
        for arn, rtype in zip(arns, ("DynamoDB", "S3"), strict=True):
            created = SCHEDULED - timedelta(hours=6)
            aws.front.seeds.backup_jobs.append(
                {
                    "AccountId": account,
                    "BackupJobId": f"backup-{account}-{rtype}",
                    "State": "COMPLETED",
                    "CreationDate": created,
                    "ResourceArn": arn,
                    "ResourceType": rtype,
                    "BackupVaultName": "dr",
                }
            )
            if account != stale:
                aws.front.seeds.copy_jobs.append(
                    {
                        "AccountId": account,
                        "CopyJobId": f"copy-{account}-{rtype}",
                        "State": "COMPLETED",
                        "CreationDate": created + timedelta(minutes=40),
                        "ResourceArn": arn,
                        "ResourceType": rtype,
                        "SourceBackupVaultArn": f"arn:aws:backup:{region}:{account}:backup-vault:dr",
                        "DestinationBackupVaultArn": vault_arn,
                    }
                )
    assert admin not in fleet
    assert isolated not in fleet

    s3 = aws.client("s3", function.account, region)
    s3.create_bucket(Bucket=env["DR_VERIFIER_EVIDENCE_BUCKET"], ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=env["DR_VERIFIER_EVIDENCE_BUCKET"],
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": EVIDENCE_RETENTION_DAYS}},
        },
    )
    topic = env["DR_VERIFIER_TOPIC_ARN"]
    made = aws.client("sns", function.account, region).create_topic(Name=topic.rsplit(":", 1)[1])
    assert made["TopicArn"] == topic
    return {"stale": stale, "fleet": fleet, "resources": resources}


@scenario(VERIFIER)
def test_the_verifier_reads_the_air_gap_through_its_reader_roles(
    function: LambdaFunction, aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    aws.reset()
    seeded = _seed_verifier(aws, function)
    env, own, stale, fleet = function.environment, function.account, seeded["stale"], seeded["fleet"]
    report = _run(aws, function, tmp_path, sdk_dir)

    # The stale account's finding, and nothing else.
    (finding,) = report["findings"]
    assert (finding["account_id"], finding["kind"]) == (stale, "stale")
    assert finding["message"].startswith(f"newest air-gapped copy of {stale} is 72.0 h old")
    assert (
        "2 resource(s) backed up in-Region, 0 copied cross-Region, 0 copied to the air-gapped vault"
        in (finding["message"])
    )
    locked = set(env["DR_VERIFIER_LOCKED_VAULT_ACCOUNTS"].split(","))
    assert locked, "the example fleet protects RDS, so some accounts have a locked vault"
    assert report["accounts"] == {
        account: {
            "tiers": {
                "air-gapped": {
                    "newest_age_hours": 72.0 if account == stale else 5.0,
                    "fresh_resources": 0 if account == stale else 2,
                    "baseline_resources": 2,
                },
                # The locked vault's RDS copy is fresh everywhere: only the air-gapped tier is stale.
                **(
                    {"locked": {"newest_age_hours": 5.0, "fresh_resources": 1, "baseline_resources": 1}}
                    if account in locked
                    else {}
                ),
            },
            "findings": ["stale"] if account == stale else [],
        }
        for account in fleet
    }
    assert sorted(report["summary"]["done"]) == sorted(fleet)
    assert not report["summary"]["failed"]

    # Each listing under the role that may make it, in the account it is about.
    isolated, admin = env["DR_VERIFIER_ISOLATED_ACCOUNT"], env["DR_VERIFIER_DELEGATED_ADMIN_ACCOUNT"]
    vault_reader, job_reader = (
        env[k].rsplit("/", 1)[1] for k in ("DR_VERIFIER_VAULT_READER_ROLE", "DR_VERIFIER_JOB_READER_ROLE")
    )
    by_action: dict[str, set[tuple[str, str]]] = {}
    for action, account, role in aws.front.callers:
        by_action.setdefault(action, set()).add((account, role))
    assert by_action["sts:AssumeRole"] == {(own, function.role_name)}
    assert by_action["backup:ListRecoveryPointsByBackupVault"] == {(isolated, vault_reader)}
    assert by_action["backup:ListBackupJobs"] == by_action["backup:ListCopyJobs"] == {(admin, job_reader)}
    for action in ("s3:PutObject", "sns:Publish", "cloudwatch:PutMetricData"):
        assert by_action[action] == {(own, function.role_name)}, action
    # The silence check: one query of the job-event log, in the verifier's own account, under its role.
    assert aws.front.calls.count("logs:StartQuery") == 1
    assert by_action["logs:StartQuery"] == by_action["logs:GetQueryResults"] == {(own, function.role_name)}
    # One listing per isolated vault: every account's air-gapped vault and the locked ones.
    assert aws.front.calls.count("backup:ListRecoveryPointsByBackupVault") == len(fleet) + len(
        locked & set(fleet)
    )
    # The drift checks read every vault's policy and the air-gapped vaults' shares, as the vault reader.
    assert by_action["backup:GetBackupVaultAccessPolicy"] == {(isolated, vault_reader)}
    assert by_action["ram:GetResourceShareAssociations"] == {(isolated, vault_reader)}

    # The evidence: latest, the run's history and the baseline per account, each uploaded with its
    # SHA-256 and under the bucket's default compliance lock.
    bucket, prefix = env["DR_VERIFIER_EVIDENCE_BUCKET"], env["DR_VERIFIER_EVIDENCE_PREFIX"]
    s3 = aws.client("s3", own, function.region)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {
        f"{prefix}accounts/{account}/{leaf}"
        for account in fleet
        for leaf in ("latest.json", "baseline.json", "runs/2026-03-02T06-00-00Z.json")
    }
    latest_key = f"{prefix}accounts/{stale}/latest.json"
    held = s3.get_object(Bucket=bucket, Key=latest_key, ChecksumMode="ENABLED")
    body = held["Body"].read()
    assert held["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert held["ObjectLockMode"] == "COMPLIANCE"
    evidence = json.loads(body)
    assert evidence["findings"] == [finding]
    air_gapped = evidence["vaults"]["air-gapped"]
    assert {k: air_gapped[k] for k in ("name", "arn", "state")} == {
        "name": fleet[stale],
        "arn": f"arn:aws:backup:{function.region}:{isolated}:backup-vault:{fleet[stale]}",
        "state": "read",
    }
    assert (air_gapped["usable_recovery_points"], air_gapped["unusable_recovery_points"]) == (4, 1)
    # The vault's share is the program's, as the vault reader saw it.
    assert evidence["share"]["state"] == "matches"
    in_air_gap = {r["resource_arn"] for r in evidence["resources"] if "air-gapped" in r["tiers"]}
    assert in_air_gap == set(seeded["resources"][stale])

    # One message, for the stale account, naming its evidence.
    (topic,) = sns_backends[own][function.region].topics.values()
    assert topic.arn == env["DR_VERIFIER_TOPIC_ARN"]
    ((_, text, subject, attributes, _),) = topic.sent_notifications
    assert subject == f"AWS Backup air gap: {stale} stale"
    assert f"Evidence: s3://{bucket}/{latest_key}" in text
    assert attributes is not None
    assert attributes["account_id"]["Value"] == stale

    metrics = aws.client("cloudwatch", own, function.region).list_metrics(Namespace="AwsDrBackup")["Metrics"]
    found = {
        (m["MetricName"], tuple((d["Name"], d["Value"]) for d in m.get("Dimensions", []))) for m in metrics
    }
    assert ("VerifierFindings", ()) in found
    assert ("VerifierFindings", (("Kind", "stale"),)) in found
    assert {("AirGappedCopyAgeHours", (("AccountId", a),)) for a in fleet} <= found
    assert "DoneItems" in {name for name, _ in found}


def test_the_verifier_finds_the_account_whose_events_stopped(aws: Aws, tmp_path: Path, sdk_dir: Path) -> None:
    function = _of(VERIFIER)[0]
    aws.reset()
    seeded = _seed_verifier(aws, function)
    silent = sorted(seeded["fleet"])[0]
    aws.front.seeds.job_events[function.environment["DR_VERIFIER_EVENTS_LOG_GROUP"]].pop(silent)
    report = _run(aws, function, tmp_path, sdk_dir)
    found = sorted((f["account_id"], f["kind"]) for f in report["findings"])
    assert found == sorted([(seeded["stale"], "stale"), (silent, "events-silent")])
    assert not report["summary"]["failed"]


def test_the_verifier_without_its_query_grant_reports_every_account_unreadable(
    aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    function = _of(VERIFIER)[0]
    narrowed = replace(_without(function, "QueryTheFleetsJobEvents"), role_name=function.role_name)
    aws.reset()
    seeded = _seed_verifier(aws, function)
    result = run_function(
        narrowed,
        narrowed.lay_out(tmp_path / "task"),
        sdk_dir,
        _event(narrowed),
        {**aws.credentials_for(narrowed), "AWS_ENDPOINT_URL": aws.front.url},
    )
    group = function.environment["DR_VERIFIER_EVENTS_LOG_GROUP"]
    assert [d for d in aws.front.denied if d.startswith("logs:")] == [
        f"logs:StartQuery on arn:aws:logs:{function.region}:{function.account}:log-group:{group}:*"
    ], aws.front.denied
    # The run fails (the Lambda's error, so the schedule's retry and dead-letter queue see it) ...
    assert result.returncode == 1
    assert "JobFailedError: verifier: 1 failed: events" in result.stderr, result.stderr
    # ... after keeping every account's evidence with the unread silence and an unreadable finding.
    env = function.environment
    s3 = aws.client("s3", function.account, function.region)
    for account in seeded["fleet"]:
        key = f"{env['DR_VERIFIER_EVIDENCE_PREFIX']}accounts/{account}/latest.json"
        latest = json.loads(s3.get_object(Bucket=env["DR_VERIFIER_EVIDENCE_BUCKET"], Key=key)["Body"].read())
        assert latest["events"]["state"] == "unreadable", account
        assert "unreadable" in {f["kind"] for f in latest["findings"]}, account


def test_the_verifier_without_its_assume_role_grant_fails_naming_it(
    aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    function = _of(VERIFIER)[0]
    # The same role (the reader roles trust it by ARN), its AssumeRole statement removed.
    narrowed = replace(_without(function, "AssumeTheReaderRoles"), role_name=function.role_name)
    aws.reset()
    _seed_verifier(aws, function)
    role = function.environment["DR_VERIFIER_VAULT_READER_ROLE"]
    credentials = aws.credentials_for(narrowed)
    result = run_function(
        narrowed,
        narrowed.lay_out(tmp_path / "task"),
        sdk_dir,
        _event(narrowed),
        {**credentials, "AWS_ENDPOINT_URL": aws.front.url},
    )
    assert result.returncode == 1
    assert aws.front.denied == [f"sts:AssumeRole on {role}"]
    assert re.search(rf"sts:AssumeRole on {re.escape(role)}", result.stderr), result.stderr
    assert not any(call.startswith("backup:") for call in aws.front.calls)


def test_a_reader_role_that_does_not_trust_the_verifier_fails_the_run_naming_it(
    aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    function = _of(VERIFIER)[0]
    role = function.environment["DR_VERIFIER_JOB_READER_ROLE"]
    other = f"arn:aws:iam::{function.account}:role/someone-else"
    reader = function.passed_roles[role]
    untrusting = replace(
        function,
        passed_roles={
            **function.passed_roles,
            role: replace(
                reader,
                trust_policy=reader.trust_policy.replace(
                    f"arn:aws:iam::{function.account}:role/{function.role_name}", other
                ),
            ),
        },
    )
    aws.reset()
    _seed_verifier(aws, untrusting)
    with pytest.raises(
        AssertionError,
        match=rf"sts:AssumeRole on {re.escape(role)}: its trust policy does not allow "
        rf"arn:aws:iam::{function.account}:role/{function.role_name}",
    ):
        _run(aws, untrusting, tmp_path, sdk_dir)


# --- a statement removed: the run fails naming the action and resource ---------------------------------


def _without(function: LambdaFunction, sid: str) -> LambdaFunction:
    ((name, document),) = function.inline_policies.items()
    policy = json.loads(document)
    kept = [s for s in policy["Statement"] if s.get("Sid") != sid]
    assert len(kept) == len(policy["Statement"]) - 1, f"{function.id} has no statement {sid}"
    policy["Statement"] = kept
    return replace(
        function, role_name=f"{function.role_name}-without-{sid}", inline_policies={name: json.dumps(policy)}
    )


def _prod(handler: str) -> LambdaFunction:
    return next(f for f in _of(handler) if f.stack == "prod")


def test_the_coverage_job_without_its_rds_listing_fails_naming_it(
    aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    function = _prod("dr_runtime.operations.coverage.handler")
    aws.reset()
    _seed_coverage(aws, function)
    with pytest.raises(
        AssertionError, match=r"rds:DescribeDBInstances on arn:aws:rds:us-east-1:\d{12}:db:\*"
    ):
        _run(aws, _without(function, "ListDbInstances"), tmp_path, sdk_dir)


def test_the_memorydb_bridge_without_its_export_grant_fails_naming_it(
    aws: Aws, tmp_path: Path, sdk_dir: Path
) -> None:
    function = _prod("dr_runtime.bridges.memorydb.handler")
    aws.reset()
    snapshot = _seed_memorydb(aws, function)
    with pytest.raises(
        AssertionError,
        match=rf"memorydb:CopySnapshot on arn:aws:memorydb:us-east-1:\d{{12}}:snapshot/{snapshot}",
    ):
        _run(aws, _without(function, "ExportSnapshots"), tmp_path, sdk_dir)


def test_the_opensearch_bridge_without_pass_role_fails_naming_it(
    aws: Aws, domains: dict[str, FakeDomain], domain_cert: tuple[Path, Path], tmp_path: Path, sdk_dir: Path
) -> None:
    function = _prod("dr_runtime.bridges.opensearch.handler")
    aws.reset()
    _seed_opensearch(aws, function, domains, domain_cert)
    role = function.environment["DR_OPENSEARCH_SNAPSHOT_ROLE_ARN"]
    with pytest.raises(AssertionError, match=rf"iam:PassRole on {re.escape(role)}"):
        _run(
            aws,
            _without(function, "PassSnapshotRoleOnly"),
            tmp_path,
            sdk_dir,
            {"SSL_CERT_FILE": str(domain_cert[0])},
        )


def test_every_registered_handler_has_an_end_to_end_scenario() -> None:
    missing = sorted({f.handler for f in every_function()} - set(SCENARIOS))
    assert not missing, f"handlers registered without an end-to-end scenario in test_runs.py: {missing}"


def test_a_snapshot_role_that_cannot_write_the_bucket_fails_the_repository_registration(
    aws: Aws, domains: dict[str, FakeDomain], domain_cert: tuple[Path, Path], tmp_path: Path, sdk_dir: Path
) -> None:
    function = _prod("dr_runtime.bridges.opensearch.handler")
    ((arn, role),) = function.passed_roles.items()
    (document,) = role.inline_policies
    policy = json.loads(document)
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "ReadWriteSnapshots"]
    unable = replace(function, passed_roles={arn: replace(role, inline_policies=(json.dumps(policy),))})
    aws.reset()
    _seed_opensearch(aws, unable, domains, domain_cert)
    with pytest.raises(
        AssertionError, match=rf"repository_verification_exception.*{re.escape(arn)} may not s3:GetObject"
    ):
        _run(aws, unable, tmp_path, sdk_dir, {"SSL_CERT_FILE": str(domain_cert[0])})
