"""drplan.terraform_json on small graphs against a small schema in the shape ``terraform providers schema -json``
prints (no Terraform needed)."""

from __future__ import annotations

from typing import Any

from drplan import terraform_json as tj
from drplan.graph import RegisteredResource, StackGraph

PROVIDER_URN = "urn:pulumi:s::p::pulumi:providers:aws::origin"
_STRING: dict[str, Any] = {"type": "string", "optional": True}


def _schema() -> tj.Schema:
    lifecycle = {
        "nesting_mode": "list",
        "max_items": 1,
        "block": {"attributes": {"delete_after": {"type": "number"}}},
    }
    rule = {
        "nesting_mode": "set",
        "block": {
            "attributes": {"rule_name": _STRING, "recovery_point_tags": {"type": ["map", "string"]}},
            "block_types": {"lifecycle": lifecycle},
        },
    }
    resources = {
        "aws_backup_plan": {
            "block": {"attributes": {"name": _STRING, "arn": _STRING}, "block_types": {"rule": rule}}
        },
        "aws_iam_role_policy": {"block": {"attributes": {"policy": _STRING, "role": _STRING}}},
        "aws_lambda_function": {"block": {"attributes": {"filename": _STRING, "function_name": _STRING}}},
    }
    provider = {
        "attributes": {"region": _STRING, "allowed_account_ids": {"type": ["set", "string"]}},
        "block_types": {
            "default_tags": {
                "nesting_mode": "list",
                "block": {"attributes": {"tags": {"type": ["map", "string"]}}},
            }
        },
    }
    return tj.Schema(
        {
            "provider_schemas": {
                tj.PROVIDER_SOURCE: {
                    "provider": {"block": provider},
                    "resource_schemas": {
                        name: {"block": entry["block"]} for name, entry in resources.items()
                    },
                }
            }
        }
    )


def _resource(type_token: str, name: str, inputs: dict[str, Any], **extra: Any) -> RegisteredResource:
    urn = f"urn:pulumi:s::p::{type_token}::{name}"
    return RegisteredResource(
        urn=urn,
        type=type_token,
        name=name,
        custom=True,
        inputs=inputs,
        provider=f"{PROVIDER_URN}::pid",
        **extra,
    )


def _graph(*resources: RegisteredResource) -> StackGraph:
    provider = RegisteredResource(
        urn=PROVIDER_URN,
        type=tj.PROVIDER_TYPE,
        name="origin",
        custom=True,
        inputs={
            "region": "us-east-1",
            "allowedAccountIds": '["111111111111"]',
            "defaultTags": '{"tags": {"owner": "platform-team"}}',
        },
        id="pid",
    )
    return StackGraph(stack="s", project="p", resources=(provider, *resources), outputs={})


def test_types_come_from_the_token() -> None:
    assert tj.terraform_type("aws:lambda/function:Function") == "aws_lambda_function"
    assert tj.terraform_type("aws:cloudwatch/eventRule:EventRule") == "aws_cloudwatch_event_rule"
    assert (
        tj.terraform_type("aws:backup/restoreTestingSelection:RestoreTestingSelection")
        == "aws_backup_restore_testing_selection"
    )


def test_plural_names_and_flattened_blocks_are_read_through_the_schema() -> None:
    plan = _resource(
        "aws:backup/plan:Plan",
        "plan",
        {
            "name": "p",
            "rules": [
                {"ruleName": "daily", "lifecycle": {"deleteAfter": 35.0}, "recoveryPointTags": {"aB": "x"}}
            ],
        },
    )
    module = tj.convert(_graph(plan), _schema(), "m")
    assert module.unmapped == []
    body = module.resources["aws_backup_plan"]["plan"]
    # rules -> rule; the one-item block the bridge gives as an object is a list of one; map keys stay as written
    assert body["rule"] == [
        {"rule_name": "daily", "lifecycle": [{"delete_after": 35}], "recovery_point_tags": {"aB": "x"}}
    ]
    assert body["provider"] == "aws.origin"


def test_an_unknown_property_is_reported_not_dropped() -> None:
    plan = _resource("aws:backup/plan:Plan", "plan", {"name": "p", "colour": "blue"})
    module = tj.convert(_graph(plan), _schema(), "m")
    assert [(f.path, f.reason) for f in module.unmapped] == [
        ("colour", "no argument of aws_backup_plan is called so")
    ]


def test_values_from_other_resources_become_references_and_literals_are_escaped() -> None:
    plan = _resource(
        "aws:backup/plan:Plan",
        "plan",
        {"name": "p"},
        computed={"arn": "arn:aws:backup:us-east-1:111111111111:backup-plan:x"},
    )
    policy = _resource(
        "aws:iam/rolePolicy:RolePolicy",
        "policy",
        {
            "role": "p",
            "policy": '{"Resource": "arn:aws:backup:us-east-1:111111111111:backup-plan:x", "Other": "${aws:username}"}',
        },
        property_dependencies={"policy": (plan.urn,), "role": (plan.urn,)},
    )
    body = tj.convert(_graph(plan, policy), _schema(), "m").resources["aws_iam_role_policy"]["policy"]
    assert body["policy"] == '{"Resource": "${aws_backup_plan.plan.arn}", "Other": "$${aws:username}"}'
    assert body["role"] == "${aws_backup_plan.plan.name}"  # a name given as input: known at plan time


def test_an_archive_becomes_a_placeholder_file_and_providers_drop_sts_for_the_plan() -> None:
    code = {
        "4dabf18193072939515e22adb298388d": "0def7320c3a5731c473e5ecbe6d01bc7",
        "assets": {"x": {"path": "/somewhere"}},
    }
    function = _resource("aws:lambda/function:Function", "fn", {"name": "f", "code": code})
    module = tj.convert(_graph(function), _schema(), "m")
    assert module.resources["aws_lambda_function"]["fn"] == {
        "function_name": "f",
        "filename": "pulumi-archive-fn.zip",
        "provider": "aws.origin",
    }
    validate = tj.root_document([module], for_plan=False)["provider"][0]["aws"]
    plan = tj.root_document([module], for_plan=True)["provider"][0]["aws"]
    assert validate["allowed_account_ids"] == ["111111111111"]
    assert validate["default_tags"] == [{"tags": {"owner": "platform-team"}}]
    assert "allowed_account_ids" not in plan
    assert plan["skip_requesting_account_id"] is True
    assert plan["alias"] == "m_origin"
