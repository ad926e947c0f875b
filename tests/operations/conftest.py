"""Fixtures for the operations jobs: moto for the services it models, Stubber for the rest, and a fake
HTTP layer for throttling (Stubber answers before botocore's retry loop, so it cannot exercise retries)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters
from moto import mock_aws

from tests.aws_clients import Clients as SharedClients
from tests.aws_clients import fake_credentials

REGION = "us-east-1"
ACCOUNT = "111111111111"


class Clients(SharedClients):
    """A client factory as the jobs take it: one real client per service, optionally stubbed."""

    def __init__(self, region: str = REGION) -> None:
        super().__init__(region)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)


@pytest.fixture
def clients(aws_env: None) -> Iterator[Clients]:
    with mock_aws():
        made = Clients()
        yield made


class _Raw(BytesIO):
    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


class FakeHttp:
    """Answers a client's HTTP requests from a queue, after signing and before the network, so that
    botocore's parsing and standard-mode retries run for real."""

    def __init__(self, api: Any) -> None:
        self.queue: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[str] = []
        api.meta.events.register_first("before-send", self._send)

    def add(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.queue.append(
            (status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())
        )

    def _send(self, request: Any, **kwargs: Any) -> AWSResponse:
        self.requests.append(request.url)
        status, headers, body = self.queue.pop(0)
        return AWSResponse(request.url, status, headers, _Raw(body))


@pytest.fixture
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the back-off botocore asks for instead of sleeping."""
    sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", sleeps.append)
    return sleeps


@pytest.fixture
def fake_http() -> type[FakeHttp]:
    return FakeHttp


class KeyedStub:
    """Answers the given operations of one client by one request parameter, in any order and from any
    thread; other operations go on to moto.

    The bucket checks run concurrently, which a Stubber's ordered queue cannot follow. As with Stubber,
    botocore has validated the request against the model before ``before-call``, and every canned
    response is validated against the operation's output shape here. A call to a stubbed operation
    with a key nobody answered fails the test, so "not called for that bucket" is checked too.
    """

    def __init__(self, api: Any, key: str) -> None:
        self._api = api
        self._key = key
        self._answers: dict[tuple[str, str], tuple[AWSResponse, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str]] = []
        api.meta.events.register_first("before-parameter-build.*.*", self._remember)
        api.meta.events.register_first("before-call.*.*", self._answer)

    def _operation(self, method: str) -> Any:
        return self._api.meta.service_model.operation_model(self._api.meta.method_to_api_mapping[method])

    def add(self, method: str, key: str, response: dict[str, Any]) -> None:
        operation = self._operation(method)
        if operation.output_shape is not None:
            validate_parameters(response, operation.output_shape)
        body = {**response, "ResponseMetadata": {"HTTPStatusCode": 200}}
        self._answers[(operation.name, key)] = (AWSResponse("https://stub", 200, {}, None), body)

    def add_error(self, method: str, key: str, code: str, message: str, status: int = 403) -> None:
        error = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        self._answers[(self._operation(method).name, key)] = (
            AWSResponse("https://stub", status, {}, None),
            error,
        )

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        # The call's own parameters; by ``before-call`` they are serialized into the request.
        context["keyed_stub_key"] = str(params.get(self._key))

    def _answer(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not any(name == model.name for name, _key in self._answers):
            return None
        key = (model.name, context["keyed_stub_key"])
        with self._lock:
            self.calls.append(key)
        if key not in self._answers:
            raise AssertionError(f"unexpected {model.name} for {key[1]}")
        return self._answers[key]


@pytest.fixture
def keyed_stub() -> type[KeyedStub]:
    return KeyedStub
