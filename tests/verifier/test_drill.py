"""The verifier's drill (issue 18 item 4): a fleet of 24 workload accounts over 10 simulated days, the
verifier run every 6 hours as deployed, and in one account each a silent stop of the threat model.

The world is ``drill_fleet.World`` (AWS Backup's schedules, copies, expiry and churn, written into the
fakes). Each run uses the verifier's real readers (``verify.read_account``, against ``FakeBackup`` and
``FakeRam`` through real botocore clients) and its real evaluation; the baseline is carried from run to
run in memory, as the evidence bucket carries it (that path is proven in test_verifier_run.py). Three
runs go end to end through the Lambda handler with moto's S3, SNS and CloudWatch, and their findings are
the per-run ones. The table in docs/verifier.md ("The drill") is this simulation's result, held here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from dr_runtime.settings import environment
from dr_runtime.verifier import evidence_layout, settings, verify
from dr_runtime.verifier.evaluation import Kind, evaluate
from dr_runtime.verifier.readings import BaselineEntry, BaselineReading
from dr_runtime.verifier.settings import VerifierConfig, fleet_accounts
from org.verifier_config import vault_policy_template
from tests.aws_clients import fake_credentials
from tests.verifier import conftest
from tests.verifier.conftest import ADMIN, BUCKET, ISOLATED, OWN_ACCOUNT, REGION, Fleet
from tests.verifier.drill_fleet import AIR_GAPPED_RETENTION, TABLES, VOLUMES, Account, Attack, Resource, World

DOCS = Path(__file__).resolve().parents[2] / "docs" / "verifier.md"
DAY0 = datetime(2025, 6, 1, tzinfo=UTC)
WARM_UP = timedelta(days=8)
"""The world runs this long before the first verifier run, so every vault holds its 7 days of copies."""
DAYS = 10
END = DAY0 + timedelta(days=DAYS)
RUN_EVERY_HOURS = 6
"""verifier.schedule: rate(6 hours) (org/Pulumi.management.yaml)."""
ATTACK_AT = DAY0 + timedelta(days=4, hours=10)
ACCOUNTS = 24
HANDLER_RUNS = (DAY0 + timedelta(days=2), ATTACK_AT + timedelta(hours=38), END)
"""The runs that go through the Lambda handler: before the attacks, once every attack alerts, the last."""
FIRST_KIND = {
    Attack.SELECTION_DELETED: Kind.MASS_DROP,
    Attack.OPT_OUT_TAG: Kind.STALE,
    Attack.COPY_ACTION_DROPPED: Kind.STALE,
    Attack.TYPE_OPTED_OUT: Kind.MASS_DROP,
    Attack.KEY_POLICY: Kind.STALE,
    Attack.FORGED_REPORT: Kind.STALE,
    Attack.SHARE_REMOVED: Kind.RAM_SHARE_DRIFT,
}
STOPPED_KINDS = {Attack.SELECTION_DELETED: ("EBS",), Attack.TYPE_OPTED_OUT: ("EBS",)}
"""The resource types whose copies an attack stops (default: every type; the share removal none)."""


def make_accounts() -> list[Account]:
    """24 accounts, backing up at different hours; the first 7 are attacked, one attack each. Every
    account has churn: a volume created, another deleted, one backup job PARTIAL and retried."""
    attacks = list(Attack)
    made = []
    for index in range(ACCOUNTS):
        account_id = f"7{index:011d}"
        resources = [
            Resource(f"arn:aws:ec2:{REGION}:{account_id}:volume/vol-{n:017x}", "EBS") for n in range(VOLUMES)
        ]
        resources += [
            Resource(f"arn:aws:dynamodb:{REGION}:{account_id}:table/orders-{n}", "DynamoDB")
            for n in range(TABLES)
        ]
        resources.append(
            Resource(
                f"arn:aws:ec2:{REGION}:{account_id}:volume/vol-new{index:014x}",
                "EBS",
                created=DAY0 + timedelta(days=1 + index % 3, hours=12),
            )
        )
        resources[1].deleted = DAY0 + timedelta(days=2 + index % 6, hours=8)
        made.append(
            Account(
                account_id=account_id,
                prefix=f"dr-w{index:02d}",
                backup_hour=(index * 5) % 24,
                resources=resources,
                attack=attacks[index] if index < len(attacks) else None,
                partial_on=DAY0 + timedelta(days=1 + index % 8),
            )
        )
    return made


def drill_config(accounts: list[Account]) -> VerifierConfig:
    """The deployed settings (defaults: 32 h stale threshold, 20 % drop, 14-day baseline)."""
    return VerifierConfig(
        region=REGION,
        fleet=fleet_accounts(
            tuple(f"{a.account_id}={a.prefix}" for a in accounts),
            (),
            (),
            tuple(f"{a.account_id}=7-35" for a in accounts),
        ),
        isolated_account=ISOLATED,
        delegated_admin_account=ADMIN,
        vault_policy=vault_policy_template(),
    )


@dataclass
class Alert:
    at: datetime
    kinds: frozenset[Kind]
    retention_left_days: float
    """Days until the newest air-gapped copy of what the attack stopped expires."""


@dataclass
class Outcome:
    accounts: list[Account]
    runs: int = 0
    findings: dict[str, list[Alert]] = field(default_factory=dict)
    """account -> every run that found something, in order"""
    last_good_copy: dict[str, datetime] = field(default_factory=dict)
    """attacked account -> its newest copy of what the attack stops, when the attack began"""
    handler: dict[datetime, dict[str, Any]] = field(default_factory=dict)
    """each handler run's time -> {"kinds": per account, "messages": per account, "per_step": per account}"""


