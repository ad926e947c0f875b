"""The verifier's three places: moto for the verifier's own account (S3, SNS, SQS, CloudWatch, STS), and a
local AWS Backup for the isolated account and the delegated administrator, which moto does not model
(no ListRecoveryPointsByBackupVault, ListBackupJobs or ListCopyJobs).

``FakeBackup`` answers a real botocore client at ``before-call``: botocore has validated the request
against the service model by then (as with Stubber), and every answer is validated against the
operation's output shape here. It filters and pages as the API documents (``ByAccountId``, ``ByState``,
``ByCreatedAfter``, ``NextToken``), with small pages so that every listing is followed over pages.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters
from moto import mock_aws

from components import documents
from dr_runtime.aws import ClientFactory, client, client_factory
from dr_runtime.verifier.aws_reading import Places
from dr_runtime.verifier.naming import air_gapped_share_name, vault_arn
from dr_runtime.verifier.settings import VerifierConfig, fleet_accounts
from org.verifier_config import vault_policy_template
from tests.aws_clients import fake_credentials

REGION = "us-east-1"
DR_REGION = "us-east-2"
OWN_ACCOUNT = "444444444444"
ISOLATED = "222222222222"
ADMIN = "888888888888"
FLEET = {"111111111111": "dr-prod", "333333333333": "dr-staging", "555555555555": "dr-payments"}
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
PAGE = 2
BUCKET = "verifier-evidence-444444444444"


def lag_name(account: str) -> str:
    return f"{FLEET[account]}-{account}-air-gapped"


def lag_arn(account: str) -> str:
    return vault_arn(REGION, ISOLATED, lag_name(account))


def locked_name(account: str) -> str:
    return f"{FLEET[account]}-{account}-locked"


def locked_arn(account: str) -> str:
    return vault_arn(REGION, ISOLATED, locked_name(account))


def database(account: str, number: int) -> str:
    return f"arn:aws:rds:{REGION}:{account}:db:db-{number}"


def share_arn(account: str, number: int = 0) -> str:
    return f"arn:aws:ram:{REGION}:{ISOLATED}:resource-share/{account}-{number:04d}"


def volume(account: str, number: int) -> str:
    return f"arn:aws:ec2:{REGION}:{account}:volume/vol-{number:017x}"


def make_config(locked: tuple[str, ...] = (), **overrides: Any) -> VerifierConfig:
    """The fleet's settings; ``locked``: the accounts with a locked vault. The vault policy is the
    program's own (``vault_policy_template``), as the deployment writes it."""
    values: dict[str, Any] = {
        "region": REGION,
        "fleet": fleet_accounts(
            tuple(f"{a}={p}" for a, p in FLEET.items()), (), locked, tuple(f"{a}=7-35" for a in FLEET)
        ),
        "isolated_account": ISOLATED,
        "delegated_admin_account": ADMIN,
        "vault_policy": vault_policy_template(),
        **overrides,
    }
    return VerifierConfig(**values)


def only(account: str, locked: bool = False, **overrides: Any) -> VerifierConfig:
    """The settings of a fleet of one account (with its locked vault when ``locked``)."""
    config = make_config(locked=(account,) if locked else ())
    return make_config(
        locked=(account,) if locked else (),
        fleet=tuple(a for a in config.fleet if a.account_id == account),
        **overrides,
    )


def _account_of(vault_name: str) -> str:
    found = re.search(r"-(\d{12})-", vault_name)
    assert found, vault_name
    return found.group(1)


