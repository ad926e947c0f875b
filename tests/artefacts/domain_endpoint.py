"""A fake OpenSearch domain endpoint for the OpenSearch bridge's runs: HTTPS on loopback, one server per
domain, answering the snapshot API calls the bridge signs (``dr_runtime/bridges/opensearch.py``).

What it answers, as OpenSearch Service documents its manual-snapshot API:

- ``GET /_snapshot/<repository>``: the repository's registration, or 404 ``repository_missing_exception``;
- ``PUT /_snapshot/<repository>``: registers an ``s3`` repository (``bucket``, ``base_path``, ``region``,
  ``role_arn``); refused with 500 ``repository_verification_exception`` when the bucket does not exist;
- ``GET /_snapshot/<repository>/<snapshot>``: ``{"snapshots": [{"snapshot", "state"}]}``, or 404
  ``snapshot_missing_exception``;
- ``PUT /_snapshot/<repository>/<snapshot>``: starts a snapshot (``{"accepted": true}``); 400
  ``invalid_snapshot_name_exception`` when the name is taken.

IAM, decided with the front's evaluator from the caller's role policies: ``es:ESHttpGet`` /
``es:ESHttpPut`` on ``arn:aws:es:<region>:<account>:domain/<name><path>``, and for a repository
registration ``iam:PassRole`` on its ``role_arn`` with ``iam:PassedToService`` = ``es.amazonaws.com``
(OpenSearch Service checks that the caller may pass the role). The credential scope must be service
``es`` in the domain's region; the signature itself is not recomputed.

Registering also verifies the repository as OpenSearch does, by acting as the snapshot role: the role
must be one the stack registers (``roles``), trust ``es.amazonaws.com`` with ``sts:AssumeRole``, and
its policies must allow ``s3:ListBucket`` on the bucket and ``s3:GetObject``, ``s3:PutObject``,
``s3:DeleteObject`` under the base path; otherwise 500 ``repository_verification_exception``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.models import s3_backends

from tests.artefacts.aws_front import AwsFront, authorize
from tests.artefacts.functions import PassedRole

_SCOPE = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/aws4_request")
_PATH = re.compile(r"^/_snapshot/(?P<repository>[^/?]+)(?:/(?P<snapshot>[^/?]+))?/?$")


def loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the Lambda interpreter trusts it via ``SSL_CERT_FILE``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "domain.pem", directory / "domain.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class DomainState:
    repositories: dict[str, dict[str, Any]] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


class FakeDomain:
    """One domain's endpoint, ``host`` (``127.0.0.1:<port>``) being what DescribeDomains must report."""

    def __init__(
        self,
        name: str,
        region: str,
        account: str,
        front: AwsFront,
        cert: tuple[Path, Path],
        roles: dict[str, PassedRole],
    ) -> None:
        self.name, self.region, self.account, self.front = name, region, account, front
        self.roles = roles
        self.state = DomainState()
        domain = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, document = domain.answer(self.command, self.path, dict(self.headers), body)
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = _any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _refuse(self, why: str) -> tuple[int, dict[str, Any]]:
        self.front.denied.append(why)
        return 403, {"Message": f"not authorized to perform {why} (fake domain endpoint)"}

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        path = target.split("?", 1)[0]
        self.state.requests.append(f"{method} {path}")
        scope = _SCOPE.search(headers.get("Authorization", ""))
        if scope is None:
            return self._refuse(f"unsigned request {method} {path}")
        access_key, region, service = scope.groups()
        if service != "es" or region != self.region:
            return self._refuse(f"request signed for {service} in {region}, not es in {self.region}")
        found = _PATH.match(path)
        if method not in ("GET", "PUT") or found is None:
            self.front.denied.append(f"{method} {path}: not a snapshot API call the fake domain answers")
            return 400, {"error": {"type": "illegal_argument_exception", "reason": f"{method} {path}"}}
        action = "es:ESHttpGet" if method == "GET" else "es:ESHttpPut"
        resource = f"arn:aws:es:{self.region}:{self.account}:domain/{self.name}{path}"
        checks: list[tuple[str, list[str], dict[str, str]]] = [(action, [resource], {})]
        document: dict[str, Any] = json.loads(body) if body else {}
        repository, snapshot = found["repository"], found["snapshot"]
        if method == "PUT" and snapshot is None:
            role = document.get("settings", {}).get("role_arn", "")
            checks.append(("iam:PassRole", [role], {"iam:PassedToService": "es.amazonaws.com"}))
        ok, why = authorize(access_key, checks)
        if not ok:
            return self._refuse(why)
        if snapshot is None:
            return self._repository(method, repository, document)
        return self._snapshot(method, repository, snapshot, document)

    def _repository(
        self, method: str, repository: str, document: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if method == "GET":
            if repository not in self.state.repositories:
                return 404, _error(404, "repository_missing_exception", f"[{repository}] missing")
            return 200, {repository: self.state.repositories[repository]}
        settings = document.get("settings", {})
        missing = [k for k in ("bucket", "region", "role_arn") if not settings.get(k)]
        if document.get("type") != "s3" or missing:
            return 400, _error(400, "repository_exception", f"[{repository}] type s3 needs {missing}")
        if settings["bucket"] not in s3_backends.bucket_accounts:
            return 500, _error(500, "repository_verification_exception", f"no bucket {settings['bucket']}")
        problem = self._verification_problem(settings)
        if problem:
            return 500, _error(500, "repository_verification_exception", problem)
        self.state.repositories[repository] = {"type": "s3", "settings": settings}
        return 200, {"acknowledged": True}

    def _verification_problem(self, settings: dict[str, Any]) -> str | None:
        """Why OpenSearch, acting as the snapshot role, could not use the bucket; None if it could."""
        arn = settings["role_arn"]
        role = self.roles.get(arn)
        if role is None:
            return f"{arn} is not a role the stack registers"
        trust = json.loads(role.trust_policy)["Statement"]
        if not any(
            s.get("Effect") == "Allow"
            and "sts:AssumeRole" in _listed(s.get("Action"))
            and "es.amazonaws.com" in _listed(s.get("Principal", {}).get("Service"))
            for s in trust
        ):
            return f"{arn} does not trust es.amazonaws.com"
        bucket = f"arn:aws:s3:::{settings['bucket']}"
        prefix = f"{bucket}/{settings.get('base_path', '')}".rstrip("/")
        needed = [("s3:ListBucket", bucket)] + [
            (action, f"{prefix}/index-0") for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
        ]
        policies = [IAMPolicy(document) for document in role.inline_policies]
        for action, resource in needed:
            results = [p.is_action_permitted(action, resource) for p in policies]
            if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
                return f"{arn} may not {action} on {resource}"
        return None

    def _snapshot(
        self, method: str, repository: str, snapshot: str, document: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if repository not in self.state.repositories:
            return 404, _error(404, "repository_missing_exception", f"[{repository}] missing")
        key = (repository, snapshot)
        if method == "GET":
            if key not in self.state.snapshots:
                return 404, _error(404, "snapshot_missing_exception", f"[{repository}:{snapshot}] is missing")
            return 200, {"snapshots": [{"snapshot": snapshot, **self.state.snapshots[key]}]}
        if key in self.state.snapshots:
            return 400, _error(400, "invalid_snapshot_name_exception", f"[{repository}:{snapshot}] exists")
        self.state.snapshots[key] = {
            "state": "IN_PROGRESS",
            "indices": document.get("indices"),
            "base_path": self.state.repositories[repository]["settings"].get("base_path"),
        }
        return 200, {"accepted": True}


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _error(status: int, kind: str, reason: str) -> dict[str, Any]:
    return {
        "error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
        "status": status,
    }
