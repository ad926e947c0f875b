"""OpenSearch bridge: take a daily manual snapshot of every domain into the bridge bucket.

Each domain writes its own repository path ``<domain>/<YYYY-MM-DD>``, re-registered once a day. OpenSearch
snapshots are incremental inside one repository path, so a path that lifecycle rules expire piecemeal
would leave later snapshots pointing at deleted blobs; a fresh path per day keeps every day's snapshot
self-contained and safe to expire after two days.

Lambda: ``dr_runtime.bridges.opensearch.handler``. Command: ``python -m dr_runtime.bridges.opensearch``.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import NoCredentialsError

from dr_runtime.aws import ClientFactory, client, client_factory
from dr_runtime.bridges.bucket_preflight import bucket_problem
from dr_runtime.bridges.opensearch_settings import (
    BUCKET,
    REPOSITORY,
    ROLE_ARN,
    SNAPSHOT_PREFIX,
    OpenSearchBridgeConfig,
)
from dr_runtime.commands import Parser, run_command, run_handler
from dr_runtime.errors import EXIT_OK, ConfigError, item_reason, run_reason
from dr_runtime.report import RunSummary, log_event
from dr_runtime.settings import publish_metrics

JOB = "opensearch-snapshot-bridge"
DESCRIBE_BATCH = 5
# Snapshot states that mean "today's snapshot exists and is (or will be) usable".
GOOD_STATES = frozenset({"SUCCESS", "IN_PROGRESS"})
# Statuses worth one more try from the domain: throttled or briefly unavailable.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
SNAPSHOT_BODY: dict[str, Any] = {"indices": "*", "ignore_unavailable": True, "include_global_state": True}


class DomainRequestError(RuntimeError):
    """A domain answered a snapshot API request with an unexpected status."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        reason = body.get("error", body) if isinstance(body, dict) else body
        super().__init__(f"{method} {path} answered {status}: {json.dumps(reason, default=str)[:300]}")
        self.status = status


def snapshot_name(prefix: str, day: date) -> str:
    return f"{prefix}-{day.isoformat()}"


def base_path(domain: str, day: date) -> str:
    return f"{domain}/{day.isoformat()}"


def domain_endpoint(status: Mapping[str, Any]) -> str | None:
    """VPC domains expose only ``Endpoints['vpc']``; public domains only ``Endpoint``."""
    endpoints = status.get("Endpoints") or {}
    return (
        endpoints.get("vpc") or status.get("Endpoint") or endpoints.get("vpcv2") or status.get("EndpointV2")
    )


@dataclass(frozen=True)
class DomainResponse:
    status: int
    body: Any


