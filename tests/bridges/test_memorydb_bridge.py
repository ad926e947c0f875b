"""MemoryDB bridge: botocore Stubber for MemoryDB (moto 5.2.1 has no CopySnapshot, no pagination and no
control over snapshot times), moto for S3 and CloudWatch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

from dr_runtime.aws import client
from dr_runtime.bridges import memorydb
from dr_runtime.bridges.memorydb import export_name
from dr_runtime.bridges.memorydb_settings import MemoryDbBridgeConfig
from dr_runtime.report import JobFailedError

REGION = "us-east-1"
ACCOUNT = "111111111111"
BUCKET = "dr-prod-memorydb-snapshots"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CONFIG = MemoryDbBridgeConfig(bucket=BUCKET, region=REGION)


def cluster(name: str, *, tiering: bool = False) -> dict[str, Any]:
    return {
        "Name": name,
        "Status": "available",
        "ARN": f"arn:aws:memorydb:{REGION}:{ACCOUNT}:cluster/{name}",
        "DataTiering": "true" if tiering else "false",
    }


def snapshot(name: str, cluster_name: str, days_ago: int, *, status: str = "available") -> dict[str, Any]:
    created = NOW - timedelta(days=days_ago, hours=9)
    return {
        "Name": name,
        "Status": status,
        "Source": "system",
        "ARN": f"arn:aws:memorydb:{REGION}:{ACCOUNT}:snapshot/{name}",
        "DataTiering": "false",
        "ClusterConfiguration": {
            "Name": cluster_name,
            "NumShards": 2,
            "Shards": [
                {"Name": "0001", "Size": "1 MB", "SnapshotCreationTime": created},
                {"Name": "0002", "Size": "1 MB", "SnapshotCreationTime": created + timedelta(minutes=2)},
            ],
        },
    }


@pytest.fixture
def aws(session: boto3.session.Session) -> Iterator[dict[str, Any]]:
    with mock_aws():
        clients = {
            "memorydb": client("memorydb", REGION, session),
            "s3": client("s3", REGION, session),
            "cloudwatch": client("cloudwatch", REGION, session),
        }
        clients["s3"].create_bucket(Bucket=BUCKET)
        yield clients


@pytest.fixture
def stub(aws: dict[str, Any]) -> Iterator[Stubber]:
    stubber = Stubber(aws["memorydb"])
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_clusters(stub: Stubber, *pages: list[dict[str, Any]]) -> None:
    for index, page in enumerate(pages):
        response: dict[str, Any] = {"Clusters": page}
        if index + 1 < len(pages):
            response["NextToken"] = f"clusters-{index + 1}"
        stub.add_response("describe_clusters", response, {"NextToken": f"clusters-{index}"} if index else {})


def expect_snapshots(stub: Stubber, cluster_name: str, *pages: list[dict[str, Any]]) -> None:
    for index, page in enumerate(pages):
        params: dict[str, Any] = {"ClusterName": cluster_name, "ShowDetail": True}
        if index:
            params["NextToken"] = f"{cluster_name}-{index}"
        response: dict[str, Any] = {"Snapshots": page}
        if index + 1 < len(pages):
            response["NextToken"] = f"{cluster_name}-{index + 1}"
        stub.add_response("describe_snapshots", response, params)


def expect_export(stub: Stubber, source: str) -> None:
    target = export_name("dr-export", source)
    stub.add_response(
        "copy_snapshot",
        {"Snapshot": {"Name": target, "Status": "copying"}},
        {"SourceSnapshotName": source, "TargetSnapshotName": target, "TargetBucket": BUCKET},
    )


def land_exports(aws: dict[str, Any], *sources: str, shards: int = 2) -> None:
    """What MemoryDB writes once an export finishes: one .rdb per shard."""
    for source in sources:
        for shard in range(1, shards + 1):
            aws["s3"].put_object(
                Bucket=BUCKET, Key=f"{export_name('dr-export', source)}-{shard:04d}.rdb", Body=b"r"
            )


def run(aws: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return memorydb.run(
        kwargs.pop("config", CONFIG),
        memorydb=aws["memorydb"],
        s3=aws["s3"],
        cloudwatch=aws["cloudwatch"],
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def metric(aws: dict[str, Any], name: str) -> float:
    stats = aws["cloudwatch"].get_metric_statistics(
        Namespace="AwsDrBackup",
        MetricName=name,
        Dimensions=[{"Name": "Job", "Value": memorydb.JOB}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in stats["Datapoints"]))


def test_exports_snapshots_of_today_and_the_two_days_before(aws: dict[str, Any], stub: Stubber) -> None:
    expect_clusters(stub, [cluster("cache-a"), cluster("cache-b")])
    expect_snapshots(
        stub,
        "cache-a",
        [
            snapshot("cache-a-today", "cache-a", 0),
            snapshot("cache-a-old", "cache-a", 3),
            snapshot("cache-a-running", "cache-a", 0, status="creating"),
        ],
    )
    expect_export(stub, "cache-a-today")
    expect_snapshots(stub, "cache-b", [snapshot("cache-b-two-days", "cache-b", 2)])
    expect_export(stub, "cache-b-two-days")

    summary = run(aws)

    assert summary["done"] == [
        "cache-a/cache-a-today->dr-export-cache-a-today",
        "cache-b/cache-b-two-days->dr-export-cache-b-two-days",
    ]
    assert summary["skipped"] == {}
    assert metric(aws, "DoneItems") == 2


def test_second_run_same_day_exports_nothing(aws: dict[str, Any], stub: Stubber) -> None:
    # The Stubber answers in order: the first run's calls, then the second run's (no copy_snapshot).
    expect_clusters(stub, [cluster("cache-a")])
    expect_snapshots(stub, "cache-a", [snapshot("cache-a-today", "cache-a", 0)])
    expect_export(stub, "cache-a-today")
    expect_clusters(stub, [cluster("cache-a")])
    expect_snapshots(stub, "cache-a", [snapshot("cache-a-today", "cache-a", 0)])

    first = run(aws)
    land_exports(aws, "cache-a-today")
    second = run(aws)

    assert first["counts"]["done"] == 1
    assert second["done"] == []
    assert second["skipped"] == {"cache-a/cache-a-today": "already exported as dr-export-cache-a-today"}


def test_running_export_is_not_started_twice(aws: dict[str, Any], stub: Stubber) -> None:
    expect_clusters(stub, [cluster("cache-a"), cluster("cache-b")])
    # The export copy shows up in the listing while it runs; it must not be exported itself.
    expect_snapshots(
        stub,
        "cache-a",
        [
            snapshot("cache-a-today", "cache-a", 0),
            snapshot("dr-export-cache-a-today", "cache-a", 0, status="copying"),
        ],
    )
    expect_snapshots(stub, "cache-b", [snapshot("cache-b-today", "cache-b", 0)])
    stub.add_client_error(
        "copy_snapshot",
        service_error_code="SnapshotAlreadyExistsFault",
        expected_params={
            "SourceSnapshotName": "cache-b-today",
            "TargetSnapshotName": "dr-export-cache-b-today",
            "TargetBucket": BUCKET,
        },
    )

    summary = run(aws)

    assert summary["done"] == []
    assert summary["skipped"] == {
        "cache-a/cache-a-today": "export dr-export-cache-a-today is still running",
        "cache-b/cache-b-today": "export dr-export-cache-b-today is still running",
    }


def test_data_tiering_cluster_is_skipped_with_reason(
    aws: dict[str, Any], stub: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    expect_clusters(stub, [cluster("cache-tiered", tiering=True), cluster("cache-a")])
    expect_snapshots(stub, "cache-a", [snapshot("cache-a-today", "cache-a", 0)])
    expect_export(stub, "cache-a-today")

    with caplog.at_level("INFO", logger="aws_dr_backup"):
        summary = run(aws)

    reason = "data tiering is enabled: MemoryDB cannot export snapshots of data-tiering clusters"
    assert summary["skipped"] == {"cache-tiered": reason}
    assert summary["counts"] == {"done": 1, "skipped": 1, "failed": 0}
    skipped_lines = [json.loads(r.message) for r in caplog.records if '"cluster-skipped"' in r.message]
    assert skipped_lines == [
        {"event": "cluster-skipped", "job": memorydb.JOB, "cluster": "cache-tiered", "reason": reason}
    ]
    assert metric(aws, "SkippedItems") == 1


def test_cluster_without_recent_snapshot_is_skipped(aws: dict[str, Any], stub: Stubber) -> None:
    expect_clusters(stub, [cluster("cache-new")])
    expect_snapshots(stub, "cache-new", [])

    summary = run(aws)

    assert summary["skipped"] == {"cache-new": "no available snapshot since 2026-03-08"}


def test_pagination_across_several_pages(aws: dict[str, Any], stub: Stubber, call_counter: Any) -> None:
    calls = call_counter(aws["memorydb"])
    expect_clusters(
        stub, [cluster("cache-1"), cluster("cache-2")], [cluster("cache-3")], [cluster("cache-4")]
    )
    for name in ("cache-1", "cache-2", "cache-3"):
        expect_snapshots(stub, name, [snapshot(f"{name}-today", name, 0)])
        expect_export(stub, f"{name}-today")
    expect_snapshots(
        stub, "cache-4", [snapshot("cache-4-a", "cache-4", 1)], [snapshot("cache-4-b", "cache-4", 0)]
    )
    expect_export(stub, "cache-4-a")
    expect_export(stub, "cache-4-b")

    summary = run(aws)

    assert summary["counts"] == {"done": 5, "skipped": 0, "failed": 0}
    assert calls == {"DescribeClusters": 3, "DescribeSnapshots": 5, "CopySnapshot": 5}


def test_one_failing_cluster_or_export_never_stops_the_others(aws: dict[str, Any], stub: Stubber) -> None:
    expect_clusters(stub, [cluster("cache-a"), cluster("cache-b"), cluster("cache-c")])
    stub.add_client_error(
        "describe_snapshots",
        service_error_code="ClusterNotFoundFault",
        service_message="Cluster cache-a not found",
        expected_params={"ClusterName": "cache-a", "ShowDetail": True},
    )
    expect_snapshots(
        stub, "cache-b", [snapshot("cache-b-1", "cache-b", 0), snapshot("cache-b-2", "cache-b", 1)]
    )
    stub.add_client_error(
        "copy_snapshot",
        service_error_code="InvalidSnapshotStateFault",
        service_message="Snapshot is not available",
        expected_params={
            "SourceSnapshotName": "cache-b-1",
            "TargetSnapshotName": "dr-export-cache-b-1",
            "TargetBucket": BUCKET,
        },
    )
    expect_export(stub, "cache-b-2")
    expect_snapshots(stub, "cache-c", [snapshot("cache-c-1", "cache-c", 0)])
    expect_export(stub, "cache-c-1")

    with pytest.raises(JobFailedError, match="2 failed: cache-a, cache-b/cache-b-1"):
        run(aws)

    assert metric(aws, "DoneItems") == 2
    assert metric(aws, "FailedItems") == 2


def test_missing_bucket_fails_fast(aws: dict[str, Any], stub: Stubber) -> None:
    aws["s3"].delete_bucket(Bucket=BUCKET)

    with pytest.raises(JobFailedError, match=f"bucket:{BUCKET}"):
        run(aws)
    # The Stubber holds no responses: any MemoryDB call would have raised.
    assert metric(aws, "FailedItems") == 1


def test_throttled_s3_listing_is_retried(aws: dict[str, Any], stub: Stubber, throttle: Any) -> None:
    attempts = throttle(aws["s3"], "ListObjectsV2", times=1, status=503, code="SlowDown")
    expect_clusters(stub, [cluster("cache-a")])
    expect_snapshots(stub, "cache-a", [snapshot("cache-a-today", "cache-a", 0)])
    expect_export(stub, "cache-a-today")

    summary = run(aws)

    assert summary["counts"] == {"done": 1, "skipped": 0, "failed": 0}
    assert len(attempts) == 2


class MemoryDbStandIn:
    """Answers MemoryDB JSON requests below botocore's retry layer, so throttling exercises real retries.

    (The Stubber answers above the retry layer, where a throttling error is final.)
    """

    def __init__(self, memorydb_client: Any, answers: dict[str, list[Any]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, Any]]] = []
        memorydb_client.meta.events.register_first("before-send.memorydb", self._answer)

    def _answer(self, request: Any, **kwargs: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        self.requests.append((operation, json.loads(request.body or b"{}")))
        answer = self.answers[operation].pop(0)
        status, body = (
            (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
            if answer == "throttle"
            else (200, answer)
        )
        return AWSResponse(request.url, status, {}, _Raw(json.dumps(body, default=_epoch).encode()))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.body


def _epoch(value: Any) -> float:
    return float(value.timestamp())


def test_throttling_then_success_on_every_memorydb_call(session: boto3.session.Session) -> None:
    # Outside moto: moto's own before-send hook would also see (and reject) CopySnapshot.
    memorydb_client = client("memorydb", REGION, session)
    s3 = client("s3", REGION, session)
    stand_in = MemoryDbStandIn(
        memorydb_client,
        {
            "DescribeClusters": ["throttle", {"Clusters": [cluster("cache-a")]}],
            "DescribeSnapshots": [
                "throttle",
                "throttle",
                {"Snapshots": [snapshot("cache-a-today", "cache-a", 0)]},
            ],
            "CopySnapshot": [
                "throttle",
                {"Snapshot": {"Name": "dr-export-cache-a-today", "Status": "copying"}},
            ],
        },
    )
    with Stubber(s3) as s3_stub:
        s3_stub.add_response("head_bucket", {}, {"Bucket": BUCKET})
        s3_stub.add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": BUCKET, "Prefix": "dr-export-"})
        summary = memorydb.run(CONFIG, memorydb=memorydb_client, s3=s3, now=NOW, publish_metrics=False)

    assert summary["done"] == ["cache-a/cache-a-today->dr-export-cache-a-today"]
    assert [operation for operation, _ in stand_in.requests] == [
        "DescribeClusters",
        "DescribeClusters",
        "DescribeSnapshots",
        "DescribeSnapshots",
        "DescribeSnapshots",
        "CopySnapshot",
        "CopySnapshot",
    ]
    assert stand_in.requests[-1][1] == {
        "SourceSnapshotName": "cache-a-today",
        "TargetSnapshotName": "dr-export-cache-a-today",
        "TargetBucket": BUCKET,
    }


def test_export_name_is_deterministic_and_safe() -> None:
    assert (
        export_name("dr-export", "automatic.cache-a-2026-03-10-03-00")
        == "dr-export-automatic-cache-a-2026-03-10-03-00"
    )
    assert export_name("dr-export", "cache-a") == export_name("dr-export", "cache-a")


def test_listing_matches_whole_export_names_only(aws: dict[str, Any]) -> None:
    land_exports(aws, "snap-1-0001")
    assert memorydb.exported_names(aws["s3"], BUCKET, "dr-export") == {"dr-export-snap-1-0001"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"lookback_days": 3},
            r"^--lookback-days \(DR_MEMORYDB_LOOKBACK_DAYS\) = 3: must be between 0 and 2",
        ),
        ({"bucket": "bad/bucket"}, r"^--bucket \(DR_MEMORYDB_BUCKET\) = 'bad/bucket': must match"),
        (
            {"export_prefix": "Export"},
            r"^--export-prefix \(DR_MEMORYDB_EXPORT_PREFIX\) = 'Export': must be lowercase",
        ),
    ],
)
def test_config_rejects_bad_values(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MemoryDbBridgeConfig(**{"bucket": BUCKET, "region": REGION, **settings})


def test_command_exit_codes(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's MemoryDB answers DescribeClusters with no clusters.
    assert memorydb.main(["--bucket", BUCKET]) == 0
    assert memorydb.main(["--bucket", "dr-prod-missing-bucket", "--no-metrics"]) == 1
    monkeypatch.delenv("DR_MEMORYDB_BUCKET", raising=False)
    assert memorydb.main([]) == 2
    monkeypatch.setenv("DR_MEMORYDB_LOOKBACK_DAYS", "soon")
    assert memorydb.main(["--bucket", BUCKET]) == 2


def test_lambda_handler_reads_environment(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DR_MEMORYDB_BUCKET", BUCKET)
    summary = memorydb.handler({}, None)
    assert summary == {
        "job": memorydb.JOB,
        "done": [],
        "skipped": {},
        "failed": {},
        "counts": {"done": 0, "skipped": 0, "failed": 0},
    }
