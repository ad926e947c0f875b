"""One verifier run: read every account of the fleet, evaluate, keep the evidence, publish the findings.

Lambda handler ``dr_runtime.verifier.verify.handler`` (on a schedule, in the isolated account or a
security account; docs/verifier.md); the command is ``python -m dr_runtime.verifier``.

Order: connect (roles assumed, accounts checked; a failure stops the run, exit 3) -> per account: the
listing and access policy of each of its vaults in the isolated account (air-gapped; locked where it has
one), the air-gapped vault's RAM shares, job listings, stored baseline -> evaluation -> evidence and baselines written -> one SNS message
per account with findings -> the run summary and metrics (``RunSummary.finish``).

What the summary counts: ``done`` the accounts whose every input was read, ``failed`` the accounts with
an unreadable input and every evidence write or publish that failed (the handler then raises, so the
invocation counts as failed), ``skipped`` what this run did not do and why. Findings are the run's
result, not its failure: they are published and counted (``VerifierFindings``), and the command exits 1
when there is one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.aws import client_factory
from dr_runtime.commands import run_handler
from dr_runtime.errors import ConfigError, item_reason
from dr_runtime.report import RunSummary
from dr_runtime.settings import scheduled_time
from dr_runtime.verifier import event_silence, evidence_layout
from dr_runtime.verifier.aws_reading import (
    Places,
    connect,
    read_baseline,
    read_jobs,
    read_shares,
    read_vault,
)
from dr_runtime.verifier.evaluation import AccountVerdict, Finding, Kind, evaluate
from dr_runtime.verifier.readings import (
    COPY_JOB_TIER,
    AccountReading,
    BaselineReading,
    ShareReading,
    Tier,
    TierReading,
)
from dr_runtime.verifier.settings import (
    EVIDENCE_BUCKET,
    TOPIC,
    VAULT_POLICY,
    VAULT_RETENTION,
    FleetAccount,
    VerifierConfig,
)

JOB_NAME = "verifier"
SUBJECT_LIMIT = 100  # SNS Subject: at most 100 characters
METRIC_WORD = {Tier.AIR_GAPPED: "AirGapped", Tier.LOCKED: "Locked"}


@dataclass
class RunResult:
    verdicts: list[AccountVerdict] = field(default_factory=list)
    summary: RunSummary = field(default_factory=lambda: RunSummary(job=JOB_NAME))

    @property
    def findings(self) -> list[Finding]:
        return [finding for verdict in self.verdicts for finding in verdict.findings]

    def as_dict(self) -> dict[str, Any]:
        return {
            "findings": [finding.as_dict() for finding in self.findings],
            "accounts": {
                verdict.account_id: {
                    "tiers": {
                        tier.value: {
                            "newest_age_hours": figures.newest_age_hours,
                            "fresh_resources": figures.fresh_resources,
                            "baseline_resources": figures.baseline_resources,
                        }
                        for tier, figures in verdict.tiers.items()
                    },
                    "findings": sorted({finding.kind.value for finding in verdict.findings}),
                }
                for verdict in self.verdicts
            },
            "summary": self.summary.as_dict(),
        }


def read_account(
    config: VerifierConfig,
    places: Places,
    account: FleetAccount,
    now: datetime,
    shares: Mapping[str, ShareReading] | None = None,
) -> AccountReading:
    """What the run reads of one account; ``shares``: the isolated account's shares per air-gapped vault,
    read once for the fleet (``read_fleet_shares``; read here for this account's vault alone when None)."""
    since = now - timedelta(minutes=config.stale_after_minutes)
    baseline = (
        BaselineReading()
        if config.evidence_bucket is None
        else read_baseline(places.own("s3"), config.evidence_bucket, config.key_prefix, account.account_id)
    )
    backup = places.vaults("backup")
    check_policy = config.vault_policy is not None
    wanted = [(Tier.AIR_GAPPED, account.vault_name, config.vault_arn(account))]
    locked_arn = config.locked_vault_arn(account)
    if account.locked_vault_name is not None and locked_arn is not None:
        wanted.append((Tier.LOCKED, account.locked_vault_name, locked_arn))
    tiers = [
        TierReading(tier, name, arn, read_vault(backup, name, tier, policy=check_policy))
        for tier, name, arn in wanted
    ]
    lag = tiers[0]
    share: ShareReading | None = None
    if lag.vault.found and lag.vault.error is None:
        known = read_fleet_shares(config, places, [account]) if shares is None else shares
        share = known[lag.vault_arn]
    copy_jobs = {part.vault_arn: COPY_JOB_TIER[part.tier] for part in tiers}
    return AccountReading(
        account_id=account.account_id,
        tiers=tiers,
        jobs=read_jobs(places.jobs("backup"), account.account_id, copy_jobs, since),
        baseline=baseline,
        share=share,
    )


def read_fleet_shares(
    config: VerifierConfig, places: Places, accounts: Sequence[FleetAccount] | None = None
) -> dict[str, ShareReading]:
    """The isolated account's RAM shares of the accounts' air-gapped vaults (default: the fleet's)."""
    chosen = config.fleet if accounts is None else accounts
    return read_shares(places.vaults("ram"), [config.vault_arn(account) for account in chosen])


def _put(s3: Any, bucket: str, key: str, body: bytes, summary: RunSummary, item: str) -> None:
    try:
        # The deployed bucket has Object Lock: S3 then wants an integrity checksum on every upload, which
        # older SDKs do not send unasked (docs/verifier.md, V10).
        s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/json", ChecksumAlgorithm="SHA256"
        )
    except (ClientError, BotoCoreError) as error:
        summary.failed[item] = f"s3://{bucket}/{key}: {item_reason(error)}"


