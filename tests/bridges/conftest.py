"""Fixtures for the bridge jobs: fake credentials, a stand-in OpenSearch domain endpoint, fault injection."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.aws_clients import fake_credentials

REGION = "us-east-1"
ACCOUNT = "111111111111"
ACCESS_KEY = "AKIDBRIDGETEST000001"
SECRET_KEY = "bridge-test-secret-key"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch, ACCESS_KEY, SECRET_KEY)
    monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")


@pytest.fixture
def session(aws_credentials: None) -> boto3.session.Session:
    # Explicit keys: moto replaces the environment's keys with its own while it is active.
    return boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )


def _expected_signature(
    method: str, path: str, headers: dict[str, str], signed: list[str], body: bytes, scope: str
) -> str:
    """SigV4 recomputed by hand from what arrived on the wire (independent of botocore's signer)."""
    amz_date = headers["x-amz-date"]
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    canonical_request = "\n".join(
        [method, path, "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{SECRET_KEY}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeDomain:
    """One domain's snapshot API: repositories and snapshot states, plus injected faults."""

    host: str
    repositories: dict[str, dict[str, Any]] = field(default_factory=dict)
    snapshots: dict[str, dict[str, str]] = field(default_factory=dict)
    fail_status: int | None = None
    throttle_first: int = 0


@dataclass
class Recorded:
    host: str
    method: str
    path: str
    body: Any


class DomainStandIn:
    """A local HTTP server standing in for any number of domain endpoints, told apart by ``Host``."""

    def __init__(self) -> None:
        self.domains: dict[str, FakeDomain] = {}
        self.requests: list[Recorded] = []
        self.signature_errors: list[str] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                stand_in._handle(self, "GET")

            def do_PUT(self) -> None:
                stand_in._handle(self, "PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, host: str) -> FakeDomain:
        self.domains[host] = FakeDomain(host)
        return self.domains[host]

    def address_for(self, host: str) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def for_host(self, host: str, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.host == host and (method is None or r.method == method)]

    def _verify(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        match = _AUTH.match(headers.get("authorization", ""))
        if not match:
            return f"not a SigV4 Authorization header: {headers.get('authorization')!r}"
        if match["key"] != ACCESS_KEY or match["region"] != REGION or match["service"] != "es":
            return f"wrong credential scope: {match['key']}/{match['region']}/{match['service']}"
        amz_date = headers.get("x-amz-date", "")
        try:
            sent = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return f"bad X-Amz-Date {amz_date!r}"
        if abs(datetime.now(UTC) - sent) > timedelta(minutes=5) or match["date"] != amz_date[:8]:
            return f"X-Amz-Date {amz_date} does not match the scope date {match['date']} or the clock"
        signed = match["signed"].split(";")
        if not {"host", "x-amz-date"} <= set(signed) or (body and "content-type" not in signed):
            return f"signed headers incomplete: {signed}"
        scope = f"{match['date']}/{REGION}/es/aws4_request"
        if _expected_signature(method, path, headers, signed, body, scope) != match["signature"]:
            return f"signature mismatch for {method} {path}"
        return None

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        headers = {name.lower(): value for name, value in request.headers.items()}
        body = request.rfile.read(int(headers.get("content-length", "0") or 0))
        host = headers.get("host", "")
        parsed = json.loads(body) if body else None
        with self._lock:
            self.requests.append(Recorded(host, method, request.path, parsed))
            problem = self._verify(method, request.path, headers, body)
            if problem:
                self.signature_errors.append(problem)
                status, answer = 403, {"message": problem}
            else:
                status, answer = self._route(host, method, request.path, parsed)
        payload = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _route(self, host: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        domain = self.domains.get(host)
        if domain is None:
            return 404, {"message": f"unknown host {host}"}
        if domain.throttle_first > 0:
            domain.throttle_first -= 1
            return 429, {"message": "Too Many Requests"}
        if domain.fail_status is not None:
            return domain.fail_status, {"error": {"type": "internal_error", "reason": "boom"}}
        parts = path.strip("/").split("/")
        if parts[0] != "_snapshot" or len(parts) not in (2, 3):
            return 400, {"error": {"type": "unexpected_path", "reason": path}}
        repo = parts[1]
        if len(parts) == 2:
            if method == "GET":
                if repo not in domain.repositories:
                    return 404, {"error": {"type": "repository_missing_exception"}, "status": 404}
                return 200, {repo: domain.repositories[repo]}
            settings = (body or {}).get("settings", {})
            if (body or {}).get("type") != "s3" or not {"bucket", "region", "role_arn", "base_path"} <= set(
                settings
            ):
                return 400, {"error": {"type": "repository_exception", "reason": f"bad body {body}"}}
            domain.repositories[repo] = body
            return 200, {"acknowledged": True}
        name = parts[2]
        if repo not in domain.repositories:
            return 404, {"error": {"type": "repository_missing_exception"}, "status": 404}
        taken = domain.snapshots.setdefault(repo, {})
        if method == "GET":
            if name not in taken:
                return 404, {"error": {"type": "snapshot_missing_exception"}, "status": 404}
            return 200, {"snapshots": [{"snapshot": name, "state": taken[name]}]}
        if name in taken:
            return 400, {"error": {"type": "invalid_snapshot_name_exception"}}
        taken[name] = "IN_PROGRESS"
        return 200, {"accepted": True}


@pytest.fixture
def domains() -> Iterator[DomainStandIn]:
    stand_in = DomainStandIn()
    yield stand_in
    stand_in.close()


def throttle_first(
    client: Any, operation: str, times: int = 1, *, status: int = 400, code: str = "ThrottlingException"
) -> list[int]:
    """Answers the first ``times`` sends of ``operation`` with a throttling error, below the retry layer.

    Returns a list that grows by one per send of the operation (throttled or not), to count attempts.
    """
    attempts: list[int] = []

    def maybe_throttle(request: Any, **kwargs: Any) -> AWSResponse | None:
        attempts.append(1)
        if len(attempts) > times:
            return None
        body = json.dumps({"__type": code, "message": "Rate exceeded"}).encode()
        if code == "SlowDown":
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
        raw = _RawBody(body)
        return AWSResponse(request.url, status, {"x-amzn-ErrorType": code}, raw)

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"before-send.{service}.{operation}", maybe_throttle)
    return attempts


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *args: Any) -> bytes:
        return self._body


def count_calls(client: Any) -> dict[str, int]:
    """Counts API calls per operation (once per call, not per retry).

    Hooked on before-parameter-build, which every handler sees; a Stubber answers before-call first.
    """
    counts: dict[str, int] = {}

    def count(model: Any, **kwargs: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    client.meta.events.register_first("before-parameter-build", count)
    return counts


@pytest.fixture
def throttle() -> Callable[..., list[int]]:
    return throttle_first


@pytest.fixture
def call_counter() -> Callable[[Any], dict[str, int]]:
    return count_calls
