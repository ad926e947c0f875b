"""The client factory the runtime commands take (``main(argv, clients=...)``), for tests.

One real botocore client per service (moto behind it where a test mocks AWS), with botocore's Stubber
on the services a test stubs, or on every service: a stubbed client checks each request against the
service model and sends nothing out of the process.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from dr_runtime.aws import client


def fake_credentials(
    monkeypatch: pytest.MonkeyPatch, access_key: str = "testing", secret_key: str = "testing"
) -> None:
    """Credentials moto accepts in the environment, and none of the machine's own (profile, session token)."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)


class Clients:
    def __init__(self, region: str, session: Any = None, *, stub_every_client: bool = False) -> None:
        self.region = region
        self.session = session
        self.stub_every_client = stub_every_client
        self.made: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str) -> Any:
        if service not in self.made:
            self.made[service] = client(service, self.region, self.session)
            if self.stub_every_client:
                self.stub(service)
        return self.made[service]

    def stub(self, service: str) -> Stubber:
        made = self(service)  # with stub_every_client, this already stubs it
        if service not in self.stubbers:
            stubber = Stubber(made)
            stubber.activate()
            self.stubbers[service] = stubber
        return self.stubbers[service]

    @property
    def backup(self) -> Stubber:
        return self.stub("backup")

    def assert_stubs_used(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()
