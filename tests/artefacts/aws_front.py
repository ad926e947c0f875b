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


# Operation -> what IAM evaluates it against. "*" for actions without a resource type; an account-wide
# listing of a type with one is evaluated against that type's ARN with a wildcard id (inferred from the
# Service Authorization Reference, docs/lambda-artefacts.md).
RESOURCES: dict[str, Callable[[Call], Resource]] = {
    "sts:GetCallerIdentity": lambda c: (["*"], {}),
    "backup:ListBackupJobs": lambda c: (["*"], {}),
    "backup:ListCopyJobs": lambda c: (["*"], {}),
    "backup:ListProtectedResources": lambda c: (["*"], {}),
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


def _before(item: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    cutoff = params.get("ByCreatedBefore")
    return cutoff is None or item["CreationDate"] < cutoff


def _list_backup_jobs(seeds: Seeds, params: dict[str, Any]) -> dict[str, Any]:
    jobs = [
        j for j in seeds.backup_jobs if params.get("ByState") in (None, j["State"]) and _before(j, params)
    ]
    return {"BackupJobs": jobs}


def _list_copy_jobs(seeds: Seeds, params: dict[str, Any]) -> dict[str, Any]:
    jobs = [j for j in seeds.copy_jobs if params.get("ByState") in (None, j["State"]) and _before(j, params)]
    return {"CopyJobs": jobs}


def _copy_snapshot(seeds: Seeds, params: dict[str, Any]) -> dict[str, Any]:
    seeds.memorydb_copies.append(params)
    snapshot = {"Name": params["TargetSnapshotName"], "Status": "copying", "Source": "manual"}
    return {"Snapshot": snapshot}


LOCAL: dict[str, Callable[[Seeds, dict[str, Any]], dict[str, Any]]] = {
    "backup:ListBackupJobs": _list_backup_jobs,
    "backup:ListCopyJobs": _list_copy_jobs,
    "backup:ListProtectedResources": lambda seeds, _: {"Results": seeds.protected_resources},
    "memorydb:CopySnapshot": _copy_snapshot,
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


# Answers moto gives incompletely, amended before they are sent.
AMEND: dict[str, Callable[[Call, Answer], Answer]] = {"s3:GetBucketNotification": _with_eventbridge}


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
    """The call's own action on its resources, then what the service also authorizes (``ALSO``)."""
    rule = RESOURCES.get(call.action)
    if rule is None:
        return False, f"{call.action}: the local endpoint has no IAM rule for it (add one to RESOURCES)"
    resources, context = rule(call)
    also = ALSO.get(call.action)
    return authorize(call.access_key, [(call.action, resources, context), *(also(call) if also else [])])


class AwsFront:
    """The endpoint a job is given (``AWS_ENDPOINT_URL``); ``denied`` lists every refused call."""

    def __init__(self, moto_port: int) -> None:
        self.moto_port = moto_port
        self.seeds = Seeds()
        self.denied: list[str] = []
        self.calls: list[str] = []
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
        ok, why = allowed(call)
        if not ok:
            self.denied.append(why)
            return _access_denied(operation, why)
        local = LOCAL.get(call.action)
        if local is None:
            answer = self._forward(method, target, {**headers, "x-moto-account-id": call.account}, body)
            amend = AMEND.get(call.action)
            return answer if amend is None or answer[0] != 200 else amend(call, answer)
        _validate(operation.input_shape, call.params, f"{call.action} request")
        result = local(self.seeds, call.params)
        _validate(operation.output_shape, result, f"{call.action} answer")
        payload = json.dumps(_json_value(operation.output_shape, result) if operation.output_shape else {})
        content = (
            "application/x-amz-json-1.1" if operation.metadata["protocol"] == "json" else "application/json"
        )
        return 200, {"Content-Type": content}, payload.encode()

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


def _access_denied(operation: OperationModel, why: str) -> tuple[int, dict[str, str], bytes]:
    message = f"not authorized to perform {why} (local endpoint)"
    protocol = operation.metadata["protocol"]
    if protocol in ("query", "ec2"):
        xml = f"<ErrorResponse><Error><Code>AccessDenied</Code><Message>{message}</Message></Error></ErrorResponse>"
        return 403, {"Content-Type": "text/xml"}, xml.encode()
    if protocol == "rest-xml":
        xml = f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        return 403, {"Content-Type": "application/xml"}, xml.encode()
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
