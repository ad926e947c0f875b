"""Config values at the edge: strict types on both paths (the engine's strings and the stack file's own
values), YAML null, duplicate keys, regions from botocore, IANA time zones, tags, and the largest
valid values, which must plan without a single error after registration starts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from components import config
from components.config import ConfigError, from_namespaced, parse
from dr_runtime.yaml_documents import YamlFileError, load_yaml
from drplan.program import StackFileError, read_stack_config, register_stack
from tests.program.program_refusals import assert_refused

NS = "aws-dr-backup:"


def _raw(prod_config: dict[str, Any]) -> dict[str, Any]:
    return from_namespaced(prod_config)


def _rejected(raw: dict[str, Any], *fragments: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(raw, "prod")
    for fragment in fragments:
        assert fragment in str(caught.value)


# --- strict types, both paths -------------------------------------------------------------------


@pytest.mark.parametrize("given", [30, "30"])
def test_top_level_int_accepts_the_engines_string(prod_config: dict[str, Any], given: object) -> None:
    raw = _raw(prod_config) | {"logRetentionDays": given}
    assert parse(raw, "prod").log_retention_days == 30


@pytest.mark.parametrize("given", [True, 30.0, "thirty", "30.0", "true", " 30"])
def test_top_level_int_rejects_anything_else(prod_config: dict[str, Any], given: object) -> None:
    _rejected(
        _raw(prod_config) | {"logRetentionDays": given}, "aws-dr-backup:logRetentionDays = ", "whole number"
    )


@pytest.mark.parametrize("given", ["thirty", True, 30.5])
def test_top_level_int_through_the_engine(prod_config: dict[str, Any], given: object) -> None:
    # register_stack hands the value over as the engine does: a string ("thirty", "true", "30.5").
    prod_config[NS + "logRetentionDays"] = given
    assert_refused("prod", prod_config, "aws-dr-backup:logRetentionDays = ", "whole number")


@pytest.mark.parametrize("given", [True, False, "26", 26.0, None])
def test_ints_inside_objects_are_strict(prod_config: dict[str, Any], given: object) -> None:
    prod_config[NS + "operations"]["recentBackupHours"] = given
    _rejected(_raw(prod_config), "aws-dr-backup:operations.recentBackupHours = ")
    assert_refused("prod", prod_config, "aws-dr-backup:operations.recentBackupHours = ")


@pytest.mark.parametrize("given", ["true", 1, "yes", None])
def test_bools_inside_objects_are_strict(prod_config: dict[str, Any], given: object) -> None:
    prod_config[NS + "operations"]["audit"] = given
    _rejected(_raw(prod_config), "aws-dr-backup:operations.audit = ")
    assert_refused("prod", prod_config, "aws-dr-backup:operations.audit = ")


def test_ints_and_bools_inside_objects_pass_through_the_engine(prod_config: dict[str, Any]) -> None:
    def frameworks(audit: bool) -> int:
        prod_config[NS + "operations"] |= {"recentBackupHours": 30, "audit": audit}
        graph = register_stack("prod", config=prod_config)
        return sum(r.type == "aws:backup/framework:Framework" for r in graph.resources)

    # With audit on: the primary framework and the DR region's restore-time framework.
    assert (frameworks(True), frameworks(False)) == (2, 0)


class _TopLevel(BaseModel):
    flag: bool = True
    count: int | None = None
    name: str = ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"flag": "false", "count": "7", "name": "7"}, {"flag": False, "count": 7, "name": "7"}),
        ({"flag": "yes", "count": "7.0"}, {"flag": "yes", "count": "7.0"}),
        ({"flag": "True", "count": "-3"}, {"flag": "True", "count": -3}),
    ],
)
def test_engine_strings_become_the_fields_type_only_when_exact(
    given: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert config.from_engine(given, _TopLevel) == expected


# --- null -----------------------------------------------------------------------------------------


def test_null_is_shown_as_null(prod_config: dict[str, Any]) -> None:
    prod_config[NS + "regions"]["dr"] = None
    _rejected(_raw(prod_config), "aws-dr-backup:regions.dr = null: must be a string")
    assert_refused("prod", prod_config, "aws-dr-backup:regions.dr = null")


def test_top_level_null_is_named_as_the_file_spells_it(prod_config: dict[str, Any]) -> None:
    prod_config[NS + "prefix"] = None
    # Before: the engine emulation handed the program 'None', which passes as text.
    assert_refused("prod", prod_config, "aws-dr-backup:prefix = null: no value given")
    _rejected(_raw(prod_config), "aws-dr-backup:prefix = null: must be a string")


def test_nulls_of_other_namespaces_are_the_engines_empty_string(prod_config: dict[str, Any]) -> None:
    prod_config["aws:region"] = None
    assert register_stack("prod", config=prod_config).resources


# --- the stack-file reader ------------------------------------------------------------------------


def test_duplicate_keys_name_both_lines_and_the_path_as_given(tmp_path: Path) -> None:
    folder = tmp_path / "some" / "dir"
    folder.mkdir(parents=True)
    path = folder / "Pulumi.prod.yaml"
    path.write_text("config:\n  a:b:\n    - x: 1\n      y: 2\n      x: 3\n")
    with pytest.raises(StackFileError) as caught:
        read_stack_config(path)
    assert str(caught.value) == (
        f"{path}: key 'config.a:b.0.x' is given twice, on line 3 and line 5; YAML would silently keep only "
        "the last one: remove one of them"
    )


def test_yaml_errors_name_the_file_not_a_unicode_string(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "Pulumi.prod.yaml"
    path.parent.mkdir()
    path.write_text("config:\n  a:b: [1\n")
    with pytest.raises(StackFileError) as caught:
        read_stack_config(path)
    assert f'in "{path}", line 3' in str(caught.value)
    assert "<unicode string>" not in str(caught.value)


def test_merge_keys_and_aliases_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  x: 3\nagain: *b\n")
    assert load_yaml(path) == {"base": {"x": 1, "y": 2}, "use": {"x": 3, "y": 2}, "again": {"x": 1, "y": 2}}


def test_same_text_in_different_types_is_not_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "types.yaml"
    path.write_text('1: int\n"1": str\n')
    assert load_yaml(path) == {1: "int", "1": "str"}


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"config:\n  a:b: caf\xe9\n")
    with pytest.raises(YamlFileError, match=r"latin\.yaml is not UTF-8 text"):
        load_yaml(latin)


@pytest.mark.parametrize("key", ["prefix", "aws-dr-backup: prefix", 12])
def test_config_keys_need_a_namespace(tmp_path: Path, key: object) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(f"config:\n  {key if not isinstance(key, str) or ' ' not in key else repr(key)}: x\n")
    with pytest.raises(StackFileError, match="must have the form '<namespace>:<name>'"):
        read_stack_config(path)


# --- regions, time zones, tags ------------------------------------------------------------------


def test_regions_are_the_ones_boto3_lists_for_aws_backup() -> None:
    import boto3

    regions, version = config.backup_regions()
    assert regions == set(boto3.session.Session().get_available_regions("backup"))
    assert "us-east-1" in regions
    assert "us-gov-west-1" not in regions
    import botocore

    assert version == botocore.__version__


@pytest.mark.parametrize("region", ["eu-central-2", "ap-southeast-7", "mx-central-1", "us-west-2"])
def test_any_backup_region_is_accepted(prod_config: dict[str, Any], region: str) -> None:
    raw = _raw(prod_config) | {"regions": {"primary": "us-east-1", "dr": region}}
    assert parse(raw, "prod").regions.dr == region


@pytest.mark.parametrize(
    "zone", ["Etc/UTC", "UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"]
)
def test_iana_time_zones_are_accepted(prod_config: dict[str, Any], zone: str) -> None:
    raw = _raw(prod_config)
    raw["schedules"] = {"timezone": zone}
    assert parse(raw, "prod").schedules.timezone == zone


@pytest.mark.parametrize("zone", ["America", "../../etc/passwd", "posixrules", "localtime", "right/UTC", ""])
def test_non_zones_are_rejected(prod_config: dict[str, Any], zone: str) -> None:
    raw = _raw(prod_config)
    raw["schedules"] = {"timezone": zone}
    _rejected(raw, "aws-dr-backup:schedules.timezone = ", "IANA time zone")


def test_tags_take_unicode_letters_and_the_aws_charset(prod_config: dict[str, Any]) -> None:
    raw = _raw(prod_config)
    raw["tags"] = {"Kostenstelle/Größe": "Ünïcode + = . _ : / @ -", "empty": ""}
    assert parse(raw, "prod").tags["empty"] == ""


def test_opt_out_tags_are_checked_through_the_engine_too(prod_config: dict[str, Any]) -> None:
    prod_config[NS + "optOutTags"] = {"all": "skip", "crossRegion": "skip"}
    assert_refused("prod", prod_config, "aws-dr-backup:optOutTags: all and crossRegion are both 'skip'")


# --- the largest valid values plan without an error after registration starts --------------------


def test_largest_valid_values_plan(prod_config: dict[str, Any]) -> None:
    c = copy.deepcopy(prod_config)
    prefix = "a" + "b" * 18 + "c"
    c[NS + "prefix"] = prefix
    opensearch = "k" * (config.MAX_BUCKET_NAME - len(f"{prefix}--opensearch-snapshots"))
    memorydb = "m" * (config.MAX_BUCKET_NAME - len(f"{prefix}--memorydb-snapshots"))
    c[NS + "bridges"] = {
        "opensearch": {
            "clusterName": opensearch,
            "schedule": "rate(6 hours)",
            "vpcSubnetIds": [f"subnet-{i:017x}" for i in range(config.MAX_LAMBDA_SUBNETS)],
            "vpcSecurityGroupIds": [f"sg-{i:08x}" for i in range(config.MAX_LAMBDA_SECURITY_GROUPS)],
        },
        "memorydb": {"clusterName": memorydb, "schedule": "cron(0 0/2 * * ? *)"},
    }
    c[NS + "tags"] = {("ü" * 125 + f"{i:03d}"): "v" * 256 for i in range(config.MAX_STACK_TAGS)}
    c[NS + "kubernetesClusters"] = [f"{i:02d}" + "c" * 98 for i in range(28)]
    c[NS + "regions"] = {"primary": "ap-southeast-7", "dr": "ap-northeast-3"}
    c[NS + "schedules"] = {
        "crossRegion": "cron(15 0/6 ? * * *)",
        "crossAccount": "cron(0 7 ? * * *)",
        "timezone": "America/Argentina/Buenos_Aires",
    }
    c[NS + "operations"] = {
        "alerts": {
            "emails": [f"oncall-{i}@example.com" for i in range(20)],
            "topicArns": [f"arn:aws:sns:ap-southeast-7:333333333333:t{i}" for i in range(4)]
            + [f"arn:aws:sns:ap-northeast-3:111111111111:t{i}" for i in range(4)],
        },
        "coverageSchedule": "rate(1 day)",
        "restoreTesting": {"schedule": "cron(0 10 L * ? *)"},
    }
    c[NS + "isolatedAccountRole"] = "arn:aws:iam::222222222222:role/path/to/" + "R" * 64
    c[NS + "optOutTags"] = {"all": "x" * 128, "crossRegion": "y" * 128, "value": "z" * 256}
    c[NS + "logRetentionDays"] = 3653
    for layout in ("partitioned", "split"):
        c[NS + "layout"] = layout
        assert len(register_stack("prod", config=c).resources) > 300
