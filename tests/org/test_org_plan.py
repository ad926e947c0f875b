"""``python -m drplan <stack> --project org`` as a user runs it: the organisation stack's offline plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.drplan_process import drplan
from tests.org.org_graphs import NS, org_stack_config

BUCKET_RULE = "aws-s3-bucket-policy-org-scoped"


def test_org_plan_passes_the_pack(tmp_path: Path) -> None:
    done = drplan("management", "--project", "org", "--json")
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    assert document["project"] == "aws-dr-backup-org"
    assert document["exit"] == {"code": 0, "reason": "ok", "message": ""}
    assert document["policy"]["mandatory"] == []
    assert document["outputs"]["fleetBucketName"] == "dr-org-fleet-222222222222-us-east-1"
    places = {(g["account"], g["region"]) for g in document["resources"]["groups"]}
    assert places == {
        ("777777777777", "us-east-1"),
        ("777777777777", "us-east-2"),
        ("222222222222", "us-east-1"),
        ("888888888888", "us-east-1"),
        ("999999999999", "us-east-1"),
    }
    assert document["outputs"]["verifierAccount"] == "999999999999"
    assert "matrix" not in document


def test_org_plan_text_labels_the_accounts() -> None:
    done = drplan("management", "--project", "org", "--no-policy")
    assert done.returncode == 0, done.stderr
    assert "account 777777777777 (management) · us-east-2" in done.stdout
    assert "account 888888888888 (Backup delegated administrator)" in done.stdout
    assert "account 999999999999 (air-gap verifier) · us-east-1 · provider verifier" in done.stdout
    assert "lambda:Function  verifier-job-fn" in done.stdout
    assert "backup:ReportPlan  fleet-copy-job-report" in done.stdout


def test_a_pack_setting_that_refuses_the_bucket_policy_exits_1(tmp_path: Path) -> None:
    # With only aws:SourceOrgID accepted, the fleet bucket's aws:PrincipalOrgID grant no longer counts.
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({BUCKET_RULE: {"organizationConditionKeys": ["aws:SourceOrgID"]}}))
    done = drplan("management", "--project", "org", "--policy-config", str(config), "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["exit"]["reason"] == "mandatory-policy-violation"
    [found] = document["policy"]["mandatory"]
    assert found["policy"] == BUCKET_RULE
    assert found["resource"] == "s3:BucketPolicy 'fleet-bucket-policy'"
    assert found["problem"] == (
        "statement 'CoveragePublishOwnPrefix' grants whole accounts (111111111111, 333333333333, 555555555555, 666666666666) without an "
        "organisation condition"
    )
    assert found["fix"] == "add a condition on one of aws:SourceOrgID that names your organisation"


def test_invalid_org_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = org_stack_config()
    config[NS + "organizationId"] = "my-org"
    stack = tmp_path / "Pulumi.candidate.yaml"
    stack.write_text(yaml.safe_dump({"config": config}))
    done = drplan("management", "--project", "org", "--stack-file", str(stack), "--no-policy")
    assert done.returncode == 2
    assert "aws-dr-backup-org:organizationId = 'my-org': must be an AWS Organizations ID" in done.stderr


def test_missing_org_stack_exits_2() -> None:
    done = drplan("nope", "--project", "org", "--no-policy")
    assert done.returncode == 2
    assert "org/Pulumi.nope.yaml not found" in done.stderr


def test_fleet_mode_does_not_take_the_org_project() -> None:
    # The organisation stack is planned on its own; --project is not a fleet option (nor --project-dir).
    done = drplan("--all", "--project", "org", "--no-policy")
    assert done.returncode == 2
    assert "unrecognized arguments: --project org" in done.stderr
