"""Events out of the workload account: both Regions' AWS Backup events and vault-key calls go to the
verifier's event bus, in an account the workload cannot reach (issue 18, docs/verifier.md "Events out of
the account").

In each of the stack's Regions, three rules on the default bus (names ``<prefix>-<key>``, so the
organisation's ``ProtectAlertRules`` SCP covers them as it covers the alert rules):

- ``forward-backup-events``: every AWS Backup service event (``forwarded_events.BACKUP_SERVICE_EVENTS``);
- ``forward-backup-changes``: the AWS Backup calls that stop or weaken the copies, from CloudTrail
  (a selection has no service event of its own);
- ``forward-key-calls``: ``PutKeyPolicy``, ``DisableKey`` and ``ScheduleKeyDeletion`` on the vault keys.

Each rule's one target is the verifier's bus, through one execution role (IAM is global) that may put
events on that bus alone. A role is how EventBridge sends to a bus in another account and Region
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html recommends one for every
bus target; a cross-Region target needs it). The bus policy on the other side admits the organisation.
The whole event is sent unchanged: the verifier's rules read its ``account``, ``region`` and ``detail``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import documents
from components.operations import alerts, forwarded_events
from dr_model.naming import region_code

COMPONENT_TYPE = "aws-dr-backup:operations:EventForwarding"
TARGET_ID = "verifier-event-bus"
RULE_KEYS = ("forward-backup-events", "forward-backup-changes", "forward-key-calls")


def role_name(prefix: str) -> str:
    return f"{prefix}-backup-event-forwarder"


def forward_policy(bus_arn: str) -> documents.Document:
    """``events:PutEvents`` on the verifier's bus, and nothing else."""
    return documents.document(documents.allow("PutEventsOnTheVerifiersBus", "events:PutEvents", bus_arn))


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)


@dataclass(frozen=True)
class ForwardedRegion:
    region: str
    key_arns: Sequence[pulumi.Input[str]]
    """The vault keys in this Region."""
    provider: pulumi.ProviderResource | None
    """The workload account's provider for this Region; None: the component's own (the primary's)."""


@dataclass(frozen=True)
class EventForwardingArgs:
    prefix: str
    account: str
    bus_arn: str
    """The verifier's event bus (``verifierEventBus``)."""
    regions: Sequence[ForwardedRegion]
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.bus_arn.split(":")[4] == self.account:
            raise ValueError(f"bus_arn {self.bus_arn} is in the workload account {self.account}")
        if len({r.region for r in self.regions}) != len(self.regions) or not self.regions:
            raise ValueError("regions must name each Region once, at least one")


class EventForwarding(pulumi.ComponentResource):
    """Create with the primary Region's provider (workload account) in ``opts``."""

    role_arn: pulumi.Output[str]
    rule_names: dict[str, dict[str, pulumi.Output[str]]]
    """Region -> rule key -> rule name."""

    def __init__(
        self, name: str, args: EventForwardingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            name=role_name(args.prefix),
            description=f"EventBridge forwards {args.prefix}'s AWS Backup events to the verifier's bus",
            assume_role_policy=documents.to_json(
                documents.service_trust("events.amazonaws.com", args.account)
            ),
            tags=tags,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=documents.to_json(forward_policy(args.bus_arn)),
            opts=child,
        )
        self.rule_names = {}
        for place in args.regions:
            here = pulumi.ResourceOptions(parent=self, provider=place.provider)
            patterns: dict[str, pulumi.Input[str]] = {
                "forward-backup-events": _json(forwarded_events.backup_service_events()),
                "forward-backup-changes": _json(forwarded_events.backup_change_calls()),
                "forward-key-calls": pulumi.Output.all(*place.key_arns).apply(
                    lambda arns: _json(forwarded_events.vault_key_calls([str(a) for a in arns]))
                ),
            }
            if not place.key_arns:
                del patterns["forward-key-calls"]
            names: dict[str, pulumi.Output[str]] = {}
            for key, pattern in patterns.items():
                resource = f"{name}-{region_code(place.region)}-{key}"
                rule = aws.cloudwatch.EventRule(
                    resource,
                    name=alerts.rule_name(args.prefix, key),
                    description=f"Forwards {args.prefix}'s events to the verifier's bus ({key})",
                    event_pattern=pattern,
                    tags=tags,
                    opts=here,
                )
                aws.cloudwatch.EventTarget(
                    f"{resource}-bus",
                    rule=rule.name,
                    target_id=TARGET_ID,
                    arn=args.bus_arn,
                    role_arn=role.arn,
                    # The role's policy must be in place before the first event is sent.
                    opts=pulumi.ResourceOptions(parent=self, provider=place.provider, depends_on=[policy]),
                )
                names[key] = rule.name
            self.rule_names[place.region] = names
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn, "rules": self.rule_names})
