"""How the restore commands fail: the runtime's shared error layer (``dr_runtime.errors``) plus the little
that is restore's own (its exit-code help, ``run_error``).

Exit codes of ``python -m dr_runtime.restore`` (the shared ones, read for restores):

- 0: done, nothing failed (``plan``: every resource in scope can be restored as planned);
- 1: done, but at least one resource failed or cannot be restored (the output names each one and why);
  ``plan`` also: a chosen point is stale (older than its copy schedule allows: the copies stopped), or a
  resource backed up in the primary region has no copy in the source;
- 2: bad input: unknown type, malformed profile or plan, a profile setting a resource needs, a source
  vault that does not exist, credentials of another account than the plan's, no region (the message
  names the flag, file or key); nothing was started;
- 3: AWS could not be used: no or rejected credentials, access denied, throttled after the SDK's
  retries, endpoint unreachable, on a call the whole command depends on; nothing more was started.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import (
    EXIT_AWS,
    EXIT_ITEMS_FAILED,
    EXIT_OK,
    EXIT_SETTINGS,
    NO_CREDENTIALS,
    AwsUnavailableError,
    ConfigError,
    as_problem,
    classify,
    error_text,
    item_reason,
)

__all__ = [
    "EXIT_AWS",
    "EXIT_CODES_HELP",
    "EXIT_INPUT",
    "EXIT_ITEMS_FAILED",
    "EXIT_OK",
    "NO_CREDENTIALS",
    "AwsUnavailableError",
    "InputError",
    "as_problem",
    "error_code",
    "error_text",
    "item_reason",
    "run_error",
    "stops_everything",
]

InputError = ConfigError
"""Bad input; the message names the flag, file or key, the value and what is allowed."""
EXIT_INPUT = EXIT_SETTINGS
EXIT_CODES_HELP = (
    "exit codes: 0 nothing failed; 1 a resource failed or cannot be restored, or (plan) its newest point is "
    "stale because its copies stopped, or it has no copy in the source (the output says which and why); "
    "2 bad input (flag, profile, plan, missing profile setting, no region; nothing started); "
    "3 AWS unavailable (credentials, access denied, throttled after retries, unreachable)"
)


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return str(info.get("Code") or status or "Unknown")
    return type(error).__name__


def stops_everything(error: BaseException) -> bool:
    """Whether ``error`` would stop every other call too (no region, no or rejected credentials,
    unreachable endpoint)."""
    problem = classify(error)
    return problem is not None and problem.kind.stops_every_call


def run_error(error: BotoCoreError | ClientError) -> AwsUnavailableError:
    """A call the whole command depends on failed: the error to raise, with its one-line cause."""
    return AwsUnavailableError(as_problem(error))
