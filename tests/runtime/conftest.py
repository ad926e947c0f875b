"""Stubbed clients for every runtime command, and an environment with no AWS settings at all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.aws_clients import Clients

REGION = "us-east-1"
ACCOUNT = "111111111111"


class StubbedClients(Clients):
    """A client factory as the commands take it (``main(argv, clients=...)``): every client is a real
    botocore client with a Stubber, so each request is checked against the service model and nothing
    leaves the process."""

    def __init__(self) -> None:
        session = boto3.session.Session(
            aws_access_key_id="AKIDRUNTIMETEST00001", aws_secret_access_key="runtime-test", region_name=REGION
        )
        super().__init__(REGION, session, stub_every_client=True)


@pytest.fixture
def stubbed() -> Iterator[StubbedClients]:
    made = StubbedClients()
    yield made
    made.assert_stubs_used()


def bare_environment(home: str) -> dict[str, str]:
    """What a fresh shell without any AWS set-up has: no AWS_* variables, no config or credentials
    files, no instance metadata (so botocore does not wait for it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "DR_"))}
    env.update(
        {
            "HOME": home,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


@pytest.fixture
def no_aws_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """The same bare environment for in-process runs."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "DR_")):
            monkeypatch.delenv(key)
    for key, value in bare_environment(str(tmp_path)).items():
        monkeypatch.setenv(key, value)
