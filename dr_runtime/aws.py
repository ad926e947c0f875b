"""boto3 clients configured the same way for every job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling (ThrottlingException, TooManyRequests, 5xx) with jitter.
# `max_attempts` counts retries after the first call, so a request is tried up to 9 times.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, user_agent_extra="aws-dr-backup")

ClientFactory = Callable[[str], Any]
"""Service name -> client; the jobs take one so that tests can hand them stubbed clients."""


def client(service: str, region: str | None = None, session: Any = None) -> Any:
    """A client with the project's retry settings; ``session`` lets tests pass their own."""
    factory = session if session is not None else boto3.session.Session()
    return factory.client(service, region_name=region, config=RETRY_CONFIG)


def client_factory(region: str | None = None, session: Any = None) -> ClientFactory:
    """One cached client per service, all with the project's retry settings."""
    cache: dict[str, Any] = {}

    def get(service: str) -> Any:
        if service not in cache:
            cache[service] = client(service, region, session)
        return cache[service]

    return get
