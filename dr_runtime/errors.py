"""What can stop a job, classified once, so every command and Lambda handler reports it the same way.

Exit codes of every command (the READMEs and each ``--help`` repeat them from ``EXIT_CODES_HELP``):

- 0: the run finished and nothing failed;
- 1: the run finished and at least one item failed (the run summary names each item and why);
- 2: bad or missing settings, including no region (the message names the flag and its variable);
- 3: AWS could not be used: no or rejected credentials, access denied, throttled after the SDK's
  retries, endpoint unreachable, an AWS error on a call the whole run depends on, or the run's
  metrics could not be published (the summary is still printed first).

Where a cause stops every call (no region, no or rejected credentials, unreachable endpoint), the run
stops at once wherever it happens. Access denied, throttling and service errors stop the run on a call
the whole run depends on (``run_reason``) and fail only their item elsewhere (``item_reason``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_SETTINGS = 2
EXIT_AWS = 3
EXIT_CODES_HELP = (
    "exit codes: 0 nothing failed; 1 an item failed (the summary says which and why); "
    "2 bad or missing setting, including no region; 3 AWS unavailable: no or rejected credentials, "
    "access denied, throttled after retries, endpoint unreachable, or metrics not published"
)

NO_REGION = "no AWS region: pass --region or set AWS_REGION"
NO_CREDENTIALS = (
    "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "or run with an IAM role"
)
MAX_TEXT = 400

# Error codes AWS services use for a refused authorization (S3 answers a HEAD request with a bare 403).
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "403",
    }
)
# Credentials that reached AWS and were refused: expired, unknown or wrongly signed.
REJECTED_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "IncompleteSignature",
        "AuthFailure",
        "RequestExpired",
    }
)
# Every code botocore's standard retry mode treats as throttling (a test keeps the two in step), so a
# ClientError with one of these reached the caller only after the configured retries were spent.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_DENIED_ACTION = re.compile(r"not authorized to perform:?\s+(?P<action>[\w-]+:[\w*-]+)")
_DENIED_RESOURCE = re.compile(r"\bon resource:?\s+(?P<resource>\S+?)[.,;]?(?:\s|$)")
_PRINCIPAL = re.compile(r"\bUser:?\s+(?P<principal>arn:\S+?)[.,;]?(?:\s|$)")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the flag and its environment variable."""


class Kind(StrEnum):
    NO_REGION = "no-region"
    NO_CREDENTIALS = "no-credentials"
    CREDENTIALS_REJECTED = "credentials-rejected"
    ACCESS_DENIED = "access-denied"
    THROTTLED = "throttled"
    UNREACHABLE = "unreachable"
    SERVICE_ERROR = "service-error"
    METRICS_NOT_PUBLISHED = "metrics-not-published"

    @property
    def stops_every_call(self) -> bool:
        """Causes that no other call can escape, so a run stops at the first one wherever it is."""
        return self in (Kind.NO_REGION, Kind.NO_CREDENTIALS, Kind.CREDENTIALS_REJECTED, Kind.UNREACHABLE)


@dataclass(frozen=True)
class AwsProblem:
    kind: Kind
    text: str
    """One line, e.g. ``access denied: backup:ListBackupJobs on * (AccessDeniedException)``."""

    @property
    def exit_code(self) -> int:
        return EXIT_SETTINGS if self.kind is Kind.NO_REGION else EXIT_AWS


class AwsUnavailableError(RuntimeError):
    """The run stopped because AWS could not be used; ``problem`` says why in one line."""

    def __init__(self, problem: AwsProblem) -> None:
        super().__init__(problem.text)
        self.problem = problem


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_TEXT else flat[: MAX_TEXT - 3] + "..."


def _client_error_parts(error: ClientError) -> tuple[str, str, int]:
    info = error.response.get("Error", {})
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return str(info.get("Code") or status or "Unknown"), one_line(str(info.get("Message") or "")), status


