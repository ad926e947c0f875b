"""AWS API calls of one verifier run for 100 and 1,000 workload accounts of 300 resources each.

The run is the real one (``dr_runtime.verifier.verify.run`` and ``finish``: readers, evaluation, evidence,
metrics) against the fakes of ``tests/verifier/conftest.py``: ``FakeBackup`` and ``FakeRam`` answer real
botocore clients, whose requests botocore checks against the service models, and they check every answer
against the operation's output shape. They page as AWS does at the verifier's page sizes
(``MaxResults``/``maxResults`` are at most 1,000 for the three Backup listings and 500 for RAM, botocore's
``backup`` and ``ram`` models); RAM's first page is empty, the fake's pessimistic reading of RAM. The
verifier's own account (S3, SNS, CloudWatch) answers every call with an empty success checked the same
way, and a missing baseline (the first run).

Each account: a healthy stack that backs up its 300 resources daily at 07:00, copies each backup
cross-Region and into its air-gapped vault, and keeps the air-gapped copies 7 days (2,100 recovery points);
the run at 12:00 lists the last 32 h of jobs (two days of backups: 600 backup jobs, 1,200 copy jobs).
The points are made page by page as they are asked for, so 2.1 million of them need no memory.

Prints calls per API, per account, and the ratio between the two sizes: calls grow with pages, and a
listing's pages with what one account holds, not with accounts x resources x vaults.
``sts:AssumeRole`` and ``sts:GetCallerIdentity`` of ``connect`` (two of each per run) are not counted.

    .venv/bin/python benchmarks/verifier_calls.py
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, overload

import boto3
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dr_runtime.aws import ClientFactory, client
from dr_runtime.verifier import verify
from dr_runtime.verifier.aws_reading import Places
from dr_runtime.verifier.naming import vault_arn
from dr_runtime.verifier.settings import VerifierConfig, fleet_accounts
from org.verifier_config import vault_policy_template
from tests.verifier import conftest
from tests.verifier.conftest import ADMIN, DR_REGION, ISOLATED, REGION, FakeBackup, FakeRam

SIZES = (100, 1_000)
RESOURCES = 300
DAYS = 7
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BUCKET = "verifier-evidence-999999999999"
TOPIC = "arn:aws:sns:us-east-1:999999999999:verifier-findings"


def account_id(number: int) -> str:
    return f"{500000000000 + number}"


def backup_time(day: int) -> datetime:
    return NOW.replace(hour=7) - timedelta(days=day)


def volume(account: str, number: int) -> str:
    return f"arn:aws:ec2:{REGION}:{account}:volume/vol-{number:017x}"


class Lazy(Sequence[dict[str, Any]]):
    """``count`` items, each made by ``make(index)`` when a page asks for it."""

    def __init__(self, count: int, make: Any) -> None:
        self.size, self.make = count, make

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.make(i) for i in range(*index.indices(self.size))]
        return dict(self.make(index))


class FleetBackup(FakeBackup):
    """``FakeBackup`` with every account's vault and jobs made on request (the same items, checked the
    same way) rather than stored."""

    def __init__(self, accounts: Sequence[str]) -> None:
        super().__init__()
        self.accounts = set(accounts)
        for account in accounts:
            self.vaults[conftest.lag_name(account)] = Lazy(
                RESOURCES * DAYS, lambda i, a=account: self.point(a, i)
            )  # type: ignore[assignment]

    def _check(self, body: dict[str, Any], shape: Any) -> None:
        """Each page's envelope and its first item against the output shape: the page's other items are
        made by the same function (checking all 2.1 million would take most of the benchmark's time)."""
        validate_parameters(
            {key: value[:1] if isinstance(value, list) else value for key, value in body.items()}, shape
        )

    @staticmethod
    def point(account: str, index: int) -> dict[str, Any]:
        day, number = divmod(index, RESOURCES)
        name = conftest.lag_name(account)
        return {
            "RecoveryPointArn": f"arn:aws:backup:{REGION}:{ISOLATED}:recovery-point:{name}-{index}",
            "BackupVaultName": name,
            "BackupVaultArn": vault_arn(REGION, ISOLATED, name),
            "SourceBackupVaultArn": f"arn:aws:backup:{REGION}:{account}:backup-vault:src",
            "ResourceArn": volume(account, number),
            "ResourceType": "EBS",
            "Status": "COMPLETED",
            "CreationDate": backup_time(day),
            "VaultType": "LOGICALLY_AIR_GAPPED_BACKUP_VAULT",
        }

    def _window(self, params: dict[str, Any]) -> int:
        """Days of backups in the listing's window (``ByCreatedAfter``) for the account asked."""
        if params["ByAccountId"] not in self.accounts or params.get("ByState") != "COMPLETED":
            return 0
        since = params["ByCreatedAfter"]
        return sum(1 for day in range(DAYS) if backup_time(day) > since)

    def _list_backup_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        account = params["ByAccountId"]

        def job(index: int) -> dict[str, Any]:
            day, number = divmod(index, RESOURCES)
            return {
                "AccountId": account,
                "BackupJobId": f"job-{account}-{index}",
                "BackupVaultArn": f"arn:aws:backup:{REGION}:{account}:backup-vault:src",
                "ResourceArn": volume(account, number),
                "ResourceType": "EBS",
                "State": "COMPLETED",
                "CreationDate": backup_time(day),
            }

        return self._page(Lazy(RESOURCES * self._window(params), job), params, "BackupJobs")  # type: ignore[arg-type]

    def _list_copy_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        account = params["ByAccountId"]
        lag = conftest.lag_arn(account)

        def job(index: int) -> dict[str, Any]:
            copy, rest = divmod(index, RESOURCES * self._window(params))
            day, number = divmod(rest, RESOURCES)
            return {
                "AccountId": account,
                "CopyJobId": f"copy-{account}-{index}",
                "SourceBackupVaultArn": f"arn:aws:backup:{REGION}:{account}:backup-vault:src",
                "DestinationBackupVaultArn": lag
                if copy
                else f"arn:aws:backup:{DR_REGION}:{account}:backup-vault:dr",
                "ResourceArn": volume(account, number),
                "ResourceType": "EBS",
                "State": "COMPLETED",
                "CreationDate": backup_time(day) + timedelta(minutes=30 + 10 * copy),
            }

        return self._page(Lazy(2 * RESOURCES * self._window(params), job), params, "CopyJobs")  # type: ignore[arg-type]


def own_place(calls: Counter[str]) -> ClientFactory:
    """The verifier's own account: every call an empty success checked against its output shape; the
    baseline ``GetObject`` a ``NoSuchKey`` (no baseline yet)."""
    session = boto3.session.Session(
        aws_access_key_id="AKIDVERIFIERBENCH0001", aws_secret_access_key="bench", region_name=REGION
    )
    apis: dict[str, Any] = {}

    def answer(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        calls[f"{model.service_model.service_name}:{model.name}"] += 1
        if model.name == "GetObject":
            return AWSResponse("https://own", 404, {}, None), {
                "Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."},
                "ResponseMetadata": {"HTTPStatusCode": 404},
            }
        body: dict[str, Any] = {}
        if model.output_shape is not None:
            validate_parameters(body, model.output_shape)
        return AWSResponse("https://own", 200, {}, None), {
            **body,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def get(service: str) -> Any:
        if service not in apis:
            api = client(service, REGION, session)
            api.meta.events.register_first(f"before-call.{api.meta.service_model.endpoint_prefix}.*", answer)
            apis[service] = api
        return apis[service]

    return get


def reading_place(backup: FakeBackup, ram: FakeRam | None, key: str) -> ClientFactory:
    session = boto3.session.Session(
        aws_access_key_id=f"AKIDVERIFIERBENCH000{key}", aws_secret_access_key="bench", region_name=REGION
    )
    apis = {"backup": backup.attach(client("backup", REGION, session))}
    if ram is not None:
        apis["ram"] = ram.attach(client("ram", REGION, session))
    return apis.__getitem__


def measure(size: int) -> tuple[Counter[str], float, int]:
    accounts = [account_id(number) for number in range(size)]
    conftest.FLEET.clear()
    conftest.FLEET.update({account: f"dr-w{number:04d}" for number, account in enumerate(accounts)})
    isolated, admin = FleetBackup(accounts), FleetBackup(accounts)
    ram = FakeRam(isolated)
    own_calls: Counter[str] = Counter()
    places = Places(
        vaults=reading_place(isolated, ram, "1"),
        jobs=reading_place(admin, None, "2"),
        own=own_place(own_calls),
    )
    config = VerifierConfig(
        region=REGION,
        fleet=fleet_accounts(tuple(f"{a}={p}" for a, p in conftest.FLEET.items()), ()),
        isolated_account=ISOLATED,
        delegated_admin_account=ADMIN,
        vault_policy=vault_policy_template(),
        evidence_bucket=BUCKET,
        topic_arn=TOPIC,
    )
    started = time.perf_counter()
    result = verify.run(config, places, NOW)
    verify.finish(result, config, places)
    elapsed = time.perf_counter() - started
    calls: Counter[str] = Counter(own_calls)
    for prefix, fake in (("backup", isolated), ("backup", admin), ("ram", ram)):
        calls.update(f"{prefix}:{name}" for name, _params in fake.calls)
    return calls, elapsed, len(result.findings)


def rows(figures: dict[int, Counter[str]]) -> Iterator[str]:
    small, large = SIZES
    names = sorted({name for counts in figures.values() for name in counts})
    width = max(len(name) for name in names)
    yield (
        f"{'API':<{width}} "
        + " ".join(f"{f'{size:,} accts':>12} {'/ acct':>7}" for size in SIZES)
        + "  ratio"
    )
    for name in [*names, "total"]:
        values = [sum(figures[size].values()) if name == "total" else figures[size][name] for size in SIZES]
        cells = " ".join(
            f"{value:>12,} {value / size:>7.2f}" for value, size in zip(values, SIZES, strict=True)
        )
        ratio = values[1] / values[0] if values[0] else float("nan")
        yield f"{name:<{width}} {cells}  {ratio:5.1f}"
    yield f"accounts ratio {large // small}; {RESOURCES} resources, {RESOURCES * DAYS} recovery points an account"


def main() -> None:
    conftest.PAGE = 1000  # the fakes page at the verifier's page sizes, each capped by the model's maximum
    figures: dict[int, Counter[str]] = {}
    for size in SIZES:
        figures[size], elapsed, findings = measure(size)
        if findings:
            raise SystemExit(f"{size} healthy accounts gave {findings} finding(s): the world is wrong")
        print(f"{size:,} accounts: {sum(figures[size].values()):,} calls in {elapsed:.1f} s, no finding")
    for line in rows(figures):
        print(line)


if __name__ == "__main__":
    main()
