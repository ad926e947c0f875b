"""Where the verifier keeps its evidence in its bucket, and the baseline's document: plain Python.

::

    <prefix>accounts/<account>/latest.json                     the last run's evidence for the account
    <prefix>accounts/<account>/runs/<yyyy-mm-ddThh-mm-ssZ>.json  every run's evidence (history)
    <prefix>accounts/<account>/baseline.json                   resources seen with an air-gapped copy lately
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dr_runtime.verifier.readings import COPY_TIERS, BaselineEntry, Tier

SCHEMA = 1
ACCOUNTS = "accounts"
_RUN_TIME = "%Y-%m-%dT%H-%M-%SZ"


def latest_key(prefix: str, account: str) -> str:
    return f"{prefix}{ACCOUNTS}/{account}/latest.json"


def run_key(prefix: str, account: str, now: datetime) -> str:
    return f"{prefix}{ACCOUNTS}/{account}/runs/{now.astimezone(UTC).strftime(_RUN_TIME)}.json"


def run_time(prefix: str, account: str, key: str) -> datetime | None:
    """When the run whose evidence ``key`` holds ran (``run_key``'s inverse); None for any other key."""
    runs = f"{prefix}{ACCOUNTS}/{account}/runs/"
    if not key.startswith(runs) or not key.endswith(".json"):
        return None
    try:
        moment = datetime.strptime(key[len(runs) : -len(".json")], _RUN_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment if run_key(prefix, account, moment) == key else None


def baseline_key(prefix: str, account: str) -> str:
    return f"{prefix}{ACCOUNTS}/{account}/baseline.json"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def baseline_document(account: str, now: datetime, entries: Mapping[str, BaselineEntry]) -> bytes:
    body = {
        "schema": SCHEMA,
        "account_id": account,
        "updated_at": iso(now),
        "resources": {
            arn: {
                "resource_type": entry.resource_type,
                "last_seen": iso(entry.last_seen),
                "tier": entry.tier.value,
            }
            for arn, entry in sorted(entries.items())
        },
    }
    return json.dumps(body, indent=1, sort_keys=True).encode()


class BaselineFormatError(ValueError):
    """The stored baseline is not the document ``baseline_document`` writes."""


def parse_baseline(account: str, raw: bytes) -> dict[str, BaselineEntry]:
    try:
        body: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BaselineFormatError(f"not JSON ({error})") from None
    if not isinstance(body, dict) or body.get("schema") != SCHEMA:
        raise BaselineFormatError(f"not a baseline document of schema {SCHEMA}")
    if body.get("account_id") != account:
        raise BaselineFormatError(f"written for account {body.get('account_id')!r}, not {account}")
    resources = body.get("resources")
    if not isinstance(resources, dict):
        raise BaselineFormatError("'resources' must be an object")
    entries = {}
    for arn, entry in resources.items():
        try:
            last_seen = datetime.fromisoformat(str(entry["last_seen"]).replace("Z", "+00:00"))
            resource_type = str(entry["resource_type"])
        except (TypeError, KeyError, ValueError):
            raise BaselineFormatError(f"resource {arn!r} needs 'resource_type' and 'last_seen'") from None
        if last_seen.tzinfo is None:
            raise BaselineFormatError(f"resource {arn!r}: 'last_seen' has no time zone")
        # Written before the locked tier was verified: no 'tier', every entry was an air-gapped copy.
        tier = str(entry.get("tier", Tier.AIR_GAPPED.value))
        if tier not in {t.value for t in COPY_TIERS}:
            raise BaselineFormatError(f"resource {arn!r}: 'tier' {tier!r} is not a copy tier")
        entries[str(arn)] = BaselineEntry(resource_type, last_seen, Tier(tier))
    return entries