class SignedDomainClient:
    """Sends SigV4-signed (service ``es``) JSON requests to domain endpoints.

    ``address_for`` maps an endpoint host to the (host, port) to connect to; the ``Host`` header and the
    signature keep the real endpoint. Left unset, DNS decides, as in production.
    """

    def __init__(
        self,
        credentials: Callable[[], Any],
        region: str,
        *,
        scheme: str = "https",
        timeout: float = 30.0,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        address_for: Callable[[str], tuple[str, int]] | None = None,
    ) -> None:
        if scheme not in ("https", "http"):
            raise ConfigError(f"scheme must be https or http, got {scheme!r}")
        self._credentials = credentials
        self._region = region
        self._scheme = scheme
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._sleep = sleep
        self._address_for = address_for
        self.requests = 0

    @classmethod
    def from_session(cls, session: Any, region: str, **kwargs: Any) -> SignedDomainClient:
        def frozen() -> Any:
            credentials = session.get_credentials()
            if credentials is None:
                raise NoCredentialsError()
            # Frozen per request so refreshed (assumed-role) credentials are picked up.
            return credentials.get_frozen_credentials()

        return cls(frozen, region, **kwargs)

    def request(self, method: str, host: str, path: str, body: Any = None) -> DomainResponse:
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(1, self._attempts + 1):
            response = self._send_once(method, host, path, data)
            if response.status not in RETRYABLE_STATUSES or attempt == self._attempts:
                return response
            self._sleep(min(2.0**attempt, 20.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, method: str, host: str, path: str, data: bytes | None) -> DomainResponse:
        headers = {"Content-Type": "application/json"} if data is not None else {}
        request = AWSRequest(method=method, url=f"{self._scheme}://{host}{path}", data=data, headers=headers)
        SigV4Auth(self._credentials(), "es", self._region).add_auth(request)
        prepared = request.prepare()
        connect_host, port = self._address_for(host) if self._address_for else (host, None)
        connection: http.client.HTTPConnection
        if self._scheme == "https":
            connection = http.client.HTTPSConnection(
                connect_host, port, timeout=self._timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(connect_host, port, timeout=self._timeout)
        send_headers = dict(prepared.headers.items())
        send_headers["Host"] = host
        self.requests += 1
        try:
            connection.request(method, path, body=data, headers=send_headers)
            raw = connection.getresponse()
            payload = raw.read()
            status = raw.status
        finally:
            connection.close()
        try:
            parsed: Any = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        return DomainResponse(status, parsed)


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def list_domain_names(opensearch: Any) -> list[str]:
    """Every domain name in the account and region: ListDomainNames answers with all of them at once (it
    takes no pagination token), so the paging happens in DescribeDomains, five names per call."""
    return sorted(info["DomainName"] for info in opensearch.list_domain_names().get("DomainNames", []))


def _ensure_repository(
    domain_client: SignedDomainClient, host: str, name: str, config: OpenSearchBridgeConfig, day: date
) -> bool:
    """Registers the repository unless it already points at this bucket and today's path.

    Returns whether it registered."""
    path = f"/_snapshot/{config.repository}"
    wanted = {"bucket": config.bucket, "base_path": base_path(name, day)}
    current = domain_client.request("GET", host, path)
    if current.status == 200 and isinstance(current.body, dict):
        settings = current.body.get(config.repository, {}).get("settings", {})
        if all(settings.get(key) == value for key, value in wanted.items()):
            return False
    elif current.status != 404:
        raise DomainRequestError("GET", path, current.status, current.body)
    body = {
        "type": "s3",
        "settings": {**wanted, "region": config.region, "role_arn": config.role_arn},
    }
    registered = domain_client.request("PUT", host, path, body)
    if registered.status != 200:
        raise DomainRequestError("PUT", path, registered.status, registered.body)
    return True


def _snapshot_domain(
    domain_client: SignedDomainClient,
    status: Mapping[str, Any],
    config: OpenSearchBridgeConfig,
    day: date,
    summary: RunSummary,
) -> None:
    name = status["DomainName"]
    if status.get("Deleted"):
        summary.skipped[name] = "domain is being deleted"
        return
    host = domain_endpoint(status)
    if not host:
        summary.skipped[name] = "domain has no endpoint yet (still being created)"
        return
    registered = _ensure_repository(domain_client, host, name, config, day)
    snapshot = snapshot_name(config.snapshot_prefix, day)
    path = f"/_snapshot/{config.repository}/{snapshot}"
    existing = domain_client.request("GET", host, path)
    if existing.status == 200:
        snapshots = existing.body.get("snapshots", []) if isinstance(existing.body, dict) else []
        state = snapshots[0].get("state", "UNKNOWN") if snapshots else "UNKNOWN"
        if state in GOOD_STATES:
            summary.skipped[name] = f"today's snapshot {snapshot} already exists ({state})"
            return
        # A snapshot name cannot be reused; a FAILED/PARTIAL one needs a person, so say so every run.
        raise RuntimeError(f"today's snapshot {snapshot} is {state}; delete it to retry")
    if existing.status != 404:
        raise DomainRequestError("GET", path, existing.status, existing.body)
    taken = domain_client.request("PUT", host, path, SNAPSHOT_BODY)
    if taken.status != 200:
        raise DomainRequestError("PUT", path, taken.status, taken.body)
    summary.done.append(f"{name}/{snapshot}")
    log_event("snapshot-started", job=JOB, domain=name, snapshot=snapshot, repository_registered=registered)


def _process(
    domain_client: SignedDomainClient,
    status: Mapping[str, Any],
    config: OpenSearchBridgeConfig,
    day: date,
    summary: RunSummary,
) -> None:
    name = status.get("DomainName", "?")
    try:
        _snapshot_domain(domain_client, status, config, day, summary)
    except Exception as exc:  # one domain never stops the others (unless no call can succeed)
        summary.failed[name] = item_reason(exc)
        log_event("domain-failed", job=JOB, domain=name, error=summary.failed[name])
    else:
        if name in summary.skipped:
            log_event("domain-skipped", job=JOB, domain=name, reason=summary.skipped[name])


def run(
    config: OpenSearchBridgeConfig,
    *,
    session: Any = None,
    opensearch: Any = None,
    s3: Any = None,
    cloudwatch: Any = None,
    domain_client: SignedDomainClient | None = None,
    now: datetime | None = None,
    publish_metrics: bool = True,
) -> dict[str, Any]:
    """One run over all domains; raises ``JobFailedError`` (after logging and publishing) on any failure."""
    if session is None:
        import boto3

        session = boto3.session.Session()
    opensearch = opensearch or client("opensearch", config.region, session)
    s3 = s3 or client("s3", config.region, session)
    if publish_metrics and cloudwatch is None:
        cloudwatch = client("cloudwatch", config.region, session)
    domain_client = domain_client or SignedDomainClient.from_session(session, config.region)
    day = (now or datetime.now(UTC)).astimezone(UTC).date()
    summary = RunSummary(JOB)
    metrics = cloudwatch if publish_metrics else None

    problem = bucket_problem(s3, config.bucket)
    if problem:
        summary.failed[f"bucket:{config.bucket}"] = problem
        return summary.finish(metrics)
    try:
        names = list_domain_names(opensearch)
    except Exception as exc:
        summary.failed["discovery"] = run_reason(exc)
        return summary.finish(metrics)
    for batch in _batches(names, DESCRIBE_BATCH):
        try:
            statuses = opensearch.describe_domains(DomainNames=batch)["DomainStatusList"]
        except Exception as exc:  # a failed page fails its five domains, not the run
            for name in batch:
                summary.failed[name] = f"describe failed: {item_reason(exc)}"
            continue
        for status in statuses:
            _process(domain_client, status, config, day, summary)
    return summary.finish(metrics)


def handler(_event: Mapping[str, Any] | None, _context: Any) -> dict[str, Any]:
    """Lambda entry point. The scheduled event carries nothing: settings come from the environment."""

    def scheduled_run() -> dict[str, Any]:
        config = OpenSearchBridgeConfig.from_settings(os.environ)
        return run(config, publish_metrics=publish_metrics(os.environ))

    return run_handler(JOB, scheduled_run)


def parser() -> Parser:
    command = Parser(
        prog="python -m dr_runtime.bridges.opensearch",
        description="Snapshot every OpenSearch domain of the account and region into the bridge bucket.",
    )
    for setting in (BUCKET, ROLE_ARN, REPOSITORY, SNAPSHOT_PREFIX):
        setting.add_to(command)
    return command


def main(argv: Sequence[str] | None = None, clients: ClientFactory | None = None) -> int:
    """Command entry point; the exit codes are those of ``dr_runtime.errors``."""

    def command() -> int:
        args = parser().parse_args(argv)
        config = OpenSearchBridgeConfig.from_settings(os.environ, args)
        made = clients or client_factory(config.region)
        metrics = publish_metrics(os.environ, args)
        run(
            config,
            opensearch=made("opensearch"),
            s3=made("s3"),
            cloudwatch=made("cloudwatch") if metrics else None,
            publish_metrics=metrics,
        )
        return EXIT_OK

    return run_command(JOB, command)


if __name__ == "__main__":
    sys.exit(main())