def _receive_all(fleet: Fleet) -> dict[str, list[str]]:
    sqs = fleet.own("sqs")
    found: dict[str, list[str]] = {}
    while True:
        answer = sqs.receive_message(
            QueueUrl=fleet.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        messages = answer.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            attributes = message["MessageAttributes"]
            found[attributes["account_id"]["StringValue"]] = json.loads(
                attributes["finding_kinds"]["StringValue"]
            )
            sqs.delete_message(QueueUrl=fleet.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _handler_run(
    fleet: Fleet,
    config: VerifierConfig,
    topic: str,
    store: dict[str, dict[str, BaselineEntry]],
    now: datetime,
) -> dict[str, Any]:
    """One run through the Lambda handler, its environment as the org stack writes it, the baselines in
    the evidence bucket as the earlier runs left them."""
    s3 = fleet.own("s3")
    for account, entries in store.items():
        s3.put_object(
            Bucket=BUCKET,
            Key=evidence_layout.baseline_key(config.key_prefix, account),
            Body=evidence_layout.baseline_document(account, now - timedelta(hours=RUN_EVERY_HOURS), entries),
        )
    written = environment(
        {
            settings.FLEET: ",".join(f"{a.account_id}={a.vault_name.split('-7')[0]}" for a in config.fleet),
            settings.VAULT_RETENTION: ",".join(f"{a.account_id}=7-35" for a in config.fleet),
            settings.ISOLATED_ACCOUNT: ISOLATED,
            settings.DELEGATED_ADMIN: ADMIN,
            settings.EVIDENCE_BUCKET: BUCKET,
            settings.TOPIC: topic,
            settings.VAULT_POLICY: vault_policy_template(),
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in written.items():
            patch.setenv(name, value)
        answer = verify.handler({"time": evidence_layout.iso(now)}, None, lambda _config: fleet.places())
    return {
        "kinds": {account: sorted(value["findings"]) for account, value in answer["accounts"].items()},
        "messages": _receive_all(fleet),
        "summary": answer["summary"],
    }


def run_drill(fleet: Fleet) -> Outcome:
    accounts = make_accounts()
    world = World(fleet, accounts, ATTACK_AT, now=DAY0 - WARM_UP)
    config = drill_config(accounts)
    by_id = {a.account_id: a for a in accounts}
    places = fleet.places()
    topic = fleet.topic()
    outcome = Outcome(accounts)
    store: dict[str, dict[str, BaselineEntry]] = {}
    while world.now < END:
        world.step()
        now = world.now
        if now == ATTACK_AT:
            for account in accounts:
                if account.attack is not None:
                    kinds = STOPPED_KINDS.get(account.attack, ("EBS", "DynamoDB"))
                    newest = world.newest_copy(account, kinds)
                    assert newest is not None
                    outcome.last_good_copy[account.account_id] = newest
        if now < DAY0 or now.hour % RUN_EVERY_HOURS:
            continue
        outcome.runs += 1
        per_step: dict[str, list[str]] = {}
        for entry in config.fleet:
            # verify.run's loop, with the baseline carried in memory instead of the evidence bucket.
            reading = verify.read_account(config, places, entry, now)
            reading.baseline = BaselineReading(entries=store.get(entry.account_id))
            verdict = evaluate(config, reading, now)
            if verdict.baseline is not None:
                store[entry.account_id] = verdict.baseline
            per_step[entry.account_id] = sorted({f.kind.value for f in verdict.findings})
            if verdict.findings:
                account = by_id[entry.account_id]
                kinds = STOPPED_KINDS.get(account.attack or Attack.OPT_OUT_TAG, ("EBS", "DynamoDB"))
                newest = world.newest_copy(account, kinds)
                left = 0.0 if newest is None else (newest + AIR_GAPPED_RETENTION - now) / timedelta(days=1)
                outcome.findings.setdefault(entry.account_id, []).append(
                    Alert(now, frozenset(f.kind for f in verdict.findings), round(left, 1))
                )
        if now in HANDLER_RUNS:
            run = _handler_run(fleet, replace(config), topic, store, now)
            run["per_step"] = per_step
            outcome.handler[now] = run
    return outcome


@pytest.fixture(scope="module")
def drill() -> Iterator[Outcome]:
    with pytest.MonkeyPatch.context() as patch:
        fake_credentials(patch)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        patch.setenv("MOTO_ACCOUNT_ID", OWN_ACCOUNT)
        # Full pages: the paging itself is proven with two-item pages in test_verifier_run.py.
        patch.setattr(conftest, "PAGE", 1000)
        with mock_aws():
            fleet = Fleet()
            fleet.own("s3").create_bucket(Bucket=BUCKET)
            yield run_drill(fleet)


def _attacked(outcome: Outcome) -> dict[Attack, Account]:
    return {a.attack: a for a in outcome.accounts if a.attack is not None}


def _first_alert(outcome: Outcome, account: Account) -> Alert:
    alerts = outcome.findings.get(account.account_id, [])
    assert alerts, f"{account.attack}: no alert in {DAYS} days"
    return alerts[0]


def test_the_drill_covers_a_fleet_of_at_least_20_accounts_over_10_days(drill: Outcome) -> None:
    assert len(drill.accounts) >= 20
    assert drill.runs == DAYS * 24 // RUN_EVERY_HOURS + 1  # from DAY0 00:00 to END 00:00
    assert set(_attacked(drill)) == set(Attack)
    # The churn happened in the verified days: each account created a volume, deleted another, and had
    # a PARTIAL job retried.
    for account in drill.accounts:
        assert account.resources[1].deleted is not None
        assert DAY0 < account.resources[1].deleted < END
        assert any(r.created is not None and DAY0 < r.created < END for r in account.resources)
        assert account.partial_on is not None
        assert DAY0 <= account.partial_on < END


def test_no_false_alarm_on_healthy_accounts_nor_before_an_attack(drill: Outcome) -> None:
    for account in drill.accounts:
        alerts = drill.findings.get(account.account_id, [])
        if account.attack is None:
            assert alerts == [], f"false alarm on healthy {account.account_id}: {alerts[:1]}"
        else:
            assert all(alert.at > ATTACK_AT for alert in alerts), (account.attack, alerts[:1])


@pytest.mark.parametrize("attack", list(Attack))
def test_each_silent_stop_alerts_within_its_bound(drill: Outcome, attack: Attack) -> None:
    account = _attacked(drill)[attack]
    alert = _first_alert(drill, account)
    assert FIRST_KIND[attack] in alert.kinds
    if attack is Attack.SHARE_REMOVED:
        # Read at every run: the next run after the removal.
        assert alert.at - ATTACK_AT <= timedelta(hours=RUN_EVERY_HOURS)
    else:
        # No copy newer than the last good one: late once it is older than the stale threshold, seen by
        # the first run after that.
        stale_after = timedelta(minutes=drill_config(drill.accounts).stale_after_minutes)
        assert alert.at - drill.last_good_copy[account.account_id] <= stale_after + timedelta(
            hours=RUN_EVERY_HOURS
        )
        assert alert.at - ATTACK_AT <= stale_after + timedelta(hours=RUN_EVERY_HOURS)
    # Well inside the 7 days: the copies of before the attack are still restorable when it alerts.
    assert alert.retention_left_days >= 5.0
    # And it keeps alerting at every run until the end (a finding persists, it is sent again).
    alerts = drill.findings[account.account_id]
    assert [a.at for a in alerts] == [
        alert.at + timedelta(hours=RUN_EVERY_HOURS * n) for n in range(len(alerts))
    ]
    assert alerts[-1].at == END


def test_the_forged_report_changes_nothing_the_verifier_sees(drill: Outcome) -> None:
    account = _attacked(drill)[Attack.FORGED_REPORT]
    assert account.coverage_job is False
    assert account.self_report == 100.0
    assert Kind.STALE in _first_alert(drill, account).kinds


def test_the_handler_runs_find_what_the_per_step_runs_find_and_alert_only_there(drill: Outcome) -> None:
    before, middle, last = (drill.handler[at] for at in HANDLER_RUNS)
    attacked = {a.account_id: a.attack for a in drill.accounts if a.attack is not None}
    for run in (before, middle, last):
        assert run["kinds"] == run["per_step"]
        assert run["summary"]["failed"] == {}
        assert len(run["summary"]["done"]) == ACCOUNTS
    # Before the attacks: nothing published.
    assert before["messages"] == {}
    assert all(kinds == [] for kinds in before["kinds"].values())
    # Afterwards: one SNS message per attacked account, with its finding kinds; none for the others.
    for run in (middle, last):
        assert set(run["messages"]) == set(attacked)
        for account, attack in attacked.items():
            assert FIRST_KIND[attack].value in run["messages"][account]
            assert run["messages"][account] == run["kinds"][account]


def drill_table(drill: Outcome) -> list[str]:
    rows = []
    for attack in Attack:
        alert = _first_alert(drill, _attacked(drill)[attack])
        account = _attacked(drill)[attack]
        hours = (alert.at - ATTACK_AT) / timedelta(hours=1)
        since_copy = (alert.at - drill.last_good_copy[account.account_id]) / timedelta(hours=1)
        kinds = ", ".join(sorted(kind.value for kind in alert.kinds))
        rows.append(
            f"| {attack.value} | `{kinds}` | {hours:.0f} | {since_copy:.0f} | {alert.retention_left_days:.1f} |"
        )
    return rows


def test_the_docs_table_is_this_drills_result(drill: Outcome) -> None:
    text = DOCS.read_text()
    missing = [row for row in drill_table(drill) if row not in text]
    assert not missing, "docs/verifier.md 'The drill' should have:\n" + "\n".join(drill_table(drill))
