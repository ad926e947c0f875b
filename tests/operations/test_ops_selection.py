"""The selections' tag semantics, one row per tag combination."""

from __future__ import annotations

import pytest

from dr_runtime.errors import ConfigError
from dr_runtime.operations.selection_verdict import (
    Decision,
    SelectionConfig,
    decide,
    engine_tag_for,
    route_cluster,
)

CONFIG = SelectionConfig(kubernetes_clusters=("prod", "batch"))
OPT_OUT = "exclude-disaster-recovery-backup"
XREGION = "exclude-cross-region-backup"


@pytest.mark.parametrize(
    ("resource_type", "tags", "expected"),
    [
        ("S3", {}, Decision.SELECTED),
        ("S3", {OPT_OUT: "true"}, Decision.OPTED_OUT),
        ("S3", {OPT_OUT: "false"}, Decision.SELECTED),
        # Selection operators are case-sensitive, so "True" does not opt out.
        ("S3", {OPT_OUT: "True"}, Decision.SELECTED),
        ("S3", {XREGION: "true"}, Decision.SELECTED_NO_CROSS_REGION),
        ("S3", {XREGION: "false"}, Decision.SELECTED),
        ("S3", {OPT_OUT: "true", XREGION: "true"}, Decision.OPTED_OUT),
        ("EBS", {"kubernetes.io/cluster/prod": "owned"}, Decision.KUBERNETES_EXCLUDED),
        ("EBS", {"kubernetes.io/cluster/batch": "owned"}, Decision.KUBERNETES_EXCLUDED),
        ("EBS", {"kubernetes.io/cluster/staging": "owned"}, Decision.SELECTED),
        ("EBS", {"kubernetes.io/cluster/prod": "shared"}, Decision.SELECTED),
        ("EBS", {"kubernetes.io/cluster/prod": "owned", OPT_OUT: "true"}, Decision.OPTED_OUT),
        ("EBS", {"kubernetes.io/cluster/prod": "owned", XREGION: "true"}, Decision.KUBERNETES_EXCLUDED),
        ("EBS", {"kubernetes.io/cluster/prod": "shared", XREGION: "true"}, Decision.SELECTED_NO_CROSS_REGION),
        # The Kubernetes rule is for EBS volumes only.
        ("EFS", {"kubernetes.io/cluster/prod": "owned"}, Decision.SELECTED),
    ],
)
def test_decide(resource_type: str, tags: dict[str, str], expected: Decision) -> None:
    assert decide(resource_type, tags, CONFIG).decision is expected


def test_custom_tag_keys() -> None:
    config = SelectionConfig(opt_out_tag="backup-skip", cross_region_opt_out_tag="backup-local-only")
    assert decide("RDS", {"backup-skip": "true"}, config).decision is Decision.OPTED_OUT
    assert decide("RDS", {OPT_OUT: "true"}, config).decision is Decision.SELECTED
    assert decide("RDS", {"backup-local-only": "true"}, config).decision is Decision.SELECTED_NO_CROSS_REGION


def test_custom_opt_out_value_from_the_environment() -> None:
    from dr_runtime.operations.coverage_settings import CoverageConfig

    config = CoverageConfig.from_settings({"AWS_REGION": "us-east-1", "DR_OPT_OUT_VALUE": "yes"}).selection
    assert decide("S3", {"exclude-disaster-recovery-backup": "yes"}, config).decision is Decision.OPTED_OUT
    assert decide("S3", {"exclude-disaster-recovery-backup": "true"}, config).decision is Decision.SELECTED
    assert (
        decide("EFS", {"exclude-cross-region-backup": "yes"}, config).decision
        is Decision.SELECTED_NO_CROSS_REGION
    )


def test_no_configured_cluster_means_no_kubernetes_exclusion() -> None:
    verdict = decide("EBS", {"kubernetes.io/cluster/prod": "owned"}, SelectionConfig())
    assert verdict.decision is Decision.SELECTED


@pytest.mark.parametrize("name", ["", "prod*", "a/b"])
def test_cluster_names_must_be_exact(name: str) -> None:
    with pytest.raises(
        ConfigError, match=r"^--kubernetes-cluster \(DR_KUBERNETES_CLUSTERS\): .* is not a cluster name"
    ):
        SelectionConfig(kubernetes_clusters=(name,))


ALL = ("S3", "EBS", "EFS", "DynamoDB", "RDS", "Aurora", "DocumentDB", "Neptune")


@pytest.mark.parametrize(
    ("engine_tag", "protected", "routed"),
    [
        (None, ALL, "Aurora"),
        ("documentdb", ALL, "DocumentDB"),
        ("neptune", ALL, "Neptune"),
        # Values are case-sensitive, like the selections' conditions; anything else is Aurora's.
        ("DocumentDB", ALL, "Aurora"),
        ("aurora", ALL, "Aurora"),
        # A type switched off claims nothing: its clusters fall back to Aurora's plans.
        ("documentdb", ("Aurora", "Neptune"), "Aurora"),
        ("neptune", ("Aurora", "Neptune"), "Neptune"),
        # Nobody takes an untagged cluster when Aurora is off.
        (None, ("DocumentDB", "Neptune"), None),
        ("documentdb", ("DocumentDB",), "DocumentDB"),
    ],
)
def test_route_cluster(engine_tag: str | None, protected: tuple[str, ...], routed: str | None) -> None:
    tags = {} if engine_tag is None else {"dr-backup-engine": engine_tag}
    assert route_cluster(tags, protected) == routed


def test_engine_tag_for() -> None:
    assert engine_tag_for("DocumentDB") == "documentdb"
    assert engine_tag_for("Neptune") == "neptune"
    assert engine_tag_for("Aurora") is None
    assert engine_tag_for("S3") is None
