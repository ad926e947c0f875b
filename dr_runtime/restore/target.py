"""What exists in the target account and region, read once per plan and only when a resource needs it.

Restore metadata from ``GetRecoveryPointRestoreMetadata`` describes the resource where it was backed up:
subnet groups, security groups, availability zones, parameter groups and KMS keys of the *source*
region. Those are regional, so a cross-region restore that sends them unchanged fails. The planner
checks each reference against these listings (one paginated listing per kind, never one call per
resource) and replaces what does not exist with the target region's default.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.restore.failures import error_text, stops_everything

ClientFactory = Callable[[str], Any]


@dataclass(frozen=True)
class KeyState:
    arn: str
    state: str
    """KMS KeyState (Enabled, Disabled, PendingDeletion, ...) or ``unreadable: <why>``."""
    manager: str = ""

    @property
    def usable(self) -> bool:
        return self.state == "Enabled"


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


class TargetFacts:
    """Lazily listed facts about the target region; thread-safe (the planner asks from workers)."""

    def __init__(self, clients: ClientFactory, region: str, account: str) -> None:
        self.clients = clients
        self.region = region
        self.account = account
        self._lock = threading.RLock()
        self._cache: dict[str, Any] = {}
        self._keys: dict[str, KeyState] = {}

    def _once(self, name: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = load()
            return self._cache[name]

    # --- EC2 ----------------------------------------------------------------------------------------

    def availability_zones(self) -> list[str]:
        def load() -> list[str]:
            zones = self.clients("ec2").describe_availability_zones(
                Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}]
            )["AvailabilityZones"]
            return sorted(z["ZoneName"] for z in zones if z.get("State", "available") == "available")

        return list(self._once("azs", load))

    def default_vpc(self) -> str | None:
        def load() -> str | None:
            vpcs = self.clients("ec2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
                "Vpcs"
            ]
            return str(vpcs[0]["VpcId"]) if vpcs else None

        return self._once("default_vpc", load)  # type: ignore[no-any-return]

    def security_groups(self) -> dict[str, tuple[str, str]]:
        """Security group ID -> (VPC ID, group name)."""

        def load() -> dict[str, tuple[str, str]]:
            return {
                g["GroupId"]: (g.get("VpcId", ""), g.get("GroupName", ""))
                for g in _pages(self.clients("ec2"), "describe_security_groups", "SecurityGroups")
            }

        return dict(self._once("sgs", load))

    def default_security_group(self, vpc_id: str) -> str | None:
        for group_id, (vpc, name) in sorted(self.security_groups().items()):
            if vpc == vpc_id and name == "default":
                return group_id
        return None

    # --- RDS (also DocumentDB and Neptune, which share its control plane) ---------------------------

    def db_subnet_groups(self) -> dict[str, str]:
        """DB subnet group name -> VPC ID."""

        def load() -> dict[str, str]:
            return {
                g["DBSubnetGroupName"]: g.get("VpcId", "")
                for g in _pages(self.clients("rds"), "describe_db_subnet_groups", "DBSubnetGroups")
            }

        return dict(self._once("subnet_groups", load))

    def db_parameter_groups(self) -> set[str]:
        return set(
            self._once(
                "parameter_groups",
                lambda: {
                    g["DBParameterGroupName"]
                    for g in _pages(self.clients("rds"), "describe_db_parameter_groups", "DBParameterGroups")
                },
            )
        )

    def db_cluster_parameter_groups(self) -> set[str]:
        return set(
            self._once(
                "cluster_parameter_groups",
                lambda: {
                    g["DBClusterParameterGroupName"]
                    for g in _pages(
                        self.clients("rds"),
                        "describe_db_cluster_parameter_groups",
                        "DBClusterParameterGroups",
                    )
                },
            )
        )

    def option_groups(self) -> set[str]:
        return set(
            self._once(
                "option_groups",
                lambda: {
                    g["OptionGroupName"]
                    for g in _pages(self.clients("rds"), "describe_option_groups", "OptionGroupsList")
                },
            )
        )

    # --- KMS ----------------------------------------------------------------------------------------

    def key(self, key_id: str) -> KeyState:
        """The key's state, described once per distinct key (a compromised account may have disabled or
        scheduled the deletion of a key the restore would need)."""
        with self._lock:
            if key_id in self._keys:
                return self._keys[key_id]
        try:
            meta = self.clients("kms").describe_key(KeyId=key_id)["KeyMetadata"]
            found = KeyState(arn=meta["Arn"], state=meta["KeyState"], manager=meta.get("KeyManager", ""))
        except (BotoCoreError, ClientError) as error:  # reported on the resource, unless it stops everything
            if stops_everything(error):
                raise
            found = KeyState(arn=key_id, state=f"unreadable: {error_text(error)}")
        with self._lock:
            self._keys[key_id] = found
        return found
