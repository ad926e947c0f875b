"""Job settings: each has a command-line flag and an environment variable, and errors name both.

The Lambda handlers read only the environment variables; the commands read the same variables and let
their flags override them. A bad value stops the job before any AWS call with one message naming the
flag, the variable, the value and what is allowed, e.g.
``--threshold-minutes (DR_WATCHDOG_THRESHOLD_MINUTES) = '5h': must be a whole number``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from dr_runtime.errors import NO_REGION, ConfigError

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")

TRUE_WORDS = frozenset({"1", "true", "yes"})
FALSE_WORDS = frozenset({"0", "false", "no"})


@dataclass(frozen=True)
class Setting:
    """One setting: its flag, the environment variable behind it, and the help text."""

    flag: str
    env: str | None
    help: str

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def label(self) -> str:
        """How errors name the setting: ``--flag (VARIABLE)``."""
        return f"{self.flag} ({self.env})" if self.env else self.flag

    def add_to(self, parser: argparse.ArgumentParser, **kwargs: Any) -> None:
        where = f"; env {self.env}" if self.env else ""
        parser.add_argument(self.flag, dest=self.dest, help=f"{self.help}{where}", **kwargs)

    def raw(self, env: Mapping[str, str], args: argparse.Namespace | None = None) -> str | None:
        """The flag's value if given, else the variable's; None when neither is set (a blank variable
        counts as unset)."""
        value = getattr(args, self.dest, None) if args is not None else None
        if value is not None:
            return ",".join(value) if isinstance(value, list) else str(value)
        if self.env is None:
            return None
        return env.get(self.env, "").strip() or None


V = TypeVar("V")


def environment(values: Mapping[Setting, V]) -> dict[str, V]:
    """A function's environment that gives each setting its value: what a component writes and the
    handler reads back with the same declarations."""
    written: dict[str, V] = {}
    for setting, value in values.items():
        if setting.env is None:
            raise ValueError(f"{setting.flag} has no environment variable")
        written[setting.env] = value
    return written


REGION = Setting("--region", "AWS_REGION", "AWS Region (else AWS_DEFAULT_REGION, else the profile's region)")
PUBLISH_METRICS = Setting("--no-metrics", "DR_PUBLISH_METRICS", "do not publish CloudWatch metrics")


def optional(setting: Setting, env: Mapping[str, str], args: argparse.Namespace | None) -> str | None:
    """The flag's value as given (even empty, which validation then rejects), else the variable's."""
    return setting.raw(env, args)


def text(setting: Setting, env: Mapping[str, str], args: argparse.Namespace | None, default: str) -> str:
    value = setting.raw(env, args)
    return default if value is None else value


def required(setting: Setting, env: Mapping[str, str], args: argparse.Namespace | None) -> str:
    value = setting.raw(env, args)
    if not value:
        raise ConfigError(f"{setting.label} is required")
    return value


def whole_number(
    setting: Setting, env: Mapping[str, str], args: argparse.Namespace | None, default: int
) -> int:
    raw = setting.raw(env, args)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{setting.label} = {raw!r}: must be a whole number") from None


def names(
    setting: Setting, env: Mapping[str, str], args: argparse.Namespace | None, default: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """A comma-separated list (a repeated flag counts as one list). A set but empty variable is empty."""
    value = getattr(args, setting.dest, None) if args is not None else None
    if value is not None:
        raw = ",".join(value) if isinstance(value, list) else str(value)
    elif setting.env is not None and setting.env in env:
        raw = env[setting.env]
    else:
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def check_topic_arn(setting: Setting, value: str | None) -> None:
    """``value``, when given, is an SNS topic ARN; else one ``ConfigError`` naming ``setting``."""
    if value is not None and not _TOPIC_ARN.match(value):
        raise ConfigError(
            f"{setting.label} = {value!r}: must be an SNS topic ARN, arn:aws:sns:<region>:<account>:<topic>"
        )


def publish_metrics(env: Mapping[str, str], args: argparse.Namespace | None = None) -> bool:
    """``--no-metrics`` turns metrics off; otherwise ``DR_PUBLISH_METRICS`` (true or false, default true)."""
    if args is not None and getattr(args, PUBLISH_METRICS.dest, False):
        return False
    raw = env.get(PUBLISH_METRICS.env or "", "").strip().lower()
    if not raw or raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ConfigError(f"{PUBLISH_METRICS.label} = {raw!r}: must be true or false")


def region(env: Mapping[str, str], args: argparse.Namespace | None = None, *, profile: bool = False) -> str:
    """``--region``, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else (``profile``) the region of the
    AWS config profile, as the AWS CLI would find it."""
    found = REGION.raw(env, args) or env.get("AWS_DEFAULT_REGION", "").strip()
    if not found and profile:
        import botocore.session  # only the commands look at the profile; Pulumi programs import this module

        found = botocore.session.Session().get_config_variable("region") or ""
    if not found:
        raise ConfigError(NO_REGION)
    return str(found)


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """The flags every job takes: ``--region`` and ``--no-metrics``."""
    REGION.add_to(parser)
    parser.add_argument(
        PUBLISH_METRICS.flag,
        dest=PUBLISH_METRICS.dest,
        action="store_true",
        help=f"{PUBLISH_METRICS.help}; env {PUBLISH_METRICS.env}=false",
    )


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
