"""What both bridge jobs share: the bucket preflight."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import AwsProblem, AwsUnavailableError, Kind, run_reason

MISSING_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})
REFUSED_BUCKET_CODES = frozenset({"403", "Forbidden", "AccessDenied"})


def bucket_problem(s3: Any, bucket: str) -> str | None:
    """Why the target bucket cannot be used, or None; checked once so a missing bucket fails fast.

    A bucket that does not exist fails the run's one item; a refused check (HeadBucket answers 403 with
    no body: the role lacks ``s3:ListBucket``, or another account owns the name) or an unreachable S3
    stops the run with ``AwsUnavailableError``."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in MISSING_BUCKET_CODES:
            return f"bucket {bucket} does not exist"
        if code in REFUSED_BUCKET_CODES:
            raise AwsUnavailableError(
                AwsProblem(
                    Kind.ACCESS_DENIED,
                    f"access denied: s3:ListBucket on arn:{s3.meta.partition}:s3:::{bucket} (HeadBucket "
                    f"answered {code}): the role lacks s3:ListBucket on it, or another account owns it",
                )
            ) from exc
        return f"bucket {bucket} is not usable: {run_reason(exc)}"
    except BotoCoreError as exc:
        return f"bucket {bucket} is not usable: {run_reason(exc)}"
    return None
