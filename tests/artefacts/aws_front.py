"""A local AWS endpoint for the artefact runs: moto behind an HTTP front that decides IAM and serves what
moto does not.

Every request is read as botocore would write it (service from the SigV4 credential scope, operation
from the protocol: ``X-Amz-Target``, the query ``Action``, the RPC v2 path or the REST URI template),
then allowed or refused from the calling role's policies as moto holds them (inline and attached),
evaluated by moto's own ``IAMPolicy`` with the resource ARN and condition keys the request has
(``RESOURCES`` below). moto's own enforcement is not used: it checks every non-S3 request against the
resource ``*`` only, so it refuses any statement scoped to an ARN. An operation without a rule here is
refused too, so a job calling something new fails naming it.

Operations moto does not serve (``LOCAL``) are answered here from the seeded data, the request checked
with ``botocore.validate.ParamValidator`` against the operation's input shape and the answer against its
output shape before it is sent. Everything else is forwarded to moto unchanged.
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import RpcV2CBORParser
from botocore.validate import ParamValidator
from moto.backup.models import backup_backends
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends
from moto.sts.models import sts_backends

_SESSION = botocore.session.get_session()
# Signing name -> botocore service name, for the services the jobs call.
SERVICES = {
    "backup": "backup",
    "dynamodb": "dynamodb",
    "sns": "sns",
    "monitoring": "cloudwatch",
    "tagging": "resourcegroupstaggingapi",
    "s3": "s3",
    "ec2": "ec2",
    "elasticfilesystem": "efs",
    "rds": "rds",
    "cloudtrail": "cloudtrail",
    "sts": "sts",
    "iam": "iam",
    "es": "opensearch",
    "memorydb": "memorydb",
    "config": "config",
    "ram": "ram",
    "logs": "logs",
}
# IAM service prefix where it differs from the signing name.
_IAM_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag"}
# S3 operations whose IAM action has another name (Service Authorization Reference).
_S3_ACTIONS = {
    "ListBuckets": "s3:ListAllMyBuckets",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
}


@dataclass(frozen=True)
class Call:
    service: str  # signing name
    operation: str
    params: dict[str, Any]
    region: str
    account: str
    access_key: str

    @property
    def action(self) -> str:
        if self.service == "s3" and self.operation in _S3_ACTIONS:
            return _S3_ACTIONS[self.operation]
        return f"{_IAM_PREFIX.get(self.service, self.service)}:{self.operation}"


Resource = tuple[list[str], dict[str, str]]
"""The ARNs a call is authorized against, and the condition keys the request carries."""


def _here(call: Call, service: str, suffix: str) -> str:
    return f"arn:aws:{service}:{call.region}:{call.account}:{suffix}"


def _bucket(call: Call) -> str:
    return f"arn:aws:s3:::{call.params['Bucket']}"


def _bucket_account(call: Call) -> dict[str, str]:
    """``s3:ResourceAccount``: the account owning the bucket (moto's global name registry), else the caller's."""
    owner = s3_backends.bucket_accounts.get(call.params["Bucket"])
    return {"s3:ResourceAccount": owner[1] if owner else call.account}


def _framework_arn(call: Call) -> str:
    """A framework's ARN ends in its name and a suffix AWS generates: the seeded framework's, else the
    name with a wildcard suffix (inferred: what a missing framework is authorized against is not
    documented)."""
    name = call.params["FrameworkName"]
    seeded = _SEEDS.frameworks.get((call.account, call.region, name)) if _SEEDS else None
    return seeded["FrameworkArn"] if seeded else _here(call, "backup", f"framework:{name}-*")


# Operation -> what IAM evaluates it against. "*" for actions without a resource type; an account-wide
# listing of a type with one is evaluated against that type's ARN with a wildcard id (inferred from the
# Service Authorization Reference, docs/lambda-artefacts.md).
RESOURCES: dict[str, Callable[[Call], Resource]] = {
    "sts:GetCallerIdentity": lambda c: (["*"], {}),
    "backup:ListBackupJobs": lambda c: (["*"], {}),
    "backup:ListCopyJobs": lambda c: (["*"], {}),
    "backup:ListProtectedResources": lambda c: (["*"], {}),
    "backup:ListRecoveryPointsByBackupVault": lambda c: (
        [_here(c, "backup", f"backup-vault:{c.params['BackupVaultName']}")],
        {},
    ),
    "sts:AssumeRole": lambda c: ([c.params["RoleArn"]], {}),
    "backup:GetBackupVaultAccessPolicy": lambda c: (
        [_here(c, "backup", f"backup-vault:{c.params['BackupVaultName']}")],
        {},
    ),
    "backup:DescribeBackupVault": lambda c: (
        [_here(c, "backup", f"backup-vault:{c.params['BackupVaultName']}")],
        {},
    ),
    # RAM's share listings: the reader's policy grants them on "*" (inferred, docs/verifier.md V15).
    "ram:GetResourceShareAssociations": lambda c: (["*"], {}),
    "ram:GetResourceShares": lambda c: (["*"], {}),
    "backup:DescribeFramework": lambda c: ([_framework_arn(c)], {}),
    # Logs Insights: the query on its log group (the ``:*`` form IAM matches log-group grants with,
    # inferred); its results and stop by query ID, which name no log group.
    "logs:StartQuery": lambda c: ([_here(c, "logs", f"log-group:{c.params['logGroupName']}:*")], {}),
    "logs:GetQueryResults": lambda c: (["*"], {}),
    "logs:StopQuery": lambda c: (["*"], {}),
    "config:DescribeConfigurationRecorders": lambda c: (["*"], {}),
    "config:DescribeConfigurationRecorderStatus": lambda c: (["*"], {}),
    "dynamodb:PutItem": lambda c: ([_here(c, "dynamodb", f"table/{c.params['TableName']}")], {}),
    "dynamodb:DeleteItem": lambda c: ([_here(c, "dynamodb", f"table/{c.params['TableName']}")], {}),
    "dynamodb:ListTables": lambda c: (["*"], {}),
    "sns:Publish": lambda c: ([c.params["TopicArn"]], {}),
    "cloudwatch:PutMetricData": lambda c: (["*"], {"cloudwatch:namespace": c.params["Namespace"]}),
    "tag:GetResources": lambda c: (["*"], {}),
    "s3:ListAllMyBuckets": lambda c: (["*"], {}),
    "s3:ListBucket": lambda c: ([_bucket(c)], _bucket_account(c)),
    "s3:GetBucketVersioning": lambda c: ([_bucket(c)], _bucket_account(c)),
    "s3:GetBucketNotification": lambda c: ([_bucket(c)], _bucket_account(c)),
    "s3:GetBucketLocation": lambda c: ([_bucket(c)], _bucket_account(c)),
    "s3:GetBucketAcl": lambda c: ([_bucket(c)], _bucket_account(c)),
    "s3:PutObject": lambda c: ([f"{_bucket(c)}/{c.params['Key']}"], _bucket_account(c)),
    "s3:GetObject": lambda c: ([f"{_bucket(c)}/{c.params['Key']}"], _bucket_account(c)),
    "ec2:DescribeVolumes": lambda c: (["*"], {}),
    "elasticfilesystem:DescribeFileSystems": lambda c: ([_here(c, "elasticfilesystem", "file-system/*")], {}),
    "rds:DescribeDBInstances": lambda c: ([_here(c, "rds", "db:*")], {}),
    "rds:DescribeDBClusters": lambda c: ([_here(c, "rds", "cluster:*")], {}),
    "cloudtrail:DescribeTrails": lambda c: (["*"], {}),
    "cloudtrail:GetTrailStatus": lambda c: ([c.params["Name"]], {}),
    "cloudtrail:GetEventSelectors": lambda c: ([c.params["TrailName"]], {}),
    "memorydb:DescribeClusters": lambda c: (
        [_here(c, "memorydb", f"cluster/{c.params.get('ClusterName', '*')}")],
        {},
    ),
    "memorydb:DescribeSnapshots": lambda c: (
        [_here(c, "memorydb", f"snapshot/{c.params.get('SnapshotName', '*')}")],
        {},
    ),
    "memorydb:CopySnapshot": lambda c: (
        [
            _here(c, "memorydb", f"snapshot/{c.params['SourceSnapshotName']}"),
            _here(c, "memorydb", f"snapshot/{c.params['TargetSnapshotName']}"),
        ],
        {},
    ),
    "memorydb:TagResource": lambda c: ([c.params["ResourceArn"]], {}),
    "es:ListDomainNames": lambda c: (["*"], {}),
    "es:DescribeDomains": lambda c: ([_here(c, "es", f"domain/{d}") for d in c.params["DomainNames"]], {}),
}

# Actions that need no permission: GetCallerIdentity answers even when a policy denies it (STS API
# reference, GetCallerIdentity).
UNCHECKED = frozenset({"sts:GetCallerIdentity"})

Check = tuple[str, list[str], dict[str, str]]
"""An action IAM evaluates, its resources and condition keys."""

# Authorizations a service makes for a call besides the call's own action.
ALSO: dict[str, Callable[[Call], list[Check]]] = {
    # CopySnapshot also needs memorydb:TagResource on the target, and with a target bucket (an export)
    # s3:ListAllMyBuckets and s3:GetBucketLocation on the bucket: the MemoryDB API permissions
    # reference lists all three for CopySnapshot (docs/iam-scoping.md). That TagResource is checked
    # when the request carries no Tags is inferred from that list, which makes no exception.
    "memorydb:CopySnapshot": lambda c: [
        ("memorydb:TagResource", [_here(c, "memorydb", f"snapshot/{c.params['TargetSnapshotName']}")], {}),
        *(
            [
                ("s3:ListAllMyBuckets", ["*"], {}),
                (
                    "s3:GetBucketLocation",
                    [f"arn:aws:s3:::{c.params['TargetBucket']}"],
                    {"s3:ResourceAccount": c.account},
                ),
            ]
            if c.params.get("TargetBucket")
            else []
        ),
    ],
}


@dataclass
class Seeds:
    """What the local operations answer from."""

    backup_jobs: list[dict[str, Any]] = field(default_factory=list)
    copy_jobs: list[dict[str, Any]] = field(default_factory=list)
    protected_resources: list[dict[str, Any]] = field(default_factory=list)
    memorydb_copies: list[dict[str, Any]] = field(default_factory=list)
    recovery_points: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Vault ARN -> its recovery points (the vault itself must exist in moto's AWS Backup)."""
    frameworks: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """(account, Region, framework name) -> DescribeFramework's answer (moto has no frameworks)."""
    vault_policies: dict[str, str] = field(default_factory=dict)
    """Vault ARN -> its access policy (JSON text)."""
    ram_shares: list[RamShare] = field(default_factory=list)
    """Resource shares, each owned by the account that created it."""
    vault_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Vault ARN -> the fields of DescribeBackupVault moto 5.2.1 does not model (``VaultType``, ``Locked``,
    the lock's retention range, ``MpaApprovalTeamArn``), laid over moto's answer."""
    job_events: dict[str, dict[str, int]] = field(default_factory=dict)
    """Log group name -> job events per source account, as a Logs Insights ``count(*) by account`` gives
    them (moto's Logs Insights does not run ``stats``)."""
    queries: dict[str, str] = field(default_factory=dict)
    """Query ID -> the log group it reads."""


@dataclass(frozen=True)
class RamShare:
    """One RAM resource share as its owner sees it, with its associated resources and principals."""

    owner: str
    region: str
    arn: str
    name: str
    resources: tuple[str, ...]
    principals: tuple[str, ...]
    status: str = "ACTIVE"


_SEEDS: Seeds | None = None
"""The running front's seeds (one front per session), for the rules that need the seeded ARNs."""


class LocalError(Exception):
    """An error a local operation answers with (the service's error code, HTTP status)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _listed(job: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """The filters of ListBackupJobs and ListCopyJobs the jobs use: state, account, creation window."""
    before, after = params.get("ByCreatedBefore"), params.get("ByCreatedAfter")
    return (
        params.get("ByState") in (None, job["State"])
        and params.get("ByAccountId") in (None, job.get("AccountId"))
        and (before is None or job["CreationDate"] < before)
        and (after is None or job["CreationDate"] > after)
    )


def _list_backup_jobs(seeds: Seeds, params: dict[str, Any]) -> dict[str, Any]:
    return {"BackupJobs": [j for j in seeds.backup_jobs if _listed(j, params)]}


def _list_copy_jobs(seeds: Seeds, params: dict[str, Any]) -> dict[str, Any]:
    return {"CopyJobs": [j for j in seeds.copy_jobs if _listed(j, params)]}


def _vault_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


def _list_recovery_points(call: Call, seeds: Seeds) -> dict[str, Any]:
    """The vault's seeded points; a vault moto's AWS Backup does not hold is ResourceNotFoundException."""
    name = call.params["BackupVaultName"]
    if name not in backup_backends[call.account][call.region].vaults:
        raise LocalError("ResourceNotFoundException", f"Backup vault {name} does not exist")
    return {"RecoveryPoints": seeds.recovery_points.get(_vault_arn(call.region, call.account, name), [])}


def _copy_snapshot(seeds: Seeds, params: dict[str, Any]) -> dict[str, Any]:
    seeds.memorydb_copies.append(params)
    snapshot = {"Name": params["TargetSnapshotName"], "Status": "copying", "Source": "manual"}
    return {"Snapshot": snapshot}


def _start_query(seeds: Seeds, params: dict[str, Any]) -> dict[str, Any]:
    group = params["logGroupName"]
    if group not in seeds.job_events:
        raise LocalError("ResourceNotFoundException", f"log group {group} does not exist", 400)
    query_id = f"query-{len(seeds.queries) + 1}"
    seeds.queries[query_id] = group
    return {"queryId": query_id}


def _query_results(seeds: Seeds, params: dict[str, Any]) -> dict[str, Any]:
    group = seeds.queries.get(params["queryId"])
    if group is None:
        raise LocalError("ResourceNotFoundException", f"no query {params['queryId']}", 400)
    rows = [
        [{"field": "account", "value": account}, {"field": "events", "value": str(count)}]
        for account, count in sorted(seeds.job_events[group].items())
    ]
    return {"status": "Complete", "results": rows}


LOCAL: dict[str, Callable[[Seeds, dict[str, Any]], dict[str, Any]]] = {
    "logs:StartQuery": _start_query,
    "logs:GetQueryResults": _query_results,
    "backup:ListBackupJobs": _list_backup_jobs,
    "backup:ListCopyJobs": _list_copy_jobs,
    "backup:ListProtectedResources": lambda seeds, _: {"Results": seeds.protected_resources},
    "memorydb:CopySnapshot": _copy_snapshot,
}


# Local operations that answer from the account and Region of the call as well.
def _describe_framework(call: Call, seeds: Seeds) -> dict[str, Any]:
    name = call.params["FrameworkName"]
    framework = seeds.frameworks.get((call.account, call.region, name))
    if framework is None:
        raise LocalError("ResourceNotFoundException", f"Framework {name} does not exist")
    return framework


def _vault_policy(call: Call, seeds: Seeds) -> dict[str, Any]:
    name = call.params["BackupVaultName"]
    arn = _vault_arn(call.region, call.account, name)
    if arn not in seeds.vault_policies:
        raise LocalError("ResourceNotFoundException", f"Backup vault {name} has no access policy")
    return {"BackupVaultName": name, "BackupVaultArn": arn, "Policy": seeds.vault_policies[arn]}


def _own_shares(call: Call, seeds: Seeds) -> list[RamShare]:
    return [s for s in seeds.ram_shares if s.owner == call.account and s.region == call.region]


def _share_associations(call: Call, seeds: Seeds) -> dict[str, Any]:
    """GetResourceShareAssociations of the caller's own shares: by resource, or by share for principals."""
    kind = call.params["associationType"]
    found: list[dict[str, Any]] = []
    for share in _own_shares(call, seeds):
        if kind == "RESOURCE":
            entities = [r for r in share.resources if call.params.get("resourceArn") in (None, r)]
        else:
            wanted = call.params.get("resourceShareArns")
            entities = list(share.principals) if wanted is None or share.arn in wanted else []
        found.extend(
            {
                "resourceShareArn": share.arn,
                "resourceShareName": share.name,
                "associatedEntity": entity,
                "associationType": kind,
                "status": "ASSOCIATED",
                "external": False,
            }
            for entity in entities
        )
    return {"resourceShareAssociations": found}


def _resource_shares(call: Call, seeds: Seeds) -> dict[str, Any]:
    wanted = call.params.get("resourceShareArns")
    return {
        "resourceShares": [
            {"resourceShareArn": s.arn, "name": s.name, "owningAccountId": s.owner, "status": s.status}
            for s in _own_shares(call, seeds)
            if wanted is None or s.arn in wanted
        ]
    }


LOCAL_IN_ACCOUNT: dict[str, Callable[[Call, Seeds], dict[str, Any]]] = {
    "backup:GetBackupVaultAccessPolicy": _vault_policy,
    "ram:GetResourceShareAssociations": _share_associations,
    "ram:GetResourceShares": _resource_shares,
    "backup:ListRecoveryPointsByBackupVault": _list_recovery_points,
    "backup:DescribeFramework": _describe_framework,
}


def _object_lock_checksum(call: Call, headers: Mapping[str, str]) -> str | None:
    """S3 refuses an upload into a bucket with Object Lock without Content-MD5 or an ``x-amz-checksum-``
    header (S3 User Guide, Object Lock: "Content-MD5 or x-amz-sdk-checksum-algorithm header is required");
    moto 5.2.1 does not check it."""
    bucket = s3_backends[call.account]["aws"].buckets.get(call.params["Bucket"])
    if bucket is None or not bucket.object_lock_enabled:
        return None
    sent = {k.lower() for k in headers}
    if "content-md5" in sent or any(k.startswith("x-amz-checksum-") for k in sent):
        return None
    return "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock"


def _chained_session(call: Call, _headers: Mapping[str, str]) -> str | None:
    """Role chaining (an assumed role assuming another) limits the session to an hour: a longer
    ``DurationSeconds`` fails (STS API reference, AssumeRole). moto 5.2.1 does not check it."""
    if int(call.params.get("DurationSeconds", 3600)) <= 3600:
        return None
    return (
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    )


# Requests a service refuses as invalid before it authorizes them, where moto does not: the error code
# and the check (its message, or None).
REFUSE: dict[str, tuple[str, Callable[[Call, Mapping[str, str]], str | None]]] = {
    "s3:PutObject": ("InvalidRequest", _object_lock_checksum),
    "sts:AssumeRole": ("ValidationError", _chained_session),
}


Answer = tuple[int, dict[str, str], bytes]


def _with_eventbridge(call: Call, answer: Answer) -> Answer:
    """moto 5.2.1 stores a bucket's ``EventBridgeConfiguration`` but leaves it out of
    GetBucketNotificationConfiguration's answer; put it back when the bucket has it."""
    bucket = s3_backends[call.account]["aws"].get_bucket(call.params["Bucket"])
    if bucket.notification_configuration is None or bucket.notification_configuration.event_bridge is None:
        return answer
    status, headers, payload = answer
    text = payload.decode()
    element = "<EventBridgeConfiguration></EventBridgeConfiguration>"
    if "</NotificationConfiguration>" in text:
        text = text.replace("</NotificationConfiguration>", f"{element}</NotificationConfiguration>")
    else:
        text = re.sub(
            r"<NotificationConfiguration([^>]*)/>",
            rf"<NotificationConfiguration\1>{element}</NotificationConfiguration>",
            text,
        )
    assert element in text, f"cannot amend the notification configuration: {payload[:200]!r}"
    return status, headers, text.encode()


def _vault_state(call: Call, answer: Answer) -> Answer:
    """moto 5.2.1 describes every vault as a standard, unlocked one; lay the seeded state over it."""
    status, headers, payload = answer
    if status != 200 or _SEEDS is None:
        return answer
    described = json.loads(payload)
    described.update(_SEEDS.vault_states.get(str(described.get("BackupVaultArn")), {}))
    return status, headers, json.dumps(described, default=str).encode()


# Answers moto gives incompletely, amended before they are sent.
AMEND: dict[str, Callable[[Call, Answer], Answer]] = {
    "s3:GetBucketNotification": _with_eventbridge,
    "backup:DescribeBackupVault": _vault_state,
}


@functools.cache
def _model(service: str) -> ServiceModel:
    # One model per service: botocore caches each operation model on it.
    return _SESSION.get_service_model(SERVICES[service])


_LABEL = re.compile(r"\{([^}+]+)(\+?)\}")


def _template_regex(template: str) -> str:
    out, last = [], 0
    for label in _LABEL.finditer(template):
        out.append(re.escape(template[last : label.start()]))
        out.append(f"(?P<{label[1]}>.+)" if label[2] else f"(?P<{label[1]}>[^/]+)")
        last = label.end()
    out.append(re.escape(template[last:]).rstrip("/"))
    return "".join(out)


def _required_headers(operation: OperationModel) -> list[str]:
    shape = operation.input_shape
    if shape is None:
        return []
    return [
        member.serialization.get("name", name).lower()
        for name, member in shape.members.items()
        if name in shape.required_members and member.serialization.get("location") == "header"
    ]


def _match_rest(
    model: ServiceModel,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    """The REST operation whose URI template, required query keys and required headers fit (PutObject
    and CopyObject share a URI; only CopyObject requires ``x-amz-copy-source``), the most specific first,
    and its path labels."""
    sent = {k.lower() for k in (headers or {})}
    best: tuple[int, str, dict[str, str]] | None = None
    for name in model.operation_names:
        needed = _required_headers(model.operation_model(name))
        if any(header not in sent for header in needed):
            continue
        http_ = model.operation_model(name).http
        if http_.get("method") != method:
            continue
        template, _, required = http_["requestUri"].partition("?")
        pattern = "^" + _template_regex(template) + "/?$"
        found = re.match(pattern, path)
        if not found:
            continue
        wanted = [part.partition("=") for part in required.split("&") if part]
        if any(key not in query or (value and query[key] != [value]) for key, _, value in wanted):
            continue
        score = (len(wanted) + len(needed)) * 1000 + len(_LABEL.sub("", template))
        if best is None or score > best[0]:
            best = (score, name, {k: unquote(v) for k, v in found.groupdict().items()})
    if best is None:
        raise LookupError(f"no {model.service_name} operation answers {method} {path}")
    return best[1], best[2]


def _rest_params(
    operation: OperationModel, labels: dict[str, str], query: dict[str, list[str]], body: bytes
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    shape = operation.input_shape
    if shape is None:
        return params
    members = shape.members
    for name, member in members.items():
        location = member.serialization.get("location")
        key = member.serialization.get("name", name)
        if location == "uri" and key in labels:
            params[name] = labels[key]
        elif location == "querystring" and key in query:
            params[name] = _typed(member, query[key][0])
    if body and operation.metadata["protocol"] == "rest-json":
        document = json.loads(body)
        for name, member in members.items():
            key = member.serialization.get("name", name)
            if member.serialization.get("location") is None and key in document:
                params[name] = document[key]
    return params


def _typed(shape: Shape, text: str) -> Any:
    if shape.type_name == "timestamp":
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    if shape.type_name in ("integer", "long"):
        return int(text)
    if shape.type_name == "boolean":
        return text == "true"
    return text


def _json_value(shape: Shape, value: Any) -> Any:
    if shape.type_name == "structure":
        return {
            member.serialization.get("name", name): _json_value(member, value[name])
            for name, member in shape.members.items()
            if name in value
        }
    if shape.type_name == "list":
        return [_json_value(shape.member, v) for v in value]
    if shape.type_name == "map":
        return {k: _json_value(shape.value, v) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return value.timestamp()
    return value


def _validate(shape: Shape | None, value: Mapping[str, Any], what: str) -> None:
    if shape is None:
        return
    report = ParamValidator().validate(value, shape)
    if report.has_errors():
        raise AssertionError(f"{what} does not fit botocore's model: {report.generate_report()}")


def assumed_role(access_key: str) -> tuple[str, str]:
    """The account and role name of assumed-role credentials (moto's STS)."""
    for account, partitions in list(sts_backends.items()):
        for assumed in partitions["aws"].assumed_roles:
            if assumed.access_key_id == access_key:
                return account, assumed.role_arn.split("/")[-1]
    raise LookupError(f"access key {access_key} is not an assumed role's")


def _role_policies(account: str, role: str) -> list[Any]:
    """The inline and attached policies of the role, as moto holds them."""
    iam = iam_backends[account]["aws"]
    inline = [iam.get_role_policy(role, name)[1] for name in iam.list_role_policies(role)]
    attached, _ = iam.list_attached_role_policies(role)
    return [*inline, *attached]


def _trust_allows(statement: Mapping[str, Any], caller: str) -> bool:
    """Whether one trust statement grants ``sts:AssumeRole`` to the caller's role (by role ARN, its
    account's root or ID, or ``*``); a statement with a condition is not modelled and fails the test."""
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    if not any(re.fullmatch(a.replace("*", ".*"), "sts:AssumeRole") for a in actions):
        return False
    assert "Condition" not in statement, f"trust conditions are not modelled: {statement}"
    principal = statement.get("Principal", {})
    aws_principals = principal.get("AWS", []) if isinstance(principal, dict) else [principal]
    aws_principals = [aws_principals] if isinstance(aws_principals, str) else aws_principals
    account = caller.split(":")[4]
    return bool({caller, f"arn:aws:iam::{account}:root", account, "*"} & set(aws_principals))


def trusted(role_arn: str, caller_key: str) -> tuple[bool, str]:
    """``sts:AssumeRole`` as the role's account decides it: the role exists and its trust policy allows
    the caller (no Deny for it, an Allow naming it). Role chaining: an assumed role's session may last at
    most an hour (STS API reference, AssumeRole ``DurationSeconds``)."""
    account, name = assumed_role(caller_key)
    caller = f"arn:aws:iam::{account}:role/{name}"
    target_account, target = role_arn.split(":")[4], role_arn.rsplit("/", 1)[1]
    roles = {role.name: role for role in iam_backends[target_account]["aws"].roles.values()}
    if target not in roles:
        return False, f"sts:AssumeRole on {role_arn}: no such role"
    trust = json.loads(unquote(roles[target].assume_role_policy_document))
    statements = trust["Statement"]
    statements = [statements] if isinstance(statements, dict) else statements
    if any(s["Effect"] == "Deny" and _trust_allows(s, caller) for s in statements) or not any(
        s["Effect"] == "Allow" and _trust_allows(s, caller) for s in statements
    ):
        return False, f"sts:AssumeRole on {role_arn}: its trust policy does not allow {caller}"
    return True, ""


def authorize(access_key: str, checks: list[Check]) -> tuple[bool, str]:
    """moto's evaluation of the assumed role's policies for each (action, resources, condition keys)."""
    account, role = assumed_role(access_key)
    policies = [IAMPolicy(p) for p in _role_policies(account, role)]
    for action, resources, context in checks:
        for resource in resources:
            results = [
                p.is_action_permitted(action, resource, incoming_condition_values=context) for p in policies
            ]
            if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
                return False, f"{action} on {resource}"
    return True, ""


def allowed(call: Call) -> tuple[bool, str]:
    """The call's own action on its resources, then what the service also authorizes (``ALSO``); for
    ``sts:AssumeRole``, the role's trust policy as well (cross-account, both must allow)."""
    if call.action in UNCHECKED:
        return True, ""
    rule = RESOURCES.get(call.action)
    if rule is None:
        return False, f"{call.action}: the local endpoint has no IAM rule for it (add one to RESOURCES)"
    resources, context = rule(call)
    also = ALSO.get(call.action)
    ok, why = authorize(call.access_key, [(call.action, resources, context), *(also(call) if also else [])])
    if ok and call.action == "sts:AssumeRole":
        ok, why = trusted(call.params["RoleArn"], call.access_key)
    return ok, why


class AwsFront:
    """The endpoint a job is given (``AWS_ENDPOINT_URL``); ``denied`` lists every refused call."""

    def __init__(self, moto_port: int) -> None:
        self.moto_port = moto_port
        self.seeds = Seeds()
        global _SEEDS
        _SEEDS = self.seeds
        self.denied: list[str] = []
        self.calls: list[str] = []
        self.callers: list[tuple[str, str, str]] = []
        """(action, account, role) of every call parsed, in order."""
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _any(self) -> None:
                if self.headers.get("Expect", "").lower() == "100-continue":
                    # botocore sends PutObject with it and waits a second for the go-ahead; S3 gives it.
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self.wfile.flush()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = front.answer(self.command, self.path, dict(self.headers), body)
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def parse(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Call, OperationModel]:
        scope = re.search(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/", headers.get("Authorization", ""))
        if scope is None:
            raise LookupError(f"unsigned request {method} {target}")
        access_key, region, service = scope.groups()
        model = _model(service)
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        protocol = model.protocol
        if "X-Amz-Target" in headers:
            operation = headers["X-Amz-Target"].rsplit(".", 1)[1]
            params = json.loads(body or b"{}")
        elif protocol == "smithy-rpc-v2-cbor":
            operation = split.path.rsplit("/", 1)[1]
            parser = RpcV2CBORParser()
            params = parser.parse_data_item(parser.get_peekable_stream_from_bytes(body)) if body else {}
        elif protocol in ("query", "ec2"):
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            operation = form["Action"]
            params = form
        else:
            operation, labels = _match_rest(
                model, method, unquote(split.path) if service != "s3" else split.path, query, headers
            )
            op_model = model.operation_model(operation)
            params = _rest_params(op_model, labels, query, body)
        account, _ = assumed_role(access_key)
        call = Call(service, operation, params, region, account, access_key)
        return call, model.operation_model(operation)

    def answer(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if target.startswith("/moto-api"):
            return self._forward(method, target, headers, body)
        try:
            call, operation = self.parse(method, target, headers, body)
        except LookupError as error:
            self.denied.append(str(error))
            return 400, {"Content-Type": "application/json"}, json.dumps({"message": str(error)}).encode()
        self.calls.append(call.action)
        self.callers.append((call.action, *assumed_role(call.access_key)))
        code, refuse = REFUSE.get(call.action, ("", None))
        refused = refuse(call, headers) if refuse else None
        if refused is not None:
            self.denied.append(f"{call.action}: {refused}")
            return _error(operation, code, refused, 400)
        ok, why = allowed(call)
        if not ok:
            self.denied.append(why)
            return _access_denied(operation, why, session_arn(call.access_key))
        serve = self._local(call)
        if serve is None:
            answer = self._forward(method, target, {**headers, "x-moto-account-id": call.account}, body)
            amend = AMEND.get(call.action)
            return answer if amend is None or answer[0] != 200 else amend(call, answer)
        _validate(operation.input_shape, call.params, f"{call.action} request")
        try:
            result = serve()
        except LocalError as error:
            return _error(operation, error.code, error.message, error.status)
        _validate(operation.output_shape, result, f"{call.action} answer")
        payload = json.dumps(_json_value(operation.output_shape, result) if operation.output_shape else {})
        content = (
            "application/x-amz-json-1.1" if operation.metadata["protocol"] == "json" else "application/json"
        )
        return 200, {"Content-Type": content}, payload.encode()

    def _local(self, call: Call) -> Callable[[], dict[str, Any]] | None:
        """The local answer to the call, if it is one moto does not serve."""
        in_account = LOCAL_IN_ACCOUNT.get(call.action)
        if in_account is not None:
            return functools.partial(in_account, call, self.seeds)
        local = LOCAL.get(call.action)
        return None if local is None else functools.partial(local, self.seeds, call.params)

    def _forward(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.moto_port, timeout=30)
        try:
            connection.request(method, target, body=body, headers=dict(headers))
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def _error(operation: OperationModel, code: str, message: str, status: int) -> Answer:
    """An error answer of a query, REST-XML or JSON protocol service."""
    protocol = operation.metadata["protocol"]
    if protocol in ("query", "ec2"):
        xml = f"<ErrorResponse><Error><Code>{code}</Code><Message>{message}</Message></Error></ErrorResponse>"
        return status, {"Content-Type": "text/xml"}, xml.encode()
    if protocol == "rest-xml":
        xml = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        return status, {"Content-Type": "application/xml"}, xml.encode()
    assert protocol in ("json", "rest-json"), f"no error shape for {protocol}"
    document = {"__type": code, "message": message}
    return (
        status,
        {"Content-Type": "application/json", "x-amzn-ErrorType": code},
        json.dumps(document).encode(),
    )


def session_arn(access_key: str) -> str:
    """The caller as AWS names it in a denial: ``arn:aws:sts::<account>:assumed-role/<role>/<session>``."""
    for account, partitions in list(sts_backends.items()):
        for assumed in partitions["aws"].assumed_roles:
            if assumed.access_key_id == access_key:
                role = assumed.role_arn.split("/")[-1]
                return f"arn:aws:sts::{account}:assumed-role/{role}/{assumed.session_name}"
    raise LookupError(f"access key {access_key} is not an assumed role's")


def _access_denied(operation: OperationModel, why: str, caller: str) -> tuple[int, dict[str, str], bytes]:
    """AWS's wording (``User: <arn> is not authorized to perform: <action> on resource: <arn>``), which
    the runtime reads the action and resource from (``dr_runtime.errors``); the front's reason after it."""
    action, _, rest = why.partition(" on ")
    resource, _, reason = rest.partition(": ")
    if rest:
        detail = f": {reason}" if reason else ""
        message = f"User: {caller} is not authorized to perform: {action} on resource: {resource}"
        message += f" (local endpoint{detail})"
    else:
        message = f"User: {caller} is not authorized to perform: {why} (local endpoint)"
    protocol = operation.metadata["protocol"]
    if protocol in ("query", "ec2", "rest-xml"):
        return _error(operation, "AccessDenied", message, 403)
    if protocol == "smithy-rpc-v2-cbor":
        # An empty body: botocore reads the error code from the header alone.
        return 403, {"smithy-protocol": "rpc-v2-cbor", "x-amzn-query-error": "AccessDenied;Sender"}, b""
    document = {"__type": "AccessDeniedException", "message": message}
    return (
        400 if protocol == "json" else 403,
        {"Content-Type": "application/json", "x-amzn-ErrorType": "AccessDeniedException"},
        json.dumps(document).encode(),
    )


def now_utc() -> datetime:
    return datetime.now(UTC)
