"""Project-level config (``config:`` in Pulumi.yaml) merged into a stack's config as the Pulumi CLI merges it
(dr_model/project_config.py; sources in docs/project-config.md): shorthand and long forms, namespaces, the
stack winning whole, property-path keys, required and typed keys, and Pulumi.yaml mistakes named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, from_namespaced, parse
from drplan import cli, fleet
from drplan.program import REPO, StackFileError, read_stack_config, stack_file

NS = "aws-dr-backup"


def project(tmp_path: Path, config: dict[str, Any], name: str = NS) -> Path:
    path = tmp_path / "Pulumi.yaml"
    path.write_text(yaml.safe_dump({"name": name, "runtime": "python", "config": config}, sort_keys=False))
    return path


def stack(tmp_path: Path, name: str, config: dict[str, Any], **document: Any) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({**document, "config": config}, sort_keys=False))
    return path


def merged(tmp_path: Path, project_config: dict[str, Any], stack_config: dict[str, Any]) -> dict[str, Any]:
    project(tmp_path, project_config)
    return read_stack_config(stack(tmp_path, "alpha", stack_config))


def test_shorthand_values_become_defaults_of_the_project_and_values_of_other_namespaces(
    tmp_path: Path,
) -> None:
    values = merged(
        tmp_path,
        {
            "prefix": "dr-x",
            "kubernetesClusters": ["a", "b"],
            f"{NS}:logRetentionDays": 60,
            "aws:region": "us-west-2",
            "windows": {"default": {"startMinutes": 60, "completionMinutes": 300}},
            "layout": {"type": "string", "description": "plan layout", "default": "split"},
        },
        {f"{NS}:accounts": {"workload": "555555555555"}},
    )
    assert values == {
        f"{NS}:accounts": {"workload": "555555555555"},
        f"{NS}:prefix": "dr-x",
        f"{NS}:kubernetesClusters": ["a", "b"],
        f"{NS}:logRetentionDays": 60,
        "aws:region": "us-west-2",
        f"{NS}:windows": {"startMinutes": 60, "completionMinutes": 300},
        f"{NS}:layout": "split",
    }


def test_a_stack_value_wins_whole_over_the_shared_one(tmp_path: Path) -> None:
    shared = {"inRegion": {"deleteAfterDays": 2}, "airGappedCopy": {"deleteAfterDays": 7}}
    values = merged(
        tmp_path,
        {"retention": {"default": shared}, "layout": "split"},
        {f"{NS}:retention": {"airGappedCopy": {"deleteAfterDays": 14}}, f"{NS}:layout": "partitioned"},
    )
    # Nothing of the shared object is merged into the stack's: inRegion is the stack's (absent), not 2 days.
    assert values[f"{NS}:retention"] == {"airGappedCopy": {"deleteAfterDays": 14}}
    assert values[f"{NS}:layout"] == "partitioned"


def test_property_path_keys_set_inside_the_stacks_object_converted_like_config_set_path(
    tmp_path: Path,
) -> None:
    values = merged(
        tmp_path,
        {
            "retention.airGappedCopy.deleteAfterDays": 14,
            "retention.inRegion.deleteAfterDays": 9,
            "tags.team": "42",
            "tags.costCenter": "0042",
            "tags.shared": "true",
        },
        {f"{NS}:retention": {"inRegion": {"deleteAfterDays": 2}}, f"{NS}:tags": {"owner": "data"}},
    )
    assert values[f"{NS}:retention"] == {
        "inRegion": {"deleteAfterDays": 2},  # the stack's leaf wins
        "airGappedCopy": {"deleteAfterDays": 14},
    }
    assert values[f"{NS}:tags"] == {"owner": "data", "team": 42, "costCenter": "0042", "shared": True}


def test_a_project_key_without_a_default_is_required_from_every_stack(tmp_path: Path) -> None:
    project(
        tmp_path, {"prefix": {"type": "string", "description": "one per stack"}, "owner": {"type": "string"}}
    )
    path = stack(tmp_path, "alpha", {f"{NS}:prefix": "dr-a"})
    with pytest.raises(StackFileError) as raised:
        read_stack_config(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: stack 'alpha' is missing configuration value 'owner'")
    assert "Pulumi.yaml declares it without a default" in message


@pytest.mark.parametrize(
    ("declaration", "value", "ok"),
    [
        ({"type": "integer", "default": 30}, 60, True),
        ({"type": "integer", "default": 30}, "sixty", False),
        ({"type": "boolean"}, "true", True),
        ({"type": "boolean"}, "yes", False),
        ({"type": "string"}, 7, True),  # the CLI checks a scalar's text
        ({"type": "string"}, {"a": 1}, False),
        ({"type": "array", "items": {"type": "string"}}, ["a"], True),
        ({"type": "array", "items": {"type": "integer"}}, ["a"], False),
    ],
)
def test_typed_project_keys_check_the_stacks_value(
    tmp_path: Path, declaration: dict[str, Any], value: Any, ok: bool
) -> None:
    project(tmp_path, {"thing": declaration})
    path = stack(tmp_path, "alpha", {f"{NS}:thing": value})
    if ok:
        assert read_stack_config(path)[f"{NS}:thing"] == value
        return
    with pytest.raises(StackFileError, match=r"configuration key 'thing' = .* must be of type"):
        read_stack_config(path)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"layout": {"default": "split", "value": "split"}},
            "config.layout cannot have both a 'default' and a 'value'",
        ),
        ({"aws:region": {"default": "us-west-2"}}, "config.aws:region is not namespaced by the project"),
        ({"aws:region": {"type": "string", "value": "us-west-2"}}, "takes only a 'value', no 'type'"),
        (
            {"aws:region": {"description": "where"}},
            "config.aws:region is namespaced by 'aws' and needs a 'value'",
        ),
        (
            {"retention": {"airGappedCopy": {"deleteAfterDays": 7}}},
            "config.retention has the attribute 'airGappedCopy'",
        ),
        (
            {"clusters": {"type": "array", "default": []}},
            "config.clusters.items must be a mapping with a type",
        ),
        (
            {"windows": {"type": "integer", "default": "soon"}},
            "the default is not of the declared type 'integer'",
        ),
        ({"ratio": 0.5}, "config.ratio = 0.5: must be a string, integer, boolean or list"),
        ({"prefix": None}, "config.prefix = null"),
        ({"tags[0]": "x"}, "dotted property paths only"),
    ],
)
def test_a_broken_project_file_is_named_with_its_key(
    tmp_path: Path, config: dict[str, Any], expected: str
) -> None:
    path = project(tmp_path, config)
    with pytest.raises(StackFileError) as raised:
        read_stack_config(stack(tmp_path, "alpha", {f"{NS}:prefix": "dr-a"}))
    assert str(raised.value).startswith(str(path))
    assert expected in str(raised.value)


def test_the_repositorys_stacks_take_the_fleets_shared_settings_and_override_some(tmp_path: Path) -> None:
    shared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    prod = from_namespaced(read_stack_config(stack_file("prod")))
    for key, declared in shared.items():
        assert prod[key] == (declared["default"] if isinstance(declared, dict) else declared), key
    staging = parse(from_namespaced(read_stack_config(stack_file("staging"))), "staging")
    assert (staging.environment.value, staging.layout.value) == ("staging", "split")
    assert staging.accounts.isolated == "444444444444"  # its own isolatedAccount wins over the fleet's
    assert parse(prod, "prod").accounts.isolated == shared["isolatedAccount"]
    # The stack files themselves hold only what differs.
    own = yaml.safe_load(stack_file("prod").read_text())["config"]
    assert not {f"{NS}:{key}" for key in shared} & set(own)


def test_isolated_account_fills_accounts_isolated_which_wins_where_given() -> None:
    base = {
        "environment": "production",
        "prefix": "dr-a",
        "isolatedAccountRole": "Deployer",
        "verifierEventBus": "arn:aws:events:us-east-1:999999999999:event-bus/dr-org-backup-events",
    }
    filled = parse({**base, "accounts": {"workload": "555555555555"}, "isolatedAccount": "222222222222"}, "a")
    assert filled.accounts.isolated == "222222222222"
    own = {"workload": "555555555555", "isolated": "777777777777"}
    assert parse({**base, "accounts": own, "isolatedAccount": "222222222222"}, "a").accounts.isolated == (
        "777777777777"
    )
    with pytest.raises(
        ConfigError, match=r"accounts\.isolated: required setting is missing: give it here, or once"
    ):
        parse({**base, "accounts": {"workload": "555555555555"}}, "a")


def test_a_stack_invalid_only_after_the_merge_exits_2_naming_its_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Valid on its own (the completion window defaults to 360 minutes) and the project file is valid too;
    # together the watchdog's threshold no longer fits the shared 300-minute window.
    base = read_stack_config(stack_file("prod"))
    own = {k: v for k, v in base.items() if k != f"{NS}:windows"}
    own[f"{NS}:operations"] = {"longRunningJobMinutes": 330}
    parse(from_namespaced(own), "alpha")
    project(tmp_path, {"windows": {"default": {"startMinutes": 60, "completionMinutes": 300}}})
    path = stack(tmp_path, "alpha", own)
    code = fleet.main(["--all", "--project-dir", str(tmp_path), "--workers", "1", "--no-policy", "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    (alpha,) = json.loads(out)["stacks"]
    message = alpha["exit"]["message"]
    assert message.startswith(f"{path}: Invalid configuration for stack 'alpha'")
    assert "operations.longRunningJobMinutes (330) must be at most windows.completionMinutes (300)" in message
    assert f"(merged with the shared settings of {tmp_path / 'Pulumi.yaml'}: windows)" in message
    assert "alpha: " in err


def test_a_wrong_shared_value_is_marked_as_coming_from_the_project_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = read_stack_config(stack_file("prod"))
    project(tmp_path, {"windows": {"default": {"startMinutes": 30, "completionMinutes": 360}}})
    path = stack(tmp_path, "alpha", {k: v for k, v in base.items() if k != f"{NS}:windows"})
    assert fleet.main(["--all", "--project-dir", str(tmp_path), "--workers", "1", "--no-policy"]) == 2
    err = capsys.readouterr().err
    assert (
        f"aws-dr-backup:windows.startMinutes = 30: must be greater than or equal to 60 [from "
        f"{tmp_path / 'Pulumi.yaml'}; set windows in {path} to override it]"
    ) in err


def test_the_single_stack_plan_merges_the_repositorys_pulumi_yaml_into_a_stack_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only what differs; the shared isolated account then equals the workload account: invalid after the merge.
    path = stack(tmp_path, "alpha", {f"{NS}:prefix": "dr-a", f"{NS}:accounts": {"workload": "222222222222"}})
    assert cli.main(["alpha", "--stack-file", str(path), "--no-policy"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: Invalid configuration for stack 'alpha'")
    assert "aws-dr-backup:accounts: isolated must differ from workload (222222222222)" in err
    assert "isolatedAccount" in err.splitlines()[-1]
