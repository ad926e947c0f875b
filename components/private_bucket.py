"""A private, versioned, SSE-S3 bucket whose policy refuses plain HTTP: the shape of every bucket here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components import documents

Rule = aws.s3.BucketLifecycleConfigurationRuleArgs


def _tls_only(bucket_arn: pulumi.Output[str]) -> dict[str, Any]:
    # A Deny for everyone is the only way a bucket policy can refuse plain HTTP; it grants nothing.
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, bucket_arn.apply(lambda arn: f"{arn}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


class PrivateBucket:
    """The bucket and its settings, created as children of ``parent`` and named ``<name>-<part>``."""

    def __init__(
        self,
        parent: pulumi.Resource,
        name: str,
        bucket_name: str,
        ownership: str,
        lifecycle_rules: Sequence[Rule],
        tags: dict[str, str],
        object_lock: bool = False,
    ) -> None:
        """``object_lock``: create the bucket with S3 Object Lock on (it can only be turned on at creation
        here); the caller adds the retention rule (``aws.s3.BucketObjectLockConfiguration``)."""
        child = pulumi.ResourceOptions(parent=parent)
        self._parent, self._name = parent, name
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_name,
            object_lock_enabled=True if object_lock else None,
            tags=tags,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        # SSE-S3: the services writing here (MemoryDB export, AWS Backup reports, the S3 backup role)
        # then need no KMS grant.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        self._public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self._ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership=ownership),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=list(lifecycle_rules),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
        )

    def attach_policy(
        self, statements: Sequence[Any], depends_on: Sequence[pulumi.Resource] = ()
    ) -> aws.s3.BucketPolicy:
        """The TLS-only statement plus ``statements``."""
        return aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=self.bucket.id,
            policy=documents.policy_json([_tls_only(self.bucket.arn), *statements]),
            # The public access block must exist first or S3 may evaluate the policy without it.
            opts=pulumi.ResourceOptions(
                parent=self._parent, depends_on=[self._public_access, self._ownership, *depends_on]
            ),
        )
