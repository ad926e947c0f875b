"""How every job starts and stops, as a command (``main``) and as a Lambda handler (``handler``).

A command that stops early prints one line on stderr, ``<job>: <why>``, and exits with the code that
``dr_runtime.errors`` documents: never a traceback for a cause that is known. A handler logs one JSON
line (``{"event": "job-stopped", "job", "reason", "error"}``) and raises, so Lambda marks the invocation
failed, which is what the alarms watch; the exception it raises is the project's own, never the SDK's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import (
    EXIT_CODES_HELP,
    EXIT_ITEMS_FAILED,
    EXIT_SETTINGS,
    AwsUnavailableError,
    ConfigError,
    as_problem,
)
from dr_runtime.report import LOG, JobFailedError, configure_logging
from dr_runtime.settings import add_common_flags

T = TypeVar("T")


class Parser(argparse.ArgumentParser):
    """The jobs' argument parser: ``--region`` and ``--no-metrics`` built in, the exit codes in ``--help``,
    and a usage error is a ``ConfigError`` (one line, exit 2) instead of argparse's usage dump."""

    def __init__(self, prog: str, description: str) -> None:
        super().__init__(prog=prog, description=description, epilog=EXIT_CODES_HELP)
        add_common_flags(self)

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see --help)")


def _stop(job: str, text: str, code: int) -> int:
    print(f"{job}: {text}", file=sys.stderr)
    return code


def run_command(job: str, body: Callable[[], int]) -> int:
    """Runs a command's body and turns every known way it can stop into one line and an exit code."""
    configure_logging()
    try:
        return body()
    except ConfigError as error:
        return _stop(job, str(error), EXIT_SETTINGS)
    except AwsUnavailableError as error:
        return _stop(job, error.problem.text, error.problem.exit_code)
    except JobFailedError as error:
        # The summary on stderr already lists every failed item with its reason.
        print(str(error), file=sys.stderr)
        return EXIT_ITEMS_FAILED
    except (BotoCoreError, ClientError) as error:
        problem = as_problem(error)
        return _stop(job, problem.text, problem.exit_code)


def _stopped(job: str, reason: str, text: str) -> None:
    LOG.error(json.dumps({"event": "job-stopped", "job": job, "reason": reason, "error": text}))


def run_handler(job: str, body: Callable[[], T]) -> T:
    """Runs a Lambda handler's body: a known cause is logged as one JSON line, then raised as the
    project's own exception (without the SDK's chain), so the invocation still counts as failed."""
    configure_logging()
    try:
        return body()
    except ConfigError as error:
        _stopped(job, "bad-settings", str(error))
        raise
    except AwsUnavailableError as error:
        _stopped(job, error.problem.kind.value, error.problem.text)
        raise AwsUnavailableError(error.problem) from None
    except (BotoCoreError, ClientError) as error:
        problem = as_problem(error)
        _stopped(job, problem.kind.value, problem.text)
        raise AwsUnavailableError(problem) from None