def keep_evidence(
    config: VerifierConfig, verdict: AccountVerdict, s3: Any, now: datetime, summary: RunSummary
) -> None:
    bucket, prefix, account = config.evidence_bucket, config.key_prefix, verdict.account_id
    if bucket is None:
        return
    document = json.dumps(verdict.evidence, indent=1, sort_keys=True).encode()
    _put(s3, bucket, evidence_layout.run_key(prefix, account, now), document, summary, f"evidence:{account}")
    _put(s3, bucket, evidence_layout.latest_key(prefix, account), document, summary, f"evidence:{account}")
    if verdict.baseline is not None:
        _put(
            s3,
            bucket,
            evidence_layout.baseline_key(prefix, account),
            evidence_layout.baseline_document(account, now, verdict.baseline),
            summary,
            f"baseline:{account}",
        )


def subject(verdict: AccountVerdict) -> str:
    kinds = ", ".join(sorted({finding.kind.value for finding in verdict.findings}))
    text = f"AWS Backup air gap: {verdict.account_id} {kinds}"
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def message(config: VerifierConfig, verdict: AccountVerdict) -> str:
    lines = [
        f"The verifier found {len(verdict.findings)} problem(s) with the copies in the isolated account "
        f"of workload account {verdict.account_id}, checked from outside that account.",
        "",
        *(
            f"- {finding.kind.value}{'' if finding.tier is None else f' ({finding.tier.value})'}: "
            f"{finding.message}"
            for finding in verdict.findings
        ),
        "",
        "Copies keep their backup's date and expire with it (7 days by default): once new copies "
        "stop, the air gap empties within days. Runbook: docs/runbooks/account-compromise.md.",
    ]
    if config.evidence_bucket is not None:
        key = evidence_layout.latest_key(config.key_prefix, verdict.account_id)
        lines.append(f"Evidence: s3://{config.evidence_bucket}/{key}")
    return "\n".join(lines)


def alert(config: VerifierConfig, verdict: AccountVerdict, sns: Any, summary: RunSummary) -> None:
    if not verdict.findings or config.topic_arn is None:
        return
    kinds = sorted({finding.kind.value for finding in verdict.findings})
    try:
        sns.publish(
            TopicArn=config.topic_arn,
            Subject=subject(verdict),
            Message=message(config, verdict),
            MessageAttributes={
                "account_id": {"DataType": "String", "StringValue": verdict.account_id},
                "finding_kinds": {"DataType": "String.Array", "StringValue": json.dumps(kinds)},
            },
        )
    except (ClientError, BotoCoreError) as error:
        summary.failed[f"publish:{verdict.account_id}"] = item_reason(error)


