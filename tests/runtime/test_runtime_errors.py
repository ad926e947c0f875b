"""The one error classification: every known cause, its line and exit code, and what stops a run."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.retries.standard import ThrottledRetryableChecker

from dr_runtime.errors import (
    EXIT_AWS,
    EXIT_SETTINGS,
    THROTTLING_CODES,
    AwsUnavailableError,
    Kind,
    classify,
    error_text,
    item_reason,
    run_reason,
)

ROLE = "arn:aws:sts::111111111111:assumed-role/dr-coverage/session-1"


def client_error(
    code: str, message: str = "", operation: str = "ListBackupJobs", status: int = 400
) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (NoRegionError(), Kind.NO_REGION, "no AWS region: pass --region or set AWS_REGION"),
        (
            NoCredentialsError(),
            Kind.NO_CREDENTIALS,
            "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or run with an IAM role",
        ),
        (
            PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
            Kind.NO_CREDENTIALS,
            "incomplete AWS credentials: Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY",
        ),
        (
            EndpointConnectionError(endpoint_url="https://backup.us-east-1.amazonaws.com/backup-jobs/"),
            Kind.UNREACHABLE,
            'cannot reach AWS: Could not connect to the endpoint URL: "https://backup.us-east-1.amazonaws.com/backup-jobs/"',
        ),
        (
            ReadTimeoutError(endpoint_url="https://tagging.us-east-1.amazonaws.com/"),
            Kind.UNREACHABLE,
            'cannot reach AWS: Read timeout on endpoint URL: "https://tagging.us-east-1.amazonaws.com/"',
        ),
        (
            client_error(
                "AccessDeniedException",
                f"User: {ROLE} is not authorized to perform: backup:ListProtectedResources on resource: "
                "* because no identity-based policy allows the backup:ListProtectedResources action",
                "ListProtectedResources",
                403,
            ),
            Kind.ACCESS_DENIED,
            f"access denied: backup:ListProtectedResources on * for {ROLE} (AccessDeniedException)",
        ),
        (
            client_error(
                "UnauthorizedOperation",
                f"You are not authorized to perform this operation. User: {ROLE} is not authorized to "
                "perform: ec2:DescribeVolumes because no identity-based policy allows the "
                "ec2:DescribeVolumes action. Encoded authorization failure message: AbCd",
                "DescribeVolumes",
                403,
            ),
            Kind.ACCESS_DENIED,
            f"access denied: ec2:DescribeVolumes for {ROLE} (UnauthorizedOperation)",
        ),
        (
            client_error("AuthorizationError", "", "Publish", 403),
            Kind.ACCESS_DENIED,
            "access denied: Publish (AuthorizationError)",
        ),
        (
            client_error("403", "Forbidden", "HeadBucket", 403),
            Kind.ACCESS_DENIED,
            "access denied: HeadBucket (403): Forbidden",
        ),
        (
            client_error("ThrottlingException", "Rate exceeded"),
            Kind.THROTTLED,
            "throttled by AWS after the SDK's retries: ListBackupJobs (ThrottlingException); run again later",
        ),
        (
            client_error("RequestLimitExceeded", "Request limit exceeded.", "DescribeVolumes", 503),
            Kind.THROTTLED,
            "throttled by AWS after the SDK's retries: DescribeVolumes (RequestLimitExceeded); run again later",
        ),
        (
            client_error("TooManyRequestsException", "", "ListDomainNames", 429),
            Kind.THROTTLED,
            "throttled by AWS after the SDK's retries: ListDomainNames (TooManyRequestsException); run again later",
        ),
        (
            client_error("SomethingNew", "slow down please", "ListCopyJobs", 429),
            Kind.THROTTLED,
            "throttled by AWS after the SDK's retries: ListCopyJobs (SomethingNew); run again later",
        ),
        (
            client_error("ExpiredTokenException", "The security token included in the request is expired"),
            Kind.CREDENTIALS_REJECTED,
            "AWS rejected the credentials (ExpiredTokenException): The security token included in the "
            "request is expired; refresh or replace them",
        ),
        (
            client_error("InvalidClientTokenId", "The security token included in the request is invalid."),
            Kind.CREDENTIALS_REJECTED,
            "AWS rejected the credentials (InvalidClientTokenId): The security token included in the "
            "request is invalid.; refresh or replace them",
        ),
        (
            client_error("UnrecognizedClientException", "", "DescribeClusters"),
            Kind.CREDENTIALS_REJECTED,
            "AWS rejected the credentials (UnrecognizedClientException): DescribeClusters; refresh or replace them",
        ),
        (
            client_error("ServiceUnavailableException", "try later", "ListBackupJobs", 503),
            Kind.SERVICE_ERROR,
            "AWS service error after the SDK's retries: ListBackupJobs answered 503 (ServiceUnavailableException)",
        ),
    ],
)
def test_each_known_cause_is_one_line(error: Exception, kind: Kind, text: str) -> None:
    problem = classify(error)

    assert problem is not None
    assert (problem.kind, problem.text) == (kind, text)
    assert problem.exit_code == (EXIT_SETTINGS if kind is Kind.NO_REGION else EXIT_AWS)
    assert error_text(error) == text


def test_other_errors_are_not_classified_and_keep_their_code() -> None:
    error = client_error("ValidationException", "1 validation error detected:\n  Value at 'maxResults'")

    assert classify(error) is None
    assert error_text(error) == "ValidationException: 1 validation error detected: Value at 'maxResults'"
    assert classify(ValueError("no")) is None
    assert error_text(ValueError("no")) == "ValueError: no"


def test_throttling_codes_include_every_code_botocore_retries_as_throttling() -> None:
    # botocore keeps the list on its retry checker; a ClientError with one of these has used its retries.
    assert set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) <= THROTTLING_CODES


def test_an_item_fails_alone_unless_no_call_can_succeed() -> None:
    denied = client_error("AccessDeniedException", "", "DescribeSnapshots", 403)
    assert item_reason(denied) == "access denied: DescribeSnapshots (AccessDeniedException)"
    assert item_reason(client_error("SnapshotQuotaExceededFault", "quota", "CopySnapshot")) == (
        "SnapshotQuotaExceededFault: quota"
    )
    for error in (
        NoCredentialsError(),
        client_error("ExpiredToken", "expired"),
        EndpointConnectionError(endpoint_url="x"),
    ):
        with pytest.raises(AwsUnavailableError) as stopped:
            item_reason(error)
        assert stopped.value.problem.kind.stops_every_call


def test_a_call_the_run_depends_on_stops_it_for_every_known_cause() -> None:
    with pytest.raises(AwsUnavailableError, match=r"^access denied: ListBackupJobs \(AccessDenied\)$"):
        run_reason(client_error("AccessDenied", "", "ListBackupJobs", 403))
    with pytest.raises(AwsUnavailableError, match="throttled"):
        run_reason(client_error("Throttling", "Rate exceeded"))
    assert (
        run_reason(client_error("InvalidParameterValueException", "bad"))
        == "InvalidParameterValueException: bad"
    )


def test_a_long_message_stays_one_bounded_line() -> None:
    error = client_error("AccessDenied", "line one\nline two " + "x" * 1000, "GetObject", 403)

    text = error_text(error)

    assert "\n" not in text
    assert len(text) <= 400
    assert text.startswith("access denied: GetObject (AccessDenied): line one line two xxx")
