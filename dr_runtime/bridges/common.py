"""What both bridge jobs share: structured log lines, settings lookup, bucket preflight, CLI exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.report import LOG, JobFailedError


class ConfigError(ValueError):
    """A setting is missing or invalid; raised before any AWS call is made."""


def log_event(event: str, **fields: Any) -> None:
    LOG.info(json.dumps({"event": event, **fields}, default=str, sort_keys=True))


def error_text(exc: BaseException) -> str:
    """A one-line reason for the summary: the AWS error code when there is one."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def setting(
    value: str | None, environ: Mapping[str, str], *names: str, default: str | None = None
) -> str | None:
    """A CLI flag wins over environment variables (first name found), which win over the default."""
    if value not in (None, ""):
        return value
    for name in names:
        if environ.get(name):
            return environ[name]
    return default


def required(value: str | None, what: str) -> str:
    if not value:
        raise ConfigError(f"{what} is required")
    return value


def bucket_problem(s3: Any, bucket: str) -> str | None:
    """Why the target bucket cannot be used, or None; checked once so a missing bucket fails fast."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchBucket", "NotFound"):
            return f"bucket {bucket} does not exist"
        return f"bucket {bucket} is not usable: {error_text(exc)}"
    except BotoCoreError as exc:
        return f"bucket {bucket} is not usable: {error_text(exc)}"
    return None


def configure_cli_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    LOG.setLevel(logging.INFO)


def configure_lambda_logging() -> None:
    # The Lambda runtime already installs a root handler; only the level needs raising.
    LOG.setLevel(logging.INFO)


def exit_code(run: Callable[[], object]) -> int:
    """0 when everything was exported or skipped, 1 when anything failed (the summary was already logged)."""
    try:
        run()
    except JobFailedError as exc:
        LOG.error(str(exc))
        return 1
    return 0


def cli_main(
    argv: Sequence[str] | None,
    parse_args: Callable[[Sequence[str]], argparse.Namespace],
    job: Callable[[argparse.Namespace], Callable[[], object]],
) -> int:
    """Command entry point of a bridge: exit 0 when nothing failed, 1 when something failed, 2 on bad
    settings. ``job`` turns the parsed flags into the run, raising ConfigError for bad settings."""
    configure_cli_logging()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run = job(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return exit_code(run)
