"""OpenSearch bridge: moto models the domain API; a local server stands in for the domain endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dr_runtime.aws import client
from dr_runtime.bridges import opensearch
from dr_runtime.bridges.opensearch import SNAPSHOT_BODY, SignedDomainClient, domain_endpoint
from dr_runtime.bridges.opensearch_settings import OpenSearchBridgeConfig
from dr_runtime.report import JobFailedError

REGION = "us-east-1"
BUCKET = "dr-prod-opensearch-snapshots"
ROLE_ARN = "arn:aws:iam::111111111111:role/dr-opensearch-snapshot"
NOW = datetime.now(UTC)
TODAY = NOW.date().isoformat()
CONFIG = OpenSearchBridgeConfig(bucket=BUCKET, region=REGION, role_arn=ROLE_ARN)


@pytest.fixture
def aws(session: boto3.session.Session) -> Iterator[dict[str, Any]]:
    with mock_aws():
        clients = {
            "opensearch": client("opensearch", REGION, session),
            "s3": client("s3", REGION, session),
            "cloudwatch": client("cloudwatch", REGION, session),
        }
        yield clients


def host(name: str) -> str:
    # moto's endpoint naming, for both public (Endpoint) and VPC (Endpoints['vpc']) domains.
    return f"{name}.{REGION}.es.amazonaws.com"


def make_domains(aws: dict[str, Any], domains: Any, *names: str, vpc: tuple[str, ...] = ()) -> None:
    for name in names:
        aws["opensearch"].create_domain(DomainName=name)
        domains.add(host(name))
    for name in vpc:
        aws["opensearch"].create_domain(
            DomainName=name,
            VPCOptions={"SubnetIds": ["subnet-11111111"], "SecurityGroupIds": ["sg-11111111"]},
        )
        domains.add(host(name))


def make_bucket(aws: dict[str, Any]) -> None:
    aws["s3"].create_bucket(Bucket=BUCKET)


def run(
    aws: dict[str, Any], domains: Any, session: Any, now: datetime = NOW, **kwargs: Any
) -> dict[str, Any]:
    domain_client = kwargs.pop("domain_client", None) or SignedDomainClient.from_session(
        session, REGION, scheme="http", address_for=domains.address_for, sleep=lambda _: None
    )
    return opensearch.run(
        kwargs.pop("config", CONFIG),
        session=session,
        opensearch=aws["opensearch"],
        s3=aws["s3"],
        cloudwatch=aws["cloudwatch"],
        domain_client=domain_client,
        now=now,
        **kwargs,
    )


def metric(aws: dict[str, Any], name: str) -> float:
    stats = aws["cloudwatch"].get_metric_statistics(
        Namespace="AwsDrBackup",
        MetricName=name,
        Dimensions=[{"Name": "Job", "Value": opensearch.JOB}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in stats["Datapoints"]))


def test_first_run_registers_repository_and_snapshots_every_domain(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a", vpc=("search-vpc",))

    summary = run(aws, domains, session)

    assert summary["done"] == [f"search-a/dr-{TODAY}", f"search-vpc/dr-{TODAY}"]
    assert summary["counts"] == {"done": 2, "skipped": 0, "failed": 0}
    assert domains.signature_errors == []
    for name in ("search-a", "search-vpc"):
        calls = [(r.method, r.path) for r in domains.for_host(host(name))]
        assert calls == [
            ("GET", "/_snapshot/dr-backup"),
            ("PUT", "/_snapshot/dr-backup"),
            ("GET", f"/_snapshot/dr-backup/dr-{TODAY}"),
            ("PUT", f"/_snapshot/dr-backup/dr-{TODAY}"),
        ]
        register, take = domains.for_host(host(name), "PUT")
        assert register.body == {
            "type": "s3",
            "settings": {
                "bucket": BUCKET,
                "base_path": f"{name}/{TODAY}",
                "region": REGION,
                "role_arn": ROLE_ARN,
            },
        }
        assert take.body == SNAPSHOT_BODY
    assert metric(aws, "DoneItems") == 2
    assert metric(aws, "FailedItems") == 0


def test_second_run_same_day_exports_nothing(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a", "search-b")
    run(aws, domains, session)
    first_requests = len(domains.requests)

    summary = run(aws, domains, session)

    assert summary["done"] == []
    assert summary["skipped"] == {
        "search-a": f"today's snapshot dr-{TODAY} already exists (IN_PROGRESS)",
        "search-b": f"today's snapshot dr-{TODAY} already exists (IN_PROGRESS)",
    }
    second = domains.requests[first_requests:]
    assert [r.method for r in second] == ["GET"] * 4, "a second run only reads"


def test_registration_skipped_when_repository_already_points_at_bucket(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a", "search-b")
    settings = {"bucket": BUCKET, "base_path": f"search-a/{TODAY}", "region": REGION, "role_arn": ROLE_ARN}
    domains.domains[host("search-a")].repositories["dr-backup"] = {"type": "s3", "settings": settings}
    other = {**settings, "bucket": "some-other-bucket", "base_path": f"search-b/{TODAY}"}
    domains.domains[host("search-b")].repositories["dr-backup"] = {"type": "s3", "settings": other}

    summary = run(aws, domains, session)

    assert summary["counts"]["done"] == 2
    assert [r.path for r in domains.for_host(host("search-a"), "PUT")] == [f"/_snapshot/dr-backup/dr-{TODAY}"]
    reregistered = domains.for_host(host("search-b"), "PUT")[0]
    assert reregistered.path == "/_snapshot/dr-backup"
    assert reregistered.body["settings"]["bucket"] == BUCKET


def test_next_day_uses_a_fresh_repository_path(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a")
    run(aws, domains, session)
    tomorrow = NOW + timedelta(days=1)

    summary = run(aws, domains, session, now=tomorrow)

    day = tomorrow.date().isoformat()
    assert summary["done"] == [f"search-a/dr-{day}"]
    register = domains.for_host(host("search-a"), "PUT")[-2]
    assert register.body["settings"]["base_path"] == f"search-a/{day}"


def test_domain_answering_500_fails_alone(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a", "search-broken", "search-c")
    domains.domains[host("search-broken")].fail_status = 500

    with pytest.raises(JobFailedError, match="1 failed: search-broken"):
        run(aws, domains, session)

    assert domains.for_host(host("search-c"), "PUT"), "the domain after the broken one is still processed"
    assert len(domains.for_host(host("search-broken"))) == 1, "a 500 is not retried"
    assert metric(aws, "DoneItems") == 2
    assert metric(aws, "FailedItems") == 1


def test_failed_snapshot_today_is_reported_not_hidden(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a")
    run(aws, domains, session)
    domains.domains[host("search-a")].snapshots["dr-backup"][f"dr-{TODAY}"] = "FAILED"

    with pytest.raises(JobFailedError, match="search-a"):
        run(aws, domains, session)
    assert metric(aws, "FailedItems") == 1


def test_throttled_describe_then_success_is_retried(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session, throttle: Any, call_counter: Any
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a", "search-b")
    calls = call_counter(aws["opensearch"])
    attempts = throttle(aws["opensearch"], "DescribeDomains", times=2)

    summary = run(aws, domains, session)

    assert summary["counts"] == {"done": 2, "skipped": 0, "failed": 0}
    assert calls["DescribeDomains"] == 1
    assert len(attempts) == 3, "two throttled sends, then the one that succeeded"


def test_throttled_domain_endpoint_is_retried(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a")
    domains.domains[host("search-a")].throttle_first = 2
    waits: list[float] = []
    domain_client = SignedDomainClient.from_session(
        session, REGION, scheme="http", address_for=domains.address_for, sleep=waits.append
    )

    summary = run(aws, domains, session, domain_client=domain_client)

    assert summary["done"] == [f"search-a/dr-{TODAY}"]
    assert waits == [2.0, 4.0]


def test_domains_are_described_five_per_page(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session, call_counter: Any
) -> None:
    make_bucket(aws)
    names = [f"search-{index:02d}" for index in range(12)]
    make_domains(aws, domains, *names)
    calls = call_counter(aws["opensearch"])
    pages: list[list[str]] = []
    aws["opensearch"].meta.events.register(
        "provide-client-params.opensearch.DescribeDomains",
        lambda params, **kwargs: pages.append(list(params["DomainNames"])),
    )

    summary = run(aws, domains, session)

    assert [len(page) for page in pages] == [5, 5, 2]
    assert sorted(name for page in pages for name in page) == names
    assert calls == {"ListDomainNames": 1, "DescribeDomains": 3}
    assert summary["done"] == [f"{name}/dr-{TODAY}" for name in names]


def test_missing_bucket_fails_fast_without_touching_domains(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_domains(aws, domains, "search-a")

    with pytest.raises(JobFailedError, match=f"bucket:{BUCKET}"):
        run(aws, domains, session)

    assert domains.requests == []
    assert metric(aws, "FailedItems") == 1


def test_no_metrics_when_disabled(aws: dict[str, Any], domains: Any, session: boto3.session.Session) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a")

    summary = run(aws, domains, session, publish_metrics=False)

    assert summary["counts"]["done"] == 1
    assert aws["cloudwatch"].list_metrics(Namespace="AwsDrBackup")["Metrics"] == []


def test_vpc_endpoint_preferred_over_public_endpoint() -> None:
    status = {"Endpoint": "search-public.example", "Endpoints": {"vpc": "vpc-private.example"}}
    assert domain_endpoint(status) == "vpc-private.example"
    assert domain_endpoint({"Endpoint": "search-public.example"}) == "search-public.example"
    assert domain_endpoint({"DomainName": "creating"}) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("repository", "cs-automated", "must not start with 'cs-'"),
        ("repository", "Upper", "must be lowercase"),
        (
            "role_arn",
            "dr-snapshot-role",
            r"^--role-arn \(DR_OPENSEARCH_SNAPSHOT_ROLE_ARN\) = 'dr-snapshot-role': must be an IAM role ARN",
        ),
        ("bucket", "", r"^--bucket \(DR_OPENSEARCH_BUCKET\) is required"),
    ],
)
def test_config_rejects_bad_values(field: str, value: str, message: str) -> None:
    settings = {"bucket": BUCKET, "region": REGION, "role_arn": ROLE_ARN, field: value}
    with pytest.raises(ValueError, match=message):
        OpenSearchBridgeConfig(**settings)


def test_command_exit_codes(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DR_OPENSEARCH_SNAPSHOT_ROLE_ARN", ROLE_ARN)
    assert opensearch.main(["--bucket", BUCKET, "--no-metrics"]) == 1, "missing bucket is a failure"
    make_bucket(aws)
    assert opensearch.main(["--bucket", BUCKET]) == 0, "no domains, nothing failed"
    monkeypatch.delenv("DR_OPENSEARCH_SNAPSHOT_ROLE_ARN")
    assert opensearch.main(["--bucket", BUCKET]) == 2, "missing setting"


def test_lambda_handler_reads_environment(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    make_bucket(aws)
    monkeypatch.setenv("DR_OPENSEARCH_BUCKET", BUCKET)
    monkeypatch.setenv("DR_OPENSEARCH_SNAPSHOT_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("DR_OPENSEARCH_REPOSITORY", "nightly")

    summary = opensearch.handler({}, None)

    assert summary["job"] == opensearch.JOB
    assert summary["counts"] == {"done": 0, "skipped": 0, "failed": 0}


def test_stand_in_rejects_a_bad_signature(
    aws: dict[str, Any], domains: Any, session: boto3.session.Session
) -> None:
    make_bucket(aws)
    make_domains(aws, domains, "search-a")
    forged = boto3.session.Session(
        aws_access_key_id="AKIDBRIDGETEST000001", aws_secret_access_key="not-the-secret", region_name=REGION
    )
    domain_client = SignedDomainClient.from_session(
        forged, REGION, scheme="http", address_for=domains.address_for, sleep=lambda _: None
    )

    with pytest.raises(JobFailedError, match="search-a"):
        run(aws, domains, session, domain_client=domain_client)

    assert domains.signature_errors == ["signature mismatch for GET /_snapshot/dr-backup"]
