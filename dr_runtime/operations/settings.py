"""Reading job settings from environment variables, with errors that name the variable."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from dr_runtime.aws import client

ClientFactory = Callable[[str], Any]


class ConfigError(ValueError):
    """A setting is missing or out of range; the message names the setting."""


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name, "").strip()
    return raw or default


def env_list(env: Mapping[str, str], name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes"}:
        return True
    if raw in {"0", "false", "no"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def client_factory(region: str | None = None, session: Any = None) -> ClientFactory:
    """One cached client per service, all with the project's retry settings."""
    cache: dict[str, Any] = {}

    def get(service: str) -> Any:
        if service not in cache:
            cache[service] = client(service, region, session)
        return cache[service]

    return get


def scheduled_time(event: Any) -> datetime:
    """The schedule's own time for EventBridge events, so a retried invocation sees the same instant."""
    raw = event.get("time") if isinstance(event, Mapping) else None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return datetime.now(UTC)


def configure_logging() -> None:
    # Lambda installs a root handler already; the CLI needs one so the run summary is visible.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("aws_dr_backup").setLevel(logging.INFO)
