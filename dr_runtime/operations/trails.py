"""Whether a CloudTrail trail delivers the KMS calls the key-threat alert listens for, per Region.

The ``backup-key-threatened`` EventBridge rule matches ``AWS API Call via CloudTrail`` events for
``DisableKey`` and ``ScheduleKeyDeletion``. EventBridge receives those only while a trail with logging
on records the calls: write management events of ``kms.amazonaws.com`` in that Region
(docs/coverage-checks.md). A Region is covered by a trail that

- is a multi-Region trail (organization trails included) or has the Region as its home,
- is logging (``GetTrailStatus.IsLogging``), and
- selects those events: a basic selector with management events, ``ReadWriteType`` ``All`` or
  ``WriteOnly`` and ``kms.amazonaws.com`` not excluded, or an advanced selector whose every field
  condition holds for them (an unknown field counts as not holding, so doubt is reported).

Calls: ``DescribeTrails`` once per Region, then ``GetTrailStatus`` and ``GetEventSelectors`` per
candidate trail until one covers the Region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import item_reason

CHECK = "cloudtrail"
KMS_SOURCE = "kms.amazonaws.com"


@dataclass(frozen=True)
class TrailCoverage:
    region: str
    trail: str | None
    """The trail that covers the Region; ``None`` when none does."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Why each other candidate trail does not count."""

    @property
    def covered(self) -> bool:
        return self.trail is not None

    @property
    def reason(self) -> str:
        if self.trail is not None:
            return f"trail {self.trail} logs KMS write management events in {self.region}"
        why = "; ".join(self.notes) if self.notes else "no trail is multi-Region or homed here"
        return (
            f"no trail logs KMS management events in {self.region}, so the key-threat alert never "
            f"fires there: {why}"
        )


def _matches(operator: str, value: str, operand: str) -> bool:
    if operator == "Equals":
        return value == operand
    if operator == "StartsWith":
        return value.startswith(operand)
    return value.endswith(operand)


def _field_holds(selector: Mapping[str, Any], value: str) -> bool:
    """Every operator of an advanced field selector holds for ``value`` (absent operators hold)."""
    for operator in ("Equals", "StartsWith", "EndsWith"):
        positive = selector.get(operator) or []
        negative = selector.get(f"Not{operator}") or []
        if positive and not any(_matches(operator, value, v) for v in positive):
            return False
        if any(_matches(operator, value, v) for v in negative):
            return False
    return True


def _advanced_selects(selector: Mapping[str, Any], event_name: str | None) -> bool:
    event = {"eventCategory": "Management", "readOnly": "false", "eventSource": KMS_SOURCE}
    if event_name is not None:
        event["eventName"] = event_name
    for field_selector in selector.get("FieldSelectors", []):
        value = event.get(field_selector.get("Field", ""))
        if value is None or not _field_holds(field_selector, value):
            return False
    return True


def _basic_selects(selector: Mapping[str, Any]) -> bool:
    return (
        selector.get("IncludeManagementEvents", True) is True
        and selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
        and KMS_SOURCE not in selector.get("ExcludeManagementEventSources", [])
    )


def selects_kms_writes(selectors: Mapping[str, Any], calls: Sequence[str] = ()) -> bool:
    """Whether a ``GetEventSelectors`` answer records the KMS write ``calls`` (every KMS write call when
    none are named: an advanced selector that filters on ``eventName`` then does not count)."""
    advanced = selectors.get("AdvancedEventSelectors") or []
    if advanced:
        names: Sequence[str | None] = tuple(calls) or (None,)
        return all(any(_advanced_selects(s, name) for s in advanced) for name in names)
    return any(_basic_selects(s) for s in selectors.get("EventSelectors") or [])


def _candidates(trails: Sequence[Mapping[str, Any]], region: str) -> list[Mapping[str, Any]]:
    found = [t for t in trails if t.get("IsMultiRegionTrail") or t.get("HomeRegion") == region]
    # Trails homed here first; the rest are multi-Region trails seen as shadow copies.
    return sorted(found, key=lambda t: (t.get("HomeRegion") != region, str(t.get("TrailARN", ""))))


def coverage(cloudtrail: Any, region: str, calls: Sequence[str] = ()) -> TrailCoverage:
    """How ``region`` is covered for the KMS ``calls`` the key-threat rule matches.

    Raises ``ClientError`` only when the trails cannot be listed at all.
    """
    trails = cloudtrail.describe_trails(includeShadowTrails=True).get("trailList", [])
    notes: list[str] = []
    for trail in _candidates(trails, region):
        arn = str(trail.get("TrailARN") or trail.get("Name"))
        name = str(trail.get("Name") or arn)
        try:
            if not cloudtrail.get_trail_status(Name=arn).get("IsLogging"):
                notes.append(f"{name} is not logging")
                continue
            if not selects_kms_writes(cloudtrail.get_event_selectors(TrailName=arn), calls):
                notes.append(f"{name} does not select KMS write management events")
                continue
        except (ClientError, BotoCoreError) as error:
            notes.append(f"{name} cannot be read ({item_reason(error)})")
            continue
        return TrailCoverage(region, name)
    return TrailCoverage(region, None, tuple(notes))