def _denied_text(error: ClientError, code: str, message: str) -> str:
    action = _DENIED_ACTION.search(message)
    if action is None:
        detail = f": {message}" if message else ""
        return f"access denied: {error.operation_name} ({code}){detail}"
    text = f"access denied: {action['action']}"
    resource = _DENIED_RESOURCE.search(message)
    if resource:
        text += f" on {resource['resource']}"
    principal = _PRINCIPAL.search(message)
    if principal:
        text += f" for {principal['principal']}"
    return f"{text} ({code})"


def classify(error: BaseException) -> AwsProblem | None:
    """The known cause of an AWS SDK error, or None for any other error."""
    if isinstance(error, NoRegionError):
        return AwsProblem(Kind.NO_REGION, NO_REGION)
    if isinstance(error, NoCredentialsError):
        return AwsProblem(Kind.NO_CREDENTIALS, NO_CREDENTIALS)
    if isinstance(error, PartialCredentialsError):
        return AwsProblem(Kind.NO_CREDENTIALS, one_line(f"incomplete AWS credentials: {error}"))
    if isinstance(error, CredentialRetrievalError | TokenRetrievalError | SSOError | ProfileNotFound):
        return AwsProblem(Kind.NO_CREDENTIALS, one_line(f"AWS credentials could not be loaded: {error}"))
    if isinstance(error, BotoConnectionError | HTTPClientError):
        return AwsProblem(Kind.UNREACHABLE, one_line(f"cannot reach AWS: {error}"))
    if not isinstance(error, ClientError):
        return None
    code, message, status = _client_error_parts(error)
    operation = error.operation_name
    if code in REJECTED_CODES:
        return AwsProblem(
            Kind.CREDENTIALS_REJECTED,
            one_line(
                f"AWS rejected the credentials ({code}): {message or operation}; refresh or replace them"
            ),
        )
    if code in DENIED_CODES:
        return AwsProblem(Kind.ACCESS_DENIED, one_line(_denied_text(error, code, message)))
    if code in THROTTLING_CODES or status == 429:
        return AwsProblem(
            Kind.THROTTLED,
            f"throttled by AWS after the SDK's retries: {operation} ({code}); run again later",
        )
    if status >= 500:
        return AwsProblem(
            Kind.SERVICE_ERROR,
            one_line(f"AWS service error after the SDK's retries: {operation} answered {status} ({code})"),
        )
    return None


def error_text(error: BaseException) -> str:
    """One line for a summary or a message: the classified cause, else the AWS error code and message."""
    problem = classify(error)
    if problem is not None:
        return problem.text
    if isinstance(error, ClientError):
        code, message, _ = _client_error_parts(error)
        return f"{code}: {message}" if message else code
    return one_line(f"{type(error).__name__}: {error}")


def as_problem(error: BotoCoreError | ClientError) -> AwsProblem:
    """Any AWS SDK error that stopped a run: its classified cause, else a service error with its text."""
    return classify(error) or AwsProblem(Kind.SERVICE_ERROR, f"AWS error: {error_text(error)}")


def item_reason(error: BaseException) -> str:
    """Why one item failed, in one line. Raises ``AwsUnavailableError`` instead when the cause stops every
    call (no region, no or rejected credentials, endpoint unreachable): the other items would fail alike."""
    if isinstance(error, AwsUnavailableError):
        raise error  # already decided by an inner handler: it stops the run
    problem = classify(error)
    if problem is not None and problem.kind.stops_every_call:
        raise AwsUnavailableError(problem) from error
    return error_text(error)


def run_reason(error: BaseException) -> str:
    """Why a call the whole run depends on failed. Raises ``AwsUnavailableError`` for every known cause
    (also access denied, throttling and service errors); returns the text of any other error."""
    if isinstance(error, AwsUnavailableError):
        raise error
    problem = classify(error)
    if problem is not None:
        raise AwsUnavailableError(problem) from error
    return error_text(error)
