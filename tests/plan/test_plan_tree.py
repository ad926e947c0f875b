"""Resources grouped by the account and region their provider is pinned to."""

from __future__ import annotations

from drplan import tree
from drplan.graph import StackGraph


def names(nodes: tuple[tree.Node, ...] | list[tree.Node]) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        out.add(node.name)
        out |= names(node.children)
    return out


def test_two_places_from_the_providers_and_none_in_the_isolated_account(plan_prod: StackGraph) -> None:
    """The isolated account's resources are the isolated stack's (docs/isolated-account.md)."""
    groups = {(g.place.account, g.place.region): g for g in tree.group(plan_prod)}
    assert set(groups) == {("111111111111", "us-east-1"), ("111111111111", "us-east-2")}
    origin = names(groups[("111111111111", "us-east-1")].roots)
    assert "ebs-origin-vault" in origin
    assert "archive-vault" not in origin
    assert "ebs-cross-region-vault" in names(groups[("111111111111", "us-east-2")].roots)


def custom_urns(nodes: tuple[tree.Node, ...] | list[tree.Node]) -> set[str]:
    out: set[str] = set()
    for node in nodes:
        out |= custom_urns(node.children) if node.component else {node.urn}
    return out


def test_every_custom_resource_in_exactly_one_group(plan_prod: StackGraph) -> None:
    groups = tree.group(plan_prod)
    custom = [r for r in plan_prod.resources if r.custom]
    assert sum(g.count for g in groups) == len(custom)
    for resource in custom:
        holding = [g for g in groups if resource.urn in custom_urns(g.roots)]
        assert len(holding) == 1, resource.urn


def test_components_nest_their_children_in_each_region(plan_prod: StackGraph) -> None:
    for group in tree.group(plan_prod):
        if group.place.account != "111111111111":
            continue
        (ebs,) = [n for n in group.roots if n.type == "ResourceTypeProtection" and n.name == "ebs"]
        suffix = "origin-vault" if group.place.region == "us-east-1" else "cross-region-vault"
        assert f"ebs-{suffix}" in {c.name for c in ebs.children}


def test_short_types() -> None:
    assert tree.short_type("aws:kms/key:Key") == "kms:Key"
    assert tree.short_type("pulumi:providers:aws") == "provider:aws"
    assert tree.short_type("aws-dr-backup:backup:ResourceTypeProtection") == "ResourceTypeProtection"
