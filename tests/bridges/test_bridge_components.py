"""OpenSearchBridge, MemoryDbBridge and ScheduledJob under Pulumi mocks: the resources they register."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.memorydb_bridge import MEMORYDB_SCHEDULE, MemoryDbBridge, MemoryDbBridgeArgs
from components.opensearch_bridge import OPENSEARCH_SCHEDULE, OpenSearchBridge, OpenSearchBridgeArgs
from components.scheduled_job import ScheduledJob, ScheduledJobArgs
from dr_model.backup_selection import DEFAULT_OPT_OUT_TAG as EXCLUDE_TAG
from dr_runtime.bridges.memorydb_settings import MemoryDbBridgeConfig
from dr_runtime.bridges.opensearch_settings import OpenSearchBridgeConfig

ACCOUNT = "111111111111"
TAGS = {"team": "platform"}


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, pulumi.runtime.MockResourceArgs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "aws:s3/bucket:Bucket":
            outputs["arn"] = f"arn:aws:s3:::{args.inputs['bucket']}"
        elif args.typ == "aws:iam/role:Role":
            outputs["arn"] = f"arn:aws:iam::{ACCOUNT}:role/{args.name}"
            outputs["name"] = args.name
        else:
            outputs.setdefault("arn", f"arn:aws:mock:us-east-1:{ACCOUNT}:{args.name}")
        self.resources[args.name] = args
        return f"{args.name}_id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources.values() if r.typ == typ]

    def one(self, typ: str, name_part: str = "") -> dict[str, Any]:
        found = [r for r in self.of_type(typ) if name_part in r.name]
        assert len(found) == 1, [r.name for r in found]
        return dict(found[0].inputs)


def build(factory: Callable[[], Any]) -> Mocks:
    mocks = Mocks()
    # A fresh root stack per build, so runs in one process never share resources.
    pulumi.runtime.settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project="aws-dr-backup", stack="test", preview=False)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # pulumi's test helper is untyped
    def program() -> Any:
        component = factory()
        return pulumi.Output.all(component.function_name)

    program()
    return mocks


def statements(policy: str) -> dict[str, dict[str, Any]]:
    return {statement.get("Sid", ""): statement for statement in json.loads(policy)["Statement"]}


def opensearch_bridge() -> OpenSearchBridge:
    return OpenSearchBridge(
        "os-bridge", OpenSearchBridgeArgs(prefix="dr", cluster_name="prod", account_id=ACCOUNT, tags=TAGS)
    )


def memorydb_bridge() -> MemoryDbBridge:
    return MemoryDbBridge(
        "mdb-bridge", MemoryDbBridgeArgs(prefix="dr", cluster_name="prod", account_id=ACCOUNT, tags=TAGS)
    )


@pytest.fixture
def os_mocks() -> Mocks:
    return build(opensearch_bridge)


@pytest.fixture
def mdb_mocks() -> Mocks:
    return build(memorydb_bridge)


@pytest.mark.parametrize(
    ("fixture", "bucket"),
    [("os_mocks", "dr-prod-opensearch-snapshots"), ("mdb_mocks", "dr-prod-memorydb-snapshots")],
)
def test_bucket_settings(request: pytest.FixtureRequest, fixture: str, bucket: str) -> None:
    mocks: Mocks = request.getfixturevalue(fixture)
    created = mocks.one("aws:s3/bucket:Bucket")
    assert created["bucket"] == bucket
    assert EXCLUDE_TAG not in created["tags"], "the S3 plans must select the bridge bucket"
    assert created["tags"] == TAGS

    versioning = mocks.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"

    encryption = mocks.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert encryption["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"

    block = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block[key] is True
        for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )

    rules = {
        rule["id"]: rule
        for rule in mocks.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    }
    raw = rules["expire-raw-snapshots"]
    assert raw["status"] == "Enabled"
    assert raw["filter"] == {"prefix": ""}, "the rule covers every object"
    assert raw["expiration"]["days"] == 2
    assert raw["noncurrentVersionExpiration"]["noncurrentDays"] == 2
    assert rules["remove-expired-delete-markers"]["expiration"] == {"expiredObjectDeleteMarker": True}

    policy = statements(mocks.one("aws:s3/bucketPolicy:BucketPolicy")["policy"])
    tls = policy["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    allows = [s for s in policy.values() if s["Effect"] == "Allow"]
    assert all(s["Principal"] != "*" and s["Principal"] != {"AWS": "*"} for s in allows)


def test_opensearch_ownership_and_snapshot_role(os_mocks: Mocks) -> None:
    ownership = os_mocks.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"

    role = os_mocks.one("aws:iam/role:Role", "snapshot-role")
    trust = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]

    access = statements(os_mocks.one("aws:iam/rolePolicy:RolePolicy", "snapshot-role-policy")["policy"])
    bucket = "arn:aws:s3:::dr-prod-opensearch-snapshots"
    assert access["ListBridgeBucket"]["Resource"] == bucket
    assert access["ReadWriteSnapshots"]["Resource"] == f"{bucket}/*"
    assert sorted(access["ReadWriteSnapshots"]["Action"]) == [
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:PutObject",
    ]


def test_opensearch_job_role_passes_only_the_snapshot_role(os_mocks: Mocks) -> None:
    policy = statements(os_mocks.one("aws:iam/rolePolicy:RolePolicy", "job-exec-policy")["policy"])
    snapshot_role_arn = f"arn:aws:iam::{ACCOUNT}:role/os-bridge-snapshot-role"
    assert policy["PassSnapshotRoleOnly"] == {
        "Sid": "PassSnapshotRoleOnly",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": snapshot_role_arn,
        # Only to OpenSearch Service, the principal the snapshot role trusts (docs/iam-scoping.md).
        "Condition": {"StringEquals": {"iam:PassedToService": "es.amazonaws.com"}},
    }
    assert policy["SnapshotApiOnly"]["Resource"] == [
        f"arn:aws:es:us-east-1:{ACCOUNT}:domain/*/_snapshot",
        f"arn:aws:es:us-east-1:{ACCOUNT}:domain/*/_snapshot/*",
    ]
    wildcard = [s["Sid"] for s in policy.values() if s["Resource"] == "*"]
    assert sorted(wildcard) == ["ListDomains", "PublishRunSummary"]
    assert policy["PublishRunSummary"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "AwsDrBackup"}
    }

    function = os_mocks.one("aws:lambda/function:Function")
    assert function["handler"] == "dr_runtime.bridges.opensearch.handler"
    assert function["environment"]["variables"] == {
        "DR_OPENSEARCH_BUCKET": "dr-prod-opensearch-snapshots",
        "DR_OPENSEARCH_SNAPSHOT_ROLE_ARN": snapshot_role_arn,
        "DR_OPENSEARCH_REPOSITORY": "dr-backup",
    }


def test_memorydb_ownership_and_export_principal(mdb_mocks: Mocks) -> None:
    ownership = mdb_mocks.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerPreferred"

    policy = statements(mdb_mocks.one("aws:s3/bucketPolicy:BucketPolicy")["policy"])
    export = policy["MemoryDbSnapshotExport"]
    assert export["Principal"] == {"Service": "us-east-1.memorydb-snapshot.amazonaws.com"}
    assert sorted(export["Action"]) == [
        "s3:GetBucketAcl",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:ListMultipartUploadParts",
        "s3:PutObject",
    ]
    bucket = "arn:aws:s3:::dr-prod-memorydb-snapshots"
    assert export["Resource"] == [bucket, f"{bucket}/*"]

    job = statements(mdb_mocks.one("aws:iam/rolePolicy:RolePolicy", "job-exec-policy")["policy"])
    snapshots = f"arn:aws:memorydb:us-east-1:{ACCOUNT}:snapshot/*"
    assert job["ExportSnapshots"]["Resource"] == snapshots
    # Both describe actions take resource-level permissions: the account's clusters and snapshots only.
    assert job["DescribeClusters"] == {
        "Sid": "DescribeClusters",
        "Effect": "Allow",
        "Action": "memorydb:DescribeClusters",
        "Resource": f"arn:aws:memorydb:us-east-1:{ACCOUNT}:cluster/*",
    }
    assert job["DescribeSnapshots"] == {
        "Sid": "DescribeSnapshots",
        "Effect": "Allow",
        "Action": "memorydb:DescribeSnapshots",
        "Resource": snapshots,
    }
    wildcard = sorted(s["Sid"] for s in job.values() if s["Resource"] == "*")
    assert wildcard == ["CopySnapshotBucketLookup", "PublishRunSummary"]
    assert job["ExportTargetBucket"]["Resource"] == bucket
    # What the job and CopySnapshot need of the bucket; the ACL is the export principal's to read.
    assert sorted(job["ExportTargetBucket"]["Action"]) == ["s3:GetBucketLocation", "s3:ListBucket"]
    assert not any("iam:PassRole" in json.dumps(s) for s in job.values())
    assert mdb_mocks.one("aws:lambda/function:Function")["environment"]["variables"] == {
        "DR_MEMORYDB_BUCKET": "dr-prod-memorydb-snapshots"
    }


@pytest.mark.parametrize(
    ("fixture", "expression"), [("os_mocks", OPENSEARCH_SCHEDULE), ("mdb_mocks", MEMORYDB_SCHEDULE)]
)
def test_schedules(request: pytest.FixtureRequest, fixture: str, expression: str) -> None:
    mocks: Mocks = request.getfixturevalue(fixture)
    schedule = mocks.one("aws:scheduler/schedule:Schedule")
    assert schedule["scheduleExpression"] == expression
    assert schedule["scheduleExpressionTimezone"] == "UTC"
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    target = schedule["target"]
    assert target["retryPolicy"] == {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600}
    assert target["deadLetterConfig"]["arn"].endswith("-job-dlq")


def test_default_schedule_values() -> None:
    assert OPENSEARCH_SCHEDULE == "cron(0 2 * * ? *)"
    # Minute 0 of every second hour, every day: "every 2 hours" on fixed UTC times.
    assert MEMORYDB_SCHEDULE == "cron(0 0/2 * * ? *)"


def test_scheduled_job_wiring(mdb_mocks: Mocks) -> None:
    dlq = mdb_mocks.one("aws:sqs/queue:Queue")
    assert dlq["sqsManagedSseEnabled"] is True
    dlq_arn = f"arn:aws:mock:us-east-1:{ACCOUNT}:mdb-bridge-job-dlq"

    logs = mdb_mocks.one("aws:cloudwatch/logGroup:LogGroup")
    assert logs["name"] == "/aws/lambda/dr-prod-memorydb-bridge"
    assert logs["retentionInDays"] == 30

    function = mdb_mocks.one("aws:lambda/function:Function")
    assert function["runtime"] == "python3.12"
    assert function["name"] == "dr-prod-memorydb-bridge"
    assert function["loggingConfig"]["logGroup"] == "/aws/lambda/dr-prod-memorydb-bridge"
    # The handler's import closure, file by file: the bridge's own modules and the shared runtime ones.
    shipped = set(function["code"].assets)
    assert {
        "dr_runtime/__init__.py",
        "dr_runtime/bridges/__init__.py",
        "dr_runtime/bridges/memorydb.py",
    } <= shipped
    assert not {path for path in shipped if not path.startswith("dr_runtime/") or not path.endswith(".py")}
    assert "dr_runtime/bridges/opensearch.py" not in shipped

    invoke = mdb_mocks.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert invoke["destinationConfig"]["onFailure"]["destination"] == dlq_arn

    execution = statements(mdb_mocks.one("aws:iam/rolePolicy:RolePolicy", "job-exec-policy")["policy"])
    assert execution["WriteOwnLogs"]["Resource"] == f"arn:aws:mock:us-east-1:{ACCOUNT}:mdb-bridge-job-logs:*"
    assert execution["FailedInvocationsToDeadLetterQueue"]["Resource"] == dlq_arn

    scheduler_trust = json.loads(mdb_mocks.one("aws:iam/role:Role", "job-sched")["assumeRolePolicy"])[
        "Statement"
    ][0]
    assert scheduler_trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert scheduler_trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    scheduler = statements(mdb_mocks.one("aws:iam/rolePolicy:RolePolicy", "job-sched-policy")["policy"])
    assert scheduler == {
        "InvokeThisFunctionOnly": {
            "Sid": "InvokeThisFunctionOnly",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:mock:us-east-1:{ACCOUNT}:mdb-bridge-job-fn",
        },
        "UndeliverableToDeadLetterQueue": {
            "Sid": "UndeliverableToDeadLetterQueue",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": dlq_arn,
        },
    }
    assert mdb_mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []


def test_children_inherit_the_provider_given_to_the_component() -> None:
    def program() -> OpenSearchBridge:
        origin = aws.Provider("origin", region="us-east-1")
        return OpenSearchBridge(
            "os-bridge",
            OpenSearchBridgeArgs(prefix="dr", cluster_name="prod", account_id=ACCOUNT),
            opts=pulumi.ResourceOptions(provider=origin),
        )

    mocks = build(program)
    custom = [r for r in mocks.resources.values() if r.custom and r.typ != "pulumi:providers:aws"]
    assert len(custom) > 15
    assert all("origin" in (r.provider or "") for r in custom), [
        r.name for r in custom if "origin" not in (r.provider or "")
    ]


def test_vpc_placement_adds_network_permissions() -> None:
    mocks = build(
        lambda: OpenSearchBridge(
            "os-vpc",
            OpenSearchBridgeArgs(
                prefix="dr",
                cluster_name="prod",
                account_id=ACCOUNT,
                vpc_subnet_ids=["subnet-11111111"],
                vpc_security_group_ids=["sg-11111111"],
            ),
        )
    )
    function = mocks.one("aws:lambda/function:Function")
    assert function["vpcConfig"] == {"subnetIds": ["subnet-11111111"], "securityGroupIds": ["sg-11111111"]}
    attachment = mocks.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tags": {EXCLUDE_TAG: "true"}}, "must not contain"),
        # The stack may name its own opt-out key: the bridge refuses that one.
        ({"opt_out_tag": "no-dr", "tags": {"no-dr": "true"}}, "must not contain 'no-dr'"),
        ({"account_id": "1234"}, "12 digits"),
        ({"cluster_name": "Prod_Cluster"}, "lowercase"),
        ({"cluster_name": "a-very-long-cluster-name-that-does-not-fit-in-a-bucket"}, "3-63"),
    ],
)
def test_bridge_args_validation(overrides: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"prefix": "dr", "cluster_name": "prod", "account_id": ACCOUNT, **overrides}
    with pytest.raises(ValueError, match=message):
        MemoryDbBridge("bad", MemoryDbBridgeArgs(**settings))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"handler": "os.system"}, "inside dr_runtime"),
        ({"schedule_expression": "every 2 hours"}, r"cron\(...\), rate\(...\) or at\(...\)"),
        ({"log_retention_days": 10}, "log_retention_days must be one of"),
        ({"timeout_seconds": 1000}, "between 1 and 900"),
        ({"vpc_subnet_ids": ["subnet-11111111"]}, "given together"),
    ],
)
def test_scheduled_job_args_validation(overrides: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {
        "function_name": "dr-watchdog",
        "handler": "dr_runtime.operations.watchdog.handler",
        "schedule_expression": "rate(15 minutes)",
        "account_id": ACCOUNT,
        **overrides,
    }
    with pytest.raises(ValueError, match=message):
        ScheduledJobArgs(**settings)


def test_scheduled_job_is_reusable_for_other_handlers() -> None:
    mocks = build(
        lambda: ScheduledJob(
            "watchdog",
            ScheduledJobArgs(
                function_name="dr-watchdog",
                handler="dr_runtime.operations.watchdog.handler",
                schedule_expression="rate(15 minutes)",
                account_id=ACCOUNT,
                policy_statements=[
                    {"Sid": "ListJobs", "Effect": "Allow", "Action": "backup:ListBackupJobs", "Resource": "*"}
                ],
                log_retention_days=14,
            ),
        )
    )
    assert mocks.one("aws:scheduler/schedule:Schedule")["scheduleExpression"] == "rate(15 minutes)"
    assert mocks.one("aws:cloudwatch/logGroup:LogGroup")["retentionInDays"] == 14
    assert "environment" not in mocks.one("aws:lambda/function:Function")
    policy = statements(mocks.one("aws:iam/rolePolicy:RolePolicy", "exec-policy")["policy"])
    assert set(policy) == {"WriteOwnLogs", "FailedInvocationsToDeadLetterQueue", "ListJobs"}


def test_the_opensearch_handler_reads_back_what_the_component_wrote(os_mocks: Mocks) -> None:
    env = os_mocks.one("aws:lambda/function:Function")["environment"]["variables"]
    assert OpenSearchBridgeConfig.from_settings({**env, "AWS_REGION": "us-east-1"}) == OpenSearchBridgeConfig(
        bucket="dr-prod-opensearch-snapshots",
        region="us-east-1",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/os-bridge-snapshot-role",
    )


def test_the_memorydb_handler_reads_back_what_the_component_wrote(mdb_mocks: Mocks) -> None:
    env = mdb_mocks.one("aws:lambda/function:Function")["environment"]["variables"]
    assert MemoryDbBridgeConfig.from_settings({**env, "AWS_REGION": "us-east-1"}) == MemoryDbBridgeConfig(
        bucket="dr-prod-memorydb-snapshots", region="us-east-1"
    )
