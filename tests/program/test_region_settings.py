"""AWS Backup region settings: the stack owns the whole map in both regions, so a second preview is empty.

The provider stores what DescribeRegionSettings returns, which is every resource type of the region
(docs/region-settings.md). A map naming only some types therefore differs from the stored state on
every preview after the first apply; naming every type, with the values the stack wants, does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from components.config import ConfigError
from dr_model import catalog
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import register_stack
from tests.program.test_graph import provider_name

NS = "aws-dr-backup:"
SETTINGS = "aws:backup/regionSettings:RegionSettings"
OPT_IN, MANAGEMENT = "resourceTypeOptInPreference", "resourceTypeManagementPreference"
PROD_PROTECTED = {"S3", "EBS", "EFS", "DynamoDB", "RDS", "Aurora", "DocumentDB", "Neptune"}
STAGING_PROTECTED = PROD_PROTECTED - {"DocumentDB", "Neptune"}


def _by_region(graph: StackGraph) -> dict[str, dict[str, Any]]:
    settings = {provider_name(r): r.inputs for r in graph.by_type(SETTINGS)}
    assert set(settings) == {"origin", "cross-region"}, "one per workload region"
    return settings


def _describe_after_update(account: Mapping[str, bool], sent: Mapping[str, bool]) -> dict[str, bool]:
    """What DescribeRegionSettings returns after UpdateRegionSettings(sent): every type of the region,
    the sent ones with the sent values (UpdateRegionSettings leaves the others as they were)."""
    return {**account, **sent}


def _expected(protected: set[str], types: tuple[str, ...], others: Mapping[str, bool]) -> dict[str, bool]:
    return {t: True if t in protected else others.get(t, True) for t in types}


@pytest.mark.parametrize(("stack", "protected"), [("prod", PROD_PROTECTED), ("staging", STAGING_PROTECTED)])
def test_both_regions_send_the_complete_maps(
    stack: str, protected: set[str], request: pytest.FixtureRequest
) -> None:
    graph: StackGraph = request.getfixturevalue(stack)
    for inputs in _by_region(graph).values():
        # Protected types on; every other type AWS lists at the documented default (on).
        assert inputs[OPT_IN] == _expected(protected, catalog.REGION_SETTINGS_OPT_IN_TYPES, {})
        assert inputs[MANAGEMENT] == _expected(protected, catalog.REGION_SETTINGS_MANAGEMENT_TYPES, {})


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_second_preview_of_an_unchanged_stack_has_no_diff(stack: str, request: pytest.FixtureRequest) -> None:
    """State after the first apply = DescribeRegionSettings; the next preview diffs the same inputs against it."""
    graph: StackGraph = request.getfixturevalue(stack)
    # An account whose every type starts switched off, so nothing matches by accident.
    account_opt_in = dict.fromkeys(catalog.REGION_SETTINGS_OPT_IN_TYPES, False)
    account_management = dict.fromkeys(catalog.REGION_SETTINGS_MANAGEMENT_TYPES, False)
    for inputs in _by_region(graph).values():
        assert _describe_after_update(account_opt_in, inputs[OPT_IN]) == inputs[OPT_IN]
        assert _describe_after_update(account_management, inputs[MANAGEMENT]) == inputs[MANAGEMENT]


def test_other_types_come_from_config(staging_config: dict[str, Any]) -> None:
    """Staging switches DocumentDB and Neptune off as protected types: their opt-in is then the config's."""
    others = {"DocumentDB": False, "FSx": False, "EC2": True, "SAP HANA on Amazon EC2": False}
    staging_config[NS + "regionSettings"] = {
        "otherTypes": others,
        "otherManagement": {"CloudFormation": False},
    }
    graph = register_stack("staging", config=staging_config)
    for inputs in _by_region(graph).values():
        assert inputs[OPT_IN] == _expected(STAGING_PROTECTED, catalog.REGION_SETTINGS_OPT_IN_TYPES, others)
        assert inputs[OPT_IN]["Neptune"] is True, "not named: the default"
        assert inputs[MANAGEMENT] == {"CloudFormation": False, "DSQL": True, "DynamoDB": True, "EFS": True}


def test_region_settings_are_switchable(prod_config: dict[str, Any]) -> None:
    prod_config[NS + "regionSettings"] = {"manage": False}
    assert register_stack("prod", config=prod_config).by_type(SETTINGS) == []


def test_catalog_names_every_protected_type_in_the_maps() -> None:
    assert {t.backup_name for t in catalog.CATALOG} <= set(catalog.REGION_SETTINGS_OPT_IN_TYPES)
    managed = {t.backup_name for t in catalog.CATALOG if t.region_management}
    assert managed == {"DynamoDB", "EFS"}
    assert managed <= set(catalog.REGION_SETTINGS_MANAGEMENT_TYPES)
    assert set(catalog.REGION_SETTINGS_MANAGEMENT_TYPES) <= set(catalog.REGION_SETTINGS_OPT_IN_TYPES)
    assert len(set(catalog.REGION_SETTINGS_OPT_IN_TYPES)) == len(catalog.REGION_SETTINGS_OPT_IN_TYPES)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"otherTypes": {"Redshfit": False}},
            ("aws-dr-backup:regionSettings.otherTypes", "'Redshfit' is not a resource type", "Redshift"),
        ),
        (
            {"otherTypes": {"FSx": "no"}},
            ("aws-dr-backup:regionSettings.otherTypes.FSx = 'no'", "must be true or false"),
        ),
        (
            {"otherTypes": {"S3": False}},
            ("regionSettings.otherTypes.S3 (False)", "S3 is protected by this stack", "remove it"),
        ),
        (
            {"otherManagement": {"RDS": True}},
            ("aws-dr-backup:regionSettings.otherManagement", "'RDS' has no management preference", "DSQL"),
        ),
        (
            {"otherManagement": {"DynamoDB": False}},
            ("regionSettings.otherManagement.DynamoDB (False)", "DynamoDB is protected by this stack"),
        ),
    ],
    ids=[
        "unknown-type",
        "not-a-boolean",
        "protected-type",
        "no-management-preference",
        "protected-management",
    ],
)
def test_bad_region_settings_fail_before_anything_is_registered(
    prod_config: dict[str, Any], settings: dict[str, Any], expected: tuple[str, ...]
) -> None:
    prod_config[NS + "regionSettings"] = settings
    registered: list[RegisteredResource] = []
    with pytest.raises(ConfigError) as caught:
        register_stack("prod", config=prod_config, recorder=registered)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message
    assert message.count("\n") == 1, "one message"
    assert registered == []
