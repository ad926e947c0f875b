"""The backup selections' tag semantics as a pure function.

It mirrors the plans' selections: every resource of a protected type is in by default; the conditions
are ``StringNotEquals`` on exact tag keys and one value, ``"true"`` by default (case-sensitive, like the selection
operators), so a missing tag, ``"false"`` or ``"True"`` all leave the resource selected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from dr_runtime.operations.settings import ConfigError

DEFAULT_OPT_OUT_TAG = "exclude-disaster-recovery-backup"
DEFAULT_CROSS_REGION_OPT_OUT_TAG = "exclude-cross-region-backup"
KUBERNETES_CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
OPT_OUT_VALUE = "true"
KUBERNETES_OWNED_VALUE = "owned"


class Decision(StrEnum):
    SELECTED = "selected"
    SELECTED_NO_CROSS_REGION = "selected-no-cross-region"
    OPTED_OUT = "opted-out"
    KUBERNETES_EXCLUDED = "kubernetes-excluded"

    @property
    def selected(self) -> bool:
        return self in (Decision.SELECTED, Decision.SELECTED_NO_CROSS_REGION)


@dataclass(frozen=True)
class SelectionConfig:
    opt_out_tag: str = DEFAULT_OPT_OUT_TAG
    cross_region_opt_out_tag: str = DEFAULT_CROSS_REGION_OPT_OUT_TAG
    kubernetes_clusters: tuple[str, ...] = ()
    opt_out_value: str = OPT_OUT_VALUE
    """The value both opt-out tags must carry (the stack's ``optOutTags.value``)."""

    def __post_init__(self) -> None:
        if not self.opt_out_tag:
            raise ConfigError("opt_out_tag must not be empty")
        if not self.cross_region_opt_out_tag:
            raise ConfigError("cross_region_opt_out_tag must not be empty")
        for name in self.kubernetes_clusters:
            # Selection condition keys take no wildcards, so each cluster needs its exact name.
            if not name or "*" in name or "/" in name:
                raise ConfigError(f"kubernetes_clusters: {name!r} is not a cluster name")


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str


def decide(resource_type: str, tags: Mapping[str, str], config: SelectionConfig) -> Verdict:
    """Whether the plans' selections pick up a resource of ``resource_type`` with ``tags``.

    Opt-out wins over the Kubernetes rule so the report names the explicit human decision.
    """
    if tags.get(config.opt_out_tag) == config.opt_out_value:
        return Verdict(Decision.OPTED_OUT, f"{config.opt_out_tag}={config.opt_out_value}")
    if resource_type == "EBS":
        for cluster in config.kubernetes_clusters:
            key = KUBERNETES_CLUSTER_TAG_PREFIX + cluster
            if tags.get(key) == KUBERNETES_OWNED_VALUE:
                return Verdict(Decision.KUBERNETES_EXCLUDED, f"{key}={KUBERNETES_OWNED_VALUE}")
    if tags.get(config.cross_region_opt_out_tag) == config.opt_out_value:
        return Verdict(
            Decision.SELECTED_NO_CROSS_REGION, f"{config.cross_region_opt_out_tag}={config.opt_out_value}"
        )
    return Verdict(Decision.SELECTED, "default")
