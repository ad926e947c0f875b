"""Every protected type of the catalog (``dr_model/catalog.py``) has each facet the layers need.

A type added to the catalog alone used to reach the program and the pack, while the coverage job reported
it at 100 % of zero resources (no lister), and restore failed on import. Here one table names, per facet,
where it lives and how to tell whether a type has it; the test fails naming the type and every facet it
lacks. Both ways: a type planted with the catalog's fields only lacks them all.
Issue 20 moves these facets onto the ground floor; until then this test is what holds them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from components.operations.coverage_job import _inventory_statements
from dr_model import catalog
from dr_model.backup_selection import arn_matches
from dr_runtime.operations import inventory
from dr_runtime.restore import metadata
from policies.dr_policies import scope

REGION, ACCOUNT = "us-east-1", "111111111111"


def _listed(rtype: catalog.ResourceType) -> bool:
    return any(rtype.backup_name in types for types, _ in inventory.SOURCES)


def _listing_allowed(rtype: catalog.ResourceType) -> bool:
    return bool(_inventory_statements(REGION, ACCOUNT, {rtype.backup_name}))


def _restorable(rtype: catalog.ResourceType) -> bool:
    return rtype.key in metadata.RULES and rtype.key in metadata.REQUIRED


def _sampled(rtype: catalog.ResourceType) -> bool:
    """The pack has a sample ARN of the type, and the type's own selection pattern takes it."""
    sample = scope.SAMPLE_ARNS.get(rtype.backup_name)
    return sample is not None and any(arn_matches(pattern, sample) for pattern in rtype.selection_arns)


FACETS: dict[str, Callable[[catalog.ResourceType], bool]] = {
    "region-settings key (catalog.REGION_SETTINGS_OPT_IN_TYPES)": lambda t: (
        t.backup_name in catalog.REGION_SETTINGS_OPT_IN_TYPES
    ),
    "coverage lister (dr_runtime/operations/inventory.py SOURCES)": _listed,
    "coverage job's listing permissions (components/operations/coverage_job.py)": _listing_allowed,
    "restore metadata (dr_runtime/restore/metadata.py RULES, REQUIRED)": _restorable,
    "pack's sample ARN (policies/dr_policies/scope.py SAMPLE_ARNS)": _sampled,
}


def missing_facets(rtype: catalog.ResourceType) -> list[str]:
    return [facet for facet, has in FACETS.items() if not has(rtype)]


@pytest.mark.parametrize("rtype", catalog.CATALOG, ids=lambda t: t.key)
def test_every_catalog_type_has_every_facet(rtype: catalog.ResourceType) -> None:
    assert missing_facets(rtype) == []


def test_a_type_in_the_catalog_alone_lacks_every_facet_and_is_named() -> None:
    # As a new type would be with its catalog entry only (a name no layer knows, an ARN nobody samples).
    planted = replace(
        catalog.get("efs"), key="widgets", backup_name="Widgets", selection_arns=("arn:aws:widgets:*:*:w/*",)
    )
    assert missing_facets(planted) == list(FACETS)


def test_a_sample_arn_the_types_own_pattern_does_not_take_is_a_missing_facet() -> None:
    # EBS's pattern picks volumes; pointed at instances, the pack's sample would not exercise it.
    wrong = replace(catalog.get("ebs"), selection_arns=("arn:aws:ec2:*:*:instance/*",))
    assert missing_facets(wrong) == ["pack's sample ARN (policies/dr_policies/scope.py SAMPLE_ARNS)"]


def test_the_packs_required_types_are_catalog_types() -> None:
    from policies.dr_policies import pack_config

    required = pack_config.SCHEMA["requiredResourceTypes"]["default"]
    assert set(required) <= set(catalog.BACKUP_NAMES)