class FakeBackup:
    """One AWS Backup endpoint of one account: vaults with recovery points, and the organisation's jobs."""

    def __init__(self) -> None:
        self.vaults: dict[str, list[dict[str, Any]]] = {}
        self.policies: dict[str, str | None] = {}
        """vault name -> its access policy (None: it has none); a vault not here has the program's"""
        self.denied: dict[str, str] = {}
        """operation name or vault name -> error code to answer with"""
        self.states: dict[str, dict[str, Any]] = {}
        """vault name -> fields of its DescribeBackupVault answer that differ from what the program builds"""
        self.backup_jobs: list[dict[str, Any]] = []
        self.copy_jobs: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def attach(self, api: Any) -> Any:
        api.meta.events.register_first("before-parameter-build.backup.*", self._remember)
        api.meta.events.register_first("before-call.backup.*", self._answer)
        return api

    # --- state -------------------------------------------------------------------------------------
    def add_point(
        self,
        account: str,
        resource: str,
        created: datetime,
        status: str = "COMPLETED",
        kind: str = "EBS",
        locked: bool = False,
    ) -> None:
        name = locked_name(account) if locked else lag_name(account)
        self.vaults.setdefault(name, [])
        number = len(self.vaults[name])
        self.vaults[name].append(
            {
                "RecoveryPointArn": f"arn:aws:backup:{REGION}:{ISOLATED}:recovery-point:{name}-{number}",
                "BackupVaultName": name,
                "BackupVaultArn": vault_arn(REGION, ISOLATED, name),
                "SourceBackupVaultArn": f"arn:aws:backup:{REGION}:{account}:backup-vault:src",
                "ResourceArn": resource,
                "ResourceType": kind,
                "Status": status,
                "CreationDate": created,
                "VaultType": "BACKUP_VAULT" if locked else "LOGICALLY_AIR_GAPPED_BACKUP_VAULT",
            }
        )

    def add_backup_job(self, account: str, resource: str, created: datetime) -> None:
        self.backup_jobs.append(
            {
                "AccountId": account,
                "BackupJobId": f"job-{len(self.backup_jobs)}",
                "BackupVaultArn": f"arn:aws:backup:{REGION}:{account}:backup-vault:src",
                "ResourceArn": resource,
                "ResourceType": "EBS",
                "State": "COMPLETED",
                "CreationDate": created,
            }
        )

    def add_copy_job(self, account: str, resource: str, created: datetime, destination: str) -> None:
        self.copy_jobs.append(
            {
                "AccountId": account,
                "CopyJobId": f"copy-{len(self.copy_jobs)}",
                "SourceBackupVaultArn": f"arn:aws:backup:{REGION}:{account}:backup-vault:src",
                "DestinationBackupVaultArn": destination,
                "ResourceArn": resource,
                "ResourceType": "EBS",
                "State": "COMPLETED",
                "CreationDate": created,
            }
        )

    # --- the API -----------------------------------------------------------------------------------
    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["fake_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["fake_params"]
        self.calls.append((model.name, params))
        code = self.denied.get(model.name) or self.denied.get(str(params.get("BackupVaultName")))
        if code is not None:
            return self._error(code, f"User is not authorized to perform: backup:{model.name}", 403)
        handler = {
            "ListRecoveryPointsByBackupVault": self._list_recovery_points,
            "ListBackupJobs": self._list_backup_jobs,
            "ListCopyJobs": self._list_copy_jobs,
            "GetBackupVaultAccessPolicy": self._get_policy,
            "DescribeBackupVault": self._describe_vault,
        }.get(model.name)
        if handler is None:
            raise AssertionError(f"FakeBackup does not answer {model.name}")
        answer = handler(params)
        if isinstance(answer, tuple):
            return answer
        body: dict[str, Any] = answer
        self._check(body, model.output_shape)
        return AWSResponse("https://fake-backup", 200, {}, None), {
            **body,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def _check(self, body: dict[str, Any], shape: Any) -> None:
        """Every answer against the operation's output shape (a subclass may check less of a page)."""
        validate_parameters(body, shape)

    @staticmethod
    def _error(code: str, text: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://fake-backup", status, {}, None), {
            "Error": {"Code": code, "Message": text},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    @staticmethod
    def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
        start = int(params.get("NextToken") or 0)
        size = min(PAGE, int(params.get("MaxResults") or PAGE))
        body: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            body["NextToken"] = str(start + size)
        return body

    def _list_recovery_points(self, params: dict[str, Any]) -> Any:
        name = params["BackupVaultName"]
        if name not in self.vaults:
            return self._error("ResourceNotFoundException", f"Backup vault {name} does not exist", 400)
        return self._page(self.vaults[name], params, "RecoveryPoints")

    def _get_policy(self, params: dict[str, Any]) -> Any:
        name = params["BackupVaultName"]
        if name not in self.vaults:
            return self._error("ResourceNotFoundException", f"Backup vault {name} does not exist", 400)
        arn = vault_arn(REGION, ISOLATED, name)
        policy = self.policies.get(name, program_policy(arn, _account_of(name)))
        if policy is None:
            return self._error("ResourceNotFoundException", f"Backup vault {name} has no access policy", 400)
        return {"BackupVaultName": name, "BackupVaultArn": arn, "Policy": policy}

    def _describe_vault(self, params: dict[str, Any]) -> Any:
        """As the program builds the vault (``components/archive.py``): the air-gapped vault of its type,
        the locked one a standard vault, both locked with the default 7-35 days; ``states`` changes it."""
        name = params["BackupVaultName"]
        if name not in self.vaults:
            return self._error("ResourceNotFoundException", f"Backup vault {name} does not exist", 400)
        described: dict[str, Any] = {
            "BackupVaultName": name,
            "BackupVaultArn": vault_arn(REGION, ISOLATED, name),
            "VaultType": "BACKUP_VAULT" if name.endswith("-locked") else "LOGICALLY_AIR_GAPPED_BACKUP_VAULT",
            "VaultState": "AVAILABLE",
            "NumberOfRecoveryPoints": len(self.vaults[name]),
            "Locked": True,
            "MinRetentionDays": 7,
            "MaxRetentionDays": 35,
            **self.states.get(name, {}),
        }
        return {key: value for key, value in described.items() if value is not None}

    def _jobs(self, jobs: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
        chosen = [
            job
            for job in jobs
            if job["AccountId"] == params["ByAccountId"]
            and job["State"] == params.get("ByState", job["State"])
            and job["CreationDate"] > params.get("ByCreatedAfter", datetime.min.replace(tzinfo=UTC))
        ]
        return self._page(chosen, params, key)

    def _list_backup_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._jobs(self.backup_jobs, params, "BackupJobs")

    def _list_copy_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._jobs(self.copy_jobs, params, "CopyJobs")


def program_policy(arn: str, account: str) -> str:
    """The policy the program gives a vault (``components/documents.py``), as AWS might return it."""
    return json.dumps(documents.copy_into_vault_policy(arn, account))


class FakeRam:
    """RAM in the isolated account: the shares it owns, their resource and principal associations.

    A vault of the fake Backup that has no share set up here has the program's: one active share named
    after it, associating the vault and its workload account (``components/archive.py``)."""

    def __init__(self, backup: FakeBackup) -> None:
        self.backup = backup
        self.shares: dict[str, dict[str, Any]] = {}
        """share ARN -> {"name", "status", "resources": {arn: status}, "principals": {id: status}}"""
        self.denied: dict[str, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.defaults = True
        """False: a vault without a share set up here has none."""

    def attach(self, api: Any) -> Any:
        api.meta.events.register_first("before-parameter-build.ram.*", FakeBackup._remember)
        api.meta.events.register_first("before-call.ram.*", self._answer)
        return api

    def share(
        self,
        account: str,
        number: int = 0,
        *,
        name: str | None = None,
        status: str = "ACTIVE",
        resources: dict[str, str] | None = None,
        principals: dict[str, str] | None = None,
    ) -> str:
        arn = share_arn(account, number)
        self.shares[arn] = {
            "name": name or air_gapped_share_name(lag_name(account)),
            "status": status,
            "resources": {lag_arn(account): "ASSOCIATED"} if resources is None else resources,
            "principals": {account: "ASSOCIATED"} if principals is None else principals,
        }
        return arn

    def _defaults(self) -> None:
        if not self.defaults:
            return
        shared = {arn for share in self.shares.values() for arn in share["resources"]}
        for name in self.backup.vaults:
            if name.endswith("-air-gapped") and vault_arn(REGION, ISOLATED, name) not in shared:
                account = _account_of(name)
                self.share(account, number=9999)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["fake_params"]
        self.calls.append((model.name, params))
        code = self.denied.get(model.name)
        if code is not None:
            return FakeBackup._error(code, f"User is not authorized to perform: ram:{model.name}", 403)
        self._defaults()
        if model.name == "GetResourceShareAssociations":
            body = self._associations(params)
        elif model.name == "GetResourceShares":
            body = self._shares(params)
        else:
            raise AssertionError(f"FakeRam does not answer {model.name}")
        validate_parameters(body, model.output_shape)
        return AWSResponse("https://fake-ram", 200, {}, None), {
            **body,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    @staticmethod
    def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
        # RAM may answer a page with no items and a nextToken: the first page here is always empty.
        start = int(params.get("nextToken") or -1)
        if start < 0:
            return {key: [], "nextToken": "0"}
        size = min(PAGE, int(params.get("maxResults") or PAGE))
        body: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            body["nextToken"] = str(start + size)
        return body

    def _associations(self, params: dict[str, Any]) -> dict[str, Any]:
        kind = params["associationType"]
        wanted = params.get("resourceShareArns")
        items = []
        for arn, share in sorted(self.shares.items()):
            if wanted is not None and arn not in wanted:
                continue
            entities = share["resources"] if kind == "RESOURCE" else share["principals"]
            for entity, status in sorted(entities.items()):
                if kind == "RESOURCE" and params.get("resourceArn") not in (None, entity):
                    continue
                items.append(
                    {
                        "resourceShareArn": arn,
                        "resourceShareName": share["name"],
                        "associatedEntity": entity,
                        "associationType": kind,
                        "status": status,
                        "external": False,
                    }
                )
        return self._page(items, params, "resourceShareAssociations")

    def _shares(self, params: dict[str, Any]) -> dict[str, Any]:
        assert params["resourceOwner"] == "SELF"
        wanted = params.get("resourceShareArns")
        items = [
            {
                "resourceShareArn": arn,
                "name": share["name"],
                "owningAccountId": ISOLATED,
                "allowExternalPrincipals": False,
                "status": share["status"],
            }
            for arn, share in sorted(self.shares.items())
            if wanted is None or arn in wanted
        ]
        return self._page(items, params, "resourceShares")


def _reading_place(fake: FakeBackup, ram: FakeRam | None, key: str) -> ClientFactory:
    """A place that has AWS Backup (and RAM, where given) only: a run asking it for another service
    fails the test."""
    session = boto3.session.Session(
        aws_access_key_id=f"AKIDVERIFIERTEST000{key}",
        aws_secret_access_key="verifier-test",
        region_name=REGION,
    )
    apis = {"backup": fake.attach(client("backup", REGION, session))}
    if ram is not None:
        apis["ram"] = ram.attach(client("ram", REGION, session))

    def get(service: str) -> Any:
        if service not in apis:
            raise AssertionError(f"the run asked a reading place for {service}")
        return apis[service]

    return get


@dataclass
class Fleet:
    """The isolated account's and the delegated administrator's AWS Backup, and the own account (moto)."""

    isolated: FakeBackup = field(default_factory=FakeBackup)
    admin: FakeBackup = field(default_factory=FakeBackup)
    ram: FakeRam = field(init=False)
    own: ClientFactory = field(default_factory=lambda: client_factory(REGION))
    queue_url: str = ""

    def __post_init__(self) -> None:
        self.ram = FakeRam(self.isolated)

    def places(self) -> Places:
        return Places(
            vaults=_reading_place(self.isolated, self.ram, "1"),
            jobs=_reading_place(self.admin, None, "2"),
            own=self.own,
        )

    def topic(self) -> str:
        """An SNS topic with an SQS queue subscribed, so that the tests can read what was published."""
        sns, sqs = self.own("sns"), self.own("sqs")
        topic_arn = str(sns.create_topic(Name="verifier-findings")["TopicArn"])
        queue_url = sqs.create_queue(QueueName="verifier-findings")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        self.queue_url = queue_url
        return topic_arn

    def messages(self) -> list[dict[str, Any]]:
        received = self.own("sqs").receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return list(received.get("Messages", []))

    def healthy_account(self, account: str, resources: int = 5) -> None:
        """Daily backups at 07:00 for a week, each copied cross-Region and into the air-gapped vault."""
        for day in range(7):
            created = NOW.replace(hour=7) - timedelta(days=day)
            for number in range(resources):
                self.copy_of(account, volume(account, number), created)

    def healthy_databases(self, account: str, databases: int = 2) -> None:
        """Daily RDS backups for a week, each copied into the locked vault."""
        for day in range(7):
            created = NOW.replace(hour=7) - timedelta(days=day)
            for number in range(databases):
                self.copy_of(account, database(account, number), created, locked=True)

    def copy_of(self, account: str, resource: str, created: datetime, locked: bool = False) -> None:
        if locked:
            self.isolated.add_point(account, resource, created, kind="RDS", locked=True)
            self.admin.add_backup_job(account, resource, created)
            self.admin.add_copy_job(account, resource, created + timedelta(minutes=40), locked_arn(account))
            return
        self.isolated.add_point(account, resource, created)
        self.admin.add_backup_job(account, resource, created)
        self.admin.add_copy_job(
            account,
            resource,
            created + timedelta(minutes=30),
            f"arn:aws:backup:{DR_REGION}:{account}:backup-vault:dr",
        )
        self.admin.add_copy_job(account, resource, created + timedelta(minutes=40), lag_arn(account))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)
    for name in list(os.environ):
        if name.startswith("DR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OWN_ACCOUNT)


@pytest.fixture
def fleet(aws_env: None) -> Iterator[Fleet]:
    with mock_aws():
        made = Fleet()
        made.own("s3").create_bucket(Bucket=BUCKET)
        yield made
