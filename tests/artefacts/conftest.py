"""One moto server and one local front for the session; the recorded graphs of every stack."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from components.lambda_code import LAMBDA_PROVIDED
from tests.artefacts.aws_front import AwsFront
from tests.artefacts.domain_endpoint import loopback_certificate
from tests.artefacts.functions import LambdaFunction

RUNNER = Path(__file__).with_name("lambda_runner.py")


@pytest.fixture(scope="session")
def sdk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """boto3 and its dependencies as symlinks, as the Lambda runtime provides them; nothing else."""
    directory = tmp_path_factory.mktemp("lambda-sdk")
    for name in sorted(LAMBDA_PROVIDED):
        spec = importlib.util.find_spec(name)
        assert spec is not None, f"{name} is not installed"
        assert spec.origin is not None, f"{name} has no file"
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (directory / source.name).symlink_to(source)
    return directory


@pytest.fixture(scope="session")
def domain_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The fake OpenSearch domains' certificate and key (``domain_endpoint.py``)."""
    return loopback_certificate(tmp_path_factory.mktemp("domain-cert"))


@dataclass
class Aws:
    front: AwsFront
    moto_url: str
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def client(self, service: str, account: str, region: str = "us-east-1") -> Any:
        """A client straight to moto (no IAM) in ``account``, for seeding and checking; one per service,
        account and region for the session (making a client costs more than most calls)."""
        key = (service, account, region)
        if key not in self._clients:
            self._clients[key] = self._client(service, account, region)
        return self._clients[key]

    def _client(self, service: str, account: str, region: str) -> Any:
        made = boto3.client(
            service,
            region_name=region,
            endpoint_url=self.moto_url,
            aws_access_key_id="seed",
            aws_secret_access_key="seed",
        )

        def in_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        made.meta.events.register("before-sign.*.*", in_account)
        return made

    def reset(self) -> None:
        boto3.session.Session()

        urllib.request.urlopen(urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST"))
        self.front.denied.clear()
        self.front.calls.clear()
        self.front.callers.clear()
        self.front.seeds.__init__()  # type: ignore[misc]

    def credentials_for(self, function: LambdaFunction) -> dict[str, str]:
        """The function's execution role as registered, created in moto and assumed."""
        iam = self.client("iam", function.account)
        existing = {role["RoleName"] for role in iam.list_roles()["Roles"]}
        if function.role_name not in existing:
            iam.create_role(RoleName=function.role_name, AssumeRolePolicyDocument=function.trust_policy)
            for name, document in function.inline_policies.items():
                iam.put_role_policy(RoleName=function.role_name, PolicyName=name, PolicyDocument=document)
            for arn in function.managed_policy_arns:
                iam.attach_role_policy(RoleName=function.role_name, PolicyArn=arn)
        assumed = self.client("sts", function.account).assume_role(
            RoleArn=f"arn:aws:iam::{function.account}:role/{function.role_name}",
            RoleSessionName=function.name,
        )["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
            "AWS_SESSION_TOKEN": assumed["SessionToken"],
        }


@pytest.fixture(scope="session")
def aws() -> Iterator[Aws]:
    # moto would otherwise load thousands of AMIs into every account's EC2 backend (the coverage job
    # lists volumes): seconds per account, for nothing the jobs read.
    before = os.environ.get("MOTO_EC2_LOAD_DEFAULT_AMIS")
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    front = AwsFront(port)
    front.start()
    try:
        yield Aws(front, f"http://{host}:{port}")
    finally:
        front.stop()
        server.stop()
        if before is None:
            os.environ.pop("MOTO_EC2_LOAD_DEFAULT_AMIS", None)
        else:
            os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = before


def run_function(
    function: LambdaFunction,
    task_root: Path,
    sdk: Path,
    event: Any = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The handler in ``python -I -S`` with the function's registered environment (and ``extra_env``:
    credentials, region and endpoint, as Lambda and the test give them)."""
    env = {
        **function.environment,
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": os.environ.get("PATH", ""),
        **(extra_env or {}),
    }
    payload = "-" if event is None else json.dumps(event)
    return subprocess.run(
        [sys.executable, "-I", "-S", str(RUNNER), str(task_root), str(sdk), function.handler, payload],
        env=env,
        cwd=task_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
