"""The coverage job's verdict on one resource: selected, opted out, excluded or routed to another engine's plans.

It mirrors the plans' selections: every resource of a protected type is in by default; the conditions
are ``StringNotEquals`` on exact tag keys and one value, ``"true"`` by default (case-sensitive, like the selection
operators), so a missing tag, ``"false"`` or ``"True"`` all leave the resource selected.

Aurora, DocumentDB and Neptune clusters share one ARN pattern; the ``dr-backup-engine`` tag decides
which type's plans and vault take a cluster (``route_cluster``), by the catalog's routing data, the
same data the plans' conditions are built from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from dr_model import catalog
from dr_model.backup_selection import (
    DEFAULT_CROSS_REGION_OPT_OUT_TAG,
    DEFAULT_OPT_OUT_TAG,
    KUBERNETES_OWNED_VALUE,
    kubernetes_tag_key,
)
from dr_model.backup_selection import DEFAULT_OPT_OUT_VALUE as OPT_OUT_VALUE
from dr_runtime.errors import ConfigError
from dr_runtime.settings import Setting

# The settings of a selection, as the coverage job takes them (the stack's optOutTags and
# kubernetesClusters); errors name them this way.
OPT_OUT_TAG_SETTING = Setting(
    "--opt-out-tag",
    "DR_OPT_OUT_TAG",
    f"tag key that opts a resource out entirely (default {DEFAULT_OPT_OUT_TAG})",
)
CROSS_REGION_OPT_OUT_TAG_SETTING = Setting(
    "--cross-region-opt-out-tag",
    "DR_CROSS_REGION_OPT_OUT_TAG",
    f"tag key that skips the cross-Region copy (default {DEFAULT_CROSS_REGION_OPT_OUT_TAG})",
)
OPT_OUT_VALUE_SETTING = Setting(
    "--opt-out-value",
    "DR_OPT_OUT_VALUE",
    f"value both opt-out tags must carry, case-sensitive (the stack's optOutTags.value; default {OPT_OUT_VALUE})",
)
KUBERNETES_CLUSTERS_SETTING = Setting(
    "--kubernetes-cluster",
    "DR_KUBERNETES_CLUSTERS",
    "cluster whose owned EBS volumes are excluded; repeat the flag per cluster (variable: comma-separated)",
)


class Decision(StrEnum):
    SELECTED = "selected"
    SELECTED_NO_CROSS_REGION = "selected-no-cross-region"
    OPTED_OUT = "opted-out"
    KUBERNETES_EXCLUDED = "kubernetes-excluded"
    NOT_ROUTED = "not-routed"
    """An rds cluster whose engine tag no protected type's plans take."""

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
        for setting, value in (
            (OPT_OUT_TAG_SETTING, self.opt_out_tag),
            (CROSS_REGION_OPT_OUT_TAG_SETTING, self.cross_region_opt_out_tag),
            (OPT_OUT_VALUE_SETTING, self.opt_out_value),
        ):
            if not value:
                raise ConfigError(f"{setting.label} must not be empty")
        for name in self.kubernetes_clusters:
            # Selection condition keys take no wildcards, so each cluster needs its exact name.
            if not name or "*" in name or "/" in name:
                raise ConfigError(
                    f"{KUBERNETES_CLUSTERS_SETTING.label}: {name!r} is not a cluster name "
                    "(exact names, no '*' or '/')"
                )


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
            key = kubernetes_tag_key(cluster)
            if tags.get(key) == KUBERNETES_OWNED_VALUE:
                return Verdict(Decision.KUBERNETES_EXCLUDED, f"{key}={KUBERNETES_OWNED_VALUE}")
    if tags.get(config.cross_region_opt_out_tag) == config.opt_out_value:
        return Verdict(
            Decision.SELECTED_NO_CROSS_REGION, f"{config.cross_region_opt_out_tag}={config.opt_out_value}"
        )
    return Verdict(Decision.SELECTED, "default")


def route_cluster(tags: Mapping[str, str], protected: Iterable[str]) -> str | None:
    """The protected type (AWS Backup name) whose plans and vault take an rds cluster with ``tags``.

    ``protected`` names the stack's active types; ``None`` when none of them takes the cluster.
    """
    active = [catalog.BY_BACKUP_NAME[name] for name in protected if name in catalog.BY_BACKUP_NAME]
    routed = catalog.cluster_route(tags.get(catalog.CLUSTER_ENGINE_TAG), active)
    return None if routed is None else routed.backup_name


def engine_tag_for(resource_type: str) -> str | None:
    """The ``dr-backup-engine`` value that routes a cluster to ``resource_type`` (None: no tag needed)."""
    rtype = catalog.BY_BACKUP_NAME.get(resource_type)
    route = None if rtype is None else rtype.cluster_route
    return None if route is None else route.equals