def metric_data(verdicts: Sequence[AccountVerdict]) -> list[dict[str, Any]]:
    """``VerifierFindings`` in total and per ``Kind`` (every kind, zeros included); per ``AccountId`` and
    copy tier the newest copy's age and the fresh and baseline resource counts (``AirGapped...`` and
    ``Locked...``), only where that tier's vault was read (so an alarm on them sees missing data, not a
    zero, when it was not)."""

    def count(name: str, value: float, dimensions: dict[str, str], unit: str = "Count") -> dict[str, Any]:
        data: dict[str, Any] = {"MetricName": name, "Value": float(value), "Unit": unit}
        if dimensions:
            data["Dimensions"] = [{"Name": key, "Value": val} for key, val in dimensions.items()]
        return data

    findings = [finding for verdict in verdicts for finding in verdict.findings]
    data = [count("VerifierFindings", len(findings), {})]
    data += [
        count("VerifierFindings", sum(1 for f in findings if f.kind is kind), {"Kind": kind.value})
        for kind in Kind
    ]
    for verdict in verdicts:
        where = {"AccountId": verdict.account_id}
        for tier, figures in verdict.tiers.items():
            word = METRIC_WORD[tier]
            if figures.newest_age_hours is not None:
                data.append(count(f"{word}CopyAgeHours", figures.newest_age_hours, where, "None"))
            data.append(count(f"Fresh{word}Resources", figures.fresh_resources, where))
            data.append(count(f"Baseline{word}Resources", figures.baseline_resources, where))
    return data


def run(
    config: VerifierConfig,
    places: Places,
    now: datetime,
    *,
    dry_run: bool = False,
    events: event_silence.SilenceConfig | None = None,
) -> RunResult:
    """Read, evaluate, keep the evidence and alert. The result's summary is not finished yet (``finish``).
    ``events``: the silence check's settings (``event_silence``); None skips it."""
    result = RunResult()
    summary = result.summary
    shares = read_fleet_shares(config, places)
    for account in config.fleet:
        verdict = evaluate(config, read_account(config, places, account, now, shares), now)
        result.verdicts.append(verdict)
        if verdict.inputs_read:
            summary.done.append(account.account_id)
        else:
            summary.failed[account.account_id] = "; ".join(
                f.message for f in verdict.findings if f.kind is Kind.UNREADABLE
            )
    event_silence.check(
        events or event_silence.SilenceConfig(), result.verdicts, summary, lambda: places.own("logs"), now
    )
    if dry_run:
        summary.skipped["evidence"] = summary.skipped["alerts"] = "dry run"
        return result
    if config.evidence_bucket is None:
        summary.skipped["evidence"] = f"no {EVIDENCE_BUCKET.label}: evidence and baselines not kept"
    if config.topic_arn is None:
        summary.skipped["alerts"] = f"no {TOPIC.label}: findings listed only"
    if config.vault_policy is None:
        summary.skipped["vault-policy"] = f"no {VAULT_POLICY.label}: the vaults' policies were not compared"
    unranged = [account.account_id for account in config.fleet if account.retention is None]
    if unranged:
        summary.skipped["vault-retention"] = (
            f"no {VAULT_RETENTION.label} for {', '.join(unranged)}: their vaults' retention was not compared"
        )
    s3 = places.own("s3") if config.evidence_bucket is not None else None
    sns = places.own("sns") if config.topic_arn is not None else None
    for verdict in result.verdicts:
        if s3 is not None:
            keep_evidence(config, verdict, s3, now, summary)
        if sns is not None:
            alert(config, verdict, sns, summary)
    return result


def finish(result: RunResult, config: VerifierConfig, places: Places) -> dict[str, Any]:
    """Log the summary and publish the metrics with the run counts; raises ``JobFailedError`` when an
    input was unreadable or a write or publish failed (``RunSummary.finish``)."""
    cloudwatch = places.own("cloudwatch") if config.publish_metrics else None
    return result.summary.finish(cloudwatch, metric_data(result.verdicts))


Connect = Callable[[VerifierConfig], Places]


def default_connect(config: VerifierConfig) -> Places:
    return connect(config, client_factory(config.region))


def handler(event: Any, _context: Any, connect_to: Connect = default_connect) -> dict[str, Any]:
    """Lambda entry point, configured by environment variables; needs the topic and the evidence bucket."""
    return run_handler(JOB_NAME, lambda: _scheduled_run(event, connect_to))


def _scheduled_run(event: Any, connect_to: Connect) -> dict[str, Any]:
    config = VerifierConfig.from_settings(os.environ)
    for setting, value in (
        (TOPIC, config.topic_arn),
        (EVIDENCE_BUCKET, config.evidence_bucket),
        (VAULT_POLICY, config.vault_policy),
    ):
        if value is None:
            raise ConfigError(f"{setting.label} is required for the scheduled verifier")
    events = event_silence.SilenceConfig.from_settings(os.environ)
    places = connect_to(config)
    result = run(config, places, scheduled_time(event), events=events)
    summary = finish(result, config, places)
    return {**result.as_dict(), "summary": summary}
