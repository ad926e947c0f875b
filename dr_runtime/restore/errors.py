"""How the restore commands fail: bad input, AWS unavailable, or one resource's own error.

Kept in one small module so that it can give way to the runtime's shared error layer (another change
consolidates error handling for every job in ``dr_runtime``) with a one-file swap; the names follow it.

Exit codes of ``python -m dr_runtime.restore``:

- 0: done, nothing failed (``plan``: every resource in scope can be restored as planned);
- 1: done, but at least one resource failed or cannot be restored (the output names each one and why);
- 2: bad input: unknown type, malformed profile or plan, a profile setting a resource needs, a source
  vault that does not exist, credentials of another account than the plan's (the message names the
  flag, file or key); nothing was started;
- 3: AWS could not be used: no or rejected credentials, access denied, throttled after the SDK's
  retries, endpoint unreachable, on a call the whole command depends on; nothing more was started.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_INPUT = 2
EXIT_AWS = 3
EXIT_CODES_HELP = (
    "exit codes: 0 nothing failed; 1 a resource failed or cannot be restored (the output says which and "
    "why); 2 bad input (flag, profile, plan or missing profile setting; nothing started); 3 AWS unavailable "
    "(credentials, access denied, throttled after retries, unreachable)"
)
NO_REGION = "no AWS region: pass --region or set AWS_REGION"
NO_CREDENTIALS = "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an IAM role"
MAX_TEXT = 400
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "Forbidden",
        "403",
    }
)
REJECTED_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AuthFailure",
        "RequestExpired",
    }
)
# The codes botocore's standard retry mode retries as throttling: seen here only after the retries ran out.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
    }
)


class InputError(ValueError):
    """Bad input; the message names the flag, file or key, the value and what is allowed."""


class AwsUnavailableError(RuntimeError):
    """AWS cannot be used for this command at all; the message is one line."""


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 3] + "..."


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return str(info.get("Code") or status or "Unknown")
    return type(error).__name__


def _client_text(error: ClientError) -> str:
    message = one_line(str(error.response.get("Error", {}).get("Message") or ""))
    code = error_code(error)
    return f"{error.operation_name}: {code}: {message}" if message else f"{error.operation_name}: {code}"


def stops_everything(error: BaseException) -> str | None:
    """The one-line cause when ``error`` would stop every other call too (no region, no or rejected
    credentials, unreachable endpoint); None otherwise."""
    if isinstance(error, NoRegionError):
        return NO_REGION
    if isinstance(error, NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(error, PartialCredentialsError | CredentialRetrievalError | ProfileNotFound):
        return one_line(f"AWS credentials could not be loaded: {error}")
    if isinstance(error, BotoConnectionError):
        return one_line(f"cannot reach AWS: {error}")
    if isinstance(error, ClientError) and error_code(error) in REJECTED_CODES:
        return one_line(f"AWS rejected the credentials ({error_code(error)}); refresh or replace them")
    return None


def error_text(error: BaseException) -> str:
    """One line for any AWS SDK error: the classified cause, else the operation, code and message."""
    stop = stops_everything(error)
    if stop is not None:
        return stop
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in DENIED_CODES:
            return one_line(f"access denied: {_client_text(error)}")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in THROTTLING_CODES or status == 429:
            return (
                f"throttled by AWS after the SDK's retries: {error.operation_name} ({code}); run again later"
            )
        return one_line(_client_text(error))
    return one_line(f"{type(error).__name__}: {error}")


def item_reason(error: BaseException) -> str:
    """Why one resource failed. Raises ``AwsUnavailableError`` instead when the cause stops every call."""
    stop = stops_everything(error)
    if stop is not None:
        raise AwsUnavailableError(stop) from error
    return error_text(error)


def run_reason(error: BotoCoreError | ClientError) -> AwsUnavailableError:
    """A call the whole command depends on failed: the error to raise, with its one-line cause."""
    return AwsUnavailableError(error_text(error))
